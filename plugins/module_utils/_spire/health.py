# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The health runbook's judgement: what was read from the cluster and the servers, turned into checks.

The role ``health`` reads (the controller manager's configuration, the server StatefulSet, each
server through ``spire_server_info``, the Nodes, the bundle ConfigMap, the ClusterSPIFFEIDs, the
leader Lease) and hands the results to :func:`report`. Every check is
``{name, status: ok|warning|failed, detail, line}``; the report's status is ``unhealthy`` when a
check failed, ``degraded`` when one only warns, ``healthy`` otherwise, and ``error`` (with
:func:`error_report`) when the reads themselves failed. No certificate, key or password is ever
copied into the report: only IDs, counts, subject key IDs and timestamps.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.ardur.spire.plugins.module_utils._spire import report as envelope
from ansible_collections.ardur.spire.plugins.module_utils._spire.authority import normalize_skid
from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import pem_certificates

RUNBOOK = 'health'
# Version 3: the shared envelope (runbook, check_mode, started_at) in front of version 2's keys.
REPORT_VERSION = 3
TRANSPORTS = ('kubernetes', 'local')
STATUSES = ('ok', 'warning', 'failed')
# The key of the controller manager's ConfigMap that holds its configuration.
SCM_CONFIG_KEY = 'controller-manager-config.yaml'
# The key of the bundle ConfigMap (the k8sbundle notifier's default).
BUNDLE_KEY = 'bundle.crt'
READABLE = 'deployment readable'


def _dict(value, what):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError('%s must be a mapping, not %s' % (what, type(value).__name__))
    return value


def _list(value, what):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError('%s must be a list, not %s' % (what, type(value).__name__))
    return list(value)


def _count(value, what, minimum=0):
    """VALUE as an int >= MINIMUM (Ansible hands numbers from inventory over as strings too)."""
    if isinstance(value, bool):
        raise ValueError('%s must be a whole number, not %r' % (what, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError('%s must be a whole number, not %r' % (what, value))
    if number < minimum:
        raise ValueError('%s must be at least %d, got %d' % (what, minimum, number))
    return number


def _name(value, what):
    if not isinstance(value, str) or not value:
        raise ValueError('%s must be a non-empty string' % what)
    return value


def _transport(value):
    if value not in TRANSPORTS:
        raise ValueError('transport must be one of %s, not %r' % (', '.join(TRANSPORTS), value))
    return value


def certificate_set(pem_text):
    """The distinct certificates of PEM_TEXT, each without white space, sorted: equal sets mean equal bundles
    whatever the order, line length or duplicates."""
    return sorted(set(''.join(block.split()) for block in pem_certificates(pem_text or '')))


def deployment(scm_config, statefulset, transport, server_sockets=None, server_name='spire-server',
               lease_name='spire-controller-manager-leader'):
    """What the report needs from the controller manager's configuration and the server StatefulSet.

    SCM_CONFIG is the parsed configuration (``{}`` when the ConfigMap is missing), STATEFULSET the
    object (``{}`` when missing). Server N is pod ``SERVER_NAME-N``; with transport ``local`` there is
    one server per admin socket of SERVER_SOCKETS, whatever the StatefulSet says. LEASE_NAME is the
    leader Lease when the configuration names none.
    """
    config = _dict(scm_config, 'the controller manager configuration')
    spec = _dict(_dict(statefulset, 'the StatefulSet').get('spec'), 'the StatefulSet spec')
    transport = _transport(transport)
    sockets = _list(server_sockets, 'server_sockets')
    _name(server_name, 'server_name')
    replicas = _count(spec.get('replicas') or 0, 'the StatefulSet replicas')
    election = _dict(config.get('leaderElection'), 'leaderElection')
    count = replicas if transport == 'kubernetes' else len(sockets)
    return {
        'trust_domain': config.get('trustDomain') or '',
        'cluster_name': config.get('clusterName') or '',
        'entry_id_prefix': config.get('entryIDPrefix') or '',
        'lease_name': election.get('resourceName') or _name(lease_name, 'lease_name'),
        'replicas': replicas,
        'servers': ['%s-%d' % (server_name, index) for index in range(count)],
    }


def _check(name, status, detail):
    return {'name': name, 'status': status, 'detail': detail}


def _server_section(results, authority_warning_hours):
    """Per server: its summary and checks; the first healthy bundle roots, agent list and entries."""
    out = {'items': [], 'checks': [], 'bundles': [], 'roots': None, 'agents': None, 'entries': None}
    for index, res in enumerate(results):
        res = _dict(res, 'server result %d' % index)
        name = str(res.get('item', index))
        healthy = bool(res.get('healthy', False))
        errors = res.get('errors')
        if not isinstance(errors, dict):  # the task itself failed: no module result
            errors = {'module': res.get('msg') or 'task failed'}
        certs = certificate_set(res.get('bundle'))
        authorities = res.get('x509_authorities')
        out['items'].append({
            'name': name, 'healthy': healthy, 'health_message': res.get('health_message') or '',
            'datastore_reachable': bool(res.get('datastore_reachable', False)), 'errors': errors,
            'bundle_certificates': len(certs), 'entry_count': (res.get('entries') or {}).get('count'),
            'x509_authorities': authorities,
            'upstream_authority_subject_key_id': res.get('upstream_authority_subject_key_id'),
        })
        ok = healthy and not errors
        out['checks'].append(_check('server %s healthy' % name, 'ok' if ok else 'failed',
                                    (res.get('health_message') or '') if ok else '; '.join(str(v) for v in errors.values())))
        if healthy and res.get('bundle') is not None:
            out['bundles'].append({'server': name, 'certs': certs})
        if out['roots'] is None and healthy and res.get('bundle_authorities') is not None:
            out['roots'] = res['bundle_authorities']
        if out['agents'] is None and res.get('agents') is not None:
            out['agents'] = res['agents']
        if out['entries'] is None and res.get('datastore_reachable'):
            out['entries'] = res.get('entries')
        if authorities is not None:
            out['checks'].append(_authority_check(name, authorities, authority_warning_hours))
    return out


def _authority_check(server, authorities, warning_hours):
    """The server's active X.509 authority (its intermediate CA) is there and not about to expire."""
    active = (authorities or {}).get('active') or {}
    left = active.get('seconds_left')
    if left is None:
        status, detail = 'failed', 'no active X.509 authority'
    else:
        status = 'failed' if left <= 0 else ('warning' if left < warning_hours * 3600 else 'ok')
        detail = 'active authority %s expires %s (%.2f days)' % (
            active.get('authority_id', ''), active.get('expires_at_iso'), left / 86400.0)
    return _check('X.509 authority of %s not expiring' % server, status, detail)


def _datastore_check(servers):
    """A healthy server whose `entry count` answered has a datastore that answers."""
    via = [s for s in servers if s['datastore_reachable']]
    if via:
        detail = '%s healthy and `entry count` answered (%s entries): the datastore answers' % (
            via[0]['name'], via[0]['entry_count'])
    else:
        detail = 'no healthy server answered `entry count`: the datastore (or every server) is down'
    return via, _check('datastore reachable', 'ok' if via else 'failed', detail)


def _agents_section(nodes, agents, trust_domain, cluster_name):
    """Each Node against the agent SPIFFE ID k8s_psat gives it; agents whose Node is gone."""
    prefix = 'spiffe://%s/spire/agent/k8s_psat/%s/' % (trust_domain, cluster_name)
    listed = agents or []
    attested = set(a.get('spiffe_id') for a in listed if not a.get('banned') and not a.get('expired'))
    metas = sorted((_dict(_dict(n, 'a Node').get('metadata'), 'Node metadata') for n in nodes),
                   key=lambda m: m.get('name') or '')
    rows = [{'node': m.get('name'), 'uid': m.get('uid'), 'agent_spiffe_id': prefix + str(m.get('uid')),
             'attested': prefix + str(m.get('uid')) in attested} for m in metas]
    missing = [row['node'] for row in rows if not row['attested']]
    node_ids = set(row['agent_spiffe_id'] for row in rows)
    stale = [a.get('spiffe_id') for a in listed if a.get('spiffe_id') not in node_ids]
    checks = []
    if agents is None:
        detail = 'no server listed the agents'
    else:
        detail = '%d/%d nodes have an attested agent%s' % (
            len(rows) - len(missing), len(rows), ('; missing on ' + ', '.join(missing)) if missing else '')
    checks.append(_check('agents attested per node', 'failed' if agents is None or missing else 'ok', detail))
    if stale:
        checks.append(_check('agents without a node', 'warning',
                             '%d agent(s) whose node is gone: %s' % (len(stale), ', '.join(stale))))
    section = {'nodes': len(rows), 'attested': len(rows) - len(missing), 'listed': len(listed),
               'missing_nodes': missing, 'stale_agents': stale, 'per_node': rows}
    return section, checks


def _bundle_section(configmap, bundles, bundle_name):
    """The bundle ConfigMap holds the same set of certificates as every healthy server's bundle."""
    data = _dict(_dict(configmap, 'the bundle ConfigMap').get('data'), 'the bundle ConfigMap data')
    cm_certs = certificate_set(data.get(BUNDLE_KEY))
    differing = [b['server'] for b in bundles if b['certs'] != cm_certs]
    match = bool(cm_certs) and bool(bundles) and not differing
    if not cm_certs:
        detail = 'ConfigMap %s missing or without certificates' % bundle_name
    elif not bundles:
        detail = 'no healthy server returned a bundle'
    elif differing:
        detail = 'differs from the bundle of ' + ', '.join(differing)
    else:
        detail = '%d certificates, equal on %d server(s)' % (len(cm_certs), len(bundles))
    section = {'configmap_certificates': len(cm_certs), 'match': match, 'differing_servers': differing}
    return section, _check("%s ConfigMap matches the servers' bundle" % bundle_name, 'ok' if match else 'failed', detail)


def _upstream_section(roots, servers, warning_days):
    """The root of the trust bundle that signed the active X.509 authorities of the healthy servers
    (from the bundle, never from the Secret that also holds its key)."""
    root_skis = [r.get('subject_key_id') for r in roots or []]
    used = []
    for server in servers:
        skid = normalize_skid(server['upstream_authority_subject_key_id']) if server['healthy'] else ''
        if skid and skid not in used:
            used.append(skid)
    in_use = sorted((r for r in roots or [] if r.get('subject_key_id') in used), key=lambda r: r.get('not_after') or 0)
    checks = []
    name = 'upstream CA not expiring'
    if not in_use:
        upstream = None
        if roots is None:
            detail = 'no healthy server returned a bundle'
        elif not used:
            detail = 'no active X.509 authority reports its upstream CA'
        else:
            detail = 'the upstream CA of the active authorities (%s) is not in the trust bundle' % ', '.join(used)
        checks.append(_check(name, 'failed', detail))
    else:
        root = in_use[0]
        days = root.get('seconds_left', 0) / 86400.0
        upstream = {'subject_key_id': root.get('subject_key_id'), 'not_before': root.get('not_before_iso'),
                    'not_after': root.get('not_after_iso'), 'days_left': round(days, 2), 'roots_in_bundle': len(root_skis)}
        status = 'failed' if days <= 0 else ('warning' if days < warning_days else 'ok')
        checks.append(_check(name, status, 'root %s expires %s (%.1f days; warning under %s)' % (
            root.get('subject_key_id'), root.get('not_after_iso'), days, warning_days)))
    foreign = [skid for skid in used if skid not in root_skis]
    if roots is not None and foreign:
        checks.append(_check('X.509 authorities signed by a root of the trust bundle', 'warning',
                             'upstream subject key ID(s) %s of active authorities are not in the bundle' % ', '.join(foreign)))
    return upstream, checks


def _stat(stats, key):
    try:
        return int((stats or {}).get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _registrations_section(csids, entries, entry_id_prefix):
    """Each ClusterSPIFFEID reconciled without failures; the controller manager's entries against what they want."""
    rows, checks, to_set = [], [], 0
    for csid in sorted((_dict(c, 'a ClusterSPIFFEID') for c in csids),
                       key=lambda c: (c.get('metadata') or {}).get('name') or ''):
        name = (csid.get('metadata') or {}).get('name') or ''
        stats = (csid.get('status') or {}).get('stats')
        rows.append({'name': name, 'spiffe_id_template': (csid.get('spec') or {}).get('spiffeIDTemplate') or '',
                     'stats': stats})
        to_set += _stat(stats, 'entriesToSet')
        bad = stats is None or _stat(stats, 'entryFailures') > 0 or _stat(stats, 'podEntryRenderFailures') > 0
        if stats is None:
            detail = 'no status.stats: the controller manager has not reconciled it'
        else:
            detail = '%d entries to set, %d pods selected, %d entry failures, %d render failures' % (
                _stat(stats, 'entriesToSet'), _stat(stats, 'podsSelected'), _stat(stats, 'entryFailures'),
                _stat(stats, 'podEntryRenderFailures'))
        checks.append(_check('ClusterSPIFFEID %s reconciled' % name, 'failed' if bad else 'ok', detail))
    entries = entries or {}
    by_prefix = entries.get('by_prefix') or {}
    prefixed = by_prefix.get(entry_id_prefix) if entry_id_prefix else None
    families = {}
    for entry in entries.get('items') or [] if entry_id_prefix else []:
        if (entry.get('id') or '').startswith(entry_id_prefix):
            family = re.sub(r'/[^/]+$', '/*', re.sub(r'^spiffe://[^/]+', '', entry.get('spiffe_id') or ''))
            families[family] = families.get(family, 0) + 1
    if prefixed is not None and rows:
        checks.append(_check('controller-manager entries match the ClusterSPIFFEIDs',
                             'ok' if prefixed == to_set else 'warning',
                             '%d entries with ID prefix %s, ClusterSPIFFEIDs want %d' % (prefixed, entry_id_prefix, to_set)))
    section = {'count': entries.get('count'), 'entry_id_prefix': entry_id_prefix, 'controller_manager_entries': prefixed,
               'by_prefix': by_prefix, 'by_spiffe_id_family': families}
    return rows, section, checks


def _renew_time(text):
    """An RFC 3339 renewTime (fractions and zone ignored: the API server writes UTC) as an aware datetime."""
    try:
        moment = datetime.datetime.strptime(str(text)[:19], '%Y-%m-%dT%H:%M:%S')
    except ValueError:
        raise ValueError('the leader Lease has an unreadable renewTime %r' % (text,))
    return moment.replace(tzinfo=datetime.timezone.utc)


def _lease_check(lease, lease_name, max_age_seconds, now):
    """The controller manager's leader Lease exists and was renewed lately."""
    name = 'controller-manager leader elected'
    spec = (lease or {}).get('spec') or {}
    if not lease or not spec.get('renewTime'):
        return None, _check(name, 'failed', 'no leader Lease %s (or never renewed)' % lease_name)
    age = (now - _renew_time(spec['renewTime'])).total_seconds()
    info = {'name': (lease.get('metadata') or {}).get('name'), 'holder': spec.get('holderIdentity') or '',
            'renew_time': spec['renewTime'], 'age_seconds': round(age, 1),
            'lease_duration_seconds': spec.get('leaseDurationSeconds')}
    return info, _check(name, 'ok' if age <= max_age_seconds else 'failed',
                        'leader %s renewed %.0f s ago (limit %s s)' % (info['holder'], age, max_age_seconds))


def _finish(checks):
    """The checks with their console line; the names of the failed and the warning ones; the status."""
    lines = [dict(c, line='[%s] %s: %s' % (c['status'].upper(), c['name'], c['detail'])) for c in checks]
    failed = [c['name'] for c in lines if c['status'] == 'failed']
    warnings = [c['name'] for c in lines if c['status'] == 'warning']
    return lines, failed, warnings, 'unhealthy' if failed else ('degraded' if warnings else 'healthy')


def _now(now):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if now.tzinfo is None:
        raise ValueError('now must be an aware datetime')
    return now


def report(reads, namespace, transport, bundle_name='spire-bundle', upstream_ca_warning_days=30,
           authority_warning_hours=2, lease_max_age_seconds=60, check_mode=False, started_at=None, now=None):
    """The health report (envelope of report.py, version REPORT_VERSION) of what READS holds.

    READS: ``deployment`` (from :func:`deployment`), ``servers`` (the registered results of
    ``spire_server_info``, one per server, each with ``item`` = the server's name), ``nodes``,
    ``cluster_spiffe_ids`` (lists of objects), ``bundle_configmap`` and ``lease`` (an object, or
    None/{} when absent). Raises ValueError on input of the wrong shape.
    """
    reads = _dict(reads, 'reads')
    missing = sorted(set(('deployment', 'servers', 'nodes', 'bundle_configmap', 'cluster_spiffe_ids', 'lease')) - set(reads))
    if missing:
        raise ValueError('reads lacks %s' % ', '.join(missing))
    _name(namespace, 'namespace')
    _transport(transport)
    _name(bundle_name, 'bundle_name')
    warning_days = _count(upstream_ca_warning_days, 'upstream_ca_warning_days')
    warning_hours = _count(authority_warning_hours, 'authority_warning_hours')
    max_age = _count(lease_max_age_seconds, 'lease_max_age_seconds', 1)
    now = _now(now)
    dep = _dict(reads['deployment'], 'reads.deployment')
    for key in ('trust_domain', 'cluster_name', 'entry_id_prefix', 'lease_name', 'replicas'):
        if key not in dep:
            raise ValueError('reads.deployment lacks %s (build it with deployment())' % key)

    servers = _server_section(_list(reads['servers'], 'reads.servers'), warning_hours)
    checks = list(servers['checks'])
    via, check = _datastore_check(servers['items'])
    checks.append(check)
    agents, more = _agents_section(_list(reads['nodes'], 'reads.nodes'), servers['agents'],
                                   dep['trust_domain'], dep['cluster_name'])
    checks += more
    bundle, check = _bundle_section(reads['bundle_configmap'], servers['bundles'], bundle_name)
    checks.append(check)
    upstream, more = _upstream_section(servers['roots'], servers['items'], warning_days)
    checks += more
    csids, entries, more = _registrations_section(_list(reads['cluster_spiffe_ids'], 'reads.cluster_spiffe_ids'),
                                                  servers['entries'], dep['entry_id_prefix'])
    checks += more
    lease, check = _lease_check(_dict(reads['lease'], 'reads.lease'), dep['lease_name'], max_age, now)
    checks.append(check)

    lines, failed, warnings, status = _finish(checks)
    sections = {
        'healthy': not failed,
        'namespace': namespace,
        'transport': transport,
        'trust_domain': dep['trust_domain'],
        'cluster_name': dep['cluster_name'],
        'failed': failed,
        'warnings': warnings,
        'servers': {'expected': _count(dep['replicas'], 'reads.deployment.replicas'), 'checked': len(servers['items']),
                    'healthy': len([s for s in servers['items'] if s['healthy']]), 'items': servers['items']},
        'datastore': {'reachable': bool(via), 'via': [s['name'] for s in via]},
        'agents': agents,
        'bundle': bundle,
        'upstream_ca': upstream,
        'entries': entries,
        'cluster_spiffe_ids': csids,
        'controller_manager': {'leader_lease': lease},
        'checks': lines,
    }
    return envelope.envelope(RUNBOOK, REPORT_VERSION, status, sections, check_mode=check_mode,
                             started_at=started_at, generated_at=envelope.timestamp(now))


def error_report(task, message, namespace, transport, check_mode=False, started_at=None, now=None):
    """The report when a read failed (API unreachable, exec refused, timeout): status ``error``, the one
    failed check ``deployment readable``, and which TASK failed with what MESSAGE (shortened)."""
    _name(namespace, 'namespace')
    _transport(transport)
    task = str(task or '')
    message = str(message or '')
    detail = '%s failed: %s' % (task or 'a read', message[:500] or 'no message')
    lines, failed, _warnings, _status = _finish([_check(READABLE, 'failed', detail)])
    sections = {
        'healthy': False,
        'namespace': namespace,
        'transport': transport,
        'failed': failed,
        'warnings': [],
        'error': {'task': task, 'message': message[:2000]},
        'checks': lines,
    }
    return envelope.envelope(RUNBOOK, REPORT_VERSION, 'error', sections, check_mode=check_mode,
                             started_at=started_at, generated_at=envelope.timestamp(_now(now)))
