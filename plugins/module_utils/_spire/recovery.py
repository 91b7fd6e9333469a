# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Diagnosis and recovery decisions for one SPIRE server replica (the recover_server runbook).

The role reads the cluster (the server StatefulSet, Pods, PVCs, the replica's PersistentVolume,
the Nodes, every server through spire_server_info) and hands what it read to this module, which
decides: which replica is meant (``target``), what is wrong with it and what it needs
(``diagnose``), what the run does, what it refuses and how it explains that (``decide``), whether
the recovered replica passes verification (``checks``) and the JSON report (``report``).

Nothing here talks to a cluster and nothing secret enters a result: object metadata, health
messages, authority IDs and timestamps only (the upstream CA arrives as its certificate).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from ansible_collections.ardur.spire.plugins.module_utils._spire import report as _report
from ansible_collections.ardur.spire.plugins.module_utils._spire.authority import normalize_skid, subject_key_id
from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import pem_certificates

REPORT_VERSION = 1
MODES = ('diagnose', 'recover')
ACTIONS = ('auto', 'replace_pod', 'replace_pvc')
# The other replicas that must be healthy before one is acted on (unless forced).
MIN_HEALTHY_OTHERS = 2
_LOST_PV_PHASES = ('Released', 'Failed')
_HOSTNAME_KEY = 'kubernetes.io/hostname'


# ------------------------------------------------------------------------------- helpers --
def _get(obj, *path, **kwargs):
    """obj[path[0]][path[1]]..., or DEFAULT (None) where a step is missing, null or not a dict."""
    default = kwargs.get('default')
    for key in path:
        if not isinstance(obj, dict) or obj.get(key) is None:
            return default
        obj = obj[key]
    return obj


def _resources(value, what):
    """A list of Kubernetes objects: k8s_info's ``resources`` (or its whole result), one object or None."""
    if value is None:
        return []
    if isinstance(value, dict) and 'resources' in value:
        value = value['resources']
    elif isinstance(value, dict) and 'metadata' in value:
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, dict) for item in value):
        raise ValueError('%s must be a list of Kubernetes objects (k8s_info resources)' % what)
    return list(value)


def _by_name(objects):
    return dict((_get(obj, 'metadata', 'name'), obj) for obj in objects)


def _ready(pod):
    return any(c.get('type') == 'Ready' and c.get('status') == 'True'
               for c in _get(pod, 'status', 'conditions', default=[]) if isinstance(c, dict))


def _terminating(obj):
    return _get(obj, 'metadata', 'deletionTimestamp') is not None


def _choice(value, choices, name):
    if value not in choices:
        raise ValueError('%s must be one of %s, not %r' % (name, ', '.join(choices), value))
    return value


def _bool(value, name):
    if not isinstance(value, bool):
        raise ValueError('%s must be a boolean, not %r' % (name, value))
    return value


def certificate_set(pem):
    """The certificates of PEM text or of a list of PEM blocks, without white space, as a sorted unique list."""
    blocks = pem if isinstance(pem, (list, tuple)) else pem_certificates(pem or '')
    return sorted(set(re.sub(r'\s+', '', block) for block in blocks if block))


def upstream_subject_key_id(pem):
    """Subject key ID (lowercase hex) of the first certificate of PEM (the upstream CA's tls.crt); '' when none."""
    certs = pem_certificates(pem or '')
    if not certs:
        return ''
    try:
        der = base64.b64decode(''.join(certs[0].strip().splitlines()[1:-1]))
        return normalize_skid(subject_key_id(der))
    except (ValueError, TypeError, binascii.Error, StopIteration):
        return ''


# -------------------------------------------------------------------------------- target --
def target(replica, server, statefulset=None, namespace='', transport='kubernetes', sockets=()):
    """The replica meant by REPLICA (an ordinal or a Pod name SERVER-N) of StatefulSet SERVER.

    Without STATEFULSET (None: not read yet) only the form of REPLICA is checked. With it (k8s_info's
    resources, empty when there is none) also that the StatefulSet has that ordinal and, for transport
    local, one admin socket per replica. Returns ordinal (None when unknown), name, replicas, selector,
    claim_template and problems (messages naming the input; empty when fine).
    """
    text = '' if replica is None or isinstance(replica, bool) else str(replica)
    match = re.match(r'^(?:%s-)?([0-9]+)$' % re.escape(server), text)
    out = dict(ordinal=None, name=None, replicas=None, selector={}, claim_template='data', problems=[])
    if not match:
        out['problems'].append(
            'Bad input: recover_server_replica=%s must be an ordinal (2) or a Pod name (%s-2). Nothing was changed.'
            % (json.dumps(text), server))
        return out
    ordinal = int(match.group(1))
    out.update(ordinal=ordinal, name='%s-%d' % (server, ordinal))
    if statefulset is None:
        return out
    objects = _resources(statefulset, 'statefulset')
    if not objects:
        out['problems'].append('Bad input: recover_server_replica=%s: no StatefulSet %s in namespace %s. Nothing was changed.'
                               % (json.dumps(text), server, namespace))
        return out
    spec = _get(objects[0], 'spec', default={})
    replicas = int(spec.get('replicas') or 0)
    templates = spec.get('volumeClaimTemplates') or [{}]
    out.update(replicas=replicas, selector=_get(spec, 'selector', 'matchLabels', default={}),
               claim_template=_get(templates[0], 'metadata', 'name', default='data'))
    if ordinal >= replicas:
        out['problems'].append(
            'Bad input: recover_server_replica=%s: StatefulSet %s has %d replica(s) (%s-0 .. %s-%d), no ordinal %d. '
            'Nothing was changed.' % (json.dumps(text), server, replicas, server, server, replicas - 1, ordinal))
    if transport == 'local' and len(sockets or ()) != replicas:
        out['problems'].append(
            'Bad input: recover_server_server_sockets has %d socket(s); the StatefulSet has %d replicas: give one admin '
            'socket per ordinal, in order. Nothing was changed.' % (len(sockets or ()), replicas))
    return out


# ----------------------------------------------------------------------------- diagnosis --
def _pv_nodes(pv):
    nodes = []
    for term in _get(pv, 'spec', 'nodeAffinity', 'required', 'nodeSelectorTerms', default=[]):
        for expression in (term or {}).get('matchExpressions') or []:
            if expression.get('key') == _HOSTNAME_KEY:
                nodes.extend(expression.get('values') or [])
    return nodes


def _lost_reason(claim, pvc, pvc_info, pv_info):
    """Why the replica's claim cannot serve it, '' when it can."""
    if pvc is None:
        return 'PVC %s does not exist' % claim
    if pvc_info['terminating']:
        return 'PVC %s is being deleted (kept by kubernetes.io/pvc-protection while a pod uses it)' % claim
    if pvc_info['phase'] == 'Lost':
        return 'PVC %s is Lost (its PersistentVolume %s is gone)' % (claim, pvc_info['volume'] or '?')
    if pv_info is None:
        return ''
    if not pv_info['exists']:
        return 'PersistentVolume %s of PVC %s does not exist' % (pv_info['name'], claim)
    if not pv_info['bound_to_claim']:
        return 'PersistentVolume %s is not bound to PVC %s (phase %s)' % (pv_info['name'], claim, pv_info['phase'])
    if pv_info['phase'] in _LOST_PV_PHASES:
        return 'PersistentVolume %s is %s' % (pv_info['name'], pv_info['phase'])
    if pv_info['nodes_missing']:
        return 'PersistentVolume %s is pinned to node %s, which no longer exists' % (
            pv_info['name'], ', '.join(pv_info['nodes_missing']))
    return ''


def _authority_state(authorities):
    if authorities is None:
        return 'unknown'
    active = authorities.get('active')
    if active is None:
        return 'missing'
    return 'expired' if int(active.get('seconds_left') or 0) <= 0 else 'valid'


def diagnose(where, pods, pvcs, pv, nodes, servers, upstream_ca='', container='spire-server'):
    """The state of every replica and what the one at WHERE (``target``'s result) needs.

    PODS, PVCS: the server Pods and the namespace's PVCs; PV: the replica's PersistentVolume (a list, one
    object or None); NODES: the Nodes (objects or names); SERVERS: spire_server_info's result for every
    ordinal, in order; UPSTREAM_CA: the upstream CA certificate (PEM); CONTAINER: the server's container.
    ``needs`` is replace_pvc (the claim is lost), replace_pod (Pod missing, server not healthy, no valid
    X.509 authority) or none; ``reason`` says why.
    """
    if not isinstance(where, dict) or where.get('ordinal') is None or where.get('problems'):
        raise ValueError('diagnose needs the target of a valid replica (recover_server_target without problems)')
    if not isinstance(servers, (list, tuple)) or not all(isinstance(s, dict) for s in servers):
        raise ValueError('servers must be the list of spire_server_info results, one per ordinal')
    ordinal = where['ordinal']
    if ordinal >= len(servers):
        raise ValueError('servers has %d result(s), none for ordinal %d' % (len(servers), ordinal))
    server = where['name'][:-len('-%d' % ordinal)]
    claim_template = where.get('claim_template') or 'data'
    pods_by_name = _by_name(_resources(pods, 'pods'))
    pvcs_by_name = _by_name(_resources(pvcs, 'pvcs'))
    node_names = [n if isinstance(n, str) else _get(n, 'metadata', 'name') for n in _node_list(nodes)]

    rows = []
    for index, res in enumerate(servers):
        name = '%s-%d' % (server, index)
        pod = pods_by_name.get(name)
        pvc = pvcs_by_name.get('%s-%s' % (claim_template, name))
        message = res.get('health_message')
        rows.append(dict(
            name=name, ordinal=index,
            healthy=bool(res.get('healthy', False)),
            message=message if message is not None else (res.get('msg') or ''),
            pod_uid=_get(pod, 'metadata', 'uid') if pod else None,
            pod_ready=_ready(pod) if pod else False,
            pod_terminating=_terminating(pod) if pod else False,
            pvc_uid=_get(pvc, 'metadata', 'uid') if pvc else None))
    row = rows[ordinal]
    others = [r for r in rows if r['ordinal'] != ordinal]
    healthy_others = [r['name'] for r in others if r['healthy'] and r['pod_ready'] and not r['pod_terminating']]

    pod = pods_by_name.get(row['name'])
    cstat = {}
    if pod:
        statuses = [c for c in _get(pod, 'status', 'containerStatuses', default=[]) if c.get('name') == container]
        cstat = statuses[0] if statuses else {}
    pod_info = dict(
        name=row['name'], exists=pod is not None, uid=row['pod_uid'],
        phase=(_get(pod, 'status', 'phase') or '') if pod else None,
        ready=row['pod_ready'], terminating=row['pod_terminating'],
        node=_get(pod, 'spec', 'nodeName') if pod else None,
        created=_get(pod, 'metadata', 'creationTimestamp') if pod else None,
        restarts=cstat.get('restartCount'),
        waiting_reason=_get(cstat, 'state', 'waiting', 'reason'))

    claim = '%s-%s' % (claim_template, row['name'])
    pvc = pvcs_by_name.get(claim)
    pvc_info = dict(
        name=claim, exists=pvc is not None, uid=row['pvc_uid'],
        phase=(_get(pvc, 'status', 'phase') or '') if pvc else None,
        terminating=_terminating(pvc) if pvc else False,
        volume=(_get(pvc, 'spec', 'volumeName') or '') if pvc else None)
    pv_info = None
    if pvc_info['volume']:
        pv_obj = _by_name(_resources(pv, 'pv')).get(pvc_info['volume'])
        nodes_of_pv = _pv_nodes(pv_obj) if pv_obj else []
        pv_info = dict(
            name=pvc_info['volume'], exists=pv_obj is not None,
            phase=(_get(pv_obj, 'status', 'phase') or '') if pv_obj else None,
            bound_to_claim=(_get(pv_obj, 'spec', 'claimRef', 'uid') or '') == row['pvc_uid'] if pv_obj else False,
            nodes=nodes_of_pv, nodes_missing=[n for n in nodes_of_pv if n not in node_names])
    lost = _lost_reason(claim, pvc, pvc_info, pv_info)

    res = servers[ordinal]
    authorities = res.get('x509_authorities')
    active = (authorities or {}).get('active')
    authority_state = _authority_state(authorities)
    upstream_ski = upstream_subject_key_id(upstream_ca)
    upstream_aki = normalize_skid((active or {}).get('upstream_authority_subject_key_id'))
    server_info = dict(
        healthy=row['healthy'], message=row['message'], errors=res.get('errors') or {},
        authority_state=authority_state, active_authority=active,
        prepared_authority=(authorities or {}).get('prepared'),
        upstream_match=(upstream_aki == upstream_ski) if (upstream_aki and upstream_ski) else None,
        bundle_certificates=len(res.get('bundle_certificates') or []))

    if lost:
        needs, reason = 'replace_pvc', lost
    elif not pod_info['exists']:
        needs, reason = 'replace_pod', 'Pod %s does not exist' % row['name']
    elif not row['healthy']:
        needs, reason = 'replace_pod', 'server not healthy: %s' % row['message']
    elif authority_state in ('missing', 'expired'):
        needs, reason = 'replace_pod', 'X.509 authority %s' % authority_state
    else:
        needs, reason = 'none', 'healthy, X.509 authority valid'
    return dict(
        replica=row['name'], ordinal=ordinal, replicas=len(rows),
        pod=pod_info, pvc=pvc_info, pv=pv_info, pvc_lost=bool(lost), pvc_lost_reason=lost,
        server=server_info,
        upstream_ca_subject_key_id=upstream_ski,
        replicas_state=rows,
        others=others, healthy_others=healthy_others,
        unhealthy_others=[r['name'] for r in others if r['name'] not in healthy_others],
        needs=needs, reason=reason)


def _node_list(nodes):
    if nodes is None:
        return []
    if isinstance(nodes, dict):
        return _resources(nodes, 'nodes')
    if not isinstance(nodes, (list, tuple)) or not all(isinstance(n, (str, dict)) for n in nodes):
        raise ValueError('nodes must be a list of Node objects or names')
    return list(nodes)


# ------------------------------------------------------------------------------ decision --
def _steps(plan, state, bundle):
    verify = ("verify (authority chains to the upstream CA, %s equals the servers' bundle, others untouched)" % bundle)
    gone_pod = '' if state['pod']['exists'] else ' (already gone)'
    gone_pvc = '' if state['pvc']['exists'] else ' (already gone)'
    return {
        'none': ['nothing to change; verify the replica'],
        'replace_pod': [
            'delete Pod %s%s: the StatefulSet re-creates it; the server re-prepares an X.509 authority from the '
            'upstream CA when its journal has none valid' % (state['pod']['name'], gone_pod),
            'wait until the new Pod is Ready and the server healthy with a valid X.509 authority',
            verify],
        'replace_pvc': [
            'delete PVC %s%s (the disk KeyManager keys of this replica only; the server generates new ones)'
            % (state['pvc']['name'], gone_pvc),
            'delete Pod %s%s: once the old PVC is gone the StatefulSet re-creates the PVC (a new volume) and the Pod'
            % (state['pod']['name'], gone_pod),
            'wait until the new PVC is Bound, the new Pod Ready and the server healthy with a valid X.509 authority',
            verify],
    }[plan]


def _diagnosis_lines(state, namespace, transport, check_mode, upstream_ca_name):
    pod, pvc, pv, server = state['pod'], state['pvc'], state['pv'], state['server']
    active = server['active_authority']
    if pod['exists']:
        pod_text = '%s, %s, node %s, restarts %s%s%s' % (
            pod['phase'], 'Ready' if pod['ready'] else 'not Ready', pod['node'], pod['restarts'],
            (', waiting: %s' % pod['waiting_reason']) if pod['waiting_reason'] else '',
            ', TERMINATING' if pod['terminating'] else '')
    else:
        pod_text = 'MISSING'
    if pvc['exists']:
        pvc_text = pvc['phase'] + (', TERMINATING' if pvc['terminating'] else '')
        if pv:
            pvc_text += ', PV %s %s' % (pv['name'], pv['phase'] if pv['exists'] else 'MISSING')
    else:
        pvc_text = 'MISSING'
    if state['pvc_lost']:
        pvc_text += ' -> LOST: ' + state['pvc_lost_reason']
    if active:
        authority_text = ': %s expires %s (%s s left), %s' % (
            active.get('authority_id'), active.get('expires_at_iso'), active.get('seconds_left'),
            'signed by the upstream CA' if server['upstream_match']
            else 'NOT signed by the upstream CA in Secret %s' % upstream_ca_name)
    else:
        authority_text = ' (the server does not answer)' if server['authority_state'] == 'unknown' else ''
    return [
        'Replica %s (ordinal %s of %s, namespace %s, transport %s)%s' % (
            state['replica'], state['ordinal'], state['replicas'], namespace, transport,
            ' [check mode: nothing is written]' if check_mode else ''),
        '  Pod: ' + pod_text,
        '  PVC %s: %s' % (pvc['name'], pvc_text),
        '  Server: ' + ('healthy' if server['healthy'] else 'NOT healthy: %s' % server['message']),
        '  X.509 authority: ' + server['authority_state'] + authority_text,
        '  Other replicas: ' + (', '.join('%s %s' % (o['name'], 'healthy' if o['healthy'] else 'NOT healthy')
                                          for o in state['others']) or 'none'),
        '  Needs: %s (%s)' % (state['needs'], state['reason']),
    ]


def decide(state, mode='diagnose', action='auto', delete_pvc=False, force=False, check_mode=False,
           namespace='', transport='kubernetes', min_healthy_others=MIN_HEALTHY_OTHERS,
           bundle='spire-bundle', upstream_ca_name='spire-upstream-ca'):
    """What a run does with the diagnosis STATE (``diagnose``'s result).

    Returns ``action`` (what this run does: none in diagnose mode), ``plan`` (what recover mode does),
    ``lines`` (the diagnosis and the plan, for people), ``refusal`` (why this run must stop before changing
    anything; '' when it may go on) and ``warning`` (acting although forced past a refusal; '').
    """
    _choice(mode, MODES, 'recover_server_mode')
    _choice(action, ACTIONS, 'recover_server_action')
    for value, name in ((delete_pvc, 'recover_server_delete_pvc'), (force, 'recover_server_force'),
                        (check_mode, 'check_mode')):
        _bool(value, name)
    if not isinstance(state, dict) or state.get('needs') not in ('none', 'replace_pod', 'replace_pvc'):
        raise ValueError('state must be the result of diagnose')
    plan = state['needs'] if action == 'auto' else action
    do = plan if mode == 'recover' else 'none'
    too_few = len(state['healthy_others']) < min_healthy_others
    lines = _diagnosis_lines(state, namespace, transport, check_mode, upstream_ca_name)
    if mode == 'recover':
        lines.append('Plan: ' + do)
    else:
        lines.append('Diagnose only, nothing is changed; recover_server_mode=recover would do: ' + plan)
    if action != 'auto':
        lines[-1] += ' (recover_server_action=%s)' % action
    lines.extend('  - ' + step for step in _steps(plan, state, bundle))
    if plan == 'replace_pvc' and not delete_pvc:
        lines.append('  ! needs recover_server_delete_pvc=true to delete the PVC')
    if plan != 'none' and too_few:
        lines.append('  ! refused unless recover_server_force=true: fewer than %d other replicas healthy'
                     % min_healthy_others)

    others = '%d other replica(s)' % len(state['healthy_others'])
    unhealthy = ', '.join(state['unhealthy_others'])
    refusal = warning = ''
    if do == 'replace_pod' and state['pvc_lost']:
        refusal = ('recover_server_action=replace_pod, but %s: a new Pod would wait for that claim forever. Use '
                   'recover_server_action=auto (or replace_pvc) with recover_server_delete_pvc=true. Nothing was '
                   'changed.' % state['pvc_lost_reason'])
    elif do == 'replace_pvc' and not delete_pvc:
        refusal = ('%s needs its PVC replaced (%s). That deletes PVC %s (this replica\'s disk KeyManager keys; the '
                   'server generates new keys and a new X.509 authority signed by the upstream CA, the trust bundle '
                   'does not change). Set recover_server_delete_pvc=true to confirm. Nothing was changed.'
                   % (state['replica'], state['reason'], state['pvc']['name']))
    elif do != 'none' and too_few and not force:
        refusal = ('Refusing to act on %s: only %s healthy (%s); not healthy: %s. Recover those first, or set '
                   'recover_server_force=true to act anyway. Nothing was changed.'
                   % (state['replica'], others, ', '.join(state['healthy_others']) or 'none', unhealthy))
    elif do != 'none' and too_few:
        warning = ('WARNING: recover_server_force=true: acting on %s although only %s are healthy (not healthy: %s).'
                   % (state['replica'], others, unhealthy))
    return dict(action=do, plan=plan, lines=lines, refusal=refusal, warning=warning)


# -------------------------------------------------------------------------- verification --
def bundle_synced(configmap, certificates):
    """Whether the bundle ConfigMap (k8s_info resources; its bundle.crt) holds exactly CERTIFICATES (PEM blocks)."""
    objects = _resources(configmap, 'configmap')
    held = certificate_set(_get(objects[0], 'data', 'bundle.crt', default='') if objects else '')
    return bool(held) and held == certificate_set(list(certificates or []))


def checks(before, after, action, configmap, servers, bundle='spire-bundle', upstream_ca_name='spire-upstream-ca'):
    """The verification of a run: [{name, ok, detail, line}].

    BEFORE/AFTER: ``diagnose`` before acting and after; ACTION: what was done; CONFIGMAP: the bundle
    ConfigMap (k8s_info resources); SERVERS: spire_server_info of every ordinal after acting.
    """
    _choice(action, ACTIONS[1:] + ('none',), 'action')
    for value, name in ((before, 'before'), (after, 'after')):
        if not isinstance(value, dict) or 'needs' not in value:
            raise ValueError('%s must be the result of diagnose' % name)
    objects = _resources(configmap, 'configmap')
    cm_certs = certificate_set(_get(objects[0], 'data', 'bundle.crt', default='') if objects else '')
    server = after['replica'][:-len('-%d' % after['ordinal'])]
    healthy_bundles, differing = 0, []
    for index, res in enumerate(servers or []):
        if res.get('healthy'):
            healthy_bundles += 1
            if certificate_set(res.get('bundle') or '') != cm_certs:
                differing.append('%s-%d' % (server, index))
    changed = [b['name'] for b, a in zip(before['others'], after['others'])
               if b['pod_uid'] != a['pod_uid'] or b['pvc_uid'] != a['pvc_uid']]
    auth = after['server']['active_authority'] or {}
    pvc = after['pvc']
    items = [
        (after['replica'] + ' healthy', after['server']['healthy'], after['server']['message']),
        ('X.509 authority of %s valid' % after['replica'], after['server']['authority_state'] == 'valid',
         ('active authority %s expires %s (%s s left)' % (auth.get('authority_id'), auth.get('expires_at_iso'),
                                                          auth.get('seconds_left')))
         if auth else after['server']['authority_state']),
        ('X.509 authority of %s signed by the upstream CA' % after['replica'], after['server']['upstream_match'] is True,
         'authority key ID %s, upstream CA subject key ID %s' % (
             auth.get('upstream_authority_subject_key_id') or '?',
             after['upstream_ca_subject_key_id'] or '? (Secret %s missing)' % upstream_ca_name)),
        ('PVC %s Bound' % pvc['name'], pvc['phase'] == 'Bound' and not after['pvc_lost'],
         '%s, PV %s%s' % (pvc['phase'], pvc['volume'], (', ' + after['pvc_lost_reason']) if after['pvc_lost'] else '')),
        ("%s ConfigMap equals the servers' bundle" % bundle, bool(cm_certs) and healthy_bundles > 0 and not differing,
         ('%d certificate(s), equal on %d healthy server(s)' % (len(cm_certs), healthy_bundles)) if not differing
         else 'differs from the bundle of ' + ', '.join(differing)),
        ('other replicas untouched', not changed,
         (', '.join(o['name'] for o in before['others']) + ': same Pods and PVCs as before') if not changed
         else 'replaced meanwhile: ' + ', '.join(changed)),
    ]
    if action != 'none':
        items.append(('Pod %s replaced' % after['pod']['name'],
                      after['pod']['uid'] is not None and after['pod']['uid'] != before['pod']['uid'],
                      'uid %s -> %s' % (before['pod']['uid'], after['pod']['uid'])))
    if action == 'replace_pvc':
        items.append(('PVC %s replaced' % pvc['name'], pvc['uid'] is not None and pvc['uid'] != before['pvc']['uid'],
                      'uid %s -> %s, PV %s -> %s' % (before['pvc']['uid'], pvc['uid'], (before['pv'] or {}).get('name'),
                                                     pvc['volume'])))
    return [dict(name=name, ok=bool(ok), detail=detail, line='[%s] %s: %s' % ('OK' if ok else 'FAILED', name, detail))
            for name, ok, detail in items]


# -------------------------------------------------------------------------------- report --
def status(mode, action, verification, check_mode=False):
    """The report's one-word outcome: diagnosed, planned (recover in check mode), recovered, healthy or failed."""
    if mode == 'diagnose':
        return 'diagnosed'
    if check_mode or verification is None:
        return 'planned'
    if not all(c.get('ok') for c in verification):
        return 'failed'
    return 'healthy' if action == 'none' else 'recovered'


def report(before, mode, action, after=None, verification=None, seconds=None, check_mode=False,
           started_at=None, generated_at=None):
    """The JSON report of a run: the envelope (report.py), then replica, mode, action, before, after, checks, seconds."""
    _choice(mode, MODES, 'mode')
    _choice(action, ACTIONS[1:] + ('none',), 'action')
    if not isinstance(before, dict) or 'replica' not in before:
        raise ValueError('before must be the result of diagnose')
    sections = dict(replica=before['replica'], mode=mode, action=action, before=before, after=after,
                    checks=list(verification or []), seconds=None if seconds in (None, '') else float(seconds))
    return _report.envelope('recover_server', REPORT_VERSION, status(mode, action, verification, check_mode), sections,
                            check_mode=check_mode, started_at=started_at, generated_at=generated_at)
