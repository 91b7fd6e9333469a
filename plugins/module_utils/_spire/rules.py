# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Plugin checks and cross-field rules of SPIRE 1.14.2 configurations.

Each rule names its source: "SPIRE" when spire-server/spire-agent 1.14.2
refuses the setting (run.go, the catalog or the plugin), "policy" when it is
this collection's production rule (see validate.Report.policy).
"""

from __future__ import annotations

from . import env
from . import schema as S
from .hcl import NULL
from .validate import (check_block, coerce, parse_duration, format_duration, trust_domain_problem,
                       spiffe_id_problem, parse_postgres_dsn, dsn_password_span, _suggest, _typename)

# SPIRE prints plugin_data back to HCL text for the plugin to decode; a JSON null prints as nothing
# ("key = "), which no plugin can parse.  (A null plugin_data itself prints as no data at all.)
NULL_IN_PLUGIN_DATA = ('is null: SPIRE hands plugin_data to the plugin as HCL text, where a null becomes a missing '
                       'value the plugin cannot parse; leave the key out')


def _enabled(body):
    return not (isinstance(body, dict) and body.get('enabled') is False)


# -------------------------------------------------------------------- plugins
def check_plugins(plugins, component, report):
    """Check the plugins section; return a normalized copy."""
    path = ('plugins',)
    if not isinstance(plugins, dict):
        report.error(path, 'expected a block of plugin types')
        return plugins
    types = S.BUILTINS[component]
    out = {}
    counts = {}
    for ptype, entries in plugins.items():
        tpath = path + (ptype,)
        if ptype in S.REMOVED_PLUGIN_TYPES:
            version, hint = S.REMOVED_PLUGIN_TYPES[ptype]
            report.error(tpath, 'plugin type was removed in SPIRE %s%s' % (version, ('; ' + hint) if hint else ''))
        elif ptype not in types:
            other = 'agent' if component == 'server' else 'server'
            note = (' (it is a %s plugin type)' % other) if ptype in S.BUILTINS[other] else _suggest(ptype, types)
            report.error(tpath, 'spire-%s %s rejects unsupported plugin type %r%s'
                         % (component, S.SPIRE_VERSION, ptype, note))
        if not isinstance(entries, dict):
            report.error(tpath, 'expected plugin blocks: %s "name" { ... }, got %s' % (ptype, _typename(entries)))
            if entries is not NULL:
                out[ptype] = entries
            continue
        out[ptype] = {}
        for name, body in entries.items():
            npath = tpath + (name,)
            if not isinstance(body, dict):
                report.error(npath, 'expected a plugin block, got %s' % _typename(body))
                if body is not NULL:
                    out[ptype][name] = body
                continue
            out[ptype][name] = _check_plugin(component, ptype, name, body, npath, report)
            if _enabled(out[ptype][name]):
                counts[ptype] = counts.get(ptype, 0) + 1
    _check_counts(component, counts, report)
    return out


def _check_plugin(component, ptype, name, body, npath, report):
    norm = check_block(body, S.PLUGIN_BLOCK, npath, report)
    known_type = ptype in S.BUILTINS[component]
    external = bool(norm.get('plugin_cmd'))
    if 'plugin_data' in norm and 'plugin_data_file' in norm:
        report.error(npath, 'only one of [plugin_data, plugin_data_file] can be used (SPIRE)')
    if (ptype, name) in S.REMOVED_PLUGINS:
        version, hint = S.REMOVED_PLUGINS[(ptype, name)]
        report.error(npath, 'the %s plugin %r was removed in SPIRE %s%s' % (ptype, name, version, ('; ' + hint) if hint else ''))
        return norm
    if not _enabled(norm):
        report.warn(npath, 'plugin is disabled (enabled = false): SPIRE does not load it and its plugin_data is not checked')
        return norm
    if norm.get('plugin_data_file') == '':
        report.error(npath + ('plugin_data_file',), 'is empty (or null): SPIRE reads the plugin data from this path and fails')
    if isinstance(norm.get('plugin_data'), dict):
        norm['plugin_data'] = _without_nulls(norm['plugin_data'], npath + ('plugin_data',), report)
    if ptype == 'DataStore' and (name != 'sql' or external):
        report.error(npath, 'pluggability for the DataStore was removed; only the built-in "sql" plugin is supported (SPIRE)')
        return norm
    if ptype == 'NodeAttestor' and name == 'join_token' and external:
        report.error(npath, 'the built-in join_token node attestor cannot be overridden by an external plugin (SPIRE)')
    if not known_type:
        return norm
    if external:
        report.warn(npath, 'external plugin (plugin_cmd): its plugin_data is not checked by this module')
        return norm
    if name not in S.BUILTINS[component][ptype]:
        report.error(npath, 'spire-%s %s has no built-in %s plugin named %r and no plugin_cmd is set%s'
                     % (component, S.SPIRE_VERSION, ptype, name, _suggest(name, S.BUILTINS[component][ptype])))
        return norm
    spec = S.PLUGIN_DATA[component].get((ptype, name))
    if spec is None:
        report.warn(npath, 'built-in plugin this module has no key table for: its plugin_data is not checked')
        return norm
    if 'plugin_data_file' in norm:
        report.warn(npath + ('plugin_data_file',), 'plugin_data is read from a file at run time and is not checked')
        return norm
    data = norm.get('plugin_data', {})
    if not isinstance(data, dict):
        report.error(npath + ('plugin_data',), 'expected a block')
        return norm
    norm['plugin_data'] = coerce(data, spec, npath + ('plugin_data',), report)
    return norm


def _without_nulls(data, path, report):
    """``data`` without its JSON nulls, each reported (see NULL_IN_PLUGIN_DATA); a list holds none (hcl.py)."""
    if not isinstance(data, dict):
        return data
    kept = {}
    for key, value in data.items():
        if value is NULL:
            report.error(path + (key,), NULL_IN_PLUGIN_DATA)
        else:
            kept[key] = _without_nulls(value, path + (key,), report)
    return kept


def _check_counts(component, counts, report):
    for ptype, (low, high) in S.PLUGIN_COUNTS[component].items():
        count = counts.get(ptype, 0)
        path = ('plugins', ptype)
        if low == high and count != low:
            report.error(path, 'exactly %d enabled %s plugin is required, found %d (SPIRE)' % (low, ptype, count))
        elif count < low:
            report.error(path, 'at least %d enabled %s plugin is required, found %d (SPIRE)' % (low, ptype, count))
        elif high is not None and count > high:
            report.error(path, 'at most %d enabled %s plugin is allowed, found %d (SPIRE)' % (high, ptype, count))
    if component == 'server' and not counts.get('NodeAttestor'):
        report.policy('no-node-attestor', ('plugins', 'NodeAttestor'), 'no enabled NodeAttestor: SPIRE starts, but no agent can attest')


def plugin_data(config, ptype, name):
    """The plugin_data of an enabled plugin, or None."""
    body = ((config.get('plugins') or {}).get(ptype) or {}).get(name)
    if not isinstance(body, dict) or not _enabled(body):
        return None
    data = body.get('plugin_data')
    return data if isinstance(data, dict) else None


def _str(value):
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------- shared rules
def check_trust_domain(path, value, report, what=''):
    """Report what is wrong with the trust domain ``value``; the one check of every trust domain setting.

    A problem SPIRE accepts (a spiffe:// form, more than 255 characters) is a policy
    finding, so ``strict=false`` makes it a warning wherever the trust domain stands.
    """
    if not isinstance(value, str) or env.has_reference(value):
        return
    message, rule = trust_domain_problem(value)
    if message:
        report.finding(path, what + message, rule)


def _duration(value):
    if not isinstance(value, str) or env.has_reference(value):
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None  # already reported by the type check


def _check_unbraced_refs(data, path, report):
    """Warn where ``-expandEnv`` would expand a ``$NAME`` written by accident."""
    if isinstance(data, dict):
        for key, value in data.items():
            _check_unbraced_refs(value, path + (key,), report)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_unbraced_refs(value, path + (i,), report)
    elif isinstance(data, str):
        refs = env.unbraced_references(data)
        if refs:
            report.warn(path, 'contains %s, which -expandEnv replaces with an environment variable; '
                              'write ${NAME} for a variable or $$ for a literal $' % ', '.join(sorted(set(refs))))


# --------------------------------------------------------------------- server
def check_server(config, report, server_replicas):
    server = config.get('server')
    if not isinstance(server, dict):
        return
    check_trust_domain(('server', 'trust_domain'), server.get('trust_domain'), report)
    _check_ttls(server, report)
    for i, admin in enumerate(server.get('admin_ids') or []):
        if isinstance(admin, str) and not env.has_reference(admin):
            problem = spiffe_id_problem(admin)
            if problem:
                report.error(('server', 'admin_ids', i), 'is not a SPIFFE ID: %s (SPIRE)' % problem)
    _check_server_experimental(server.get('experimental'), report)
    _check_federation(server.get('federation'), report)
    _check_datastore(config, report, server_replicas)
    _check_psat_server(config, report)
    _check_k8sbundle(config, report)


def _check_ttls(server, report):
    ca_ttl = _duration(server.get('ca_ttl', S.DEFAULT_CA_TTL))
    if ca_ttl is None:
        return
    if ca_ttl < 0:
        report.error(('server', 'ca_ttl'), 'must not be negative')
        return
    if ca_ttl == 0:
        ca_ttl = parse_duration(S.DEFAULT_CA_TTL)  # credtemplate: 0 means the default
    limit = min(ca_ttl // S.CA_TTL_DIVISOR, parse_duration(S.MAX_SVID_TTL_CAP))
    checks = [('default_x509_svid_ttl', S.DEFAULT_X509_SVID_TTL), ('default_jwt_svid_ttl', S.DEFAULT_JWT_SVID_TTL)]
    if 'agent_ttl' in server:
        checks.append(('agent_ttl', None))  # unset: the agent SVID uses default_x509_svid_ttl
    for key, default in checks:
        value = server.get(key, default)
        ttl = _duration(value)
        if ttl is None:
            continue
        if ttl < 0:
            report.error(('server', key), 'must not be negative')
            continue
        if ttl > limit:
            source = 'set' if key in server else 'SPIRE default %s' % default
            message = ('%s (%s) exceeds min(ca_ttl/6, 7d) = %s for ca_ttl %s: SVIDs would be cut short by CA rotation '
                       '(SPIRE only logs a warning); lower it or raise ca_ttl to at least %s'
                       % (format_duration(ttl), source, format_duration(limit), format_duration(ca_ttl),
                          format_duration(ttl * S.CA_TTL_DIVISOR)))
            report.policy('svid-ttl', ('server', key), message)


def _check_server_experimental(experimental, report):
    if not isinstance(experimental, dict):
        return
    path = ('server', 'experimental')
    if experimental.get('event_timeout') and experimental.get('sql_transaction_timeout'):
        report.error(path, 'both sql_transaction_timeout and event_timeout are set; only set event_timeout (SPIRE)')
    elif 'sql_transaction_timeout' in experimental:
        report.warn(path + ('sql_transaction_timeout',), 'is deprecated; use event_timeout')
    if experimental.get('named_pipe_name'):
        report.error(path + ('named_pipe_name',), 'is not supported on this platform; use socket_path (SPIRE, POSIX)')


def _one_profile(profiles, path, report):
    """The name of the single profile in a profile block, or None (run.go parseBundleEndpointProfileASTNode)."""
    if not isinstance(profiles, dict):
        return None
    if len(profiles) != 1:
        report.error(path, 'exactly one bundle endpoint profile is expected, found %d (SPIRE)' % len(profiles))
        return None
    return list(profiles)[0]


def _check_federation(federation, report):
    """The checks of run.go validateConfig, setBundleEndpointConfigProfile and parseBundleEndpointProfile.

    Required keys (the deprecated acme block's domain_name/email, serving_cert_file's paths and
    file_sync_interval, bundle_endpoint_url, bundle_endpoint_profile, endpoint_spiffe_id) are in
    the key table.
    """
    if not isinstance(federation, dict):
        return
    path = ('server', 'federation')
    endpoint = federation.get('bundle_endpoint')
    if isinstance(endpoint, dict):
        epath = path + ('bundle_endpoint',)
        if 'acme' in endpoint and 'profile' in endpoint:
            report.error(epath, "either 'acme' or 'profile' can be set, not both (SPIRE)")
        elif 'acme' in endpoint:
            report.warn(epath + ('acme',), 'is deprecated (SPIRE logs a warning); use profile "https_web" { acme { ... } }')
        elif 'profile' not in endpoint:
            report.warn(epath, 'has no profile: SPIRE uses https_spiffe and logs that this will be fatal in a future '
                               'release; set profile "https_spiffe" {} or profile "https_web" { ... }')
        else:
            ppath = epath + ('profile',)
            name = _one_profile(endpoint['profile'], ppath, report)
            web = endpoint['profile'].get('https_web') if name == 'https_web' else None
            if isinstance(web, dict):
                if 'acme' not in web and 'serving_cert_file' not in web:
                    report.error(ppath + ('https_web',), "needs 'acme' or 'serving_cert_file' (SPIRE: malformed https_web "
                                                         "profile configuration)")
                elif 'acme' in web and 'serving_cert_file' in web:
                    report.warn(ppath + ('https_web',), "has both 'acme' and 'serving_cert_file': SPIRE uses acme and "
                                                        "ignores serving_cert_file")
    for td, conf in (federation.get('federates_with') or {}).items():
        tpath = path + ('federates_with', td)
        check_trust_domain(tpath, td, report, 'trust domain ')
        if not isinstance(conf, dict):
            continue
        url = conf.get('bundle_endpoint_url')
        if isinstance(url, str) and not env.has_reference(url) and not url.lower().startswith('https://'):
            report.error(tpath + ('bundle_endpoint_url',), 'must use https:// (SPIRE)')
        ppath = tpath + ('bundle_endpoint_profile',)
        name = _one_profile(conf.get('bundle_endpoint_profile'), ppath, report)
        if name == 'https_spiffe':
            spiffe = conf['bundle_endpoint_profile'][name]
            endpoint_id = spiffe.get('endpoint_spiffe_id') if isinstance(spiffe, dict) else None
            if isinstance(endpoint_id, str) and not env.has_reference(endpoint_id):
                problem = spiffe_id_problem(endpoint_id)
                if problem:
                    report.error(ppath + (name, 'endpoint_spiffe_id'), 'is not a SPIFFE ID: %s (SPIRE)' % problem)


def _check_datastore(config, report, server_replicas):
    data = plugin_data(config, 'DataStore', 'sql')
    base = ('plugins', 'DataStore', 'sql', 'plugin_data')
    if data is None:
        if server_replicas > 1:
            report.warn(base, 'the DataStore cannot be inspected; with server_replicas > 1 it must be a shared SQL database')
        return
    dbtype = data.get('database_type')
    if isinstance(dbtype, dict) and len(dbtype) == 1:
        dbtype = list(dbtype)[0]
    if server_replicas > 1:
        if dbtype == 'sqlite3':
            report.error(base + ('database_type',),
                         'sqlite3 is a local file: server_replicas=%d needs a shared database (postgres or mysql)' % server_replicas)
        elif not isinstance(dbtype, str) or env.has_reference(dbtype):
            report.warn(base + ('database_type',), 'cannot be verified to be a shared database (server_replicas=%d)'
                        % server_replicas)
    for key in ('connection_string', 'ro_connection_string'):
        dsn = data.get(key)
        if isinstance(dsn, str):
            _check_dsn(dsn, dbtype, base + (key,), report)
    if dbtype in ('postgres', 'aws_postgres'):
        for key in ('root_ca_path', 'client_cert_path', 'client_key_path'):
            if key in data:
                report.warn(base + (key,), 'is only used for MySQL; for PostgreSQL put sslrootcert/sslcert/sslkey '
                                           'in the connection string')


def _check_dsn(dsn, dbtype, path, report):
    names = env.references(dsn)
    if env.only_references(dsn) and names and all(n in report.environ for n in names):
        # The caller gave the value -expandEnv will substitute: check its TLS settings. Its password
        # comes from the environment, which is what the literal-password rule asks for.
        _check_dsn_tls(env.expand(dsn, lambda name: report.environ[name]), dbtype, path, report)
        return
    if env.only_references(dsn):
        report.warn(path, 'is only an environment reference (%s): its password and TLS settings cannot be checked here; '
                          'make sure it sets sslmode=verify-full (or verify-ca) and reads the password from a secret'
                    % ', '.join('${%s}' % n for n in env.references(dsn)))
        return
    span = dsn_password_span(dsn, dbtype)
    if span and dbtype == 'aws_postgres':
        report.error(path, 'must not set a password with aws_postgres: IAM authentication provides it (SPIRE, at connect)')
    elif span and not env.only_references(dsn[span[0]:span[1]]):
        report.policy('dsn-literal-password', path, 'contains a literal password: reference it as ${VAR} and run SPIRE with -expandEnv')
    _check_dsn_tls(dsn, dbtype, path, report)


def _check_dsn_tls(dsn, dbtype, path, report):
    if dbtype not in ('postgres', 'aws_postgres'):
        return
    params, opaque, _form = parse_postgres_dsn(dsn)
    sslmode = params.get('sslmode', (None,))[0]
    if sslmode is None:
        if opaque:
            report.warn(path, 'sslmode cannot be checked: part of the connection string comes from the environment')
        else:
            report.policy('dsn-sslmode', path, 'sets no sslmode: lib/pq then uses "require", which does not verify the '
                                               'server certificate; set sslmode=verify-full (or verify-ca) and sslrootcert')
    elif env.has_reference(sslmode):
        report.warn(path, 'sslmode comes from the environment and cannot be checked')
    elif sslmode in ('allow', 'prefer') and dbtype == 'postgres':
        report.error(path, 'sslmode=%s is not supported by lib/pq, the driver SPIRE uses for postgres '
                           '(disable, require, verify-ca, verify-full)' % sslmode)
    elif sslmode in ('disable', 'allow', 'prefer', 'require'):
        report.policy('dsn-sslmode', path, 'sslmode=%s does not verify the server certificate; use verify-full (or verify-ca)' % sslmode)
    elif sslmode not in ('verify-ca', 'verify-full'):
        report.error(path, 'sslmode=%s is not a PostgreSQL sslmode (disable, allow, prefer, require, verify-ca, verify-full)'
                     % sslmode)


def _check_psat_server(config, report):
    data = plugin_data(config, 'NodeAttestor', 'k8s_psat')
    if data is None:
        return
    base = ('plugins', 'NodeAttestor', 'k8s_psat', 'plugin_data', 'clusters')
    clusters = data.get('clusters')
    if not clusters:
        report.error(base, 'needs at least one cluster: without one PSAT attestation is disabled')
        return
    if not isinstance(clusters, dict):
        return
    for name, cluster in clusters.items():
        if not isinstance(cluster, dict):
            continue
        cpath = base + (name, 'service_account_allow_list')
        allow = cluster.get('service_account_allow_list')
        if not allow:
            report.error(cpath, 'must list at least one service account (SPIRE)')
            continue
        for i, entry in enumerate(allow if isinstance(allow, list) else []):
            if not isinstance(entry, str) or env.has_reference(entry):
                continue
            parts = entry.split(':')
            if len(parts) != 2 or not parts[0] or not parts[1]:
                report.error(cpath + (i,), '%r is not in NAMESPACE:SERVICEACCOUNT form' % entry)


def _check_k8sbundle(config, report):
    data = plugin_data(config, 'Notifier', 'k8sbundle')
    if data is None:
        return
    if 'namespace' not in data and not data.get('clusters'):
        report.warn(('plugins', 'Notifier', 'k8sbundle', 'plugin_data', 'namespace'),
                    'is not set: SPIRE uses "spire"; the ConfigMap must already exist there')


# ---------------------------------------------------------------------- agent
def check_agent(config, report):
    agent = config.get('agent')
    if not isinstance(agent, dict):
        return
    path = ('agent',)
    check_trust_domain(('agent', 'trust_domain'), agent.get('trust_domain'), report)
    if agent.get('join_token') and agent.get('join_token_file'):
        report.error(path, 'only one of join_token or join_token_file can be specified, not both (SPIRE)')
    _check_trust_source(agent, report)
    mode = agent.get('rebootstrap_mode')
    if mode in ('auto', 'always') and agent.get('insecure_bootstrap') is True:
        report.error(path + ('rebootstrap_mode',), 'insecure_bootstrap can not be used with rebootstrapping (SPIRE)')
    target = _duration(agent.get('availability_target'))
    if target is not None and target < parse_duration('24h'):
        report.error(path + ('availability_target',), 'must be at least 24h (SPIRE)')
    for key in ('x509_svid_cache_max_size', 'jwt_svid_cache_max_size'):
        if isinstance(agent.get(key), int) and agent[key] < 0:
            report.error(path + (key,), 'should not be negative (SPIRE)')
    _check_admin_socket(agent, report)
    experimental = agent.get('experimental')
    if isinstance(experimental, dict):
        for key, alt in (('named_pipe_name', 'socket_path'), ('admin_named_pipe_name', 'admin_socket_path')):
            if experimental.get(key):
                report.error(path + ('experimental', key), 'is not supported on this platform; use %s (SPIRE, POSIX)' % alt)
        if 'use_sync_authorized_entries' in experimental:
            report.warn(path + ('experimental', 'use_sync_authorized_entries'), 'is deprecated')
    for i, delegate in enumerate(agent.get('authorized_delegates') or []):
        if isinstance(delegate, str) and not env.has_reference(delegate) and spiffe_id_problem(delegate):
            report.error(path + ('authorized_delegates', i), 'is not a SPIFFE ID: %s (SPIRE)' % spiffe_id_problem(delegate))
    if 'data_dir' not in agent:
        report.warn(path + ('data_dir',), 'is not set: SPIRE uses "." (the working directory) for the agent SVID and keys')
    if agent.get('insecure_bootstrap') is True:
        report.warn(path + ('insecure_bootstrap',), 'the agent will not verify the server on first contact')
    _check_workload_k8s(config, report)


def _check_trust_source(agent, report):
    """Exactly one of trust_bundle_path, trust_bundle_url, insecure_bootstrap (agentConfig.validate)."""
    path = ('agent',)
    tb_path = agent.get('trust_bundle_path')
    url = agent.get('trust_bundle_url')
    insecure = agent.get('insecure_bootstrap') is True
    chosen = [name for name, on in (('insecure_bootstrap', insecure), ('trust_bundle_url', bool(url)),
                                    ('trust_bundle_path', bool(tb_path))) if on]
    if not chosen:
        report.error(path, 'trust_bundle_path or trust_bundle_url must be configured unless insecure_bootstrap is set (SPIRE)')
    elif len(chosen) > 1:
        report.error(path, 'only one of %s can be specified (SPIRE)' % ', '.join(chosen))
    socket = agent.get('trust_bundle_unix_socket')
    if socket and not url:
        report.error(path + ('trust_bundle_unix_socket',), 'needs trust_bundle_url (SPIRE)')
    if isinstance(url, str) and url and not env.has_reference(url):
        scheme = url.split('://', 1)[0].lower() if '://' in url else ''
        if socket:
            if scheme != 'http':
                report.error(path + ('trust_bundle_url',), 'must start with http:// when used with trust_bundle_unix_socket (SPIRE)')
        elif scheme != 'https':
            report.error(path + ('trust_bundle_url',), 'must start with https:// (SPIRE)')


def _check_admin_socket(agent, report):
    admin = agent.get('admin_socket_path')
    if not isinstance(admin, str) or not admin or env.has_reference(admin):
        return
    socket = agent.get('socket_path', '/tmp/spire-agent/public/api.sock')
    if not isinstance(socket, str) or env.has_reference(socket):
        return
    directory = socket.rsplit('/', 1)[0] + '/'
    if admin.startswith(directory):
        report.error(('agent', 'admin_socket_path'), 'cannot be in the directory of socket_path or below it (SPIRE)')


def _check_workload_k8s(config, report):
    data = plugin_data(config, 'WorkloadAttestor', 'k8s')
    if data is None:
        return
    base = ('plugins', 'WorkloadAttestor', 'k8s', 'plugin_data')
    secure, read_only = data.get('kubelet_secure_port'), data.get('kubelet_read_only_port')
    if isinstance(secure, int) and isinstance(read_only, int) and secure > 0 and read_only > 0:
        report.error(base, 'cannot use both kubelet_secure_port and kubelet_read_only_port (SPIRE)')
    elif isinstance(read_only, int) and read_only > 0:
        report.warn(base + ('kubelet_read_only_port',), 'the read-only kubelet port is unauthenticated and usually disabled')
    if data.get('skip_kubelet_verification') is True:
        report.warn(base + ('skip_kubelet_verification',), 'the kubelet certificate is not verified')


# ------------------------------------------------------------------ top level
def check_common(config, report):
    _check_unbraced_refs(config, (), report)
