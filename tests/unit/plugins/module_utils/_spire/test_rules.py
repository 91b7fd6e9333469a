"""Every rule of the checker, each with a valid and an invalid case.

Each case starts from a valid fixture of the ADR-015 design, applies a valid
and an invalid mutation, and expects the invalid one to produce a finding at
an exact key path with the given text.  ``policy`` rules are errors when
strict and warnings otherwise; ``warn`` findings never fail.
"""

import ast
import copy
import json
import pathlib
import re

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import api, hcl, rules
from ansible_collections.ardur.spire.plugins.module_utils._spire import schema as S
from ansible_collections.ardur.spire.plugins.module_utils._spire.validate import POLICY_RULES, Report

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "spire_config" / "valid"
BASE = {
    "server": api.load("server", text=(FIXTURES / "server-ha.conf").read_text())[0],
    "agent": api.load("agent", text=(FIXTURES / "agent.conf").read_text())[0],
}
SQL = ("plugins", "DataStore", "sql", "plugin_data")
PSAT = ("plugins", "NodeAttestor", "k8s_psat", "plugin_data")
K8S = ("plugins", "WorkloadAttestor", "k8s", "plugin_data")
BE = ("server", "federation", "bundle_endpoint")
FW = ("server", "federation", "federates_with", "other.example")
ACME = {"domain_name": "bundle.example", "email": "ops@example.org", "tos_accepted": True}
SERVING = {"cert_file_path": "/run/spire/bundle-tls/tls.crt", "key_file_path": "/run/spire/bundle-tls/tls.key", "file_sync_interval": "1h"}
DEL = object()


def mutate(component, changes):
    data = copy.deepcopy(BASE[component])
    for path, value in changes:
        parent = data
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        if value is DEL:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = copy.deepcopy(value)  # never share a table's value between cases
    return data


def run(component, changes, strict=True, replicas=3):
    return api.analyze(component, config=mutate(component, changes), server_replicas=replicas if component == "server" else 1,
                       strict=strict)


def findings(messages, path):
    return [m for m in messages if m.startswith(path + ": ")]


# (id, component, valid changes, invalid changes, key path, text, severity)
CASES = [
    # --- required keys
    ("req-server-trust_domain", "server", [], [(("server", "trust_domain"), DEL)], "server.trust_domain", "is required", "error"),
    ("req-server-data_dir", "server", [], [(("server", "data_dir"), DEL)], "server.data_dir", "is required", "error"),
    ("req-server-block", "server", [], [(("server",), DEL)], "server", "is required", "error"),
    ("req-plugins", "agent", [], [(("plugins",), DEL)], "plugins", "is required", "error"),
    ("req-agent-server_address", "agent", [], [(("agent", "server_address"), DEL)], "agent.server_address", "is required", "error"),
    ("req-agent-server_port", "agent", [], [(("agent", "server_port"), DEL)], "agent.server_port", "is required", "error"),
    ("req-agent-trust_domain", "agent", [], [(("agent", "trust_domain"), DEL)], "agent.trust_domain", "is required", "error"),
    ("req-psat-agent-cluster", "agent", [], [(PSAT + ("cluster",), DEL)],
     "plugins.NodeAttestor.k8s_psat.plugin_data.cluster", "is required", "error"),
    ("req-km-disk-keys_path", "server", [], [(("plugins", "KeyManager", "disk", "plugin_data", "keys_path"), DEL)],
     "plugins.KeyManager.disk.plugin_data.keys_path", "is required", "error"),
    ("req-agent-km-disk-directory", "agent",
     [(("plugins", "KeyManager"), {"disk": {"plugin_data": {"directory": "/run/spire/data"}}})],
     [(("plugins", "KeyManager"), {"disk": {"plugin_data": {}}})],
     "plugins.KeyManager.disk.plugin_data.directory", "is required", "error"),
    ("req-ua-disk-cert", "server", [], [(("plugins", "UpstreamAuthority", "disk", "plugin_data", "cert_file_path"), DEL)],
     "plugins.UpstreamAuthority.disk.plugin_data.cert_file_path", "is required", "error"),
    ("req-ua-disk-key", "server", [], [(("plugins", "UpstreamAuthority", "disk", "plugin_data", "key_file_path"), DEL)],
     "plugins.UpstreamAuthority.disk.plugin_data.key_file_path", "is required", "error"),
    ("req-sql-database_type", "server", [], [(SQL + ("database_type",), DEL)],
     "plugins.DataStore.sql.plugin_data.database_type", "is required", "error"),
    ("req-sql-connection_string", "server", [], [(SQL + ("connection_string",), DEL)],
     "plugins.DataStore.sql.plugin_data.connection_string", "is required", "error"),
    ("req-aws-region", "server", [(SQL + ("database_type",), {"aws_postgres": {"region": "eu-west-1"}}),
                                  (SQL + ("connection_string",), "host=db user=spire sslmode=verify-full")],
     [(SQL + ("database_type",), {"aws_postgres": {}})],
     "plugins.DataStore.sql.plugin_data.database_type.aws_postgres.region", "is required", "error"),
    # --- unknown and removed keys
    ("unknown-server-key", "server", [], [(("server", "trust_domian"), "x")],
     "server.trust_domian", "unknown key in server (did you mean 'trust_domain'?)", "error"),
    ("unknown-top-level", "server", [], [(("servr",), {})], "servr", "unknown key in the top level (did you mean 'server'?)", "error"),
    ("unknown-plugin-data-key", "server", [], [(SQL + ("max_open_conn",), 5)],
     "plugins.DataStore.sql.plugin_data.max_open_conn", "(did you mean 'max_open_conns'?)", "error"),
    ("unknown-plugin-block-key", "server", [], [(("plugins", "KeyManager", "disk", "plugin_dat"), {})],
     "plugins.KeyManager.disk.plugin_dat", "(did you mean 'plugin_data'?)", "error"),
    ("unknown-health-key", "server", [], [(("health_checks", "bind_prot"), "80")],
     "health_checks.bind_prot", "(did you mean 'bind_port'?)", "error"),
    ("unknown-prometheus-key", "agent", [], [(("telemetry", "Prometheus", "prot"), 1)],
     "telemetry.Prometheus.prot", "(did you mean 'port'?)", "error"),
    ("unknown-psat-cluster-key", "server", [],
     [(PSAT + ("clusters", "ardur-cluster", "service_account_allowlist"), ["a:b"])],
     'plugins.NodeAttestor.k8s_psat.plugin_data.clusters["ardur-cluster"].service_account_allowlist',
     "(did you mean 'service_account_allow_list'?)", "error"),
    ("case-insensitive-key", "server", [], [(("server", "log_level"), DEL), (("server", "Log_Level"), "debug")],
     "server.Log_Level", "SPIRE matches keys case-insensitively", "warn"),
    ("case-insensitive-duplicate", "server", [], [(("server", "Log_Level"), "debug")],
     "server.Log_Level", "duplicates key 'log_level'", "error"),
    ("component-mismatch", "agent", [], [(("agent",), DEL), (("server",), {"trust_domain": "x"})],
     "server", "this is a server configuration but component is agent", "error"),
    ("removed-default_svid_ttl", "server", [], [(("server", "default_svid_ttl"), "1h")],
     "server.default_svid_ttl", "was removed in SPIRE 1.6.0", "error"),
    ("removed-use_legacy_downstream_x509_ca_ttl", "server", [], [(("server", "use_legacy_downstream_x509_ca_ttl"), True)],
     "server.use_legacy_downstream_x509_ca_ttl", "was removed in SPIRE 1.13.0", "error"),
    ("removed-use_rego_v1", "server", [],
     [(("server", "experimental"), {"auth_opa_policy_engine": {"local": {"rego_path": "/p", "use_rego_v1": True}}})],
     "server.experimental.auth_opa_policy_engine.local.use_rego_v1", "was removed in SPIRE 1.13.0", "error"),
    ("removed-retry_bootstrap", "agent", [], [(("agent", "retry_bootstrap"), True)],
     "agent.retry_bootstrap", "was removed in SPIRE 1.14.0", "error"),
    ("removed-k8s_sat", "server", [], [(("plugins", "NodeAttestor", "k8s_sat"), {"plugin_data": {}})],
     "plugins.NodeAttestor.k8s_sat", "was removed in SPIRE 1.12.0", "error"),
    ("removed-service_account_whitelist", "server", [],
     [(PSAT + ("clusters", "ardur-cluster", "service_account_whitelist"), ["a:b"])],
     'plugins.NodeAttestor.k8s_psat.plugin_data.clusters["ardur-cluster"].service_account_whitelist',
     "was removed in SPIRE 1.1.0", "error"),
    ("removed-inmem-enabled", "server", [(("telemetry", "InMem"), {})], [(("telemetry", "InMem"), {"enabled": True})],
     "telemetry.InMem.enabled", "was removed in SPIRE 1.6.0", "error"),
    ("removed-plugin-type", "server", [], [(("plugins", "NodeResolver"), {"azure_msi": {}})],
     "plugins.NodeResolver", "plugin type was removed in SPIRE 1.5.0", "error"),
    # --- plugins
    ("plugin-builtin-not-modelled", "server", [], [(("plugins", "NodeAttestor", "x509pop"), {"plugin_data": {"anything": 1}})],
     "plugins.NodeAttestor.x509pop", "its plugin_data is not checked", "warn"),
    ("plugin-external", "server", [],
     [(("plugins", "Notifier", "custom"), {"plugin_cmd": "/opt/custom", "plugin_checksum": "ab", "plugin_data": {"x": 1}})],
     "plugins.Notifier.custom", "external plugin (plugin_cmd)", "warn"),
    ("plugin-no-such-builtin", "agent", [], [(("plugins", "WorkloadAttestor", "k8ss"), {})],
     "plugins.WorkloadAttestor.k8ss", "no built-in WorkloadAttestor plugin named 'k8ss' and no plugin_cmd is set (did you mean 'k8s'?)",
     "error"),
    ("plugin-unsupported-type", "server", [], [(("plugins", "WorkloadAttestor"), {"unix": {}})],
     "plugins.WorkloadAttestor", "rejects unsupported plugin type 'WorkloadAttestor' (it is a agent plugin type)", "error"),
    ("plugin-data-and-file", "server", [], [(("plugins", "KeyManager", "disk", "plugin_data_file"), "/etc/km.conf")],
     "plugins.KeyManager.disk", "only one of [plugin_data, plugin_data_file] can be used", "error"),
    ("plugin-data-file-not-checked", "server",
     [], [(("plugins", "KeyManager", "disk"), {"plugin_data_file": "/etc/km.conf"})],
     "plugins.KeyManager.disk.plugin_data_file", "is not checked", "warn"),
    ("datastore-not-sql", "server", [], [(("plugins", "DataStore"), {"mysql": {"plugin_data": {}}})],
     "plugins.DataStore.mysql", "only the built-in \"sql\" plugin is supported", "error"),
    ("join_token-external", "server", [(("plugins", "NodeAttestor", "join_token"), {})],
     [(("plugins", "NodeAttestor", "join_token"), {"plugin_cmd": "/bin/x"})],
     "plugins.NodeAttestor.join_token", "cannot be overridden by an external plugin", "error"),
    # --- plugin counts
    ("count-server-datastore", "server", [], [(("plugins", "DataStore"), DEL)],
     "plugins.DataStore", "exactly 1 enabled DataStore plugin is required, found 0", "error"),
    ("count-server-keymanager", "server", [], [(("plugins", "KeyManager", "memory"), {})],
     "plugins.KeyManager", "exactly 1 enabled KeyManager plugin is required, found 2", "error"),
    ("count-server-upstreamauthority", "server", [(("plugins", "UpstreamAuthority"), DEL)],
     [(("plugins", "UpstreamAuthority", "vault"), {})],
     "plugins.UpstreamAuthority", "at most 1 enabled UpstreamAuthority plugin is allowed, found 2", "error"),
    ("count-server-nodeattestor", "server", [], [(("plugins", "NodeAttestor"), DEL)],
     "plugins.NodeAttestor", "no enabled NodeAttestor", "policy"),
    ("count-agent-keymanager", "agent", [], [(("plugins", "KeyManager"), DEL)],
     "plugins.KeyManager", "exactly 1 enabled KeyManager plugin is required, found 0", "error"),
    ("count-agent-nodeattestor", "agent", [], [(("plugins", "NodeAttestor", "join_token"), {})],
     "plugins.NodeAttestor", "exactly 1 enabled NodeAttestor plugin is required, found 2", "error"),
    ("count-agent-workloadattestor", "agent", [(("plugins", "WorkloadAttestor", "k8s"), DEL)],
     [(("plugins", "WorkloadAttestor"), DEL)],
     "plugins.WorkloadAttestor", "at least 1 enabled WorkloadAttestor plugin is required, found 0", "error"),
    ("count-disabled-not-counted", "server", [(("plugins", "KeyManager", "memory"), {"enabled": False})],
     [(("plugins", "KeyManager", "disk", "enabled"), False)],
     "plugins.KeyManager", "found 0", "error"),
    # --- types, durations, ports, enums
    ("type-int", "server", [(("server", "bind_port"), "8081")], [(("server", "bind_port"), "http")],
     "server.bind_port", "expected an integer", "error"),
    ("type-bool", "agent", [], [(K8S + ("skip_kubelet_verification",), "no")],
     "plugins.WorkloadAttestor.k8s.plugin_data.skip_kubelet_verification", "expected true or false", "error"),
    ("type-strlist", "server", [], [(("server", "admin_ids"), "spiffe://ardur.example/admin")],
     "server.admin_ids", "expected a list of strings", "error"),
    ("type-block", "server", [], [(("server", "ca_subject"), "Ardur")], "server.ca_subject", "expected a block", "error"),
    ("duration-core", "server", [(("server", "ca_ttl"), "36h")], [(("server", "ca_ttl"), "1d")],
     "server.ca_ttl", "is not a Go duration: unknown unit 'd'", "error"),
    ("duration-plugin", "server", [(SQL + ("conn_max_lifetime",), "1h30m")], [(SQL + ("conn_max_lifetime",), "90")],
     "plugins.DataStore.sql.plugin_data.conn_max_lifetime", "missing unit", "error"),
    ("port-server-bind", "server", [(("server", "bind_port"), 0)], [(("server", "bind_port"), 70000)],
     "server.bind_port", "port 70000 is out of range 0-65535", "error"),
    ("port-agent-server", "agent", [(("agent", "server_port"), 443)], [(("agent", "server_port"), 0)],
     "agent.server_port", "port 0 is out of range 1-65535", "error"),
    ("port-health-string", "server", [(("health_checks", "bind_port"), 8080)], [(("health_checks", "bind_port"), "0")],
     "health_checks.bind_port", "port 0 is out of range 1-65535", "error"),
    ("port-prometheus", "agent", [], [(("telemetry", "Prometheus", "port"), 65536)],
     "telemetry.Prometheus.port", "out of range", "error"),
    ("enum-log_level", "server", [(("server", "log_level"), "WARN")], [(("server", "log_level"), "verbose")],
     "server.log_level", "must be one of panic, fatal, error, warn, warning, info, debug, trace", "error"),
    ("enum-log_format", "agent", [(("agent", "log_format"), "TEXT")], [(("agent", "log_format"), "yaml")],
     "agent.log_format", "must be one of text, json", "error"),
    ("enum-ca_key_type", "server", [(("server", "ca_key_type"), "rsa-4096")], [(("server", "ca_key_type"), "ec-p521")],
     "server.ca_key_type", "(did you mean 'ec-p256'?)", "error"),
    ("enum-database_type", "server", [], [(SQL + ("database_type",), "postgresql")],
     "plugins.DataStore.sql.plugin_data.database_type", "unsupported database type", "error"),
    ("enum-feature_flags", "server", [(("server", "experimental"), {"feature_flags": ["wit-svid"]})],
     [(("server", "experimental"), {"feature_flags": ["wit_svid"]})],
     "server.experimental.feature_flags[0]", "must be one of", "error"),
    # --- trust domain
    ("trust-domain-charset", "server", [], [(("server", "trust_domain"), "Ardur.Example")],
     "server.trust_domain", "must be lowercase", "error"),
    ("trust-domain-port", "agent", [], [(("agent", "trust_domain"), "ardur.example:443")],
     "agent.trust_domain", "must not contain a port", "error"),
    ("trust-domain-scheme", "server", [], [(("server", "trust_domain"), "spiffe://ardur.example")],
     "server.trust_domain", "write the bare name", "policy"),
    ("trust-domain-length", "server", [(("server", "trust_domain"), "a" * 255)], [(("server", "trust_domain"), "a" * 256)],
     "server.trust_domain", "longer than 255", "policy"),
    # --- HA datastore
    ("replicas-need-shared-datastore", "server",
     [(SQL + ("database_type",), "mysql"), (SQL + ("connection_string",), "spire:${PW}@tcp(db:3306)/spire")],
     [(SQL + ("database_type",), "sqlite3"), (SQL + ("connection_string",), "/run/spire/data/datastore.sqlite3")],
     "plugins.DataStore.sql.plugin_data.database_type", "server_replicas=3 needs a shared database", "error"),
    # --- TTLs
    ("ttl-x509", "server", [(("server", "default_x509_svid_ttl"), "4h")], [(("server", "default_x509_svid_ttl"), "12h")],
     "server.default_x509_svid_ttl", "12h (set) exceeds min(ca_ttl/6, 7d) = 4h for ca_ttl 24h", "policy"),
    ("ttl-jwt", "server", [(("server", "default_jwt_svid_ttl"), "4h")], [(("server", "default_jwt_svid_ttl"), "4h1s")],
     "server.default_jwt_svid_ttl", "exceeds min(ca_ttl/6, 7d) = 4h", "policy"),
    ("ttl-agent", "server", [(("server", "agent_ttl"), DEL)], [(("server", "agent_ttl"), "5h")],
     "server.agent_ttl", "5h (set) exceeds", "policy"),
    ("ttl-defaults-applied", "server", [(("server", "ca_ttl"), DEL), (("server", "default_x509_svid_ttl"), DEL)],
     [(("server", "ca_ttl"), "1h"), (("server", "default_x509_svid_ttl"), DEL)],
     "server.default_x509_svid_ttl", "1h (SPIRE default 1h) exceeds min(ca_ttl/6, 7d) = 10m for ca_ttl 1h", "policy"),
    ("ttl-seven-day-cap", "server", [(("server", "ca_ttl"), "1440h"), (("server", "agent_ttl"), "168h")],
     [(("server", "ca_ttl"), "1440h"), (("server", "agent_ttl"), "169h")],
     "server.agent_ttl", "exceeds min(ca_ttl/6, 7d) = 168h", "policy"),
    ("ttl-negative", "server", [], [(("server", "ca_ttl"), "-24h")], "server.ca_ttl", "must not be negative", "error"),
    # --- agent trust source and bootstrap
    ("trust-source-none", "agent", [(("agent", "trust_bundle_path"), DEL), (("agent", "insecure_bootstrap"), True)],
     [(("agent", "trust_bundle_path"), DEL)],
     "agent", "trust_bundle_path or trust_bundle_url must be configured unless insecure_bootstrap is set", "error"),
    ("trust-source-two", "agent",
     [(("agent", "trust_bundle_path"), DEL), (("agent", "trust_bundle_url"), "https://spire.example/bundle")],
     [(("agent", "trust_bundle_url"), "https://spire.example/bundle")],
     "agent", "only one of trust_bundle_url, trust_bundle_path can be specified", "error"),
    ("trust-source-insecure-and-path", "agent", [], [(("agent", "insecure_bootstrap"), True)],
     "agent", "only one of insecure_bootstrap, trust_bundle_path can be specified", "error"),
    ("trust-bundle-url-https", "agent",
     [(("agent", "trust_bundle_path"), DEL), (("agent", "trust_bundle_url"), "https://spire.example/bundle")],
     [(("agent", "trust_bundle_path"), DEL), (("agent", "trust_bundle_url"), "http://spire.example/bundle")],
     "agent.trust_bundle_url", "must start with https://", "error"),
    ("trust-bundle-unix-socket", "agent",
     [(("agent", "trust_bundle_path"), DEL), (("agent", "trust_bundle_url"), "http://localhost/b"),
      (("agent", "trust_bundle_unix_socket"), "/run/b.sock")],
     [(("agent", "trust_bundle_unix_socket"), "/run/b.sock")],
     "agent.trust_bundle_unix_socket", "needs trust_bundle_url", "error"),
    ("insecure-bootstrap-warns", "agent", [], [(("agent", "trust_bundle_path"), DEL), (("agent", "insecure_bootstrap"), True)],
     "agent.insecure_bootstrap", "will not verify the server", "warn"),
    ("rebootstrap-insecure", "agent", [(("agent", "rebootstrap_mode"), "auto")],
     [(("agent", "trust_bundle_path"), DEL), (("agent", "insecure_bootstrap"), True), (("agent", "rebootstrap_mode"), "always")],
     "agent.rebootstrap_mode", "insecure_bootstrap can not be used with rebootstrapping", "error"),
    ("join-token-exclusive", "agent", [(("agent", "join_token_file"), "/run/token")],
     [(("agent", "join_token_file"), "/run/token"), (("agent", "join_token"), "${TOKEN}")],
     "agent", "only one of join_token or join_token_file", "error"),
    ("availability-target", "agent", [(("agent", "availability_target"), "24h")], [(("agent", "availability_target"), "12h")],
     "agent.availability_target", "must be at least 24h", "error"),
    ("admin-socket-dir", "agent", [(("agent", "admin_socket_path"), "/run/spire/admin/admin.sock")],
     [(("agent", "admin_socket_path"), "/run/spire/agent-sockets/admin.sock")],
     "agent.admin_socket_path", "cannot be in the directory of socket_path", "error"),
    ("agent-data_dir-default", "agent", [], [(("agent", "data_dir"), DEL)], "agent.data_dir", 'SPIRE uses "."', "warn"),
    # --- k8s workload attestor
    ("k8s-ports-exclusive", "agent", [(K8S + ("kubelet_secure_port",), DEL), (K8S + ("kubelet_read_only_port",), 10255)],
     [(K8S + ("kubelet_read_only_port",), 10255)],
     "plugins.WorkloadAttestor.k8s.plugin_data", "cannot use both kubelet_secure_port and kubelet_read_only_port", "error"),
    ("k8s-skip-verification-warns", "agent", [], [(K8S + ("skip_kubelet_verification",), True)],
     "plugins.WorkloadAttestor.k8s.plugin_data.skip_kubelet_verification", "not verified", "warn"),
    # --- PostgreSQL DSN
    ("dsn-literal-password-kv", "server", [],
     [(SQL + ("connection_string",), "dbname=spire host=db user=spire password=hunter2 sslmode=verify-full")],
     "plugins.DataStore.sql.plugin_data.connection_string", "contains a literal password", "policy"),
    ("dsn-literal-password-url", "server",
     [(SQL + ("connection_string",), "postgres://spire:${PW}@db/spire?sslmode=verify-full")],
     [(SQL + ("connection_string",), "postgres://spire:hunter2@db/spire?sslmode=verify-full")],
     "plugins.DataStore.sql.plugin_data.connection_string", "contains a literal password", "policy"),
    ("dsn-literal-password-ro", "server", [(SQL + ("ro_connection_string",), "host=ro password=${PW} sslmode=verify-ca")],
     [(SQL + ("ro_connection_string",), "host=ro password=hunter2 sslmode=verify-ca")],
     "plugins.DataStore.sql.plugin_data.ro_connection_string", "contains a literal password", "policy"),
    ("dsn-aws-postgres-no-password", "server",
     [(SQL + ("database_type",), {"aws_postgres": {"region": "eu-west-1"}}),
      (SQL + ("connection_string",), "host=db user=spire sslmode=verify-full")],
     [(SQL + ("database_type",), {"aws_postgres": {"region": "eu-west-1"}})],
     "plugins.DataStore.sql.plugin_data.connection_string", "must not set a password with aws_postgres", "error"),
    ("dsn-sslmode-missing", "server", [(SQL + ("connection_string",), "host=db password=${PW} sslmode=verify-ca")],
     [(SQL + ("connection_string",), "host=db password=${PW}")],
     "plugins.DataStore.sql.plugin_data.connection_string", 'sets no sslmode: lib/pq then uses "require"', "policy"),
    ("dsn-sslmode-weak", "server", [], [(SQL + ("connection_string",), "postgres://spire:${PW}@db/spire?sslmode=require")],
     "plugins.DataStore.sql.plugin_data.connection_string", "sslmode=require does not verify the server certificate", "policy"),
    ("dsn-sslmode-libpq-unsupported", "server", [], [(SQL + ("connection_string",), "host=db password=${PW} sslmode=prefer")],
     "plugins.DataStore.sql.plugin_data.connection_string", "sslmode=prefer is not supported by lib/pq", "error"),
    ("dsn-sslmode-unknown", "server", [], [(SQL + ("connection_string",), "host=db password=${PW} sslmode=strict")],
     "plugins.DataStore.sql.plugin_data.connection_string", "is not a PostgreSQL sslmode", "error"),
    ("dsn-whole-env", "server", [], [(SQL + ("connection_string",), "${SPIRE_DATASTORE_DSN}")],
     "plugins.DataStore.sql.plugin_data.connection_string", "cannot be checked here", "warn"),
    ("dsn-postgres-mysql-keys", "server", [], [(SQL + ("root_ca_path",), "/ca.crt")],
     "plugins.DataStore.sql.plugin_data.root_ca_path", "only used for MySQL", "warn"),
    # --- k8s_psat server
    ("psat-clusters", "server", [], [(PSAT + ("clusters",), {})],
     "plugins.NodeAttestor.k8s_psat.plugin_data.clusters", "needs at least one cluster", "error"),
    ("psat-allow-list-empty", "server", [], [(PSAT + ("clusters", "ardur-cluster", "service_account_allow_list"), [])],
     'plugins.NodeAttestor.k8s_psat.plugin_data.clusters["ardur-cluster"].service_account_allow_list',
     "must list at least one service account", "error"),
    ("psat-allow-list-form", "server", [(PSAT + ("clusters", "ardur-cluster", "service_account_allow_list"), ["a:b", "c:d"])],
     [(PSAT + ("clusters", "ardur-cluster", "service_account_allow_list"), ["spire-agent"])],
     'plugins.NodeAttestor.k8s_psat.plugin_data.clusters["ardur-cluster"].service_account_allow_list[0]',
     "is not in NAMESPACE:SERVICEACCOUNT form", "error"),
    ("k8sbundle-namespace-default", "server", [], [(("plugins", "Notifier", "k8sbundle", "plugin_data", "namespace"), DEL)],
     "plugins.Notifier.k8sbundle.plugin_data.namespace", 'SPIRE uses "spire"', "warn"),
    # --- server extras
    ("admin-ids", "server", [(("server", "admin_ids"), ["spiffe://ardur.example/admin"])],
     [(("server", "admin_ids"), ["ardur.example/admin"])], "server.admin_ids[0]", "is not a SPIFFE ID", "error"),
    ("event-timeout-both", "server", [(("server", "experimental"), {"event_timeout": "15m"})],
     [(("server", "experimental"), {"event_timeout": "15m", "sql_transaction_timeout": "15m"})],
     "server.experimental", "only set event_timeout", "error"),
    ("named-pipe-posix", "server", [], [(("server", "experimental"), {"named_pipe_name": "\\spire"})],
     "server.experimental.named_pipe_name", "not supported on this platform", "error"),
    ("federates-with-https", "server",
     [(("server", "federation"), {"federates_with": {"other.example": {
         "bundle_endpoint_url": "https://o/b", "bundle_endpoint_profile": {"https_web": {}}}}})],
     [(("server", "federation"), {"federates_with": {"other.example": {
         "bundle_endpoint_url": "http://o/b", "bundle_endpoint_profile": {"https_web": {}}}}})],
     'server.federation.federates_with["other.example"].bundle_endpoint_url', "must use https://", "error"),
    ("unbraced-env-reference", "server", [(("server", "jwt_issuer"), "https://${HOST}/")],
     [(("server", "jwt_issuer"), "https://$HOST/")], "server.jwt_issuer", "-expandEnv replaces", "warn"),
    # --- federation (run.go validateConfig, setBundleEndpointConfigProfile, parseBundleEndpointProfile)
    ("bundle-endpoint-https-web-needs-a-source", "server", [(BE, {"profile": {"https_web": {"acme": ACME}}})],
     [(BE, {"profile": {"https_web": {}}})],
     "server.federation.bundle_endpoint.profile.https_web", "needs 'acme' or 'serving_cert_file'", "error"),
    ("bundle-endpoint-https-web-serving-cert", "server", [(BE, {"profile": {"https_web": {"serving_cert_file": SERVING}}})],
     [(BE, {"profile": {"https_web": {"serving_cert_file": dict(SERVING, cert_file_path="")}}})],
     "server.federation.bundle_endpoint.profile.https_web.serving_cert_file.cert_file_path", "is required", "error"),
    ("bundle-endpoint-file-sync-interval", "server",
     [(BE, {"profile": {"https_web": {"serving_cert_file": dict(SERVING, file_sync_interval="0s")}}})],
     [(BE, {"profile": {"https_web": {"serving_cert_file": {"cert_file_path": "/c", "key_file_path": "/k"}}}})],
     "server.federation.bundle_endpoint.profile.https_web.serving_cert_file.file_sync_interval",
     'fails with: time: invalid duration ""', "error"),
    ("bundle-endpoint-one-profile", "server", [(BE, {"profile": {"https_spiffe": {}}})],
     [(BE, {"profile": {"https_spiffe": {}, "https_web": {"acme": ACME}}})],
     "server.federation.bundle_endpoint.profile", "exactly one bundle endpoint profile is expected, found 2", "error"),
    ("bundle-endpoint-no-profile", "server", [(BE, {"port": 8443, "profile": {"https_spiffe": {}}})], [(BE, {"port": 8443})],
     "server.federation.bundle_endpoint", "has no profile: SPIRE uses https_spiffe", "warn"),
    ("bundle-endpoint-acme-and-profile", "server", [], [(BE, {"acme": ACME, "profile": {"https_spiffe": {}}})],
     "server.federation.bundle_endpoint", "either 'acme' or 'profile' can be set, not both", "error"),
    ("bundle-endpoint-acme-deprecated", "server", [], [(BE, {"acme": ACME})],
     "server.federation.bundle_endpoint.acme", "is deprecated", "warn"),
    ("bundle-endpoint-acme-email", "server", [], [(BE, {"acme": {"domain_name": "b.example"}})],
     "server.federation.bundle_endpoint.acme.email", "is required", "error"),
    ("federates-with-profile-required", "server", [(FW, {"bundle_endpoint_url": "https://o/b", "bundle_endpoint_profile": {"https_web": {}}})],
     [(FW, {"bundle_endpoint_url": "https://o/b"})],
     'server.federation.federates_with["other.example"].bundle_endpoint_profile', "missing bundle endpoint configuration", "error"),
    ("federates-with-one-profile", "server", [],
     [(FW, {"bundle_endpoint_url": "https://o/b", "bundle_endpoint_profile": {}})],
     'server.federation.federates_with["other.example"].bundle_endpoint_profile', "exactly one bundle endpoint profile", "error"),
    ("federates-with-endpoint-spiffe-id", "server",
     [(FW, {"bundle_endpoint_url": "https://o/b", "bundle_endpoint_profile": {"https_spiffe": {"endpoint_spiffe_id": "spiffe://other.example/spire/server"}}})],
     [(FW, {"bundle_endpoint_url": "https://o/b", "bundle_endpoint_profile": {"https_spiffe": {"endpoint_spiffe_id": "other.example/spire/server"}}})],
     'server.federation.federates_with["other.example"].bundle_endpoint_profile.https_spiffe.endpoint_spiffe_id', "is not a SPIFFE ID", "error"),
    ("federates-with-endpoint-spiffe-id-required", "server", [],
     [(FW, {"bundle_endpoint_url": "https://o/b", "bundle_endpoint_profile": {"https_spiffe": {}}})],
     'server.federation.federates_with["other.example"].bundle_endpoint_profile.https_spiffe.endpoint_spiffe_id', "is required", "error"),
    ("federates-with-trust-domain", "server", [], [(("server", "federation"), {"federates_with": {"Other.Example": {
        "bundle_endpoint_url": "https://o/b", "bundle_endpoint_profile": {"https_web": {}}}}})],
     'server.federation.federates_with["Other.Example"]', "trust domain must be lowercase", "error"),
    # --- empty strings: unset where SPIRE reads them so, a value where it parses them
    ("empty-optional-is-unset", "server", [(("server", "log_level"), ""), (("server", "ca_ttl"), ""), (SQL + ("ro_connection_string",), "")],
     [(("server", "max_attested_node_info_staleness"), "")],
     "server.max_attested_node_info_staleness", "is not a Go duration", "error"),
    ("empty-plugin-data-file", "server", [], [(("plugins", "KeyManager", "disk"), {"plugin_data_file": ""})],
     "plugins.KeyManager.disk.plugin_data_file", "SPIRE reads the plugin data from this path", "error"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_valid_case(case):
    _id, component, valid, _invalid, path, text, _severity = case
    result = run(component, valid)
    assert result.errors == [], result.errors
    assert not any(text in w for w in findings(result.warnings, path)), result.warnings


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_invalid_case(case):
    _id, component, _valid, invalid, path, text, severity = case
    strict = run(component, invalid, strict=True)
    lenient = run(component, invalid, strict=False)
    if severity == "error":
        hits = findings(strict.errors, path)
        assert any(text in m for m in hits), strict.errors
        assert any(text in m for m in findings(lenient.errors, path)), "an error must not depend on strict"
    elif severity == "policy":
        assert any(text in m and m.endswith("[strict]") for m in findings(strict.errors, path)), strict.errors
        assert not findings(lenient.errors, path), lenient.errors
        assert any(text in m for m in findings(lenient.warnings, path)), lenient.warnings
    else:
        assert not findings(strict.errors, path), strict.errors
        assert any(text in m for m in findings(strict.warnings, path)), strict.warnings


def test_server_replicas_must_be_positive():
    result = run("server", [], replicas=0)
    assert "server_replicas: must be an integer >= 1" in result.errors


def test_every_error_is_listed_not_only_the_first():
    result = run("server", [(("server", "trust_domain"), DEL), (("server", "ca_ttl"), "1d"), (SQL + ("max_open_conn",), 1)])
    paths = {m.split(": ", 1)[0] for m in result.errors}
    assert {"server.trust_domain", "server.ca_ttl", "plugins.DataStore.sql.plugin_data.max_open_conn"} <= paths


def test_messages_never_contain_the_password():
    result = run("server", [(SQL + ("connection_string",), "host=db password=hunter2 sslmode=disable"),
                            (SQL + ("ro_connection_string",), "postgres://u:topsecret@db/x")])
    text = " ".join(result.errors + result.warnings) + result.masked_rendered + repr(result.masked_config)
    assert "hunter2" not in text and "topsecret" not in text
    assert "password=********" in result.masked_rendered and "u:********@db" in result.masked_rendered
    assert "hunter2" in result.rendered, "the rendered file itself stays faithful"


def test_normalization_follows_spire_types():
    result = run("server", [(("server", "bind_port"), "0x1f91"), (("health_checks", "bind_port"), 8080),
                            (("server", "Log_Level"), "debug"), (("server", "log_level"), DEL)])
    assert result.config["server"]["bind_port"] == 8081
    assert result.config["health_checks"]["bind_port"] == "8080"
    assert result.config["server"]["log_level"] == "debug" and "Log_Level" not in result.config["server"]
    assert 'bind_port = "8080"' in result.rendered


def test_positions_are_reported_for_text_input():
    text = (FIXTURES / "server-ha.conf").read_text().replace('ca_ttl = "24h"', 'ca_ttl = "1d"')
    result = api.analyze("server", text=text, server_replicas=3)
    (error,) = result.errors
    assert error.startswith("server.ca_ttl: is not a Go duration") and error.endswith("(line 13, column 3)")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_rendered_text_round_trips_to_the_same_normalized_config(name):
    component = "agent" if name.startswith("agent") else "server"
    first = api.analyze(component, text=(FIXTURES / name).read_text(), server_replicas=3)
    second = api.analyze(component, text=first.rendered, server_replicas=3)
    assert second.errors == [] and second.config == first.config
    assert second.rendered == first.rendered


def test_mapping_with_spire_coercions_round_trips():
    data = mutate("server", [(("server", "bind_port"), "8081"), (("health_checks", "bind_port"), 8080),
                             (("server", "log_level"), DEL), (("server", "LOG_LEVEL"), "info"),
                             (("telemetry", "DogStatsd"), {"address": "localhost:8125"})])
    first = api.analyze("server", config=data, server_replicas=3)
    assert first.errors == []
    assert first.config["telemetry"]["DogStatsd"] == [{"address": "localhost:8125"}]
    second = api.analyze("server", text=first.rendered, server_replicas=3)
    assert second.config == first.config and second.warnings == []


def test_dsn_reference_is_checked_with_the_value_the_caller_knows():
    """A ${VAR} DSN is checked when its value is given, and the value never reaches a message."""
    text = '''
server {
  trust_domain = "ardur.internal"
  data_dir = "/run/spire/data"
}
plugins {
  DataStore "sql" { plugin_data { database_type = "postgres" connection_string = "${DSN}" } }
  KeyManager "disk" { plugin_data { keys_path = "/run/spire/data/keys.json" } }
  NodeAttestor "join_token" { plugin_data {} }
}
'''
    weak = "postgresql://spire:s3cret-pw@db:5432/spire?sslmode=require"
    strong = "postgresql://spire:s3cret-pw@db:5432/spire?sslmode=verify-full&sslrootcert=/ca.crt"
    unknown = api.analyze('server', text=text)
    assert not unknown.errors
    assert any('is only an environment reference' in w for w in unknown.warnings)
    checked = api.analyze('server', text=text, environ={'DSN': weak})
    assert any('sslmode=require does not verify' in e for e in checked.errors)
    assert not any('s3cret-pw' in m for m in checked.errors + checked.warnings)
    good = api.analyze('server', text=text, environ={'DSN': strong})
    assert not good.errors
    assert not any('environment reference' in w for w in good.warnings)


# ------------------------------------------------------------ strict-only rules
# Every strict-only (policy) rule, at every place it can be found.  test_policy_table_is_complete
# fails when a rule is added to validate.POLICY_RULES without a row here.
POLICY_CASES = [
    ("svid-ttl", "server", [(("server", "default_x509_svid_ttl"), "12h")], "server.default_x509_svid_ttl"),
    ("svid-ttl", "server", [(("server", "default_jwt_svid_ttl"), "5h")], "server.default_jwt_svid_ttl"),
    ("svid-ttl", "server", [(("server", "agent_ttl"), "5h")], "server.agent_ttl"),
    ("svid-ttl", "server", [(("server", "ca_ttl"), "1h"), (("server", "default_x509_svid_ttl"), DEL),
                            (("server", "default_jwt_svid_ttl"), DEL), (("server", "agent_ttl"), DEL)],
     "server.default_x509_svid_ttl"),
    ("dsn-literal-password", "server", [(SQL + ("connection_string",), "host=db user=spire password=hunter2 sslmode=verify-full")],
     "plugins.DataStore.sql.plugin_data.connection_string"),
    ("dsn-literal-password", "server", [(SQL + ("ro_connection_string",), "postgres://u:hunter2@ro/spire?sslmode=verify-full")],
     "plugins.DataStore.sql.plugin_data.ro_connection_string"),
    ("dsn-sslmode", "server", [(SQL + ("connection_string",), "host=db password=${PW}")],
     "plugins.DataStore.sql.plugin_data.connection_string"),
    ("dsn-sslmode", "server", [(SQL + ("connection_string",), "host=db password=${PW} sslmode=require")],
     "plugins.DataStore.sql.plugin_data.connection_string"),
    ("dsn-sslmode", "server", [(SQL + ("ro_connection_string",), "postgres://u:${PW}@ro/spire?sslmode=disable")],
     "plugins.DataStore.sql.plugin_data.ro_connection_string"),
    ("no-node-attestor", "server", [(("plugins", "NodeAttestor"), DEL)], "plugins.NodeAttestor"),
    ("no-node-attestor", "server", [(("plugins", "NodeAttestor", "k8s_psat", "enabled"), False)], "plugins.NodeAttestor"),
    ("trust-domain-spiffe-id", "server", [(("server", "trust_domain"), "spiffe://ardur.example")], "server.trust_domain"),
    ("trust-domain-spiffe-id", "agent", [(("agent", "trust_domain"), "spiffe://ardur.example")], "agent.trust_domain"),
    ("trust-domain-spiffe-id", "server", [(("server", "federation"), {"federates_with": {"spiffe://example.org": {
        "bundle_endpoint_url": "https://example.org:8443", "bundle_endpoint_profile": {"https_web": {}}}}})],
     'server.federation.federates_with["spiffe://example.org"]'),
    ("trust-domain-length", "server", [(("server", "trust_domain"), "a" * 256)], "server.trust_domain"),
    ("trust-domain-length", "agent", [(("agent", "trust_domain"), "b" * 300)], "agent.trust_domain"),
    ("trust-domain-length", "server", [(("server", "federation"), {"federates_with": {"c" * 256: {
        "bundle_endpoint_url": "https://example.org:8443", "bundle_endpoint_profile": {"https_web": {}}}}})],
     "server.federation.federates_with.%s" % ("c" * 256)),
]


def test_policy_table_is_complete():
    """A strict-only rule that has no row here (and so no proof that strict=false relaxes it) fails."""
    assert {case[0] for case in POLICY_CASES} == set(POLICY_RULES)


@pytest.mark.parametrize("case", POLICY_CASES, ids=["%s@%s" % (c[0], c[3]) for c in POLICY_CASES])
def test_strict_only_rule_errors_when_strict_and_only_warns_otherwise(case):
    rule, component, changes, path = case
    strict = run(component, changes, strict=True)
    lenient = run(component, changes, strict=False)
    assert findings(strict.errors, path), strict.errors
    assert all(m.endswith("[strict]") for m in strict.errors), "only the strict-only finding fails: %s" % strict.errors
    assert any(r == rule and hcl.format_path(p) == path for r, p in strict.policy_findings), strict.policy_findings
    assert lenient.errors == [], "strict=false must not fail on a strict-only rule: %s" % lenient.errors
    assert findings(lenient.warnings, path), lenient.warnings
    assert [r for r, _p in lenient.policy_findings] == [r for r, _p in strict.policy_findings]


RULES_DIR = pathlib.Path(rules.__file__).resolve().parent


def test_every_policy_call_names_a_registered_rule():
    """Strict-only findings are filed only through Report.policy/finding with a rule of POLICY_RULES."""
    used = set()
    for source in sorted(RULES_DIR.glob("*.py")):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr == "policy" and getattr(func.value, "id", None) == "report":
                assert isinstance(node.args[0], ast.Constant), "%s:%d: the rule must be a literal id" % (source.name, node.lineno)
                used.add(node.args[0].value)
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
                second = node.value.elts[1]
                if isinstance(second, ast.Constant) and isinstance(second.value, str) and second.value in POLICY_RULES:
                    used.add(second.value)  # returned by a problem function (trust_domain_problem)
    assert used == set(POLICY_RULES)


def test_trust_domain_problems_are_filed_in_one_place():
    """trust_domain_problem() returns the rule of a problem SPIRE accepts; only check_trust_domain may read it."""
    tree = ast.parse((RULES_DIR / "rules.py").read_text())
    callers = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "trust_domain_problem":
                    callers.add(func.name)
    assert callers == {"check_trust_domain"}


def test_docs_list_every_strict_only_rule():
    docs = (pathlib.Path(__file__).resolve().parents[5] / "docs" / "spire_config.md").read_text()
    policy = docs[docs.index("* **Policy**"):docs.index("* **Warning**")]
    assert set(re.findall(r"`([a-z0-9-]+)`", policy)) & set(POLICY_RULES) == set(POLICY_RULES), policy


def test_an_unknown_policy_rule_is_a_bug():
    with pytest.raises(AssertionError):
        Report().policy("no-such-rule", ("server",), "x")


# ----------------------------------------------------------- null and empty
def as_json(component, changes):
    """The mutated base configuration as JSON text, with NULL written as JSON null."""
    data = mutate(component, changes)
    return json.dumps(data, default=lambda value: "__NULL__").replace('"__NULL__"', "null")


NULL = hcl.NULL
HELM_MEMORY_KEYMANAGER = ("plugins", "KeyManager")


def test_helm_chart_memory_keymanager_plugin_data_null_is_accepted():
    """The official chart renders the memory KeyManager as {"memory": {"plugin_data": null}}."""
    text = as_json("server", [(HELM_MEMORY_KEYMANAGER, DEL)]).replace(
        '"plugins": {', '"plugins": {"KeyManager": [{"memory": {"plugin_data": null}}], ', 1)
    result = api.analyze("server", text=text, server_replicas=3)
    assert result.errors == [] and result.warnings == []
    assert result.config["plugins"]["KeyManager"] == {"memory": {"plugin_data": {}}}
    assert 'KeyManager "memory" {\n    plugin_data {}\n  }' in result.rendered


# (id, component, changes, None when SPIRE reads the null as unset, else (key path, text))
NULL_CASES = [
    ("string-unset", "server", [(("server", "log_file"), NULL), (("server", "jwt_issuer"), NULL)], None),
    ("enum-unset", "server", [(("server", "log_level"), NULL), (("server", "ca_key_type"), NULL)], None),
    ("duration-unset", "server", [(("server", "ca_ttl"), NULL), (("server", "agent_ttl"), NULL)], None),
    ("health-port-unset", "agent", [(("health_checks", "bind_port"), NULL)], None),
    ("plugin-data-null", "agent", [(("plugins", "WorkloadAttestor", "unix", "plugin_data"), NULL)], None),
    ("plugin-cmd-null", "agent", [(("plugins", "WorkloadAttestor", "unix", "plugin_cmd"), NULL)], None),
    ("list-element", "server", [(("server", "admin_ids"), ["spiffe://ardur.example/admin", NULL])],
     ("parse error", "null is not allowed in a list")),
    ("required-string", "server", [(("server", "trust_domain"), NULL)], ("server.trust_domain", "is required: it is empty (or null)")),
    ("int", "server", [(("server", "bind_port"), NULL)], ("server.bind_port", "is null, which SPIRE cannot decode as a number")),
    ("bool", "server", [(("server", "audit_log_enabled"), NULL)], ("server.audit_log_enabled", "cannot decode as true or false")),
    ("list", "server", [(("server", "admin_ids"), NULL)], ("server.admin_ids", "cannot decode as a list")),
    ("block", "server", [(("server", "ca_subject"), NULL)], ("server.ca_subject", "cannot decode as a block")),
    ("section", "agent", [(("telemetry",), NULL)], ("telemetry", "cannot decode as a block")),
    ("plugins", "agent", [(("plugins",), NULL)], ("plugins", "cannot decode as a block of plugin types")),
    ("map", "server", [(PSAT + ("clusters",), NULL)], ("plugins.NodeAttestor.k8s_psat.plugin_data.clusters", "is null: SPIRE hands")),
    ("pointer-duration", "server", [(("server", "max_attested_node_info_staleness"), NULL)],
     ("server.max_attested_node_info_staleness", "is not a Go duration")),
    ("plugin-enabled", "agent", [(("plugins", "WorkloadAttestor", "unix", "enabled"), NULL)],
     ("plugins.WorkloadAttestor.unix.enabled", "cannot decode as true or false")),
    ("plugin-data-file", "agent", [(("plugins", "WorkloadAttestor", "unix"), {"plugin_data_file": NULL})],
     ("plugins.WorkloadAttestor.unix.plugin_data_file", "SPIRE reads the plugin data from this path")),
    ("plugin-body", "agent", [(("plugins", "WorkloadAttestor", "unix"), NULL)],
     ("plugins.WorkloadAttestor.unix", "expected a plugin block, got null")),
    ("plugin-type", "agent", [(("plugins", "WorkloadAttestor"), NULL)], ("plugins.WorkloadAttestor", "got null")),
    ("in-plugin-data", "server", [(("plugins", "KeyManager", "disk", "plugin_data", "keys_path"), NULL)],
     ("plugins.KeyManager.disk.plugin_data.keys_path", "is null: SPIRE hands plugin_data to the plugin as HCL text")),
    ("in-unchecked-plugin-data", "server", [(("plugins", "NodeAttestor", "x509pop"), {"plugin_data": {"ca_bundle_path": NULL}})],
     ("plugins.NodeAttestor.x509pop.plugin_data.ca_bundle_path", "is null: SPIRE hands")),
    ("in-plugin-data-list", "agent", [(K8S + ("experimental",), {"sigstore": {"skipped_images": [NULL, "a"]}})],
     ("parse error", "null is not allowed in a list")),
    ("in-plugin-data-block", "agent", [(K8S + ("experimental",), {"sigstore": {"rekor_url": NULL}})],
     ("plugins.WorkloadAttestor.k8s.plugin_data.experimental.sigstore.rekor_url", "is null: SPIRE hands")),
]


@pytest.mark.parametrize("case", NULL_CASES, ids=[c[0] for c in NULL_CASES])
def test_json_null_means_what_it_means_to_spire(case):
    _id, component, changes, expected = case
    result = api.analyze(component, text=as_json(component, changes), server_replicas=3)
    if expected is None:
        assert result.errors == [], result.errors
        assert "null" not in result.rendered
        for path, _value in changes:
            if path[-1] != "plugin_data":
                parent = result.config
                for part in path[:-1]:
                    parent = parent[part]
                assert path[-1] not in parent, "a null SPIRE reads as unset is left out"
    else:
        path, text = expected
        assert any(text in m for m in findings(result.errors, path)), result.errors
        # The position of the null is reported, and the rendered text never carries a null.
        assert all("line " in m for m in findings(result.errors, path))
        assert "null" not in result.rendered


def schema_required(spec, path=()):
    """(path, spec) of every key declared required in a key table; "*" stands for a name in a map."""
    for key, kspec in spec["keys"].items():
        kpath = path + (key,)
        if kspec.get("required"):
            yield kpath, kspec
        if kspec["kind"] == "block":
            yield from schema_required(kspec, kpath)
        elif kspec["kind"] in ("map", "blocklist"):
            yield from schema_required(kspec, kpath + ("*",))
        elif kspec["kind"] == "dbtype":
            for name, sub in kspec["keys"].items():
                yield from schema_required(sub, kpath + (name,))


def all_required():
    for component in ("server", "agent"):
        for path, kspec in schema_required(S.core_schema(component)):
            yield component, path, kspec
        for (ptype, name), spec in S.PLUGIN_DATA[component].items():
            for path, kspec in schema_required(spec, ("plugins", ptype, name, "plugin_data")):
                yield component, path, kspec


# Valid configurations that, together, hold every block with a required key.
REQUIRED_BASES = {
    "server": [
        [],
        [(("server", "federation"), {
            "bundle_endpoint": {"acme": ACME},
            "federates_with": {"other.example": {"bundle_endpoint_url": "https://other.example:8443", "bundle_endpoint_profile": {
                "https_spiffe": {"endpoint_spiffe_id": "spiffe://other.example/spire/server"}}}}})],
        [(BE, {"profile": {"https_web": {"serving_cert_file": SERVING}}})],
        [(SQL + ("database_type",), {"aws_postgres": {"region": "eu-west-1"}}),
         (SQL + ("connection_string",), "host=db user=spire sslmode=verify-full")],
        [(SQL + ("database_type",), {"aws_mysql": {"region": "eu-west-1"}}),
         (SQL + ("connection_string",), "spire@tcp(db:3306)/spire?tls=true")],
    ],
    "agent": [[], [(("plugins", "KeyManager"), {"disk": {"plugin_data": {"directory": "/run/spire/data"}}})]],
}


def resolve(data, pattern):
    """The concrete path of ``pattern`` in ``data`` (its parent must exist), or None."""
    path, node = (), data
    for part in pattern[:-1]:
        if not isinstance(node, dict):
            return None
        if part == "*":
            if not node:
                return None
            part = sorted(node)[0]
        if part not in node:
            return None
        path, node = path + (part,), node[part]
    return path + (pattern[-1],) if isinstance(node, dict) else None


REQUIRED = sorted(set((component, path) for component, path, _kspec in all_required()))


@pytest.mark.parametrize("component, pattern", REQUIRED, ids=["%s:%s" % (c, ".".join(p)) for c, p in REQUIRED])
def test_required_means_present_and_not_empty(component, pattern):
    """Walks the key tables: every required key must be present, and a string one not empty (nor null)."""
    kspec = dict((p, k) for c, p, k in all_required() if c == component)[pattern]
    found = [(base, resolve(mutate(component, base), pattern)) for base in REQUIRED_BASES[component]]
    found = [(base, path) for base, path in found if path is not None]
    assert found, "no base configuration in REQUIRED_BASES holds %s: add one" % (pattern,)
    base, path = found[0]
    assert run(component, base).errors == [], "the base itself is valid"
    shown = hcl.format_path(path)
    missing = run(component, base + [(path, DEL)])
    assert any(m.startswith(shown + ": is required") for m in missing.errors), missing.errors
    if kspec["kind"] in ("str", "duration", "dbtype"):
        empty = run(component, base + [(path, "")], strict=False)
        assert any(m.startswith(shown + ": is required: it is empty") for m in empty.errors), empty.errors
        null = api.analyze(component, text=as_json(component, base + [(path, NULL)]), server_replicas=3, strict=False)
        inside_plugin_data = "plugin_data" in path
        text = "is null: SPIRE hands plugin_data" if inside_plugin_data else "is required: it is empty (or null)"
        assert any(text in m for m in findings(null.errors, shown)), null.errors
