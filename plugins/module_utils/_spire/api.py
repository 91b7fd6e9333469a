# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One entry point for roles, modules and tests: parse, check, normalize, render.

    from ansible_collections.ardur.spire.plugins.module_utils._spire.api import analyze
    result = analyze('server', text=open('server.conf').read(), server_replicas=3)
    result.errors, result.warnings, result.config, result.rendered

``config``/``rendered`` are faithful (they hold literal secrets if the input
does); ``masked_config``/``masked_rendered`` are what may be shown or
returned.  ``secrets`` lists the literal secret strings found, so callers can
scrub any other text (command output, diffs) with ``scrub()``.
"""

from __future__ import annotations

import copy
import re

from . import env
from . import hcl
from . import rules
from . import schema as S
from .validate import Report, check_block, mask_dsn, dsn_password_span, MASK, SECRET_KEY_NAMES, DSN_KEY_NAMES

COMPONENTS = ('server', 'agent')


class Analysis(object):
    """The result of analyze()."""

    def __init__(self):
        self.errors = []
        self.warnings = []
        self.config = {}
        self.rendered = ''
        self.masked_config = {}
        self.masked_rendered = ''
        self.secrets = []
        self.policy_findings = []  # (rule, path) of each strict-only finding (validate.POLICY_RULES)

    @property
    def ok(self):
        return not self.errors

    def scrub(self, text):
        return scrub(text, self.secrets)

    def as_dict(self):
        # No 'warnings' key: the module passes each through module.warn(), and Ansible puts
        # them in the result's `warnings` itself (a 'warnings' key of our own is deprecated).
        return {
            'errors': list(self.errors),
            'config': self.masked_config,
            'rendered': self.masked_rendered,
        }


def load(component, config=None, text=None):
    """Parse text (HCL or JSON) or normalize a mapping; return (data, positions).

    Raises hcl.HCLError on syntax errors.
    """
    if (config is None) == (text is None):
        raise ValueError('give exactly one of config or text')
    if text is not None:
        return hcl.parse(text, S.decode_policy)
    return hcl.from_python(config, S.decode_policy), {}


def normalize(component, data, report, server_replicas=1):
    """Check ``data`` and return its normalized form (errors go to ``report``)."""
    top = S.core_schema(component)
    other = 'agent' if component == 'server' else 'server'
    if other in data and component not in data:
        report.error((other,), 'this is a %s configuration but component is %s' % (other, component))
    norm = check_block(data, top, (), report)
    if 'plugins' in norm:
        norm['plugins'] = rules.check_plugins(norm['plugins'], component, report)
    rules.check_common(norm, report)
    if component == 'server':
        rules.check_server(norm, report, server_replicas)
    else:
        rules.check_agent(norm, report)
    return norm


def analyze(component, config=None, text=None, server_replicas=1, strict=True, environ=None):
    """Parse, check, normalize and render a SPIRE configuration.

    environ: values of ${VAR} references, when known; checks of such values use them, and they are
    treated as secrets (masked in every message).
    """
    if component not in COMPONENTS:
        raise ValueError('component must be server or agent')
    result = Analysis()
    try:
        data, positions = load(component, config=config, text=text)
    except hcl.HCLError as exc:
        result.errors.append('parse error: %s' % exc)
        return result
    report = Report(strict=strict, positions=positions, environ=environ)
    if not isinstance(server_replicas, int) or server_replicas < 1:
        report.error(('server_replicas',), 'must be an integer >= 1')
        server_replicas = 1
    norm = normalize(component, data, report, server_replicas)
    result.config = norm
    result.secrets = find_secrets(norm) + [v for v in (environ or {}).values() if isinstance(v, str) and v]
    result.masked_config = mask(norm)
    try:
        order = S.SECTIONS[component]
        result.rendered = hcl.render(norm, order, S.PLUGIN_TYPE_ORDER[component])
        result.masked_rendered = hcl.render(result.masked_config, order, S.PLUGIN_TYPE_ORDER[component])
    except hcl.HCLError as exc:
        report.error((), 'cannot render: %s' % exc)
    # Defence in depth: no message may carry a secret, whatever a rule printed.
    result.errors = [scrub(m, result.secrets) for m in report.errors]
    result.warnings = [scrub(m, result.secrets) for m in report.warnings]
    result.policy_findings = list(report.policy_findings)
    return result


# -------------------------------------------------------------------- secrets
def _dbtype(plugin_data):
    dbtype = plugin_data.get('database_type') if isinstance(plugin_data, dict) else None
    if isinstance(dbtype, dict) and len(dbtype) == 1:
        return list(dbtype)[0]
    return dbtype


def _is_secret_key(key):
    key = str(key).lower()
    return key in SECRET_KEY_NAMES or key.endswith('_password') or key.endswith('_secret')


def _walk_secrets(data, path, dbtype, visit):
    """Call visit(path, key, value, dbtype) for string leaves under secret-looking keys."""
    if isinstance(data, dict):
        if 'database_type' in data:
            dbtype = _dbtype(data)
        for key, value in data.items():
            if isinstance(value, str):
                if key in DSN_KEY_NAMES or _is_secret_key(key):
                    visit(path + (key,), key, value, dbtype)
            else:
                _walk_secrets(value, path + (key,), dbtype, visit)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _walk_secrets(value, path + (i,), dbtype, visit)


def find_secrets(data):
    """Literal secret strings in ``data`` (``${VAR}`` references are not secrets)."""
    found = []

    def visit(path, key, value, dbtype):
        if key in DSN_KEY_NAMES:
            span = dsn_password_span(value, dbtype)
            if span:
                literal = value[span[0]:span[1]]
                if not env.only_references(literal):
                    found.append(literal)
        elif value and not env.only_references(value):
            found.append(value)

    _walk_secrets(data, (), None, visit)
    return sorted(set(found), key=lambda s: (-len(s), s))


def mask(data):
    """A copy of ``data`` with literal secrets replaced by ``********``."""
    masked = copy.deepcopy(data)

    def visit(path, key, value, dbtype):
        parent = masked
        for part in path[:-1]:
            parent = parent[part]
        if key in DSN_KEY_NAMES:
            parent[key] = mask_dsn(value, dbtype)
        elif value and not env.only_references(value):
            parent[key] = MASK

    _walk_secrets(data, (), None, visit)
    return masked


_TEXT_PATTERNS = (
    re.compile(r'(password\s*=\s*)(\'(?:[^\'\\]|\\.)*\'|[^\s"\']+)', re.I),
    re.compile(r'(://[^:/@\s"]*:)([^@\s"]+)(@)'),
)


def scrub(text, secrets=()):
    """Replace known secrets and password-looking parts of DSNs in free text."""
    if not text:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)

    def keep_refs(m):
        value = m.group(2)
        if env.only_references(value.strip("'")) or value == MASK:
            return m.group(0)
        return m.group(1) + MASK + (m.group(3) if m.lastindex and m.lastindex >= 3 else '')

    for pattern in _TEXT_PATTERNS:
        text = pattern.sub(keep_refs, text)
    return text
