# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The decisions of the datastore credential rotation (roles/rotate_datastore_credentials).

PostgreSQL holds one password per role, so a rotation moves the servers to ANOTHER login role
(a member of the role owning the database) and revokes the old login at the end
(docs/runbooks/rotate_datastore_credentials.md). This module:

* checks the inputs (:func:`option_problems`), before anything is read;
* rewrites the DSN of Secret spire-datastore, user and password only, every other byte kept
  (:func:`values`: the only function whose result holds secrets);
* plans the run from what it read (:func:`plan`): the new and the old login, whether an
  interrupted rotation is resumed, the refusals, the lines of the plan;
* reads a connection test (:func:`probe`), decides the rollback (:func:`rollback`) and builds
  the report (:func:`report`), none of which ever holds a password or a DSN.

Messages name the input at fault and never quote a secret.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re

try:
    from urllib.parse import quote, unquote
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    quote = unquote = None

from . import report as report_mod
from . import validate

RUNBOOK = 'rotate_datastore_credentials'
REPORT_VERSION = 1
PREFIX = 'rotate_datastore_credentials_'
# A PostgreSQL role name the runbook may quote into SQL: checked, so quoting is enough.
NAME_PATTERN = r'^[a-z_][a-z0-9_]{0,62}$'
_NAME = re.compile(NAME_PATTERN)
_NAMESPACE = re.compile(r'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')
_CONTROL = re.compile('[\x00-\x1f\x7f]')
_CONTROL_OR_SPACE = re.compile('[\x00-\x20\x7f]')
_SCHEME = re.compile(r'^postgres(ql)?://')
# sslmode values that verify the server: anything weaker is refused.
VERIFYING_SSLMODES = ('verify-ca', 'verify-full')
FILE_PARAMS = ('sslrootcert', 'sslcert', 'sslkey')
MASK = '********'
NOTHING_CHANGED = 'Nothing was changed.'
STATUSES = ('refused', 'planned', 'rotated', 'already_rotated', 'rolled_back', 'stopped', 'failed')

OPTION_KEYS = ('user', 'password', 'dsn', 'client_cert_file', 'client_key_file', 'admin_user', 'admin_password',
               'admin_host', 'admin_port', 'admin_database', 'admin_ca_file', 'owner_role', 'connection_test',
               'connect_address', 'revoke_old', 'transport', 'server_sockets', 'spire_server_path', 'timeout', 'report_path')


def _opts(options):
    if not isinstance(options, dict):
        raise ValueError('options must be a dict of the rotate_datastore_credentials_* inputs without their prefix, '
                         'got %s' % type(options).__name__)
    missing = [key for key in OPTION_KEYS if key not in options]
    if missing:
        raise ValueError('options lack %s' % ', '.join(PREFIX + key for key in missing))
    return options


def _text(options, key):
    value = options.get(key)
    return '' if value is None else str(value)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ------------------------------------------------------------------------------------- DSN --
def describe(dsn):
    """What may be known of DSN without its password: uri (bool), login, has_password, host, port,
    database, sslmode, params (query parameters but password), file_params (their file paths).

    Only the URI form deploy.yml writes is understood (``uri`` False otherwise).
    """
    dsn = (dsn or '').strip()
    empty = {'uri': False, 'login': '', 'has_password': False, 'host': '', 'port': 5432, 'database': '',
             'sslmode': '', 'params': {}, 'file_params': []}
    address = validate.postgres_dsn_address(dsn)
    if address is None:
        return empty
    params, _opaque, form = validate.parse_postgres_dsn(dsn)
    if form != 'url' or 'user' not in params:
        return empty
    query = dict((key, value[0]) for key, value in params.items() if key not in ('user', 'password'))
    password_in_query = 'password' in params and params['password'][1] is None
    return {
        'uri': True,
        'login': unquote(params['user'][0]),
        'has_password': validate.dsn_password_span(dsn, 'postgres') is not None or password_in_query,
        'host': address['host'],
        'port': address['port'],
        'database': address['database'],
        'sslmode': query.get('sslmode', ''),
        'params': query,
        'file_params': [query[key] for key in FILE_PARAMS if key in query],
    }


def _userinfo_span(dsn):
    """(start, end) of USER[:PASSWORD] in a postgresql:// URI, end at its '@'; None without one."""
    match = _SCHEME.match(dsn)
    params, _opaque, form = validate.parse_postgres_dsn(dsn)
    if not match or form != 'url' or 'user' not in params:
        return None
    span = validate.dsn_password_span(dsn, 'postgres')
    end = span[1] if span else match.end() + len(params['user'][0])
    return (match.end(), end) if dsn[end:end + 1] == '@' else None


def encode(text):
    """TEXT percent-encoded as roles/postgres_secret encodes the DSN's user and password
    (Jinja's urlencode, then '/' as %2F)."""
    return quote(text, safe='')


def rewrite(dsn, login, password):
    """DSN with its user and password replaced by LOGIN and PASSWORD (percent-encoded), every other
    byte kept: what deploy.yml renders from postgres_secret_user/_password = the new values."""
    dsn = (dsn or '').strip()
    span = _userinfo_span(dsn)
    if span is None:
        raise ValueError('the current DSN is not a postgresql://USER:PASSWORD@HOST:PORT/DATABASE URI')
    return dsn[:span[0]] + encode(login) + ':' + encode(password) + dsn[span[1]:]


def credentials(dsn):
    """(login, password) of a postgresql:// DSN, percent-decoded ('' when absent)."""
    dsn = (dsn or '').strip()
    span = _userinfo_span(dsn)
    if span is None:
        return '', ''
    user, _colon, password = dsn[span[0]:span[1]].partition(':')
    return unquote(user), unquote(password)


def _password_encoded(dsn):
    span = validate.dsn_password_span((dsn or '').strip(), 'postgres')
    return (dsn or '').strip()[span[0]:span[1]] if span else ''


# ---------------------------------------------------------------------------------- inputs --
def connect_address(value):
    """(ip, port) of a connect_address input 'IP:PORT' or '[IPv6]:PORT'; ValueError when it is not one."""
    host, sep, port = str(value).rpartition(':')
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('not IP:PORT')
    if host.startswith('[') and host.endswith(']'):
        host = host[1:-1]
    elif ':' in host:
        raise ValueError('an IPv6 address goes in brackets')
    return str(ipaddress.ip_address(host)), int(port)


def connections(the_plan, options):
    """How the controller reaches the database ({probe, admin}: host, port, params for libpq): the
    DSN's host and port, or with connect_address its IP and port as libpq hostaddr, so that TLS is
    still verified against the DSN's host name. The admin connection takes admin_host/admin_port
    when given (connect_address then does not apply to it)."""
    new = the_plan['new']
    params = {'connect_timeout': new['params'].get('connect_timeout', '10')}
    via = _text(options, 'connect_address')
    probe = {'host': new['host'], 'port': new['port'], 'params': dict(params)}
    if via:
        ip, port = connect_address(via)
        probe['port'] = port
        probe['params']['hostaddr'] = ip
    admin_host = _text(options, 'admin_host')
    admin = dict(probe, params=dict(probe['params'])) if not admin_host else {
        'host': admin_host, 'port': new['port'], 'params': dict(params)}
    if _int(options.get('admin_port')):
        admin['port'] = _int(options.get('admin_port'))
    return {'probe': probe, 'admin': admin}


def option_problems(options, namespace='spire-system'):
    """What is wrong with the inputs (OPTIONS: the rotate_datastore_credentials_* inputs without
    their prefix; NAMESPACE: spire_namespace), each naming its input; [] when nothing. No value of
    a secret input is ever quoted. Reads no cluster: run before anything else."""
    options = _opts(options)
    problems = []
    user, password, dsn = _text(options, 'user'), _text(options, 'password'), _text(options, 'dsn')
    if not password and not dsn:
        problems.append(PREFIX + 'password is empty: give the new password (or the whole new DSN as '
                        + PREFIX + 'dsn, not both)')
    elif password and dsn:
        problems.append('give the new credentials as ' + PREFIX + 'password OR as ' + PREFIX + 'dsn, not both')
    if _CONTROL.search(password):
        problems.append(PREFIX + 'password holds control characters')
    if dsn:
        if _CONTROL_OR_SPACE.search(dsn):
            problems.append(PREFIX + 'dsn holds spaces or control characters')
        if user:
            problems.append(PREFIX + 'user goes with ' + PREFIX + 'password, not with ' + PREFIX
                            + 'dsn (the DSN names its login)')
        problems.extend(_dsn_problems(describe(dsn), PREFIX + 'dsn'))
    if user and not _NAME.match(user):
        problems.append('%suser must be a login role name matching %s' % (PREFIX, NAME_PATTERN))
    cert, key = _text(options, 'client_cert_file'), _text(options, 'client_key_file')
    if bool(cert) != bool(key):
        problems.append(PREFIX + 'client_cert_file and ' + PREFIX + 'client_key_file go together')
    for name, path in (('client_cert_file', cert), ('client_key_file', key), ('admin_ca_file', _text(options, 'admin_ca_file'))):
        if path and not os.path.isfile(os.path.expanduser(path)):
            problems.append('%s%s: no such file on the controller (%s)' % (PREFIX, name, path))
    if bool(_text(options, 'admin_user')) != bool(_text(options, 'admin_password')):
        problems.append(PREFIX + 'admin_user and ' + PREFIX + 'admin_password go together')
    owner = _text(options, 'owner_role')
    if owner and not _NAME.match(owner):
        problems.append('%sowner_role must be a role name matching %s' % (PREFIX, NAME_PATTERN))
    if owner and user and owner == user:
        problems.append(PREFIX + 'user must not be the owner role (' + PREFIX + 'owner_role): the servers log in '
                        'as a member of the owner and act as it')
    port = _int(options.get('admin_port'))
    if port is None or not 0 <= port < 65536:
        problems.append(PREFIX + 'admin_port must be 0-65535 (0: the port of the DSN)')
    if not _text(options, 'admin_database'):
        problems.append(PREFIX + 'admin_database must name a database')
    via = _text(options, 'connect_address')
    if via:
        try:
            connect_address(via)
        except ValueError:
            problems.append('%sconnect_address must be IP:PORT (e.g. 127.0.0.1:15432, [::1]:15432), got %r'
                            % (PREFIX, via))
    transport = _text(options, 'transport')
    sockets = options.get('server_sockets') or []
    if transport not in ('kubernetes', 'local'):
        problems.append(PREFIX + 'transport must be kubernetes or local')
    if not isinstance(sockets, list) or any(not isinstance(s, str) or not s.startswith('/') for s in sockets):
        problems.append(PREFIX + 'server_sockets must be a list of absolute paths')
    elif transport == 'local' and not sockets:
        problems.append(PREFIX + 'transport local needs ' + PREFIX + 'server_sockets (one per server)')
    if not _text(options, 'spire_server_path'):
        problems.append(PREFIX + 'spire_server_path must name the spire-server binary')
    timeout = _int(options.get('timeout'))
    if timeout is None or timeout <= 0:
        problems.append(PREFIX + 'timeout must be a number of seconds greater than 0')
    if not isinstance(options.get('report_path'), str):
        problems.append(PREFIX + 'report_path must be a path (empty: no report)')
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        problems.append('spire_namespace must be a namespace name (DNS-1123 label)')
    return problems


def _dsn_problems(new, name, current=None, keys=None, datastore_dir='/run/spire/datastore'):
    """What makes the new connection NEW (describe()) unusable, naming the input NAME."""
    if not new['uri'] or not new['login'] or not new['has_password']:
        return [name + ': the new connection must be a postgresql://USER:PASSWORD@HOST:PORT/DATABASE URI with a login '
                'and a password']
    problems = []
    if not _NAME.match(new['login']):
        problems.append('%s: the login must be a role name matching %s' % (name, NAME_PATTERN))
    if new['sslmode'] not in VERIFYING_SSLMODES:
        problems.append('%s: sslmode must be verify-ca or verify-full (got %s)' % (name, new['sslmode'] or 'none'))
    address = (new['host'], new['port'], new['database'])
    if current is not None and address != (current['host'], current['port'], current['database']):
        problems.append('%s: the host, port and database must be those of the current connection (%s:%s/%s); moving '
                        'the datastore is not a rotation' % (name, current['host'], current['port'], current['database']))
    if keys is not None:
        allowed = set('%s/%s' % (datastore_dir, key) for key in keys)
        bad = [path for path in new['file_params'] if path not in allowed]
        if bad:
            problems.append('%s: sslrootcert/sslcert/sslkey must name keys of Secret spire-datastore under %s (not %s)'
                            % (name, datastore_dir, ', '.join(bad)))
    return problems


# ---------------------------------------------------------------------------------- values --
def secret_values(secret):
    """{key: text} of a Secret as kubernetes.core.k8s_info returns it (base64 data decoded)."""
    data = (secret or {}).get('data') or {}
    out = {}
    for key, value in data.items():
        try:
            out[key] = base64.b64decode(value or '', validate=True).decode('utf-8')
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError('Secret spire-datastore: key %s is not base64 of UTF-8 text' % key)
    return out


def _annotation(obj, name):
    return (((obj or {}).get('metadata') or {}).get('annotations') or {}).get(name) or ''


def values(secret, options, client_cert='', client_key='', from_annotation='spire.ardur.io/datastore-rotation-from'):
    """The secret side of the plan: what the Secret holds and will hold. SECRET: Secret
    spire-datastore (k8s_info resource); CLIENT_CERT/KEY: the new files' contents ('' when none).

    Returns {old, new (None when the current DSN cannot be rewritten), rotating_from, new_password,
    old_credentials, new_credentials}. Holds passwords: only ever in no_log tasks.
    """
    options = _opts(options)
    old = secret_values(secret)
    rotating_from = _annotation(secret, from_annotation)
    current = describe(old.get('dsn', ''))
    out = {'present': secret is not None, 'old': old, 'new': None, 'rotating_from': rotating_from, 'new_password': '',
           'old_credentials': dict(zip(('user', 'password'), credentials(old.get('dsn', '')))),
           'new_credentials': {'user': '', 'password': ''}}
    dsn, password, user = _text(options, 'dsn'), _text(options, 'password'), _text(options, 'user')
    if dsn:
        new_dsn = dsn
    elif not current['uri'] or not current['login']:
        return out
    else:
        new_dsn = rewrite(old['dsn'], user or new_login(current['login'], rotating_from,
                                                        _password_encoded(old['dsn']) == encode(password)), password)
    new = dict(old, dsn=new_dsn)
    if client_cert or client_key:
        new['tls.crt'], new['tls.key'] = client_cert, client_key
    out['new'] = new
    out['new_credentials'] = dict(zip(('user', 'password'), credentials(new_dsn)))
    out['new_password'] = password or out['new_credentials']['password']
    return out


def new_login(current, rotating_from='', already=False):
    """The login to move to when none is given: the current one while a rotation is under way
    (ROTATING_FROM) or when the Secret already holds the new password (ALREADY: a finished run,
    re-run), else the other one of the pair <base>_a / <base>_b."""
    if rotating_from or already:
        return current
    base = re.sub(r'_[ab]$', '', current)
    return base + ('_b' if current.endswith('_a') else '_a')


# ------------------------------------------------------------------------------------ plan --
def plan(secrets, statefulset, options, configmap=None, namespace='spire-system', check_mode=False,
         datastore_dir='/run/spire/datastore', login_annotation='spire.ardur.io/datastore-login'):
    """The public side of the plan (no secret in it): SECRETS from values(), STATEFULSET and
    CONFIGMAP as read (None when absent). Returns {problems, lines, current, new, new_login,
    old_login, resume, replicas, template_login, changed_keys, admin}."""
    options = _opts(options)
    if not isinstance(secrets, dict) or 'old' not in secrets:
        raise ValueError('secrets must be the result of rotate_datastore_credentials_values')
    name = PREFIX + ('dsn' if _text(options, 'dsn') else 'user')
    admin = bool(_text(options, 'admin_user'))
    old, new_values = secrets['old'], secrets.get('new')
    current = describe(old.get('dsn', ''))
    spec = (statefulset or {}).get('spec') or {}
    template = (spec.get('template') or {})
    out = {'problems': [], 'lines': [], 'current': current, 'new': None, 'new_login': '', 'old_login': '',
           'resume': False, 'replicas': _int(spec.get('replicas'), 1) if spec.get('replicas') is not None else 1,
           'template_login': _annotation(template, login_annotation), 'changed_keys': [], 'admin': admin,
           'namespace': namespace, 'check_mode': bool(check_mode), 'rotating_from': '',
           'login_annotation': login_annotation}
    if not secrets.get('present') or statefulset is None or configmap is None:
        out['problems'].append('nothing to rotate in namespace %s: Secret spire-datastore, StatefulSet spire-server and '
                               'ConfigMap spire-server must exist (deploy.yml with the PostgreSQL datastore)' % namespace)
        return _finish(out)
    if not current['uri'] or not current['login']:
        out['problems'].append('the dsn of Secret spire-datastore is not a postgresql://USER:PASSWORD@HOST:PORT/DATABASE?... '
                               'URI (the form deploy.yml writes); re-create it with deploy.yml (postgres_secret_*) first')
        return _finish(out)
    new = describe(new_values['dsn'])
    resume = new_values == old
    rotating_from = secrets.get('rotating_from') or ''
    out.update({
        'rotating_from': rotating_from,
        'new': new, 'new_login': new['login'], 'resume': resume,
        'old_login': (rotating_from if resume and rotating_from else ('' if resume else current['login'])),
        'changed_keys': sorted(key for key in new_values if old.get(key) != new_values[key]),
    })
    problems = _dsn_problems(new, name, current, list(new_values), datastore_dir)
    if _text(options, 'client_cert_file') and 'sslcert' not in new['params']:
        problems.append(PREFIX + 'client_cert_file needs a connection that already uses a client certificate (sslcert)')
    # PostgreSQL keeps one password per role: changing the password of the login the running
    # servers use would lock each of them out on its next connection.
    base = re.sub(r'_[ab]$', '', current['login'])
    if not resume and new['login'] == current['login']:
        problems.append('%s: the new login (%s) is the login the servers use now. PostgreSQL holds one password per role, '
                        'so the servers move to another login role: alternate between two (e.g. %s_a and %s_b; leave %suser '
                        'empty to get the other one)' % (name, new['login'], base, base, PREFIX))
    if new['login'] and new['login'] == _text(options, 'owner_role'):
        problems.append('%s: the new login (%s) is the owner role (%sowner_role): the servers log in as a member of the '
                        'owner' % (name, new['login'], PREFIX))
    out['problems'] = problems
    return _finish(out, options)


def _finish(out, options=None):
    if out['problems']:
        return out
    out['connections'] = connections(out, options or {})
    check = out['check_mode']
    new, current = out['new'], out['current']
    options_admin = out['admin']
    out['lines'] = [
        '%s the datastore credentials of %s/spire-server (%s replicas)%s:' % (
            'Would rotate (check mode, nothing is changed)' if check else 'Rotating', out['namespace'], out['replicas'],
            ': resuming an interrupted rotation' if out['resume'] else ''),
        '  login: %s -> %s on %s:%s/%s (sslmode=%s)' % (
            out['old_login'] or current['login'], out['new_login'], current['host'], current['port'], current['database'],
            new['sslmode']),
        '  2. Secret spire-datastore: ' + (
            'already holds the new values' if out['resume'] else 'keys changed: ' + ', '.join(out['changed_keys'])),
        '  3. replace the servers one at a time, highest ordinal first, healthy between (pod template login %s -> %s); '
        'the first one is rolled back if unhealthy' % (out['template_login'] or 'none', out['new_login']),
    ]
    out['lines'].insert(2, '  1. new login: ' + ('created/updated through the admin connection' if options_admin
                                                 else 'must exist already (no admin connection given)'))
    return out


def plan_lines(the_plan, options):
    """The plan's lines with what depends on the inputs (connection test, old login)."""
    options = _opts(options)
    lines = list(the_plan['lines'])
    if not lines:
        return lines
    lines[2] += ('; tested with a real connection' if options.get('connection_test')
                 else '; NOT tested (connection_test false)')
    lines.append('  4. old login %s: %s' % (the_plan['old_login'] or 'none left', old_login_plan(the_plan, options)))
    return lines


def old_login_plan(the_plan, options):
    """What the plan does with the old login, in words."""
    if not options.get('revoke_old'):
        return 'kept (rotate_datastore_credentials_revoke_old false)'
    if the_plan['admin']:
        return 'revoked (NOLOGIN, password removed) through the admin connection'
    return 'to revoke by hand (SQL printed at the end)'


def refusal(the_plan):
    """The message refusing THE_PLAN, '' when it stands."""
    if not the_plan['problems']:
        return ''
    return 'Refused: %s. %s' % ('; '.join(the_plan['problems']), NOTHING_CHANGED)


# ----------------------------------------------------------------------------------- probe --
def redact(text, secrets):
    """TEXT with every secret of SECRETS (and its percent-encoded form) replaced by ********."""
    text = '' if text is None else str(text)
    for secret in sorted((s for s in secrets or [] if s), key=len, reverse=True):
        for form in (secret, encode(secret)):
            text = text.replace(form, MASK)
    return text


def probe(raw, secrets=None):
    """A connection test (a registered community.postgresql.postgresql_query result, failed_when
    false) as {ok, error (SECRETS masked), login, acting, owner, acts_as_owner, can_write}."""
    raw = raw or {}
    rows = raw.get('query_result') or []
    ok = not raw.get('failed') and not raw.get('skipped') and len(rows) == 1
    row = rows[0] if ok else {}
    error = '' if ok else ' '.join(redact(raw.get('msg') or 'unknown error', secrets).split())
    return {'ok': ok, 'error': error, 'login': row.get('login') or '', 'acting': row.get('acting') or '',
            'owner': row.get('owner') or '', 'acts_as_owner': ok and (row.get('acting') or '') == (row.get('owner') or ''),
            'can_write': ok and bool(row.get('can_write'))}


# -------------------------------------------------------------------------------- rollback --
def rollback(the_plan, statefulset, failed_task='', failed_message=''):
    """After a failure of the write-and-roll step: roll back or not, and the message to fail with.

    Rolled back only while no replica has run healthy on the new credentials (the partition still
    at replicas or replicas-1, as read in STATEFULSET after the failure) and this run holds the
    old values (not a resumed run).
    """
    spec = (statefulset or {}).get('spec') or {}
    partition = _int((((spec.get('updateStrategy') or {}).get('rollingUpdate') or {}).get('partition')), 0)
    replicas = _int(the_plan.get('replicas'), 1)
    back = not the_plan.get('resume') and partition >= replicas - 1
    failed_message = failed_message or ''
    if back:
        message = ('ROLLED BACK: the first server replaced did not become healthy with the new credentials (login %s): %s '
                   'Secret spire-datastore holds the old values again and every replica runs healthy on login %s; nothing '
                   'was revoked. Check the new login (pg_hba, password, membership of the owner role), then run the runbook '
                   'again.' % (the_plan['new_login'], re.sub(r' The partition stays at .*$', '', failed_message, flags=re.S),
                               the_plan['current']['login']))
    else:
        message = ('STOPPED at task "%s": %s At least one replica runs healthy on the new credentials (login %s), so they '
                   'work: no rollback. The old login is NOT revoked, Secret spire-datastore holds the new values and the '
                   'replicas not yet replaced keep serving on the old login. Fix the cause and run the runbook again with '
                   'the same inputs: it resumes.' % (failed_task or '?', failed_message, the_plan['new_login']))
    # The template as before (annotation back, or dropped from this field manager when there was
    # none), so the controller replaces only the replica that had moved.
    before = the_plan.get('template_login') or ''
    patch = ({'spec': {'template': {'metadata': {'annotations': {the_plan['login_annotation']: before}}}}}
             if before else {})
    return {'rollback': back, 'partition': partition, 'message': message, 'template_patch': patch}


# ---------------------------------------------------------------------------------- report --
def _sessions(sessions):
    if sessions is None:
        return None
    return dict((row.get('login'), _int(row.get('sessions'), 0)) for row in sessions)


def report(the_plan, options=None, servers=None, sessions=None, revoked=None, rolled_back=None, failure=None,
           written=False, secrets=None, check_mode=False, started_at=None):
    """The JSON report (report_version 1) and its summary, no secret in it.

    THE_PLAN: plan() (None when the run stopped before it); SERVERS: the rollout result
    (spire_server_rollout_result); SESSIONS: rows {login, sessions} read through the admin
    connection (None: not read); REVOKED: whether the old login was (or would be) revoked;
    ROLLED_BACK: rollback() when the write-and-roll step failed; FAILURE: {task, message} of the
    task that failed; WRITTEN: whether anything was written; SECRETS: values to mask in messages.
    """
    options = _opts(options) if options is not None else None
    servers = servers or {}
    failure = failure or None
    if failure is not None:
        failure = {'task': failure.get('task') or '', 'message': redact(failure.get('message') or '', secrets).strip()}
    rolled = [{'ordinal': _int(o, o), 'seconds': s} for o, s in zip(servers.get('rolled') or [], servers.get('seconds') or [])]
    if failure is not None:
        if rolled_back and rolled_back.get('rollback'):
            status = 'rolled_back'
        elif written:
            status = 'stopped'
        elif the_plan is None or the_plan.get('problems') or NOTHING_CHANGED.rstrip('.') in failure['message']:
            status = 'refused'
        else:
            status = 'failed'
    elif check_mode:
        status = 'planned'
    elif the_plan and not the_plan['old_login']:
        status = 'already_rotated'
    else:
        status = 'rotated'
    the_plan = the_plan or {}
    current, new = the_plan.get('current') or {}, the_plan.get('new') or {}
    old_login = the_plan.get('old_login') or ''
    revoke = bool(options and options.get('revoke_old'))
    if not old_login:
        old_action = 'none'
    elif not revoke:
        old_action = 'kept'
    elif not the_plan.get('admin'):
        old_action = 'to_revoke_by_hand'
    elif revoked:
        old_action = 'would_revoke' if check_mode else 'revoked'
    else:
        old_action = 'not_revoked'
    sections = {
        'namespace': the_plan.get('namespace', ''),
        'message': failure['message'] if failure else '',
        'rotation': {
            'from_login': old_login or current.get('login', ''),
            'to_login': the_plan.get('new_login', ''),
            'resumed': bool(the_plan.get('resume')),
            'host': current.get('host', ''), 'port': current.get('port'), 'database': current.get('database', ''),
            'sslmode': new.get('sslmode', ''),
            'secret_keys_changed': the_plan.get('changed_keys', []),
            'replicas': the_plan.get('replicas'),
            'template_login': {'before': the_plan.get('template_login', ''), 'after': the_plan.get('new_login', '')},
            'admin_connection': bool(the_plan.get('admin')),
            'connection_test': bool(options and options.get('connection_test')),
        },
        'servers': {'replaced': rolled, 'revision': servers.get('revision', '')},
        'sessions': _sessions(sessions),
        'old_login': {'login': old_login, 'action': old_action},
        'rollback': ({'rolled_back': bool(rolled_back.get('rollback')), 'partition': rolled_back.get('partition')}
                     if rolled_back else None),
        'failure': failure,
    }
    sections['summary'] = _summary(status, sections, the_plan, check_mode)
    return report_mod.envelope(RUNBOOK, REPORT_VERSION, status, sections, check_mode=check_mode, started_at=started_at)


def _summary(status, sections, the_plan, check_mode):
    rot, old = sections['rotation'], sections['old_login']
    if status == 'already_rotated':
        head = ('Already rotated: the servers use login %s with these credentials; every replica checked on the current '
                'revision and healthy' % rot['to_login'])
    elif status in ('planned', 'rotated'):
        head = '%s the datastore credentials: login %s -> %s' % (
            'Would have rotated (check mode, nothing was changed)' if check_mode else 'Rotated', old['login'], rot['to_login'])
    elif status == 'refused' or not the_plan:
        return [sections['message'] or 'Refused']
    else:
        return [sections['message'] or status]
    sessions = sections['sessions']
    action = {
        'none': 'nothing to revoke',
        'kept': 'kept',
        'revoked': 'revoked (NOLOGIN, password removed)',
        'would_revoke': 'would be revoked (NOLOGIN, password removed)',
        'not_revoked': 'nothing to revoke',
        'to_revoke_by_hand': 'STILL VALID: revoke it now with: ALTER ROLE "%s" NOLOGIN PASSWORD NULL;' % old['login'],
    }[old['action']]
    return [
        head,
        '  servers replaced or checked (ordinal: seconds): ' + (
            ', '.join('%s: %s' % (r['ordinal'], r['seconds']) for r in sections['servers']['replaced']) or 'none'),
        '  sessions per login: ' + (', '.join('%s=%s' % item for item in sorted(sessions.items()))
                                    if sessions else 'not read (no admin connection)'),
        '  old login: ' + action,
        '  next deploy.yml: set postgres_secret_user=%s and postgres_secret_password to the new password (the old ones '
        'would write revoked credentials back)' % rot['to_login'],
    ]
