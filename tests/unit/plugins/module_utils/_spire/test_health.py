"""The health runbook's judgement (plugins/module_utils/_spire/health.py): every check's ok, warning and
failed outcome, the report and its envelope, the error report, and each refused input."""

import copy
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ardur.spire.plugins.module_utils._spire import health, report as envelope
from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import certificate_summaries, pem_certificates

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
TD, CLUSTER, PREFIX = 'example.org', 'lab', 'ardur-scm.'
NODES = [('node-b', 'uid-b'), ('node-a', 'uid-a')]
DAY = 86400


def make_cert(days_left):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'root')])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=10)).not_valid_after(NOW + datetime.timedelta(days=days_left))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


ROOT = make_cert(365)
OTHER = make_cert(365)


def roots_of(pem):
    return certificate_summaries(pem_certificates(pem), int(NOW.timestamp()))


def skid(pem):
    return roots_of(pem)[0]['subject_key_id']


def agent(uid, **extra):
    return dict({'spiffe_id': 'spiffe://%s/spire/agent/k8s_psat/%s/%s' % (TD, CLUSTER, uid),
                 'banned': False, 'expired': False}, **extra)


def server(name, pem=ROOT, seconds_left=12 * 3600):
    return {
        'item': name, 'healthy': True, 'health_message': 'Server is healthy.', 'datastore_reachable': True,
        'errors': {}, 'bundle': pem, 'bundle_certificates': pem_certificates(pem), 'bundle_authorities': roots_of(pem),
        'agents': [agent(uid) for _node, uid in NODES],
        'entries': {'count': 5, 'listed': 5, 'by_prefix': {PREFIX: 3, '': 2},
                    'items': [{'id': PREFIX + str(i), 'spiffe_id': 'spiffe://%s/ns/app/sa/s%d' % (TD, i)} for i in range(3)]
                    + [{'id': 'other', 'spiffe_id': 'spiffe://%s/x/y' % TD}]},
        'x509_authorities': {'active': {'authority_id': 'a-' + name, 'expires_at_iso': '2026-12-07T22:00:00Z',
                                        'seconds_left': seconds_left,
                                        'upstream_authority_subject_key_id': skid(pem).upper()},
                             'prepared': None, 'old': None},
        'upstream_authority_subject_key_id': ':'.join(skid(pem)[i:i + 2] for i in range(0, len(skid(pem)), 2)),
    }


def reads():
    return {
        'deployment': {'trust_domain': TD, 'cluster_name': CLUSTER, 'entry_id_prefix': PREFIX,
                       'lease_name': 'scm-leader', 'replicas': 2, 'servers': ['spire-server-0', 'spire-server-1']},
        'servers': [server('spire-server-0'), server('spire-server-1')],
        'nodes': [{'metadata': {'name': node, 'uid': uid}} for node, uid in NODES],
        # The ConfigMap's copy: other order, other line breaks, a duplicate.
        'bundle_configmap': {'data': {'bundle.crt': '\n' + ROOT.replace('\n', '\r\n') + ROOT}},
        'cluster_spiffe_ids': [
            {'metadata': {'name': 'b'}, 'spec': {'spiffeIDTemplate': 't-b'},
             'status': {'stats': {'entriesToSet': 2, 'podsSelected': 2, 'entryFailures': 0, 'podEntryRenderFailures': 0}}},
            {'metadata': {'name': 'a'}, 'spec': {'spiffeIDTemplate': 't-a'},
             'status': {'stats': {'entriesToSet': 1, 'podsSelected': 1}}},
        ],
        'lease': {'metadata': {'name': 'scm-leader'},
                  'spec': {'holderIdentity': 'scm-0', 'renewTime': '2026-12-07T09:59:50.123456Z', 'leaseDurationSeconds': 15}},
    }


def run(data=None, **kwargs):
    kwargs.setdefault('now', NOW)
    return health.report(reads() if data is None else data, 'spire-system', 'local', **kwargs)


def check(doc, name):
    found = [c for c in doc['checks'] if c['name'] == name]
    assert len(found) == 1, [c['name'] for c in doc['checks']]
    return found[0]


# ------------------------------------------------------------------------ the report --

def test_healthy_report():
    doc = run(check_mode=True, started_at='2026-12-07T09:59:00Z')
    assert list(doc)[:6] == list(envelope.ENVELOPE_KEYS)
    assert doc['runbook'] == 'health' and doc['report_version'] == health.REPORT_VERSION == 3
    assert doc['status'] == 'healthy' and doc['healthy'] is True and doc['failed'] == [] and doc['warnings'] == []
    assert doc['check_mode'] is True and doc['started_at'] == '2026-12-07T09:59:00Z'
    assert doc['generated_at'] == '2026-12-07T10:00:00Z'
    assert doc['namespace'] == 'spire-system' and doc['transport'] == 'local'
    assert doc['trust_domain'] == TD and doc['cluster_name'] == CLUSTER
    assert doc['servers']['expected'] == 2 and doc['servers']['checked'] == 2 and doc['servers']['healthy'] == 2
    assert doc['servers']['items'][0]['bundle_certificates'] == 1 and doc['servers']['items'][0]['entry_count'] == 5
    assert doc['datastore'] == {'reachable': True, 'via': ['spire-server-0', 'spire-server-1']}
    assert doc['agents']['nodes'] == 2 and doc['agents']['attested'] == 2 and doc['agents']['missing_nodes'] == []
    assert [row['node'] for row in doc['agents']['per_node']] == ['node-a', 'node-b']
    assert doc['bundle'] == {'configmap_certificates': 1, 'match': True, 'differing_servers': []}
    assert doc['upstream_ca']['subject_key_id'] == skid(ROOT) and doc['upstream_ca']['roots_in_bundle'] == 1
    assert 364 < doc['upstream_ca']['days_left'] <= 365
    assert doc['entries']['controller_manager_entries'] == 3 and doc['entries']['count'] == 5
    assert doc['entries']['by_spiffe_id_family'] == {'/ns/app/sa/*': 3}
    assert [c['name'] for c in doc['cluster_spiffe_ids']] == ['a', 'b']
    assert doc['controller_manager']['leader_lease']['age_seconds'] == 10.0
    assert all(c['status'] == 'ok' for c in doc['checks'])
    assert check(doc, 'server spire-server-0 healthy')['line'] == '[OK] server spire-server-0 healthy: Server is healthy.'
    text = json.dumps(doc)
    assert 'BEGIN CERTIFICATE' not in text and 'PRIVATE KEY' not in text


def test_the_checks_in_order():
    names = [c['name'] for c in run()['checks']]
    assert names == [
        'server spire-server-0 healthy', 'X.509 authority of spire-server-0 not expiring',
        'server spire-server-1 healthy', 'X.509 authority of spire-server-1 not expiring',
        'datastore reachable', 'agents attested per node', "spire-bundle ConfigMap matches the servers' bundle",
        'upstream CA not expiring', 'ClusterSPIFFEID a reconciled', 'ClusterSPIFFEID b reconciled',
        'controller-manager entries match the ClusterSPIFFEIDs', 'controller-manager leader elected']


def test_a_warning_only_degrades():
    doc = run(authority_warning_hours=13)
    assert doc['status'] == 'degraded' and doc['healthy'] is True and doc['failed'] == []
    assert doc['warnings'] == ['X.509 authority of spire-server-0 not expiring', 'X.509 authority of spire-server-1 not expiring']


# ---------------------------------------------------------------------------- servers --

def test_an_unhealthy_server_fails_its_check_only():
    data = reads()
    data['servers'][1].update(healthy=False, health_message='connection refused', datastore_reachable=False,
                              errors={'healthcheck': 'connection refused', 'agents': 'no socket'},
                              bundle=None, bundle_authorities=None, agents=None, entries=None, x509_authorities=None,
                              upstream_authority_subject_key_id=None)
    doc = run(data)
    assert doc['status'] == 'unhealthy' and doc['healthy'] is False
    assert doc['failed'] == ['server spire-server-1 healthy']
    assert check(doc, 'server spire-server-1 healthy')['detail'] == 'connection refused; no socket'
    assert doc['servers']['healthy'] == 1 and doc['datastore']['via'] == ['spire-server-0']


def test_a_healthy_server_with_a_failed_read_fails():
    data = reads()
    data['servers'][0]['errors'] = {'entries': 'spire-server entry show failed'}
    assert check(run(data), 'server spire-server-0 healthy')['status'] == 'failed'


def test_a_failed_task_is_a_failed_server():
    data = reads()
    data['servers'][0] = {'item': 'spire-server-0', 'failed': True, 'msg': 'exec refused'}
    doc = run(data)
    assert check(doc, 'server spire-server-0 healthy')['detail'] == 'exec refused'
    assert doc['servers']['items'][0]['errors'] == {'module': 'exec refused'}
    assert doc['failed'] == ['server spire-server-0 healthy']


@pytest.mark.parametrize('seconds_left, status, detail', [
    (12 * 3600, 'ok', 'active authority a-spire-server-0 expires 2026-12-07T22:00:00Z (0.50 days)'),
    (3600, 'warning', '(0.04 days)'),
    (0, 'failed', '(0.00 days)'),
    (None, 'failed', 'no active X.509 authority'),
])
def test_x509_authority(seconds_left, status, detail):
    data = reads()
    if seconds_left is None:
        data['servers'][0]['x509_authorities']['active'] = None
    else:
        data['servers'][0]['x509_authorities']['active']['seconds_left'] = seconds_left
    got = check(run(data), 'X.509 authority of spire-server-0 not expiring')
    assert got['status'] == status and detail in got['detail']


def test_no_authority_check_without_the_read():
    data = reads()
    data['servers'][0]['x509_authorities'] = None
    assert 'X.509 authority of spire-server-0 not expiring' not in [c['name'] for c in run(data)['checks']]


def test_datastore_unreachable():
    data = reads()
    for res in data['servers']:
        res['datastore_reachable'] = False
    got = check(run(data), 'datastore reachable')
    assert got['status'] == 'failed' and 'the datastore (or every server) is down' in got['detail']
    assert run(data)['entries']['count'] is None


def test_datastore_names_the_server_it_was_seen_through():
    got = check(run(), 'datastore reachable')
    assert got['detail'] == 'spire-server-0 healthy and `entry count` answered (5 entries): the datastore answers'


# ----------------------------------------------------------------------------- agents --

@pytest.mark.parametrize('change', [
    lambda agents: agents.pop(0),
    lambda agents: agents[0].update(banned=True),
    lambda agents: agents[0].update(expired=True),
])
def test_a_node_without_an_attested_agent_fails(change):
    data = reads()
    for res in data['servers']:
        change(res['agents'])
    doc = run(data)
    got = check(doc, 'agents attested per node')
    assert got['status'] == 'failed' and got['detail'] == '1/2 nodes have an attested agent; missing on node-b'
    assert doc['agents']['missing_nodes'] == ['node-b'] and doc['agents']['attested'] == 1


def test_no_agent_list_fails():
    data = reads()
    for res in data['servers']:
        res['agents'] = None
    doc = run(data)
    assert check(doc, 'agents attested per node')['detail'] == 'no server listed the agents'
    assert doc['agents']['listed'] == 0


def test_an_agent_whose_node_is_gone_warns():
    data = reads()
    data['servers'][0]['agents'].append(agent('gone'))
    doc = run(data)
    got = check(doc, 'agents without a node')
    assert got['status'] == 'warning' and got['detail'].startswith('1 agent(s) whose node is gone: spiffe://')
    assert doc['status'] == 'degraded' and check(doc, 'agents attested per node')['status'] == 'ok'


# ----------------------------------------------------------------------------- bundle --

BUNDLE = "spire-bundle ConfigMap matches the servers' bundle"


@pytest.mark.parametrize('configmap, detail', [
    ({}, 'ConfigMap spire-bundle missing or without certificates'),
    ({'data': {'bundle.crt': ''}}, 'ConfigMap spire-bundle missing or without certificates'),
    ({'data': {'bundle.crt': ROOT + OTHER}}, 'differs from the bundle of spire-server-0, spire-server-1'),
])
def test_bundle_configmap_fails(configmap, detail):
    data = reads()
    data['bundle_configmap'] = configmap
    doc = run(data)
    assert check(doc, BUNDLE) == dict(check(doc, BUNDLE), status='failed', detail=detail)
    assert doc['bundle']['match'] is False


def test_bundle_without_a_healthy_server_bundle_fails():
    data = reads()
    for res in data['servers']:
        res['bundle'] = None
    assert check(run(data), BUNDLE)['detail'] == 'no healthy server returned a bundle'


def test_bundle_check_is_named_after_the_configmap():
    data = reads()
    assert check(run(data, bundle_name='trust'), "trust ConfigMap matches the servers' bundle")['status'] == 'ok'


def test_certificate_set_ignores_order_breaks_and_duplicates():
    assert health.certificate_set(OTHER + ROOT) == health.certificate_set(ROOT.replace('\n', '\n\n') + OTHER + ROOT)
    assert len(health.certificate_set(OTHER + ROOT)) == 2
    assert health.certificate_set(None) == [] and health.certificate_set('no pem') == []


# ------------------------------------------------------------------------ upstream CA --

UPSTREAM = 'upstream CA not expiring'


@pytest.mark.parametrize('days, status', [(365, 'ok'), (10, 'warning'), (-1, 'failed')])
def test_upstream_ca_expiry(days, status):
    pem = make_cert(days)
    data = reads()
    data['servers'] = [server('spire-server-0', pem), server('spire-server-1', pem)]
    data['bundle_configmap'] = {'data': {'bundle.crt': pem}}
    got = check(run(data), UPSTREAM)
    assert got['status'] == status and 'warning under 30' in got['detail']


def test_upstream_ca_is_the_soonest_expiring_root_in_use():
    soon = make_cert(20)
    both = ROOT + soon
    data = reads()
    data['servers'] = [server('spire-server-0', both), server('spire-server-1', both)]
    data['servers'][1]['upstream_authority_subject_key_id'] = skid(soon)
    data['bundle_configmap'] = {'data': {'bundle.crt': both}}
    doc = run(data)
    assert doc['upstream_ca']['subject_key_id'] == skid(soon) and doc['upstream_ca']['roots_in_bundle'] == 2
    assert check(doc, UPSTREAM)['status'] == 'warning'


def test_upstream_ca_without_a_healthy_bundle_fails():
    data = reads()
    for res in data['servers']:
        res['healthy'] = False
    doc = run(data)
    assert check(doc, UPSTREAM)['detail'] == 'no healthy server returned a bundle' and doc['upstream_ca'] is None


def test_upstream_ca_unknown_to_the_authorities_fails():
    data = reads()
    for res in data['servers']:
        res['upstream_authority_subject_key_id'] = None
    assert check(run(data), UPSTREAM)['detail'] == 'no active X.509 authority reports its upstream CA'


def test_an_upstream_ca_outside_the_bundle_fails_and_warns():
    data = reads()
    data['servers'][0]['upstream_authority_subject_key_id'] = skid(OTHER)
    data['servers'][1]['upstream_authority_subject_key_id'] = skid(OTHER)
    doc = run(data)
    assert check(doc, UPSTREAM)['detail'] == \
        'the upstream CA of the active authorities (%s) is not in the trust bundle' % skid(OTHER)
    foreign = check(doc, 'X.509 authorities signed by a root of the trust bundle')
    assert foreign['status'] == 'warning' and skid(OTHER) in foreign['detail']


def test_one_authority_outside_the_bundle_only_warns():
    data = reads()
    data['servers'][1]['upstream_authority_subject_key_id'] = skid(OTHER)
    doc = run(data)
    assert check(doc, UPSTREAM)['status'] == 'ok'
    assert doc['warnings'] == ['X.509 authorities signed by a root of the trust bundle']


# ---------------------------------------------------------------------- registrations --

@pytest.mark.parametrize('status, detail', [
    (None, 'no status.stats: the controller manager has not reconciled it'),
    ({'stats': {'entriesToSet': 2, 'entryFailures': 1}}, '2 entries to set, 0 pods selected, 1 entry failures, 0 render failures'),
    ({'stats': {'podEntryRenderFailures': '3'}}, '0 entries to set, 0 pods selected, 0 entry failures, 3 render failures'),
])
def test_cluster_spiffe_id_not_reconciled_fails(status, detail):
    data = reads()
    if status is None:
        del data['cluster_spiffe_ids'][0]['status']
    else:
        data['cluster_spiffe_ids'][0]['status'] = status
    got = check(run(data), 'ClusterSPIFFEID b reconciled')
    assert got['status'] == 'failed' and got['detail'] == detail


def test_entries_differing_from_the_cluster_spiffe_ids_warn():
    data = reads()
    data['cluster_spiffe_ids'][1]['status']['stats']['entriesToSet'] = 5
    got = check(run(data), 'controller-manager entries match the ClusterSPIFFEIDs')
    assert got['status'] == 'warning' and got['detail'] == '3 entries with ID prefix ardur-scm., ClusterSPIFFEIDs want 7'


@pytest.mark.parametrize('change', [
    lambda data: data['deployment'].update(entry_id_prefix=''),
    lambda data: data.update(cluster_spiffe_ids=[]),
])
def test_no_entries_check_without_prefix_or_cluster_spiffe_ids(change):
    data = reads()
    change(data)
    doc = run(data)
    assert 'controller-manager entries match the ClusterSPIFFEIDs' not in [c['name'] for c in doc['checks']]
    assert doc['status'] == 'healthy'


# -------------------------------------------------------------------------- the Lease --

LEASE = 'controller-manager leader elected'


@pytest.mark.parametrize('lease, detail', [
    ({}, 'no leader Lease scm-leader (or never renewed)'),
    ({'metadata': {'name': 'scm-leader'}, 'spec': {'holderIdentity': 'x'}}, 'no leader Lease scm-leader (or never renewed)'),
    ({'metadata': {'name': 'scm-leader'}, 'spec': {'holderIdentity': 'x', 'renewTime': '2026-12-07T09:58:00Z'}},
     'leader x renewed 120 s ago (limit 60 s)'),
])
def test_lease_fails(lease, detail):
    data = reads()
    data['lease'] = lease
    doc = run(data)
    assert check(doc, LEASE) == dict(check(doc, LEASE), status='failed', detail=detail)


def test_lease_limit_is_an_input():
    data = reads()
    data['lease']['spec']['renewTime'] = '2026-12-07T09:58:00Z'
    assert check(run(data, lease_max_age_seconds=120), LEASE)['status'] == 'ok'


# ---------------------------------------------------------------------- the deployment --

SCM = {'trustDomain': TD, 'clusterName': CLUSTER, 'entryIDPrefix': PREFIX,
       'leaderElection': {'leaderElect': True, 'resourceName': 'scm-leader'}}


def test_deployment_kubernetes_reads_one_server_per_replica():
    got = health.deployment(SCM, {'spec': {'replicas': 3}}, 'kubernetes', server_name='srv')
    assert got == {'trust_domain': TD, 'cluster_name': CLUSTER, 'entry_id_prefix': PREFIX, 'lease_name': 'scm-leader',
                   'replicas': 3, 'servers': ['srv-0', 'srv-1', 'srv-2']}


def test_deployment_local_reads_one_server_per_socket():
    got = health.deployment(SCM, {'spec': {'replicas': 3}}, 'local', ['/a.sock', '/b.sock'])
    assert got['servers'] == ['spire-server-0', 'spire-server-1'] and got['replicas'] == 3


def test_deployment_of_nothing():
    got = health.deployment({}, {}, 'kubernetes', lease_name='fallback')
    assert got == {'trust_domain': '', 'cluster_name': '', 'entry_id_prefix': '', 'lease_name': 'fallback',
                   'replicas': 0, 'servers': []}
    assert health.deployment(None, None, 'kubernetes')['lease_name'] == 'spire-controller-manager-leader'


@pytest.mark.parametrize('args, message', [
    (([], {}, 'kubernetes'), 'controller manager configuration must be a mapping'),
    ((SCM, [], 'kubernetes'), 'StatefulSet must be a mapping'),
    ((SCM, {'spec': []}, 'kubernetes'), 'StatefulSet spec must be a mapping'),
    ((SCM, {'spec': {'replicas': 'three'}}, 'kubernetes'), 'replicas must be a whole number'),
    ((SCM, {'spec': {'replicas': -1}}, 'kubernetes'), 'replicas must be at least 0'),
    ((SCM, {}, 'ssh'), 'transport must be one of kubernetes, local'),
    ((SCM, {}, 'local', '/a.sock'), 'server_sockets must be a list'),
    ((SCM, {}, 'local', [], ''), 'server_name must be a non-empty string'),
    ((dict(SCM, leaderElection='x'), {}, 'local'), 'leaderElection must be a mapping'),
    (({}, {}, 'local', [], 'spire-server', ''), 'lease_name must be a non-empty string'),
])
def test_deployment_refuses(args, message):
    with pytest.raises(ValueError, match=message):
        health.deployment(*args)


# ---------------------------------------------------------------------- bad input --

def _without(key):
    data = reads()
    del data[key]
    return data


@pytest.mark.parametrize('data, kwargs, message', [
    ([], {}, 'reads must be a mapping'),
    (_without('lease'), {}, 'reads lacks lease'),
    (dict(reads(), deployment={'trust_domain': TD}), {}, 'reads.deployment lacks cluster_name'),
    (dict(reads(), deployment=[]), {}, 'reads.deployment must be a mapping'),
    (dict(reads(), servers={}), {}, 'reads.servers must be a list'),
    (dict(reads(), servers=['x']), {}, 'server result 0 must be a mapping'),
    (dict(reads(), nodes={}), {}, 'reads.nodes must be a list'),
    (dict(reads(), nodes=[{'metadata': 'x'}]), {}, 'Node metadata must be a mapping'),
    (dict(reads(), cluster_spiffe_ids='x'), {}, 'reads.cluster_spiffe_ids must be a list'),
    (dict(reads(), bundle_configmap=[]), {}, 'bundle ConfigMap must be a mapping'),
    (dict(reads(), lease='x'), {}, 'reads.lease must be a mapping'),
    (None, {'upstream_ca_warning_days': -1}, 'upstream_ca_warning_days must be at least 0'),
    (None, {'authority_warning_hours': True}, 'authority_warning_hours must be a whole number'),
    (None, {'lease_max_age_seconds': 0}, 'lease_max_age_seconds must be at least 1'),
    (None, {'lease_max_age_seconds': 'soon'}, 'lease_max_age_seconds must be a whole number'),
    (None, {'bundle_name': ''}, 'bundle_name must be a non-empty string'),
    (None, {'now': datetime.datetime(2026, 1, 1)}, 'now must be an aware datetime'),
])
def test_report_refuses(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(data, **kwargs)


@pytest.mark.parametrize('namespace, transport, message', [
    ('', 'local', 'namespace must be a non-empty string'),
    ('spire-system', 'ssh', 'transport must be one of'),
])
def test_report_refuses_namespace_and_transport(namespace, transport, message):
    with pytest.raises(ValueError, match=message):
        health.report(reads(), namespace, transport, now=NOW)
    with pytest.raises(ValueError, match=message):
        health.error_report('t', 'm', namespace, transport, now=NOW)


def test_report_refuses_an_unreadable_renew_time():
    data = reads()
    data['lease']['spec']['renewTime'] = 'yesterday'
    with pytest.raises(ValueError, match='unreadable renewTime'):
        run(data)


def test_numbers_may_come_as_strings():
    assert run(upstream_ca_warning_days='400')['warnings'] == [UPSTREAM]


# ---------------------------------------------------------------------- error report --

def test_error_report():
    doc = health.error_report("Read the controller manager's configuration", 'refused ' * 400, 'spire-system',
                              'kubernetes', check_mode=True, started_at='2026-12-07T09:59:00Z', now=NOW)
    assert list(doc)[:6] == list(envelope.ENVELOPE_KEYS)
    assert doc['status'] == 'error' and doc['healthy'] is False and doc['report_version'] == 3
    assert doc['failed'] == ['deployment readable'] and doc['warnings'] == []
    assert doc['error']['task'] == "Read the controller manager's configuration" and len(doc['error']['message']) == 2000
    (only,) = doc['checks']
    assert only['status'] == 'failed' and only['detail'].startswith("Read the controller manager's configuration failed: refused")
    assert len(only['detail']) == len("Read the controller manager's configuration failed: ") + 500
    assert only['line'] == '[FAILED] deployment readable: ' + only['detail']
    assert doc['check_mode'] is True and doc['started_at'] == '2026-12-07T09:59:00Z'


def test_error_report_without_task_or_message():
    doc = health.error_report(None, None, 'spire-system', 'local', now=NOW)
    assert doc['checks'][0]['detail'] == 'a read failed: no message' and doc['error'] == {'task': '', 'message': ''}


def test_reports_do_not_alias_their_input():
    data = reads()
    before = copy.deepcopy(data)
    run(data)
    assert data == before
