# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Checks of a SPIRE 1.14.2 configuration: key tables, types and cross-field rules.

Severity model (documented in the module):

* error, always: what SPIRE 1.14.2 itself rejects, plus what this module
  knows to be wrong (unknown or removed keys, wrong types, bad durations,
  ports, trust domain characters, plugin counts, sqlite3 with replicas);
* ``policy``: an error when ``strict`` is true, a warning otherwise; used
  where SPIRE only logs a warning or accepts a risky setting (SVID TTL vs
  CA TTL, literal DSN password, weak PostgreSQL TLS, no NodeAttestor, ...).
  Every such rule is named in :data:`POLICY_RULES` and reported through
  ``Report.policy(rule, ...)``, the only way a strict-only finding is filed.

Messages start with the key path and never contain a secret value.
"""

from __future__ import annotations

import difflib
import re
from fractions import Fraction

try:
    from urllib.parse import urlsplit, parse_qsl, unquote
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    urlsplit = parse_qsl = unquote = None

from . import env
from . import schema as S
from .hcl import NULL, format_path

SECRET_KEY_NAMES = frozenset(('password', 'passwd', 'secret', 'secret_access_key', 'join_token', 'token', 'client_secret',
                              'api_key', 'secret_key'))
DSN_KEY_NAMES = frozenset(('connection_string', 'ro_connection_string'))
MASK = '********'


# The strict-only (policy) rules: each is an error when ``strict`` is true and a
# warning otherwise, wherever it is found.  docs/spire_config.md lists the same ids and
# the unit tests walk this table (tests/unit/plugins/module_utils/_spire/test_rules.py).
POLICY_RULES = {
    'svid-ttl': 'an SVID TTL (default_x509_svid_ttl, default_jwt_svid_ttl, agent_ttl) above min(ca_ttl/6, 7d); '
                'SPIRE only logs a warning',
    'dsn-literal-password': 'a literal password in a DataStore connection string',
    'dsn-sslmode': 'a PostgreSQL sslmode that does not verify the server certificate, or none',
    'no-node-attestor': 'a server with no enabled NodeAttestor',
    'trust-domain-spiffe-id': 'a trust domain (server, agent or federates_with) written as a spiffe:// ID',
    'trust-domain-length': 'a trust domain (server, agent or federates_with) longer than 255 characters',
}


class Report(object):
    """Collects errors and warnings with their key paths."""

    def __init__(self, strict=True, positions=None, environ=None):
        self.strict = strict
        self.positions = positions or {}
        # Values of ${VAR} references, where the caller knows them (secrets: never printed).
        self.environ = environ or {}
        self.errors = []
        self.warnings = []
        self.policy_findings = []  # (rule, path) of every strict-only finding, whatever ``strict``

    def _fmt(self, path, message):
        where = self.positions.get(tuple(path))
        suffix = ' (line %d, column %d)' % where if where else ''
        return '%s: %s%s' % (format_path(path) or '(top level)', message, suffix)

    def error(self, path, message):
        self.errors.append(self._fmt(path, message))

    def warn(self, path, message):
        self.warnings.append(self._fmt(path, message))

    def policy(self, rule, path, message):
        """A finding of the strict-only rule ``rule``: an error in strict mode, a warning otherwise."""
        if rule not in POLICY_RULES:
            raise AssertionError('unknown policy rule %r' % (rule,))  # a bug in the rules
        self.policy_findings.append((rule, tuple(path)))
        if self.strict:
            self.error(path, message + ' [strict]')
        else:
            self.warn(path, message)

    def finding(self, path, message, rule=None):
        """An error, or a policy finding when ``rule`` names a strict-only rule."""
        if rule is None:
            self.error(path, message)
        else:
            self.policy(rule, path, message)


# ----------------------------------------------------------------- durations
_UNITS = {'ns': 1, 'us': 1000, '\u00b5s': 1000, '\u03bcs': 1000, 'ms': 10 ** 6, 's': 10 ** 9, 'm': 60 * 10 ** 9, 'h': 3600 * 10 ** 9}
_MAX_DURATION = 2 ** 63 - 1


def parse_duration(text):
    """Go's time.ParseDuration; return nanoseconds or raise ValueError."""
    if not isinstance(text, str):
        raise ValueError('a duration must be a string such as "1h30m"')
    s = text
    neg = False
    if s[:1] in ('-', '+'):
        neg = s[0] == '-'
        s = s[1:]
    if s == '0':
        return 0
    if s == '':
        raise ValueError('invalid duration %r' % text)
    total = Fraction(0)
    while s:
        if not (s[0] == '.' or s[0].isdigit() and s[0] in '0123456789'):
            raise ValueError('invalid duration %r' % text)
        m = re.match(r'([0-9]*)(?:\.([0-9]*))?', s)
        pre, frac = m.group(1), m.group(2)
        if pre == '' and not frac:
            raise ValueError('invalid duration %r' % text)
        s = s[m.end():]
        i = 0
        while i < len(s) and not (s[i] == '.' or s[i] in '0123456789'):
            i += 1
        if i == 0:
            raise ValueError('missing unit in duration %r (units: ns, us, ms, s, m, h)' % text)
        unit = s[:i]
        s = s[i:]
        if unit not in _UNITS:
            raise ValueError('unknown unit %r in duration %r (units: ns, us, ms, s, m, h)' % (unit, text))
        value = Fraction(int(pre or '0'))
        if frac:
            value += Fraction(int(frac), 10 ** len(frac))
        total += value * _UNITS[unit]
        if total > _MAX_DURATION + (1 if neg else 0):
            raise ValueError('invalid duration %r: out of range' % text)
    nanos = int(total)
    return -nanos if neg else nanos


def format_duration(nanos):
    """A short human form (``4h``, ``1h30m``, ``90s``) for messages."""
    if nanos % (3600 * 10 ** 9) == 0:
        return '%dh' % (nanos // (3600 * 10 ** 9))
    if nanos % (60 * 10 ** 9) == 0:
        hours, minutes = divmod(nanos // (60 * 10 ** 9), 60)
        return ('%dh%dm' % (hours, minutes)) if hours else '%dm' % minutes
    if nanos % 10 ** 9 == 0:
        return '%ds' % (nanos // 10 ** 9)
    return '%dns' % nanos


# --------------------------------------------------------------- identifiers
_TD_CHARS = re.compile(r'[a-z0-9._-]+\Z')
_PATH_SEGMENT = re.compile(r'[A-Za-z0-9._-]+\Z')


def trust_domain_problem(value):
    """Return (message, rule) when ``value`` is not a plain SPIFFE trust domain name.

    ``rule`` is None when SPIRE refuses the value (or it is certainly wrong), or the
    id of the strict-only rule (see POLICY_RULES) when SPIRE accepts it.
    """
    if value == '':
        return 'must not be empty', None
    if ':/' in value:
        problem = spiffe_id_problem(value)
        if problem:
            return 'looks like a SPIFFE ID but is not valid: %s' % problem, None
        if value.rstrip('/') != 'spiffe://' + value[len('spiffe://'):].split('/')[0]:
            return 'must be a trust domain name, not a SPIFFE ID with a path', None
        return ('is written as a SPIFFE ID; SPIRE accepts it but write the bare name %r'
                % value[len('spiffe://'):].rstrip('/')), 'trust-domain-spiffe-id'
    if value.lower() != value and _TD_CHARS.match(value.lower()):
        return 'must be lowercase (SPIFFE trust domain names use a-z 0-9 . - _)', None
    if ':' in value:
        return 'must not contain a port (only a-z 0-9 . - _ are allowed)', None
    if '/' in value:
        return 'must not contain a path (only a-z 0-9 . - _ are allowed)', None
    if not _TD_CHARS.match(value):
        return 'contains characters a SPIFFE trust domain cannot have (allowed: a-z 0-9 . - _)', None
    if len(value) > 255:
        return 'is longer than 255 characters, which the SPIFFE specification does not allow', 'trust-domain-length'
    return None, None


def spiffe_id_problem(value):
    """go-spiffe's rules for a SPIFFE ID, shortened to what configurations get wrong."""
    if not value.startswith('spiffe://'):
        return 'a SPIFFE ID starts with spiffe://'
    rest = value[len('spiffe://'):]
    td, _sep, path = rest.partition('/')
    if not td:
        return 'the trust domain is missing'
    if not _TD_CHARS.match(td):
        return 'the trust domain has characters outside a-z 0-9 . - _'
    if _sep:
        for seg in path.split('/'):
            if seg in ('', '.', '..'):
                return 'the path has an empty, "." or ".." segment'
            if not _PATH_SEGMENT.match(seg):
                return 'the path has characters outside A-Z a-z 0-9 . - _'
    return None


# ----------------------------------------------------------------------- DSN
_KV_KEY = re.compile(r'\s*([^=\s]+)\s*=\s*')


def parse_postgres_dsn(dsn):
    """Split a lib/pq connection string (URL or key=value form).

    Returns (params, opaque, form): ``params`` maps names to
    (value, start, end) with the value's span in ``dsn`` when it has one;
    ``opaque`` is True when a variable reference stands where parameters
    could hide (so an absent ``sslmode`` cannot be concluded).
    """
    params = {}
    opaque = False
    if re.match(r'postgres(ql)?://', dsn):
        parts = urlsplit(dsn)
        netloc = parts.netloc
        userinfo, at, _host = netloc.rpartition('@')
        if at:
            user, colon, password = userinfo.partition(':')
            if colon:
                start = dsn.find(netloc) + len(user) + 1
                params['password'] = (password, start, start + len(password))
            params['user'] = (user, None, None)
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            params[key] = (value, None, None)
        for piece in parts.query.split('&') if parts.query else []:
            if '=' not in piece and env.has_reference(piece):
                opaque = True
        return params, opaque, 'url'
    i = 0
    n = len(dsn)
    while i < n:
        while i < n and dsn[i].isspace():
            i += 1
        if i >= n:
            break
        m = _KV_KEY.match(dsn, i)
        if not m:
            end = i
            while end < n and not dsn[end].isspace():
                end += 1
            if env.has_reference(dsn[i:end]):
                opaque = True
            i = end
            continue
        key = m.group(1)
        i = m.end()
        if i < n and dsn[i] == "'":
            start = i + 1
            j = start
            while j < n and dsn[j] != "'":
                j += 2 if dsn[j] == '\\' else 1
            value = re.sub(r'\\(.)', r'\1', dsn[start:j])
            params[key] = (value, start, j)
            i = j + 1
        else:
            start = i
            while i < n and not dsn[i].isspace():
                i += 2 if dsn[i] == '\\' else 1
            params[key] = (re.sub(r'\\(.)', r'\1', dsn[start:i]), start, i)
    return params, opaque, 'kv'


_MYSQL_PASSWORD = re.compile(r'^([^:@/()]*):([^@]*)@')


def dsn_password_span(dsn, database_type):
    """(start, end) of a password written in ``dsn``, or None."""
    if not isinstance(dsn, str):
        return None
    if database_type in ('mysql', 'aws_mysql'):
        m = _MYSQL_PASSWORD.match(dsn)
        return (m.start(2), m.end(2)) if m and m.group(2) else None
    params, _opaque, _form = parse_postgres_dsn(dsn)
    value = params.get('password')
    if value and value[0] and value[1] is not None:
        return value[1], value[2]
    return None


def postgres_dsn_address(dsn):
    """Host, port (5432 when absent) and database of a ``postgresql://`` URI, percent-decoded.

    Returns ``{'host', 'port', 'database'}``, or None for the key=value form or a bad port.
    """
    if not isinstance(dsn, str) or not re.match(r'postgres(ql)?://', dsn):
        return None
    parts = urlsplit(dsn)
    try:
        port = parts.port or 5432
    except ValueError:
        return None
    return {'host': parts.hostname or '', 'port': port, 'database': unquote(parts.path[1:] if parts.path else '')}


def mask_dsn(dsn, database_type):
    """``dsn`` with a literal password replaced by ``********`` (references stay)."""
    span = dsn_password_span(dsn, database_type)
    if not span or env.only_references(dsn[span[0]:span[1]]):
        return dsn
    return dsn[:span[0]] + MASK + dsn[span[1]:]


# ------------------------------------------------------------- type coercion
_GO_INT = re.compile(r'[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*)\Z')


def _go_parse_int(text):
    if not _GO_INT.match(text):
        raise ValueError(text)
    body = text.lstrip('+-').replace('_', '')
    sign = -1 if text.startswith('-') else 1
    if body[:2] in ('0x', '0X'):
        return sign * int(body[2:], 16)
    if body[:2] in ('0b', '0B'):
        return sign * int(body[2:], 2)
    if body[:2] in ('0o', '0O'):
        return sign * int(body[2:], 8)
    if len(body) > 1 and body[0] == '0':
        return sign * int(body, 8)
    return sign * int(body)


def _show(value, spec=None):
    """A value for a message: never a secret, never very long."""
    if spec and (spec.get('secret') or spec.get('dsn')):
        return '(value hidden)'
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def _typename(value):
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, int):
        return 'a number'
    if isinstance(value, float):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, dict):
        return 'a block'
    if value is NULL:
        return 'null'
    return type(value).__name__


# What SPIRE's Go field of each kind expects, for messages.
_KIND_NAMES = {'int': 'a number', 'float': 'a number', 'bool': 'true or false', 'strlist': 'a list',
               'block': 'a block', 'map': 'a block', 'blocklist': 'a block', 'plugins': 'a block of plugin types',
               'dbtype': 'a database type', 'any': 'a value'}


def is_unset(value, spec):
    """True when SPIRE reads ``value`` exactly as if the key were left out.

    HCL v1 reads JSON ``null`` as an empty string, and SPIRE treats an empty
    string as "not set" in every plain Go string field (core settings merged with
    their defaults, plugin data).  Not so for a pointer field (``ptr``), where an
    empty string is a value that SPIRE then parses, nor for any other type, where
    null does not decode at all.
    """
    kind = spec['kind']
    if kind in ('str', 'duration') and not spec.get('ptr'):
        return value is NULL or value == ''
    if kind == 'dbtype':
        return value == ''
    return False


def coerce(value, spec, path, report):
    """Check ``value`` against ``spec``; return it normalized to SPIRE's type (as HCL v1 would decode it).

    A JSON null that SPIRE cannot read is reported and returned as ``NULL``;
    check_block() leaves such keys out of the normalized block.
    """
    kind = spec['kind']
    if value is NULL:
        if spec.get('null') == 'empty':
            return {}  # SPIRE reads it as empty (plugin_data: no data for the plugin)
        if kind in ('str', 'duration'):
            value = ''  # HCL v1 reads null as an empty string; a pointer field keeps it as a value
        else:
            report.error(path, 'is null, which SPIRE cannot decode as %s; leave the key out' % _KIND_NAMES.get(kind, kind))
            return NULL
    if kind == 'any' or kind == 'plugins':
        return value
    if kind in ('str', 'duration'):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # HCL v1 decodes a number into a string field as its text
        if not isinstance(value, str):
            report.error(path, 'expected a string, got %s' % _typename(value))
            return value
        if kind == 'duration' and not env.has_reference(value):
            try:
                parse_duration(value)
            except ValueError as exc:
                report.error(path, 'is not a Go duration: %s' % exc)
        _check_enum(value, spec, path, report)
        if spec.get('port') and not env.has_reference(value):
            _check_port(value, spec, path, report)
        return value
    if kind == 'int':
        if isinstance(value, str) and not env.has_reference(value):
            try:
                value = _go_parse_int(value.strip())
            except ValueError:
                report.error(path, 'expected an integer, got %s' % _show(value, spec))
                return value
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            report.error(path, 'expected an integer, got %s' % _typename(value))
            return value
        if spec.get('port') and isinstance(value, int):
            _check_port(value, spec, path, report)
        return value
    if kind == 'bool':
        if not isinstance(value, bool) and not env.only_references(value):
            report.error(path, 'expected true or false, got %s' % _typename(value))
        return value
    if kind == 'float':
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            report.error(path, 'expected a number, got %s' % _typename(value))
        return value
    if kind == 'strlist':
        if not isinstance(value, list):
            report.error(path, 'expected a list of strings, got %s' % _typename(value))
            return value
        out = []
        for i, item in enumerate(value):
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str):
                report.error(path + (i,), 'expected a string, got %s' % _typename(item))
            else:
                _check_enum(item, spec, path + (i,), report)
            out.append(item)
        return out
    if kind == 'block':
        if not isinstance(value, dict):
            report.error(path, 'expected a block, got %s' % _typename(value))
            return value
        return check_block(value, spec, path, report)
    if kind == 'map':
        if not isinstance(value, dict):
            report.error(path, 'expected a map of names to blocks, got %s' % _typename(value))
            return value
        out = {}
        for name, item in value.items():
            if not isinstance(item, dict):
                report.error(path + (name,), 'expected a block, got %s' % _typename(item))
                if item is not NULL:
                    out[name] = item
            else:
                out[name] = check_block(item, spec, path + (name,), report)
        return out
    if kind == 'blocklist':
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                report.error(path + (i,), 'expected a block, got %s' % _typename(item))
                if item is not NULL:
                    out.append(item)
            else:
                out.append(check_block(item, spec, path + (i,), report))
        return out
    if kind == 'dbtype':
        return _coerce_dbtype(value, spec, path, report)
    raise AssertionError('unknown kind %s' % kind)  # a bug in the tables


def _coerce_dbtype(value, spec, path, report):
    if isinstance(value, str):
        if not env.has_reference(value) and value not in S.DATABASE_TYPES:
            hint = _suggest(value, S.DATABASE_TYPES + S.AWS_DATABASE_TYPES)
            if value in S.AWS_DATABASE_TYPES:
                report.error(path, '%r must be written as a block: database_type "%s" { region = "..." }' % (value, value))
            else:
                report.error(path, 'unsupported database type %s (SPIRE knows %s)%s'
                             % (_show(value), ', '.join(S.DATABASE_TYPES), hint))
        return value
    if isinstance(value, dict):
        if len(value) != 1:
            report.error(path, 'exactly one database type is expected (%s)' % ', '.join(S.AWS_DATABASE_TYPES))
            return value
        (name, body), = value.items()
        if name not in spec['keys']:
            report.error(path + (name,), 'unknown database type block; SPIRE knows %s%s'
                         % (', '.join(S.AWS_DATABASE_TYPES), _suggest(name, S.AWS_DATABASE_TYPES)))
            return value
        if not isinstance(body, dict):
            report.error(path + (name,), 'expected a block, got %s' % _typename(body))
            return value
        return {name: check_block(body, spec['keys'][name], path + (name,), report)}
    report.error(path, 'expected a string or a labelled block, got %s' % _typename(value))
    return value


def _check_enum(value, spec, path, report):
    allowed = spec.get('enum')
    if not allowed or env.has_reference(value):
        return
    probe = value if spec.get('exact') else value.lower()
    if probe not in allowed:
        report.error(path, 'must be one of %s, got %s%s' % (', '.join(allowed), _show(value), _suggest(probe, allowed)))


def _check_port(value, spec, path, report):
    if isinstance(value, str):
        if not value.isdigit():
            report.warn(path, '%s is not a port number; it is used as a service name' % _show(value))
            return
        value = int(value)
    low = 0 if spec.get('port') == 'zero-ok' else 1
    if not low <= value <= 65535:
        report.error(path, 'port %d is out of range %d-65535' % (value, low))


def _suggest(word, candidates):
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return (" (did you mean '%s'?)" % match[0]) if match else ''


def _required_message(kspec, empty):
    reason = kspec['required'] if isinstance(kspec['required'], str) else None
    text = 'is required: it is empty (or null), the same as unset' if empty else 'is required'
    if reason:
        text += ('; ' if empty else ': ') + reason
    return text


def check_block(data, spec, path, report):
    """Check the keys of one block; return a normalized copy.

    Keys whose value SPIRE reads as unset (an empty string, JSON null; see
    is_unset) are left out of the copy.  A required key must be present and
    not unset.
    """
    known = spec['keys']
    removed = spec.get('removed') or {}
    lowered = dict((k.lower(), k) for k in known)
    out = {}
    unset = set()
    refused = set()
    for key, value in data.items():
        kpath = path + (key,)
        canonical = key
        if key in known:
            pass
        elif key in removed:
            version, hint = removed[key]
            report.error(kpath, 'was removed in SPIRE %s%s' % (version, ('; ' + hint) if hint else ''))
            if value is not NULL:
                out[key] = value
            continue
        elif key.lower() in lowered:
            canonical = lowered[key.lower()]
            if canonical in data:
                report.error(kpath, "duplicates key '%s' (SPIRE matches keys case-insensitively)" % canonical)
                continue
            report.warn(kpath, "SPIRE matches keys case-insensitively; written here as '%s'" % canonical)
            kpath = path + (canonical,)
        else:
            where = format_path(path) or 'the top level'
            report.error(kpath, 'unknown key in %s%s' % (where, _suggest(key, list(known) + list(removed))))
            if value is not NULL:
                out[key] = value
            continue
        kspec = known[canonical]
        if is_unset(value, kspec):
            unset.add(canonical)
            continue
        result = coerce(value, kspec, kpath, report)
        if result is NULL:
            refused.add(canonical)
        else:
            out[canonical] = result
    for key, kspec in known.items():
        if kspec.get('required') and key not in out and key not in refused:
            report.error(path + (key,), _required_message(kspec, key in unset))
    return out
