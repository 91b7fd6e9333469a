# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""The decisions of the upstream CA rotation runbook (roles/rotate_upstream_ca,
docs/runbooks/rotate_upstream_ca.md).

A rotation moves through the phases staged, introduced, switched and retired; the last phase done is
the annotation ``spire.ardur.io/rotation-phase`` of the state Secret, so a run resumes after it.
Here: the input values (``option_problems``), the servers' settings read from the live server.conf
(``server_settings``, through hcl.parse and validate.parse_duration), where the rotation stands and
what a run refuses (``situation``), the CAs the phases write (``cas``, ``state_secret_data``; key material
only passes through these two), the roots and bundles of both CAs (``decide``), the plan (``plan_lines``),
which server can retire the old root (``retirement``) and the report (``report``). Pure functions;
nothing here talks to a cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import os
import re
import time

from ansible_collections.ardur.spire.plugins.module_utils._spire import hcl
from ansible_collections.ardur.spire.plugins.module_utils._spire import report as _report
from ansible_collections.ardur.spire.plugins.module_utils._spire.authority import (
    certificate_dates, common_name, normalize_skid, subject_key_id)
from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import pem_problem
from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import pem_certificates
from ansible_collections.ardur.spire.plugins.module_utils._spire.validate import parse_duration

REPORT_VERSION = 1
PHASES = ('staged', 'introduced', 'switched', 'retired')
ORDER = ('',) + PHASES  # index of the last phase done; '' is none
NOTE = 'spire.ardur.io/rotation-'
SECRET_KEYS = ('tls.crt', 'tls.key', 'bundle.crt')
# SPIRE's defaults when server.conf leaves them out.
DEFAULT_SVID_TTL = '1h'
DEFAULT_CA_TTL = '24h'
TRANSPORTS = ('kubernetes', 'local')
# The objects the rotation reads and writes (roles/spire vars _spire_objects), as the messages name them.
OBJECTS = {'server': 'spire-server', 'upstream_ca': 'spire-upstream-ca',
           'upstream_ca_rotation': 'spire-upstream-ca-rotation', 'bundle': 'spire-bundle'}
_NAMESPACE = re.compile(r'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')

# The inputs without their prefix, with their types (roles/rotate_upstream_ca/vars/main.yml).
OPTIONS = {
    'transport': str, 'server_sockets': list, 'spire_server_path': str, 'cert_file': str, 'key_file': str,
    'bundle_file': str, 'key_type': str, 'validity_days': int, 'common_name': str, 'organization': str,
    'grace_seconds': int, 'propagation_seconds': int, 'volume_refresh_seconds': int, 'timeout': int,
    'stop_after': str, 'keep_previous': bool, 'rollback': bool, 'report_path': str,
}


def _check_options(options):
    if not isinstance(options, dict):
        raise ValueError('options must be a dict of the rotate_upstream_ca_ inputs without their prefix')
    missing = sorted(set(OPTIONS) - set(options))
    if missing:
        raise ValueError('options lack %s' % ', '.join(missing))
    for name, kind in OPTIONS.items():
        value = options[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError('rotate_upstream_ca_%s must be an integer, not %r' % (name, value))
        if kind is not int and not isinstance(value, kind):
            raise ValueError('rotate_upstream_ca_%s must be a %s, not %r' % (name, kind.__name__, value))


# ------------------------------------------------------------------------------ inputs --
def option_problems(options):
    """Messages for the input values (each names its input); [] when they are fine. Reads only the files named."""
    _check_options(options)
    o = options
    problems = []
    if o['transport'] not in TRANSPORTS:
        problems.append('rotate_upstream_ca_transport must be kubernetes or local, not %r' % o['transport'])
    if o['transport'] == 'local' and not o['server_sockets']:
        problems.append('rotate_upstream_ca_transport=local needs rotate_upstream_ca_server_sockets '
                        '(the absolute admin socket path of each server, in order)')
    relative = [path for path in o['server_sockets'] if not (isinstance(path, str) and path.startswith('/'))]
    if relative:
        problems.append('rotate_upstream_ca_server_sockets must be absolute paths (got %s)'
                        % ', '.join(repr(path) for path in relative))
    for name in ('grace_seconds', 'propagation_seconds', 'volume_refresh_seconds'):
        if o[name] < 0:
            problems.append('rotate_upstream_ca_%s must be >= 0 (got %d)' % (name, o[name]))
    for name in ('timeout', 'validity_days'):
        if o[name] <= 0:
            problems.append('rotate_upstream_ca_%s must be > 0 (got %d)' % (name, o[name]))
    if o['stop_after'] not in ('', 'staged', 'introduced', 'switched'):
        problems.append('rotate_upstream_ca_stop_after must be staged, introduced, switched or empty, not %r'
                        % o['stop_after'])
    if bool(o['cert_file']) != bool(o['key_file']):
        problems.append('rotate_upstream_ca_cert_file and rotate_upstream_ca_key_file go together (one is empty)')
    for name in ('cert_file', 'key_file', 'bundle_file'):
        if o[name] and not os.path.isfile(o[name]):
            problems.append('rotate_upstream_ca_%s: %s is not a file' % (name, o[name]))
    if o['bundle_file'] and not o['cert_file']:
        problems.append('rotate_upstream_ca_bundle_file needs rotate_upstream_ca_cert_file (the CA it is the roots of)')
    if o['rollback'] and o['cert_file']:
        problems.append('rotate_upstream_ca_rollback takes no new CA: leave rotate_upstream_ca_cert_file empty')
    return problems


# ------------------------------------------------------------------------- server.conf --
def server_settings(server_conf):
    """trust_domain, default_x509_svid_ttl and ca_ttl of SERVER_CONF (text of the server ConfigMap),
    the TTLs also in whole seconds; SPIRE's defaults for what it leaves out."""
    if not isinstance(server_conf, str):
        raise ValueError('server.conf must be text, not %r' % type(server_conf).__name__)
    try:
        data = hcl.parse(server_conf)[0] if server_conf.strip() else {}
    except hcl.HCLError as exc:
        raise ValueError('server.conf of the server ConfigMap cannot be parsed: %s' % exc)
    server = data.get('server') or {}
    if isinstance(server, list):  # repeated blocks: SPIRE merges them, the last value wins
        merged = {}
        for block in server:
            merged.update(block if isinstance(block, dict) else {})
        server = merged
    settings = {'trust_domain': str(server.get('trust_domain') or '')}
    for key, name, default in (('svid_ttl', 'default_x509_svid_ttl', DEFAULT_SVID_TTL),
                               ('ca_ttl', 'ca_ttl', DEFAULT_CA_TTL)):
        text = server.get(name)
        text = default if text in (None, '') else str(text)
        try:
            nanos = parse_duration(text)
        except ValueError as exc:
            raise ValueError('%s of server.conf (the server ConfigMap): %s' % (name, exc))
        settings[key] = text
        settings[key + '_seconds'] = nanos // 10 ** 9
    return settings


def grace_problems(grace_seconds, settings):
    """Why GRACE_SECONDS is unsafe for servers with SETTINGS (server_settings); [] when it is safe."""
    problems = []
    if grace_seconds < settings['svid_ttl_seconds']:
        problems.append(
            'rotate_upstream_ca_grace_seconds=%d is shorter than the servers\' default_x509_svid_ttl (%s = %d s): SVIDs '
            'and server certificates signed before the switch would still chain to the old root when it is revoked.'
            % (grace_seconds, settings['svid_ttl'], settings['svid_ttl_seconds']))
    if grace_seconds * 2 >= settings['ca_ttl_seconds']:
        problems.append(
            'rotate_upstream_ca_grace_seconds=%d is not shorter than half of ca_ttl (%s): by then the servers prepare '
            'their next authority, which forgets the old one SPIRE needs to revoke the old root.'
            % (grace_seconds, settings['ca_ttl']))
    return problems


# ---------------------------------------------------------------------------- situation --
def situation(options, statefulset=None, server_conf='', live_keys=(), annotations=None, server=None,
              namespace='', objects=None, webhook=False):
    """Where the rotation stands and what it refuses, from what the run read (no key material).

    STATEFULSET: the server StatefulSet ({} when absent); SERVER_CONF: its server.conf; LIVE_KEYS: the data
    keys of Secret spire-upstream-ca; ANNOTATIONS: those of the state Secret ({} when absent); OBJECTS:
    the object names (_spire_objects; SERVER, when given, the StatefulSet's); WEBHOOK: whether the
    controller manager's ValidatingWebhookConfiguration exists.
    Returns servers, webhook, settings, phase (recorded), start (index in ORDER of the last phase done; a
    retired rotation is over), in_progress, turned (a rollback of a switched rotation, run as the
    same rotation the other way from introduced), rollback (undo before the switch), phases (to
    run, in order), stop_index, switched_at, notes, objects and problems (refusals; nothing is
    written when there is one).
    """
    _check_options(options)
    names = dict(OBJECTS)
    names.update(dict((key, value) for key, value in (objects or {}).items() if key in OBJECTS))
    if server:
        names['server'] = server
    server = names['server']
    if server_conf is not None and not isinstance(server_conf, str):
        raise ValueError('server.conf of ConfigMap %s must be text, not %s' % (server, type(server_conf).__name__))
    o = options
    problems = []
    try:
        settings = server_settings(server_conf or '')
    except ValueError as exc:
        settings = dict(trust_domain='', svid_ttl='?', svid_ttl_seconds=0, ca_ttl='?', ca_ttl_seconds=0)
        problems.append(str(exc))
    else:
        problems.extend(grace_problems(o['grace_seconds'], settings))
    spec = (statefulset or {}).get('spec') or {}
    replicas = int(spec.get('replicas') or 0)
    count = replicas if o['transport'] == 'kubernetes' else len(o['server_sockets'])
    servers = ['%s-%d' % (server, index) for index in range(count)]
    notes = dict((key, value) for key, value in (annotations or {}).items() if key.startswith(NOTE))
    phase = notes.get(NOTE + 'phase', '')
    live_keys = sorted(live_keys or [])
    if set(SECRET_KEYS) - set(live_keys) or not servers or phase not in ORDER:
        problems.append(
            'Nothing to rotate in namespace %s: Secret %s must exist with tls.crt, tls.key and '
            'bundle.crt (has %s), the StatefulSet %s must have replicas (found %d servers), and the recorded '
            'phase must be known (got %r). Deploy with deploy.yml first.'
            % (namespace, names['upstream_ca'], ', '.join(live_keys) or 'nothing', server, len(servers), phase))
    recorded = phase if phase in ORDER and phase != 'retired' else ''
    start = ORDER.index(recorded)
    in_progress = bool(recorded)
    if o['rollback'] and not in_progress:
        problems.append(
            'rotate_upstream_ca_rollback: there is no rotation in progress in %s (recorded phase: %s). After '
            'retirement, go back by rotating again with rotate_upstream_ca_cert_file/rotate_upstream_ca_key_file.'
            % (namespace, phase or 'none'))
    turned = bool(o['rollback'] and start == 3)
    if turned:
        start = 2
    stop_index = ORDER.index(o['stop_after']) if o['stop_after'] in ORDER[1:4] else 4
    rollback = bool(o['rollback'] and not turned)
    phases = [] if rollback else [
        name for index, name in enumerate(PHASES, 1)
        if start < index <= stop_index or (name == 'staged' and turned)]
    switched_at = str(notes.get(NOTE + 'switched-at', ''))
    if recorded == 'switched' and not turned and 'retired' in phases and not switched_at.isdigit():
        # Without it the grace period cannot be counted, and retiring at once is what it prevents.
        problems.append(
            'Secret %s records phase switched but not when (annotation %sswitched-at is %r): the grace period '
            'cannot be counted. Set it to the Unix time of the switch, or roll back (rotate_upstream_ca_rollback=true).'
            % (names['upstream_ca_rotation'], NOTE, switched_at))
    return dict(servers=servers, webhook=bool(webhook), settings=settings, phase=phase, start=start,
                in_progress=in_progress,
                turned=turned, rollback=rollback, phases=phases, stop_index=stop_index,
                switched_at=int(switched_at) if switched_at.isdigit() else 0,
                namespace=namespace, notes=notes, objects=names, problems=problems)


# -------------------------------------------------------------------------------- the CAs --
def _ca(data, prefix=''):
    return dict((key, (data or {}).get(prefix + key, '')) for key in SECRET_KEYS)


def cas(the_situation, live_data, state_data=None, files=None):
    """The CAs of the run as Secret data (base64 tls.crt, tls.key, bundle.crt): {'previous', 'new'}.

    In progress they come from the state Secret (STATE_DATA, new-* and previous-*), else the new one
    from FILES ({'tls.crt', 'tls.key', 'bundle.crt'} base64, the generated or imported CA) and the
    previous one is the CA in use (LIVE_DATA). A turned rollback swaps them. Also public (tls.crt and
    bundle.crt of each, for decide) and state_data (state_secret_data()). Holds keys: no_log.
    """
    if the_situation['in_progress']:
        previous, new = _ca(state_data, 'previous-'), _ca(state_data, 'new-')
    else:
        previous, new = _ca(live_data), _ca(files)
    if the_situation['turned']:
        previous, new = new, previous
    public = dict((side, dict((key, ca[key]) for key in ('tls.crt', 'bundle.crt')))
                  for side, ca in (('previous', previous), ('new', new)))
    the_cas = dict(previous=previous, new=new, public=public)
    the_cas["state_data"] = state_secret_data(the_cas)
    return the_cas


def state_secret_data(the_cas):
    """The data of the state Secret for THE_CAS (cas()): new-* and previous-*. Holds keys: no_log."""
    data = {}
    for side in ('new', 'previous'):
        for key in SECRET_KEYS:
            data['%s-%s' % (side, key)] = the_cas[side][key]
    return data


def _text(value, name):
    """PEM text of VALUE, base64 Secret data (a CA's public part only)."""
    if not value:
        return ''
    try:
        return base64.b64decode(value, validate=True).decode('utf-8')
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError('%s is not base64 PEM text' % name)


def _der(block):
    return base64.b64decode(''.join(block.strip().splitlines()[1:-1]))


def _body(block):
    return ''.join(block.split())


def certificate(block):
    """subject_key_id, common_name, not_after (RFC 3339) of a PEM certificate block."""
    try:
        der = _der(block)
        not_after = certificate_dates(der)[1]
        return dict(subject_key_id=normalize_skid(subject_key_id(der)), common_name=common_name(der),
                    not_after=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(not_after)))
    except (ValueError, TypeError, binascii.Error, StopIteration, IndexError):
        raise ValueError('a certificate cannot be read')


def roots(pem_text):
    """Subject key IDs of the certificates of PEM_TEXT (a bundle), in order."""
    return [certificate(block)['subject_key_id'] for block in pem_certificates(pem_text or '')]


def _public(ca, name):
    if not isinstance(ca, dict):
        raise ValueError('%s must be a dict with tls.crt and bundle.crt (base64)' % name)
    return _text(ca.get('tls.crt', ''), name + ' tls.crt'), _text(ca.get('bundle.crt', ''), name + ' bundle.crt')


def decide(the_situation, previous, new, live=None, given_cert=''):
    """Both CAs' roots and the bundles of each phase, from the public parts of PREVIOUS and NEW (Secret data
    with base64 tls.crt and bundle.crt; keys are ignored) and LIVE (the CA in use, for the plan).

    GIVEN_CERT: text of rotate_upstream_ca_cert_file ('' when none), refused when a rotation to another
    CA is in progress. Returns old/new subject key IDs and certificates, added_roots (to put in SPIRE's
    bundle), dropped_roots, revocable (the old signing CA, the only root SPIRE can revoke), unrevocable,
    new_roots, both_bundle (bundle.crt while both are trusted: the old bundle as it is, then the new
    roots not in it) and problems, added to the situation's.
    """
    problems = list(the_situation['problems'])
    prev_crt, prev_bundle = _public(previous, 'the previous CA')
    new_crt, new_bundle = _public(new, 'the new CA')
    live_crt = _public(live, 'the CA in use')[0] if live else prev_crt
    info = {}
    for name, text in (('old', prev_crt), ('new', new_crt), ('in_use', live_crt)):
        blocks = pem_certificates(text)
        try:
            info[name] = certificate(blocks[0]) if blocks else None
        except ValueError:
            info[name] = None
        if info[name] is None:
            problems.append('The %s certificate cannot be read.' % {'old': 'previous CA', 'new': 'new CA',
                                                                    'in_use': 'CA in use'}[name])
    if given_cert and the_situation['in_progress'] and \
            sorted(_body(b) for b in pem_certificates(given_cert)) != sorted(_body(b) for b in pem_certificates(new_crt)):
        problems.append(
            'A rotation to another CA is in progress (phase %s, Secret %s): rotate_upstream_ca_cert_file differs from '
            'it. Finish it (run without rotate_upstream_ca_cert_file) or roll it back (rotate_upstream_ca_rollback=true) '
            'first.' % (the_situation['phase'], _names(the_situation)['upstream_ca_rotation']))
    prev_blocks, new_blocks = pem_certificates(prev_bundle), pem_certificates(new_bundle)
    prev_bodies, new_bodies = [_body(b) for b in prev_blocks], [_body(b) for b in new_blocks]
    old_body = _body((pem_certificates(prev_crt) or [''])[0])
    result = dict(added_roots=[], dropped_roots=[], revocable=[], unrevocable=[], new_roots=[], both_bundle='')
    try:
        skid = dict((_body(b), certificate(b)['subject_key_id']) for b in prev_blocks + new_blocks)
    except ValueError:
        problems.append('A root of the previous or the new bundle.crt cannot be read; nothing was changed.')
        skid = None
    if skid is not None:
        added = [b for b in new_blocks if _body(b) not in prev_bodies]
        dropped = [_body(b) for b in prev_blocks if _body(b) not in new_bodies]
        result.update(
            added_roots=[skid[_body(b)] for b in added],
            dropped_roots=[skid[body] for body in dropped],
            revocable=[skid[body] for body in dropped if body == old_body],
            unrevocable=[skid[body] for body in dropped if body != old_body],
            new_roots=[skid[body] for body in new_bodies],
            both_bundle='\n'.join([prev_bundle.strip()] + [b.strip() for b in added]) + '\n')
        for label, text, count in (('bundle.crt with both CAs', result['both_bundle'], len(prev_blocks) + len(added)),
                                   ('bundle.crt of the new CA', new_bundle, len(new_blocks))):
            problem = pem_problem(text, 'certificate')
            if problem or not count:
                problems.append('%s would not be a valid PEM bundle (%s); nothing was changed.'
                                % (label, problem or 'no certificate'))
    old_skid = (info['old'] or {}).get('subject_key_id', '')
    new_skid = (info['new'] or {}).get('subject_key_id', '')
    if info['new'] and not new_skid:
        problems.append('Refusing to rotate, nothing was changed. The new CA (%s) has no subject key identifier; SPIRE '
                        'tracks upstream CAs by it.' % (info['new']['common_name'] or '?'))
    if info['old'] and not old_skid:
        problems.append('Refusing to rotate, nothing was changed. The CA in use has no subject key identifier.')
    if old_skid and old_skid == new_skid:
        problems.append('Refusing to rotate, nothing was changed. The new CA is the CA in use (subject key ID %s).'
                        % new_skid)
    result.update(old_skid=old_skid, new_skid=new_skid, old=info['old'], new=info['new'], in_use=info['in_use'],
                  problems=problems)
    return result


# ---------------------------------------------------------------------------------- plan --
def _names(the_situation):
    return dict(OBJECTS, **((the_situation or {}).get('objects') or {}))


def _what(phase, s, d, o):
    n = _names(s)
    if phase == 'staged':
        return 'store the new CA and a copy of the CA in use in Secret %s' % n['upstream_ca_rotation']
    if phase == 'introduced':
        return ('bundle.crt of %s carries the old and new roots; prepare on %s until SPIRE\'s bundle has root(s) %s; wait '
                'for every server and ConfigMap %s, then %d s for the agents'
                % (n['upstream_ca'], s['servers'][0] if s['servers'] else '?', ', '.join(d['added_roots']), n['bundle'],
                   o['propagation_seconds']))
    if phase == 'switched':
        return ('tls.crt/tls.key of %s become the new CA; on each of %s prepare (until signed by %s) and activate; no '
                'restart' % (n['upstream_ca'], ', '.join(s['servers']), d['new_skid']))
    # The controller manager mints its webhook certificate at start and then only near its expiry
    # (up to a day later): left alone it would still chain to the old root once the bundle drops it,
    # and the API server would refuse every ClusterSPIFFEID write.
    roll = ('replace the server pods one at a time, healthy between, so that each controller manager mints its '
            'webhook certificate under the new CA; ' if s.get('webhook') else '')
    return (roll + 'wait until %d s after the switch; bundle.crt keeps only the new root(s); wait %d s for the kubelet; '
            'taint, wait %d s, revoke root(s) %s; check every server and ConfigMap %s; %s Secret %s'
            % (o['grace_seconds'], o['volume_refresh_seconds'], o['propagation_seconds'],
               ', '.join(d['dropped_roots']) or '(none)', n['bundle'], 'keep' if o['keep_previous'] else 'delete',
               n['upstream_ca_rotation']))


def _describe(cert):
    cert = cert or {}
    return '%s, subject key ID %s, expires %s' % (
        cert.get('common_name') or '?', cert.get('subject_key_id') or '?', cert.get('not_after') or '?')


def plan_lines(the_situation, decision, options, servers=None, check_mode=False):
    """The plan a run shows before it writes (and all that check mode does). SERVERS: the registered
    results of reading each server (spire_authority in check mode)."""
    _check_options(options)
    s, d, o = the_situation, decision, options
    signed_by = [((r.get('x509_authorities') or {}).get('active') or {}).get('upstream_authority_subject_key_id', '?')
                 for r in (servers or [])]
    lines = [
        '%s for the upstream CA of %s (%s, %d servers)%s:' % (
            'Plan (check mode: nothing is written)' if check_mode else 'Plan', s['namespace'], o['transport'],
            len(s['servers']), ' - ROLLBACK' if o['rollback'] else ''),
        '  in use: ' + _describe(d['in_use']),
        '  %s: %s' % ('back to' if s['turned'] else 'new', _describe(d['new'])),
        '  recorded phase: ' + (s['phase'] or 'none (a new rotation)'),
        '  servers now signed by: ' + ', '.join(signed_by),
        '  SVID TTL %s, CA TTL %s, grace %d s' % (s['settings']['svid_ttl'], s['settings']['ca_ttl'], o['grace_seconds']),
    ]
    if s['rollback']:
        lines.append('  undo: bundle.crt, tls.crt and tls.key back to the CA in use before the rotation; delete Secret '
                     + _names(s)['upstream_ca_rotation'])
    else:
        lines.extend('  %s: %s' % (phase, _what(phase, s, d, o)) for phase in s['phases'])
        if not s['phases']:
            lines.append('  nothing to do')
    return lines


# ---------------------------------------------------------------------------- retirement --
def retirement(views, old_skid, revocable):
    """Which server retires the old root, from VIEWS (registered spire_authority results in check mode,
    one per server, in order): retirer (index, -1 when none), old_in_bundle, old_tainted, problem ('' or
    why no server can: SPIRE taints/revokes only a root that signed a server's OLD authority)."""
    results = list(views or [])
    able = [index for index, view in enumerate(results)
            if ((view.get('x509_authorities') or {}).get('old') or {}).get('upstream_authority_subject_key_id') == old_skid]
    bundle = (results[0].get('bundle_roots') if results else None) or []
    old_roots = [root for root in bundle if root.get('subject_key_id') == old_skid]
    in_bundle = bool(revocable) and bool(old_roots)
    problem = ''
    if in_bundle and not able:
        problem = ('The old root %s is still in SPIRE\'s bundle, but no server has an old X.509 authority signed by it '
                   'any more (servers prepared their next authority since the switch), and SPIRE only taints/revokes '
                   'such a root. It stays trusted until it expires. Phase switched is kept; see '
                   'docs/runbooks/rotate_upstream_ca.md (late retirement).' % old_skid)
    return dict(retirer=able[0] if able else -1, old_in_bundle=in_bundle,
                old_tainted=any(root.get('tainted') for root in old_roots), problem=problem)


# -------------------------------------------------------------------------------- report --
def report(the_situation, decision, options, phase_seconds=None, grace_waited=None, failure=None, check_mode=False,
           plan=None, started_at=None, generated_at=None):
    """The JSON report (report_version 1; docs/runbooks/rotate_upstream_ca.md) with its summary lines.

    status: refused (a refusal, nothing written), planned (check mode), failed (a task failed), rolled_back,
    stopped (stopped after a phase as asked; run again to continue) or rotated (retired). No key material.
    """
    _check_options(options)
    s = the_situation or {}
    d = decision or {}
    o = options
    phase_seconds = dict(phase_seconds or {})
    done = [phase for phase in PHASES if phase in phase_seconds]
    problems = list(d.get('problems', s.get('problems', [])))
    if problems:
        status = 'refused'
    elif failure:
        status = 'refused' if failure.get('refused') else 'failed'
    elif check_mode:
        status = 'planned'
    elif s.get('rollback'):
        status = 'rolled_back'
    elif 'retired' in done:
        status = 'rotated'
    else:
        status = 'stopped'
    old_skid, new_skid = d.get('old_skid', ''), d.get('new_skid', '')
    summary = []
    if status == 'rolled_back':
        line = ('Rolled back: %s holds the CA in use before the rotation again (%s); no server had switched.'
                % (_names(s)['upstream_ca'], old_skid))
        if s.get('start', 0) >= 2:
            line += (' The new root(s) %s stay in SPIRE\'s trust bundle until they expire: SPIRE only revokes an upstream '
                     'root that signed an old authority, and none did. Their key is deleted, so nothing can be signed by '
                     'them.' % ', '.join(d.get('added_roots', [])))
        summary.append(line)
    elif status in ('refused', 'failed'):
        summary.append('Upstream CA rotation %s%s: %s' % (
            status, '' if status == 'failed' else ', nothing was changed' if not done else '',
            ' '.join(problems) if problems else (failure or {}).get('message', '')))
    elif status == 'planned':
        summary.append('Upstream CA rotation planned (check mode, nothing was written): %s'
                       % (', '.join(s.get('phases') or []) or ('rollback' if s.get('rollback') else 'nothing to do')))
    else:
        summary.append('Upstream CA rotation %s%s: %s -> %s' % (
            '(rollback) ' if s.get('turned') else '', done[-1] if done else 'nothing to do', old_skid, new_skid))
    summary.extend('  phase %s: %s s' % (phase, phase_seconds[phase]) for phase in done)
    if 'retired' in done and grace_waited is not None:
        summary.append('  (retired includes %s s of waiting for the grace period to end)' % grace_waited)
    if status == 'stopped' and s.get('stop_index', 4) < 4:
        summary.append('  stopped after %s as asked; run again to continue (the phase is recorded in Secret %s)'
                       % (o['stop_after'], _names(s)['upstream_ca_rotation']))
    if 'retired' in done and o['keep_previous']:
        summary.append('  the old CA is kept in Secret %s (rotate_upstream_ca_keep_previous)'
                       % _names(s)['upstream_ca_rotation'])
    if 'retired' in done and d.get('unrevocable'):
        summary.append('  WARNING: root(s) %s left bundle.crt but SPIRE cannot revoke them (they did not sign the '
                       'servers\' authorities); they stay in the trust bundle until they expire'
                       % ', '.join(d['unrevocable']))
    settings = s.get('settings') or {}
    sections = {
        'namespace': s.get('namespace', ''),
        'message': summary[0] if summary else '',
        'problems': problems,
        'recorded_phase': s.get('phase', ''),
        'phases_planned': list(s.get('phases', [])),
        'phases_done': done,
        'phase_seconds': phase_seconds,
        'grace_waited_seconds': grace_waited,
        'rollback': bool(o['rollback']),
        'turned': bool(s.get('turned')),
        'stop_after': o['stop_after'],
        'servers': list(s.get('servers', [])),
        'settings': dict((key, settings.get(key)) for key in ('trust_domain', 'svid_ttl', 'ca_ttl')),
        'grace_seconds': o['grace_seconds'],
        'previous_ca': d.get('old'),
        'new_ca': d.get('new'),
        'added_roots': list(d.get('added_roots', [])),
        'dropped_roots': list(d.get('dropped_roots', [])),
        'unrevocable_roots': list(d.get('unrevocable', [])),
        'failure': failure or None,
        'plan': list(plan or []),
        'summary': summary,
    }
    return _report.envelope('rotate_upstream_ca', REPORT_VERSION, status, sections, check_mode=check_mode,
                            started_at=started_at, generated_at=generated_at)
