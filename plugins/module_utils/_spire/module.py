# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ardur.spire.spire_config module's logic (the module file only wires it up)."""

from __future__ import annotations

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from . import api
from . import binary
from . import schema as S


def argument_spec():
    """The module's options (file options are added by add_file_common_args)."""
    return dict(
        component=dict(type='str', required=True, choices=['server', 'agent']),
        config=dict(type='dict'),
        content=dict(type='str'),
        src=dict(type='path'),
        server_replicas=dict(type='int', default=1),
        strict=dict(type='bool', default=True),
        validate_with=dict(type='path'),
        validate_env=dict(type='dict', default={}, no_log=True),
        dest=dict(type='path'),
    )


MODULE_KWARGS = dict(
    mutually_exclusive=[('config', 'content', 'src')],
    required_one_of=[('config', 'content', 'src')],
    supports_check_mode=True,
    add_file_common_args=True,
)


def _read(module, path):
    try:
        with open(path, 'rb') as handle:
            return to_text(handle.read(), errors='surrogate_or_strict')
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read src %s: %s' % (path, to_native(exc)))
    except UnicodeError:
        module.fail_json(msg='src %s is not UTF-8 text' % path)


def _fail(module, component, analysis, extra=None):
    count = len(analysis.errors)
    msg = 'SPIRE %s %s configuration is invalid (%d error%s): %s' % (
        S.SPIRE_VERSION, component, count, '' if count == 1 else 's', '; '.join(analysis.errors))
    result = analysis.as_dict()
    result.update(extra or {})
    module.fail_json(msg=msg, changed=False, **result)


def _validate_with(module, component, analysis):
    """Run the real binary; return extra errors (scrubbed)."""
    path = module.params['validate_with']
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return ['validate_with: %s is not an executable file' % path]
    variables = module.params['validate_env'] or {}
    try:
        rc, output, placeholders = binary.run_validate(path, component, analysis.rendered, variables)
    except OSError as exc:
        return ['validate_with: cannot run %s: %s' % (path, to_native(exc))]
    secrets = list(analysis.secrets) + [to_text(v) for v in variables.values() if v]
    if placeholders:
        module.warn('validate_with: set %s to %r for validation only (give real values in validate_env)'
                    % (', '.join(placeholders), binary.PLACEHOLDER))
    if rc != 0:
        return ['validate_with: %s validate exited with %d: %s' % (os.path.basename(path), rc, api.scrub(output, secrets))]
    return []


def _write_dest(module, analysis):
    """Write the rendered file if its content differs; return (changed, diff)."""
    dest = module.params['dest']
    data = to_bytes(analysis.rendered)
    before = None
    if os.path.exists(dest):
        if os.path.isdir(dest):
            module.fail_json(msg='dest %s is a directory' % dest)
        with open(dest, 'rb') as handle:
            before = handle.read()
    changed = before != data
    diff = {
        'before_header': dest if before is not None else '%s (absent)' % dest,
        'after_header': dest,
        'before': _masked_text(before, analysis),
        'after': analysis.masked_rendered,
    }
    if changed and not module.check_mode:
        directory = os.path.dirname(dest) or '.'
        if not os.path.isdir(directory):
            module.fail_json(msg='the directory of dest does not exist: %s' % directory)
        fd, tmp = tempfile.mkstemp(prefix='.spire_config.', dir=directory)
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
            module.atomic_move(tmp, dest, unsafe_writes=module.params['unsafe_writes'])
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return changed, diff


def _masked_text(raw, analysis):
    """The previous dest content for the diff, with its own secrets masked too."""
    if raw is None:
        return ''
    text = to_text(raw, errors='surrogate_or_replace')
    secrets = list(analysis.secrets)
    try:
        data, _positions = api.load('server', text=text)
        secrets.extend(api.find_secrets(data))
    except ValueError:
        pass  # not parseable: the pattern-based scrub below still applies
    return api.scrub(text, sorted(set(secrets), key=lambda s: (-len(s), s)))


def run_module(module):
    """Run ardur.spire.spire_config with an AnsibleModule built from argument_spec()."""
    params = module.params
    component = params['component']
    text = params['content']
    if params['src'] is not None:
        text = _read(module, params['src'])
    analysis = api.analyze(component, config=params['config'], text=text,
                           server_replicas=params['server_replicas'], strict=params['strict'],
                           environ=params['validate_env'])
    # Literal secrets found in the input are masked by Ansible everywhere in the
    # result, the echoed module arguments (invocation) included.
    module.no_log_values.update(analysis.secrets)
    for warning in analysis.warnings:
        module.warn(warning)
    if analysis.errors:
        _fail(module, component, analysis)
    if params['validate_with']:
        extra = _validate_with(module, component, analysis)
        if extra:
            analysis.errors.extend(extra)
            _fail(module, component, analysis)

    result = dict(changed=False, **analysis.as_dict())
    if params['dest']:
        changed, diff = _write_dest(module, analysis)
        file_args = module.load_file_common_arguments(params, path=params['dest'])
        if file_args.get('mode') is None:
            file_args['mode'] = 0o644
        if os.path.exists(params['dest']):
            changed = module.set_fs_attributes_if_different(file_args, changed, diff=None)
        elif module.check_mode:
            changed = True
        result['changed'] = changed
        result['dest'] = params['dest']
        if module._diff:
            result['diff'] = diff
    module.exit_json(**result)
