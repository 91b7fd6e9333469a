"""Every rule of the checker, each with a valid and an invalid case.

Each case starts from a valid fixture of the ADR-015 design, applies a valid
and an invalid mutation, and expects the invalid one to produce a finding at
an exact key path with the given text.  ``policy`` rules are errors when
strict and warnings otherwise; ``warn`` findings never fail.
"""

import copy
import pathlib

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import api

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "spire_config" / "valid"
BASE = {
    "server": api.load("server", text=(FIXTURES / "server-ha.conf").read_text())[0],
    "agent": api.load("agent", text=(FIXTURES / "agent.conf").read_text())[0],
}
SQL = ("plugins", "DataStore", "sql", "plugin_data")
PSAT = ("plugins", "NodeAttestor", "k8s_psat", "plugin_data")
K8S = ("plugins", "WorkloadAttestor", "k8s", "plugin_data")
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
            parent[path[-1]] = value
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
