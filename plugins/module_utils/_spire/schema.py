# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Key tables of SPIRE 1.14.2 configuration files.

Facts read from spiffe/spire at tag v1.14.2 (no code copied):

* core blocks: ``cmd/spire-server/cli/run/run.go`` (serverConfig,
  experimentalConfig, federation*, caSubjectConfig, rateLimitConfig) and
  ``cmd/spire-agent/cli/run/run.go`` (agentConfig, sdsConfig,
  experimentalConfig); ``pkg/server/authpolicy/policy.go``;
* ``health_checks``: ``pkg/common/health/config.go`` (``bind_port`` is a
  string); ``telemetry``: ``pkg/common/telemetry/config.go``;
* plugin blocks: ``pkg/common/catalog/config.go`` (hclPluginConfig);
  plugin type names and counts: ``pkg/server/catalog/*.go``,
  ``pkg/agent/catalog/*.go`` and ``pkg/common/catalog/constraints.go``;
* plugin data: ``pkg/server/datastore/sqlstore/sqlstore.go``,
  ``pkg/server/plugin/keymanager/disk``, ``pkg/agent/plugin/keymanager/disk``,
  ``pkg/server/plugin/upstreamauthority/disk``,
  ``pkg/server/plugin/nodeattestor/k8spsat``,
  ``pkg/agent/plugin/nodeattestor/k8spsat``,
  ``pkg/server/plugin/notifier/k8sbundle``,
  ``pkg/agent/plugin/workloadattestor/k8s`` (+ ``pkg/agent/common/sigstore``),
  ``pkg/agent/plugin/workloadattestor/unix/unix_posix.go``;
* removed keys: ``CHANGELOG.md`` "Removed" sections, each checked against the
  struct of the last release that still had the key.

A key spec is a dict with ``kind`` (str, int, bool, float, duration,
strlist, block, map, blocklist, any, dbtype) and optional ``required``
(True, or the reason as text: the key must be present and not empty),
``enum`` (matched case-insensitively where SPIRE lowercases), ``port``
(``'zero-ok'`` when 0 means "default"), ``secret`` (value masked),
``dsn`` (password inside masked), ``keys``/``removed`` for nested blocks,
``ptr`` (a Go pointer field: an empty string or null is a value SPIRE parses,
not "unset") and ``null`` (``'empty'``: JSON null reads as an empty block).

Empty strings and JSON null: HCL v1 reads null as an empty string, and SPIRE
treats an empty plain string field as unset (``validate.is_unset``); null for
any other type fails to decode.
"""

from __future__ import annotations

SPIRE_VERSION = '1.14.2'


def _k(kind, **kw):
    kw['kind'] = kind
    return kw


def block(keys, removed=None, **kw):
    return _k('block', keys=keys, removed=removed or {}, **kw)


def mapof(keys, removed=None, **kw):
    """A map of user-chosen names to blocks (``clusters = { "name" = {...} }``)."""
    return _k('map', keys=keys, removed=removed or {}, **kw)


def blocklist(keys, **kw):
    """Repeated blocks decoded into a Go slice (``DogStatsd``, k8sbundle ``clusters``)."""
    return _k('blocklist', keys=keys, removed={}, **kw)


STR = 'str'
INT = 'int'
BOOL = 'bool'
DUR = 'duration'
LST = 'strlist'
ANY = 'any'

LOG_LEVELS = ('panic', 'fatal', 'error', 'warn', 'warning', 'info', 'debug', 'trace')  # logrus.ParseLevel
LOG_FORMATS = ('text', 'json')  # pkg/common/log WithFormat (upper-cased there)
CA_KEY_TYPES = ('rsa-2048', 'rsa-4096', 'ec-p256', 'ec-p384')  # keyTypeFromString
WORKLOAD_KEY_TYPES = ('rsa-2048', 'ec-p256', 'ec-p384')  # pkg/agent/workloadkey
FEATURE_FLAGS = ('i_am_a_test_flag', 'wit-svid')  # pkg/common/fflag
DATABASE_TYPES = ('sqlite3', 'postgres', 'mysql')  # sqlstore: plain string form
AWS_DATABASE_TYPES = ('aws_postgres', 'aws_mysql')  # sqlstore: labelled block form

_ACME = block({
    'directory_url': _k(STR), 'domain_name': _k(STR), 'email': _k(STR), 'tos_accepted': _k(BOOL),
})
# The deprecated bundle_endpoint.acme block: run.go validateConfig requires these two.
_ACME_TOP = block({
    'directory_url': _k(STR), 'domain_name': _k(STR, required=True), 'email': _k(STR, required=True),
    'tos_accepted': _k(BOOL),
})

# run.go configToDiskCertManager parses file_sync_interval unconditionally (spire 1.14.2 .. 1.14.7).
_FILE_SYNC_INTERVAL_REQUIRED = ('SPIRE 1.14 parses it even when it is left out and then fails with: time: invalid '
                                'duration ""; its documented default 1h applies to "0s"')

SERVER = block({
    'admin_ids': _k(LST),
    'agent_ttl': _k(DUR),
    'audit_log_enabled': _k(BOOL),
    'bind_address': _k(STR),
    'bind_port': _k(INT, port='zero-ok'),
    'ca_key_type': _k(STR, enum=CA_KEY_TYPES),
    'ca_subject': block({'country': _k(LST), 'organization': _k(LST), 'common_name': _k(STR)}),
    'ca_ttl': _k(DUR),
    'data_dir': _k(STR, required=True),
    'default_x509_svid_ttl': _k(DUR),
    'default_jwt_svid_ttl': _k(DUR),
    'experimental': block({
        'auth_opa_policy_engine': block({
            'local': block({'rego_path': _k(STR), 'policy_data_path': _k(STR)},
                           removed={'use_rego_v1': ('1.13.0', 'rego v1 is the only policy syntax now')}),
        }),
        'cache_reload_interval': _k(DUR),
        'full_cache_reload_interval': _k(DUR),
        'events_based_cache': _k(BOOL),
        'prune_events_older_than': _k(DUR),
        'event_timeout': _k(DUR),
        'sql_transaction_timeout': _k(DUR),
        'require_pq_kem': _k(BOOL),
        'wit_key_type': _k(STR, enum=CA_KEY_TYPES),
        'feature_flags': _k(LST, enum=FEATURE_FLAGS, exact=True),
        'named_pipe_name': _k(STR),
    }, removed={
        'allow_agentless_node_attestors': ('1.0.0', None),
    }),
    'federation': block({
        'bundle_endpoint': block({
            'address': _k(STR),
            'port': _k(INT, port='zero-ok'),
            'refresh_hint': _k(DUR),
            'acme': _ACME_TOP,
            'profile': block({
                'https_spiffe': block({}),
                'https_web': block({
                    'acme': _ACME,
                    'serving_cert_file': block({
                        # diskcertmanager loads both files when the configuration is read
                        'cert_file_path': _k(STR, required=True),
                        'key_file_path': _k(STR, required=True),
                        'file_sync_interval': _k(DUR, required=_FILE_SYNC_INTERVAL_REQUIRED),
                    }),
                }),
            }),
        }),
        'federates_with': mapof({
            'bundle_endpoint_url': _k(STR, required=True),
            'bundle_endpoint_profile': block({
                'https_spiffe': block({'endpoint_spiffe_id': _k(STR, required=True)}),
                'https_web': block({}),
            }, required='missing bundle endpoint configuration (SPIRE)'),
        }, removed={'bundle_endpoint': ('1.1.0', 'use bundle_endpoint_url and bundle_endpoint_profile')}),
    }),
    'disable_jwt_svids': _k(BOOL),
    'jwt_issuer': _k(STR),
    'jwt_key_type': _k(STR, enum=CA_KEY_TYPES),
    'log_file': _k(STR),
    'log_level': _k(STR, enum=LOG_LEVELS),
    'log_format': _k(STR, enum=LOG_FORMATS),
    'log_source_location': _k(BOOL),
    'prune_attested_nodes_expired_for': _k(DUR),
    'prune_tofu_nodes': _k(BOOL),
    'ratelimit': block({'attestation': _k(BOOL), 'signing': _k(BOOL)}),
    'socket_path': _k(STR),
    'trust_domain': _k(STR, required=True),
    'max_attested_node_info_staleness': _k(DUR, ptr=True),  # *string: parsed when set, even to ""
    'profiling_enabled': _k(BOOL),
    'profiling_port': _k(INT, port='zero-ok'),
    'profiling_freq': _k(INT),
    'profiling_names': _k(LST),
}, removed={
    'default_svid_ttl': ('1.6.0', 'use default_x509_svid_ttl and default_jwt_svid_ttl'),
    'omit_x509svid_uid': ('1.6.0', None),
    'exclude_sn_from_ca_subject': ('1.10.0', None),
    'use_legacy_downstream_x509_ca_ttl': ('1.13.0', None),
    'allow_unsafe_ids': ('1.2.0', None),
    'registration_uds_path': ('1.1.0', 'use socket_path'),
})

AGENT = block({
    'data_dir': _k(STR),
    'admin_socket_path': _k(STR),
    'insecure_bootstrap': _k(BOOL),
    'rebootstrap_mode': _k(STR, enum=('never', 'auto', 'always'), exact=True),
    'rebootstrap_delay': _k(DUR),
    'join_token': _k(STR, secret=True),
    'join_token_file': _k(STR),
    'log_file': _k(STR),
    'log_format': _k(STR, enum=LOG_FORMATS),
    'log_level': _k(STR, enum=LOG_LEVELS),
    'log_source_location': _k(BOOL),
    'sds': block({
        'default_svid_name': _k(STR), 'default_bundle_name': _k(STR), 'default_all_bundles_name': _k(STR),
        'disable_spiffe_cert_validation': _k(BOOL),
    }),
    'server_address': _k(STR, required=True),
    'server_port': _k(INT, required=True, port=True),
    'socket_path': _k(STR),
    'workload_x509_svid_key_type': _k(STR, enum=WORKLOAD_KEY_TYPES),
    'trust_bundle_format': _k(STR, enum=('pem', 'spiffe'), exact=True),
    'trust_bundle_path': _k(STR),
    'trust_bundle_unix_socket': _k(STR),
    'trust_bundle_url': _k(STR),
    'trust_domain': _k(STR, required=True),
    'allow_unauthenticated_verifiers': _k(BOOL),
    'allowed_foreign_jwt_claims': _k(LST),
    'availability_target': _k(DUR),
    'x509_svid_cache_max_size': _k(INT),
    'jwt_svid_cache_max_size': _k(INT),
    'authorized_delegates': _k(LST),
    'profiling_enabled': _k(BOOL),
    'profiling_port': _k(INT, port='zero-ok'),
    'profiling_freq': _k(INT),
    'profiling_names': _k(LST),
    'experimental': block({
        'sync_interval': _k(DUR),
        'named_pipe_name': _k(STR),
        'admin_named_pipe_name': _k(STR),
        'use_sync_authorized_entries': _k(BOOL),
        'require_pq_kem': _k(BOOL),
        'feature_flags': _k(LST, enum=FEATURE_FLAGS, exact=True),
    }),
}, removed={
    'retry_bootstrap': ('1.14.0', 'the agent now always retries; see rebootstrap_mode'),
    'disable_reattest_to_renew': ('1.10.0', None),
    'enable_sds': ('1.0.0', 'SDS is always on'),
})

HEALTH_CHECKS = block({
    'listener_enabled': _k(BOOL),
    'bind_address': _k(STR),
    'bind_port': _k(STR, port=True),  # a string in SPIRE (health.Config.BindPort)
    'live_path': _k(STR),
    'ready_path': _k(STR),
})

TELEMETRY = block({
    'Prometheus': block({'host': _k(STR), 'port': _k(INT, port=True)}),
    'DogStatsd': blocklist({'address': _k(STR)}),
    'Statsd': blocklist({'address': _k(STR)}),
    'M3': blocklist({'address': _k(STR), 'env': _k(STR)}),
    'InMem': block({}, removed={'enabled': ('1.6.0', 'an InMem block enables it')}),
    'MetricPrefix': _k(STR),
    'EnableTrustDomainLabel': _k(BOOL),
    'EnableHostnameLabel': _k(BOOL),
    'AllowedPrefixes': _k(LST),
    'BlockedPrefixes': _k(LST),
    'AllowedLabels': _k(LST),
    'BlockedLabels': _k(LST),
})

# Keys of a plugin block itself (pkg/common/catalog/config.go hclPluginConfig).
PLUGIN_BLOCK_KEYS = ('plugin_cmd', 'plugin_args', 'plugin_checksum', 'plugin_data', 'plugin_data_file', 'enabled')
PLUGIN_BLOCK = block({
    'plugin_cmd': _k(STR),
    'plugin_args': _k(LST),
    'plugin_checksum': _k(STR),
    'plugin_data': _k(ANY, null='empty'),  # checked against the plugin's own table; null: no data
    'plugin_data_file': _k(STR, ptr=True),  # *string: set to "" (or null) it names no file, and SPIRE fails
    'enabled': _k(BOOL),
})

_AWS_DB = block({'region': _k(STR, required='region must be specified (SPIRE)'), 'access_key_id': _k(STR),
                 'secret_access_key': _k(STR, secret=True)})

SQL = block({
    'database_type': _k('dbtype', required=True, keys={'aws_postgres': _AWS_DB, 'aws_mysql': _AWS_DB}),
    'connection_string': _k(STR, required=True, dsn=True),
    'ro_connection_string': _k(STR, dsn=True),
    'root_ca_path': _k(STR),
    'client_cert_path': _k(STR),
    'client_key_path': _k(STR),
    'conn_max_lifetime': _k(DUR, ptr=True),  # *string: parsed when set, even to ""
    'max_open_conns': _k(INT),
    'max_idle_conns': _k(INT),
    'disable_migration': _k(BOOL),
    'log_sql': _k(BOOL),
})

_K8SBUNDLE_CLUSTER = {
    'namespace': _k(STR),
    'config_map': _k(STR),
    'config_map_key': _k(STR),
    'webhook_label': _k(STR),
    'api_service_label': _k(STR),
    'kube_config_file_path': _k(STR),
}
_K8SBUNDLE = dict(_K8SBUNDLE_CLUSTER)
_K8SBUNDLE['clusters'] = blocklist(dict(_K8SBUNDLE_CLUSTER))

_SIGSTORE = block({
    'allowed_identities': _k(ANY),
    'skipped_images': _k(LST),
    'rekor_url': _k(STR),
    'ignore_sct': _k(BOOL),
    'ignore_tlog': _k(BOOL),
    'ignore_attestations': _k(BOOL),
    'registry_credentials': mapof({'username': _k(STR), 'password': _k(STR, secret=True)}),
})

# Plugins whose plugin_data this module checks key by key.
PLUGIN_DATA = {
    'server': {
        ('DataStore', 'sql'): SQL,
        ('KeyManager', 'disk'): block({'keys_path': _k(STR, required=True)}),
        ('KeyManager', 'memory'): block({}),
        ('UpstreamAuthority', 'disk'): block({
            'cert_file_path': _k(STR, required=True),
            'key_file_path': _k(STR, required=True),
            'bundle_file_path': _k(STR),
        }),
        ('NodeAttestor', 'k8s_psat'): block({
            'clusters': mapof({
                'service_account_allow_list': _k(LST),
                'audience': _k(LST),
                'kube_config_file': _k(STR),
                'allowed_node_label_keys': _k(LST),
                'allowed_pod_label_keys': _k(LST),
            }, removed={'service_account_whitelist': ('1.1.0', 'use service_account_allow_list')}),
        }),
        ('NodeAttestor', 'join_token'): block({}),
        ('Notifier', 'k8sbundle'): block(_K8SBUNDLE),
    },
    'agent': {
        ('KeyManager', 'disk'): block({'directory': _k(STR, required=True)}),
        ('KeyManager', 'memory'): block({}),
        ('NodeAttestor', 'k8s_psat'): block({'cluster': _k(STR, required=True), 'token_path': _k(STR)}),
        ('WorkloadAttestor', 'k8s'): block({
            'kubelet_read_only_port': _k(INT, port='zero-ok'),  # 0 or unset: not used
            'kubelet_secure_port': _k(INT, port='zero-ok'),  # 0 or unset: 10250
            'max_poll_attempts': _k(INT),
            'poll_retry_interval': _k(DUR),
            'kubelet_ca_path': _k(STR),
            'skip_kubelet_verification': _k(BOOL),
            'token_path': _k(STR),
            'certificate_path': _k(STR),
            'private_key_path': _k(STR),
            'use_anonymous_authentication': _k(BOOL),
            'node_name_env': _k(STR),
            'node_name': _k(STR),
            'reload_interval': _k(DUR),
            'disable_container_selectors': _k(BOOL),
            'use_new_container_locator': _k(BOOL),
            'verbose_container_locator_logs': _k(BOOL),
            'experimental': block({'sigstore': _SIGSTORE}),
        }),
        ('WorkloadAttestor', 'unix'): block({'discover_workload_path': _k(BOOL), 'workload_size_limit': _k(INT)}),
    },
}

# Built-in plugin names per type (the catalogs' BuiltIns() at v1.14.2).
BUILTINS = {
    'server': {
        'DataStore': ('sql',),
        'KeyManager': ('aws_kms', 'azure_key_vault', 'disk', 'gcp_kms', 'memory'),
        'NodeAttestor': ('aws_iid', 'azure_imds', 'azure_msi', 'gcp_iit', 'http_challenge', 'join_token',
                         'k8s_psat', 'sshpop', 'tpm_devid', 'x509pop'),
        'Notifier': ('gcs_bundle', 'k8sbundle'),
        'UpstreamAuthority': ('aws_pca', 'awssecret', 'cert-manager', 'disk', 'ejbca', 'gcp_cas', 'spire', 'vault'),
        'BundlePublisher': ('aws_rolesanywhere_trustanchor', 'aws_s3', 'gcp_cloudstorage', 'k8s_configmap'),
        'CredentialComposer': ('uniqueid',),
    },
    'agent': {
        'KeyManager': ('disk', 'memory'),
        'NodeAttestor': ('aws_iid', 'azure_imds', 'azure_msi', 'gcp_iit', 'http_challenge', 'join_token',
                         'k8s_psat', 'sshpop', 'tpm_devid', 'x509pop'),
        'SVIDStore': ('aws_secretsmanager', 'gcp_secretmanager'),
        'WorkloadAttestor': ('docker', 'k8s', 'systemd', 'unix', 'windows'),
    },
}

# Render order of plugin types (SPIRE's documented conventional order).
PLUGIN_TYPE_ORDER = {
    'server': ('DataStore', 'KeyManager', 'UpstreamAuthority', 'NodeAttestor', 'Notifier', 'BundlePublisher',
               'CredentialComposer'),
    'agent': ('KeyManager', 'NodeAttestor', 'WorkloadAttestor', 'SVIDStore'),
}

# (min, max) enabled plugins per type; None = no bound (catalog Constraints()).
PLUGIN_COUNTS = {
    'server': {'DataStore': (1, 1), 'KeyManager': (1, 1), 'UpstreamAuthority': (0, 1)},
    'agent': {'KeyManager': (1, 1), 'NodeAttestor': (1, 1), 'WorkloadAttestor': (1, None)},
}

REMOVED_PLUGINS = {
    ('NodeAttestor', 'k8s_sat'): ('1.12.0', 'use k8s_psat'),
}
REMOVED_PLUGIN_TYPES = {
    'NodeResolver': ('1.5.0', None),
    'UpstreamCA': ('0.11.0', 'use UpstreamAuthority'),
}

SECTIONS = {
    'server': ('server', 'plugins', 'health_checks', 'telemetry'),
    'agent': ('agent', 'plugins', 'health_checks', 'telemetry'),
}

# SPIRE defaults the rules need (run.go defaultConfig, credtemplate).
DEFAULT_CA_TTL = '24h'
DEFAULT_X509_SVID_TTL = '1h'
DEFAULT_JWT_SVID_TTL = '5m'
MAX_SVID_TTL_CAP = '168h'  # ca/manager activationThresholdCap (7 days)
CA_TTL_DIVISOR = 6  # ca/manager activationThresholdDivisor


def core_schema(component):
    """The schema of the top level of a configuration file."""
    return block({
        component: dict(SERVER if component == 'server' else AGENT, required=True),
        'plugins': _k('plugins', required=True),
        'health_checks': HEALTH_CHECKS,
        'telemetry': TELEMETRY,
    })


def decode_policy(path):
    """How repeated keys combine while decoding (see hcl._decode)."""
    n = len(path)
    if n == 3 and path[0] == 'plugins':
        return 'unique'  # SPIRE: plugin "T"/"N" declared more than once
    if n == 2 and path[0] == 'telemetry' and path[1] in ('DogStatsd', 'Statsd', 'M3'):
        return 'list'
    if n == 5 and path[:3] == ('plugins', 'Notifier', 'k8sbundle') and path[3:] == ('plugin_data', 'clusters'):
        return 'list'
    return 'merge'
