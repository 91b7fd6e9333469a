# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The decisions of the uninstall runbook (roles/uninstall, docs/runbooks/uninstall.md).

What to read (``queries``), which inputs are refused (``option_problems``), what goes, in which
order, and what is kept (``plan``), and the JSON report of a run (``report``). Pure functions over
Kubernetes objects as the API returns them; nothing here talks to a cluster, and no Secret value
ever leaves ``plan``: of a Secret only its name, namespace and field managers are read.
"""

from __future__ import annotations

from ansible_collections.ardur.spire.plugins.module_utils._spire import report as _report

REPORT_VERSION = 1

# What the collection creates, in deletion order: (key, apiVersion, kind, namespaced).
# ClusterSPIFFEIDs first (the controller manager stops registering), the webhook, the agents, the
# CSI driver DaemonSet then its CSIDriver, the servers, then what they used. CRDs only when asked;
# PVCs and the namespace (STORAGE) go after the Secrets, only when asked.
KINDS = (
    ('clusterspiffeids', 'spire.spiffe.io/v1alpha1', 'ClusterSPIFFEID', False),
    ('webhooks', 'admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', False),
    ('daemonsets', 'apps/v1', 'DaemonSet', True),
    ('csidrivers', 'storage.k8s.io/v1', 'CSIDriver', False),
    ('statefulsets', 'apps/v1', 'StatefulSet', True),
    ('services', 'v1', 'Service', True),
    ('configmaps', 'v1', 'ConfigMap', True),
    ('clusterrolebindings', 'rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', False),
    ('clusterroles', 'rbac.authorization.k8s.io/v1', 'ClusterRole', False),
    ('rolebindings', 'rbac.authorization.k8s.io/v1', 'RoleBinding', True),
    ('roles', 'rbac.authorization.k8s.io/v1', 'Role', True),
    ('pdbs', 'policy/v1', 'PodDisruptionBudget', True),
    ('serviceaccounts', 'v1', 'ServiceAccount', True),
    ('crds', 'apiextensions.k8s.io/v1', 'CustomResourceDefinition', False),
    ('pvcs', 'v1', 'PersistentVolumeClaim', True),
    ('namespaces', 'v1', 'Namespace', False),
)
# The sample workloads of playbooks/samples.yml (playbooks/templates/samples.yaml.j2 labels them so),
# found in every namespace; Deployments are deleted before their ServiceAccounts.
SAMPLE_KINDS = (
    ('sample_deployments', 'apps/v1', 'Deployment'),
    ('sample_serviceaccounts', 'v1', 'ServiceAccount'),
)
SAMPLE_SELECTOR = ('app.kubernetes.io/part-of=ardur', 'framework', 'app.kubernetes.io/name')
# Deleted in the foreground and waited for: their pods are gone before the next step.
WAIT_KINDS = ('DaemonSet', 'StatefulSet', 'Namespace')
# Never deleted, whatever the inputs.
SYSTEM_NAMESPACES = ('default', 'kube-system', 'kube-public', 'kube-node-lease')
# The boolean inputs, without their uninstall_ prefix.
FLAGS = ('force', 'samples', 'delete_crds', 'delete_upstream_ca', 'delete_datastore_secret', 'delete_pvcs',
         'delete_namespace')
# What a namespace deletion deletes anyway: it needs these flags too, as a confirmation.
NAMESPACE_IMPLIES = ('delete_upstream_ca', 'delete_datastore_secret', 'delete_pvcs')
# Keys of _spire_objects (roles/spire/vars/main.yml) the plan needs.
OBJECT_KEYS = ('server', 'agent', 'upstream_ca', 'datastore', 'csi_driver_plugin')


# What report() needs of a plan.
PLAN_KEYS = ('namespace', 'samples', 'delete', 'delete_secrets', 'delete_storage', 'csi_pods', 'blocking_pods',
             'refusal', 'keep')


class PlanError(ValueError):
    """Input the plan cannot work with (a missing read, a value of the wrong type)."""


def _input(flag):
    return 'uninstall_' + flag


def _check_options(options):
    """OPTIONS with every flag a bool and wait_timeout an int, else PlanError."""
    if not isinstance(options, dict):
        raise PlanError('options must be a dict, not %s' % type(options).__name__)
    for flag in FLAGS:
        if not isinstance(options.get(flag), bool):
            raise PlanError('options.%s must be a boolean, got %r' % (flag, options.get(flag)))
    return options


def option_problems(options, namespace):
    """The reasons the inputs are refused before anything is read, each naming its input ([] when none)."""
    _check_options(options)
    problems = []
    timeout = options.get('wait_timeout')
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        problems.append('uninstall_wait_timeout must be a number of seconds greater than 0, got %r' % (timeout,))
    path = options.get('report_path')
    if not isinstance(path, str) or not path.strip():
        problems.append('uninstall_report_path must be the path of the JSON report, got %r' % (path,))
    if options['delete_namespace']:
        missing = [_input(flag) for flag in NAMESPACE_IMPLIES if not options[flag]]
        if missing:
            problems.append(
                'uninstall_delete_namespace: true deletes everything in namespace %s, including the upstream CA Secret, '
                'the datastore Secret and the server PVCs (key material). Set %s to true as well to confirm'
                % (namespace, ', '.join(missing)))
        if namespace in SYSTEM_NAMESPACES:
            problems.append('uninstall_delete_namespace: true would delete namespace %s; a system namespace (%s) is '
                            'never deleted' % (namespace, ', '.join(SYSTEM_NAMESPACES)))
    return problems


def queries(namespace, labels):
    """What the role reads with kubernetes.core.k8s_info, one query each (Secrets and Pods apart).

    Each: key (how plan() finds the result), api_version, kind, namespace ('' for every
    namespace or a cluster-scoped kind) and label_selectors.
    """
    if not isinstance(namespace, str) or not namespace:
        raise PlanError('namespace must be a non-empty string')
    if not isinstance(labels, dict) or not labels:
        raise PlanError('labels must be a non-empty dict of label keys to values')
    selectors = ['%s=%s' % (key, value) for key, value in sorted(labels.items())]
    out = [{'key': key, 'api_version': api_version, 'kind': kind, 'namespace': namespace if namespaced else '',
            'label_selectors': selectors}
           for key, api_version, kind, namespaced in KINDS]
    out.extend({'key': key, 'api_version': api_version, 'kind': kind, 'namespace': '',
                'label_selectors': list(SAMPLE_SELECTOR)}
               for key, api_version, kind in SAMPLE_KINDS)
    return out


def _meta(obj):
    return (obj or {}).get('metadata') or {}


def _managers(obj):
    return [entry.get('manager') for entry in _meta(obj).get('managedFields') or [] if isinstance(entry, dict)]


def _ref(kind, namespace, name):
    return '%s %s%s' % (kind, (namespace + '/') if namespace else '', name)


def _item(kind_entry, obj, delete_options=None, wait=False):
    _key, api_version, kind = kind_entry[:3]
    meta = _meta(obj)
    namespace = meta.get('namespace') or ''
    return {'api_version': api_version, 'kind': kind, 'namespace': namespace, 'name': meta.get('name', ''),
            'ref': _ref(kind, namespace, meta.get('name', '')), 'wait': wait, 'delete_options': delete_options or {}}


def _results_by_key(found):
    """{query key: [objects]} of the registered k8s_info loop results; every query must be there once."""
    if not isinstance(found, list):
        raise PlanError('found must be the list of k8s_info results (register.results), not %s' % type(found).__name__)
    by_key = {}
    for result in found:
        item = result.get('item') if isinstance(result, dict) else None
        key = item.get('key') if isinstance(item, dict) else None
        resources = result.get('resources') if isinstance(result, dict) else None
        if not isinstance(key, str) or not isinstance(resources, list):
            raise PlanError('every result of found needs item.key and a resources list (a k8s_info loop over queries)')
        if key in by_key:
            raise PlanError('found holds %s twice' % key)
        by_key[key] = resources
    expected = [entry[0] for entry in KINDS + SAMPLE_KINDS]
    missing = [key for key in expected if key not in by_key]
    unknown = sorted(set(by_key) - set(expected))
    if missing or unknown:
        raise PlanError('found must hold the results of every query: missing %s, unknown %s'
                        % (', '.join(missing) or 'none', ', '.join(unknown) or 'none'))
    return by_key


def _ours(kind, obj, namespace, names, manager):
    """Whether OBJ of KIND belongs to this deployment (the labels were the query's selector)."""
    meta = _meta(obj)
    name = meta.get('name', '')
    if kind == 'PersistentVolumeClaim':
        return True  # the StatefulSet controller's: volumeClaimTemplates copy the labels
    if manager not in _managers(obj):
        return False
    if kind in ('ClusterRole', 'ClusterRoleBinding'):
        # spire-server-<ns>/spire-agent-<ns> of another namespace belong to another deployment.
        others = [prefix + '-' for prefix in (names['server'], names['agent'])]
        mine = [prefix + namespace for prefix in others]
        return not any(name.startswith(prefix) for prefix in others) or name in mine
    if kind == 'ValidatingWebhookConfiguration':
        services = [((hook or {}).get('clientConfig') or {}).get('service') or {} for hook in obj.get('webhooks') or []]
        return all(service.get('namespace', namespace) == namespace for service in services)
    if kind == 'Namespace':
        return name == namespace
    return True


def _selector_matches(selector, labels):
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _csi_drivers(pod):
    volumes = ((pod or {}).get('spec') or {}).get('volumes') or []
    return [((volume or {}).get('csi') or {}).get('driver') for volume in volumes if (volume or {}).get('csi')]


def _check_objects(objects):
    if not isinstance(objects, dict):
        raise PlanError('objects must be the _spire_objects dict')
    missing = [key for key in OBJECT_KEYS if not isinstance(objects.get(key), str) or not objects.get(key)]
    if missing:
        raise PlanError('objects lacks %s' % ', '.join(missing))
    return objects


def _secret_flags(objects):
    """{Secret name: the flag that deletes it}; the rotation state Secret of rotate_upstream_ca goes with the CA."""
    rotation = objects.get('upstream_ca_rotation') or objects['upstream_ca'] + '-rotation'
    return {objects['upstream_ca']: 'delete_upstream_ca', rotation: 'delete_upstream_ca',
            objects['datastore']: 'delete_datastore_secret'}


def plan(found, secrets, pods, options, namespace, objects, field_manager, check_mode=False):
    """What the uninstall deletes, in order, and what it keeps.

    FOUND: the k8s_info loop results over queries(); SECRETS: the Secrets of the namespace with
    the collection's labels (only names and field managers are read); PODS: every pod of the
    cluster; OPTIONS: the flags (FLAGS, bools); OBJECTS: _spire_objects; FIELD_MANAGER:
    _spire_field_manager. Returns samples, sample_pods, delete, delete_secrets, delete_storage
    (each a list of items: api_version, kind, namespace, name, ref, wait, delete_options), csi_pods,
    blocking_pods, refusal and warning (messages, '' when none), keep (ref and reason) and lines
    (the plan as the console shows it).
    """
    _check_options(options)
    _check_objects(objects)
    if not isinstance(namespace, str) or not namespace:
        raise PlanError('namespace must be a non-empty string')
    if not isinstance(field_manager, str) or not field_manager:
        raise PlanError('field_manager must be a non-empty string')
    for name, value in (('secrets', secrets), ('pods', pods)):
        if not isinstance(value, list):
            raise PlanError('%s must be a list of objects, not %s' % (name, type(value).__name__))
    by_key = _results_by_key(found)
    kinds = dict((entry[0], entry) for entry in KINDS + SAMPLE_KINDS)

    found_items = {}
    for key, _api_version, kind, _namespaced in KINDS:
        wait = kind in WAIT_KINDS
        if key in ('pvcs', 'namespaces'):
            options_ = {}
        else:
            options_ = {'propagationPolicy': 'Foreground' if wait else 'Background'}
        items = [_item(kinds[key], obj, options_, wait) for obj in by_key[key]
                 if _ours(kind, obj, namespace, objects, field_manager)]
        found_items[key] = sorted(items, key=lambda item: item['name'])
    # The agents before the CSI driver: the agents' socket directory is what the driver serves.
    found_items['daemonsets'].sort(key=lambda item: item['name'] != objects['agent'])

    samples = []
    for key, _api_version, kind in SAMPLE_KINDS:
        samples.extend(dict(_item(kinds[key], obj, {'propagationPolicy': 'Foreground'}),
                            selector=((obj.get('spec') or {}).get('selector') or {}).get('matchLabels') or {})
                       for obj in by_key[key] if field_manager in _managers(obj))

    csi_pods, sample_pods = [], []
    for pod in pods:
        meta = _meta(pod)
        labels = meta.get('labels') or {}
        is_sample = any(sample['kind'] == 'Deployment' and sample['namespace'] == meta.get('namespace')
                        and _selector_matches(sample['selector'], labels) for sample in samples)
        if is_sample:
            sample_pods.append({'namespace': meta.get('namespace', ''), 'name': meta.get('name', '')})
        if objects['csi_driver_plugin'] in _csi_drivers(pod):
            csi_pods.append(('%s/%s' % (meta.get('namespace', ''), meta.get('name', '')), is_sample))

    flags = _secret_flags(objects)
    secret_items = sorted((_item(('secrets', 'v1', 'Secret'), obj) for obj in secrets
                           if _meta(obj).get('name') in flags and field_manager in _managers(obj)),
                          key=lambda item: item['name'])

    keep = []
    for item in secret_items:
        if not options[flags[item['name']]]:
            keep.append({'ref': item['ref'], 'reason': 'set %s: true to delete it' % _input(flags[item['name']])})
    for key, flag, reason in (('pvcs', 'delete_pvcs', 'server keys; %s: true to delete it'),
                              ('crds', 'delete_crds', '%s: true to delete it'),
                              ('namespaces', 'delete_namespace', '%s: true to delete it')):
        if not options[flag]:
            keep.extend({'ref': item['ref'], 'reason': reason % _input(flag)} for item in found_items[key])
    if options['samples']:
        for sample_namespace in sorted(set(sample['namespace'] for sample in samples)):
            keep.append({'ref': _ref('Namespace', '', sample_namespace),
                         'reason': 'of the samples; may hold other workloads, delete it yourself'})
    else:
        keep.extend({'ref': sample['ref'], 'reason': 'sample; uninstall_samples: true to delete it'}
                    for sample in samples)

    delete = [item for entry in KINDS[:-3] for item in found_items[entry[0]]]
    if options['delete_crds']:
        delete.extend(found_items['crds'])
    storage = ((found_items['pvcs'] if options['delete_pvcs'] else [])
               + (found_items['namespaces'] if options['delete_namespace'] else []))
    blocking = [ref for ref, is_sample in csi_pods if not (options['samples'] and is_sample)]
    result = {
        'namespace': namespace,
        'samples': [dict((k, v) for k, v in sample.items() if k != 'selector') for sample in samples]
        if options['samples'] else [],
        'sample_pods': sample_pods if options['samples'] else [],
        'delete': delete,
        'delete_secrets': [item for item in secret_items if options[flags[item['name']]]],
        'delete_storage': storage,
        'csi_pods': [ref for ref, _is_sample in csi_pods],
        'blocking_pods': blocking,
        'refusal': '',
        'warning': '',
        'keep': keep,
    }
    if blocking and not options['force']:
        result['refusal'] = (
            'Refusing to uninstall: %d pod(s) mount a %s volume: %s. Removing the CSI driver under them leaves them '
            'stuck terminating. Delete or move those workloads first (uninstall_samples: true removes the samples), '
            'or set uninstall_force: true. Nothing was deleted.'
            % (len(blocking), objects['csi_driver_plugin'], ', '.join(blocking)))
    elif blocking:
        result['warning'] = (
            'WARNING: uninstall_force: true, continuing although %d pod(s) mount a %s volume: %s. They lose the '
            'Workload API and may hang in Terminating until the driver is back (re-run deploy.yml) or their node is '
            'restarted.' % (len(blocking), objects['csi_driver_plugin'], ', '.join(blocking)))
    result['lines'] = (
        [('Would delete (check mode)' if check_mode else 'Deleting') + ', in this order:']
        + _indent([item['ref'] for item in deletions(result)], 'nothing')
        + ['Keeping:'] + _indent(_keep_lines(keep), 'nothing'))
    return result


def deletions(the_plan):
    """Every item the plan deletes, in the order the role deletes them."""
    return (the_plan['samples'] + the_plan['delete'] + the_plan['delete_secrets'] + the_plan['delete_storage'])


def _indent(lines, empty):
    return ['  ' + line for line in lines] or ['  ' + empty]


def _keep_lines(keep):
    return ['%s (%s)' % (entry['ref'], entry['reason']) for entry in keep]


def outcome(the_plan, results):
    """(deleted, already_gone) refs: the plan's items whose deletion task reported changed, and the others.

    RESULTS: the registered loop results of the deletion tasks, any order; of each only
    item.ref and changed are read (a Secret deletion's result holds the Secret).
    """
    if not isinstance(results, list):
        raise PlanError('results must be a list of registered loop results')
    changed = set()
    for result in results:
        if not isinstance(result, dict):
            raise PlanError('every result must be a dict (a registered loop result)')
        ref = (result.get('item') or {}).get('ref') if isinstance(result.get('item'), dict) else None
        if result.get('changed') is True and isinstance(ref, str):
            changed.add(ref)
    planned = [item['ref'] for item in deletions(the_plan)]
    return [ref for ref in planned if ref in changed], [ref for ref in planned if ref not in changed]


def report(the_plan, results, options, check_mode=False, started_at=None, generated_at=None):
    """The JSON report of a run (report_version 1; docs/runbooks/uninstall.md).

    status: refused (pods mount the CSI volume, nothing deleted), planned (check mode, nothing
    deleted), failed (a deletion failed; RESULTS say what went before) or uninstalled.
    """
    _check_options(options)
    if not isinstance(the_plan, dict) or any(key not in the_plan for key in PLAN_KEYS):
        raise PlanError('the plan must be the result of plan() (keys %s)' % ', '.join(PLAN_KEYS))
    if not isinstance(results, list):
        raise PlanError('results must be a list of registered loop results')
    refused = bool(the_plan.get('refusal'))
    failed = any(isinstance(result, dict) and result.get('failed') is True for result in results)
    deleted, already_gone = outcome(the_plan, [] if refused or check_mode else results)
    if refused:
        status, already_gone = 'refused', []
    elif check_mode:
        status, already_gone = 'planned', []
    else:
        status = 'failed' if failed else 'uninstalled'
    if failed:
        already_gone = []  # not known: the run stopped at the failed deletion
    if check_mode:
        head = 'Would have deleted (check mode, nothing was deleted) %d object(s):' % len(deletions(the_plan))
        done = [item['ref'] for item in deletions(the_plan)]
    elif refused:
        head, done = 'Refused: deleted 0 object(s):', []
    else:
        head, done = ('Deleted %d object(s)%s:' % (len(deleted), ' before the failure' if failed else '')), deleted
    summary = ([head] + _indent(done, 'nothing (already uninstalled)' if not refused else 'nothing')
               + ['Kept:'] + _indent(_keep_lines(the_plan['keep']), 'nothing'))
    sections = {
        'namespace': the_plan['namespace'],
        'options': dict((flag, options[flag]) for flag in FLAGS),
        'csi_pods': list(the_plan['csi_pods']),
        'blocking_pods': list(the_plan['blocking_pods']),
        'forced': bool(the_plan['blocking_pods']) and options['force'],
        'planned': [item['ref'] for item in deletions(the_plan)],
        'deleted': deleted,
        'already_gone': already_gone,
        'kept': [dict(entry) for entry in the_plan['keep']],
        'summary': summary,
    }
    return _report.envelope('uninstall', REPORT_VERSION, status, sections, check_mode=check_mode,
                            started_at=started_at, generated_at=generated_at)
