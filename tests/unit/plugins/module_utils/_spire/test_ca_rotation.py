"""plugins/module_utils/_spire/ca_rotation.py: the decisions of the upstream CA rotation runbook."""

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation as rot

NOTE = rot.NOTE
CONF = 'server {\n  trust_domain = "example.org"\n  default_x509_svid_ttl = "2m"\n  ca_ttl = "24h"\n}\n'
KEYS = ['bundle.crt', 'tls.crt', 'tls.key']


def _b64(data):
    return base64.b64encode(data).decode()


def _ca(cn, skid=True, issuer=None):
    """Secret data (base64 tls.crt, tls.key, bundle.crt) of a new CA, its subject key ID and its PEM.
    ISSUER: (cert, key) of a root that signs it (an intermediate, bundle = the root)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer[0].subject if issuer else name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    if skid:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    bundle = issuer[0].public_bytes(serialization.Encoding.PEM) if issuer else pem
    data = {'tls.crt': _b64(pem), 'bundle.crt': _b64(bundle),
            'tls.key': _b64(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))}
    digest = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex() if skid else ''
    return data, digest, (cert, key)


OLD, OLD_SKID, OLD_PAIR = _ca('old CA')
NEW, NEW_SKID, NEW_PAIR = _ca('new CA')


def _options(**changes):
    options = dict(transport='local', server_sockets=['/s/0.sock', '/s/1.sock', '/s/2.sock'],
                   spire_server_path='/bin/spire-server', cert_file='', key_file='', bundle_file='', key_type='ec-p256',
                   validity_days=3650, common_name='', organization='', grace_seconds=120, propagation_seconds=10,
                   volume_refresh_seconds=5, timeout=120, stop_after='', keep_previous=False, rollback=False,
                   report_path='./spire-rotate-upstream-ca.json')
    options.update(changes)
    return options


def _notes(phase, **more):
    notes = {NOTE + 'phase': phase} if phase else {}
    notes.update(dict((NOTE + key.replace('_', '-'), value) for key, value in more.items()))
    notes['unrelated/annotation'] = 'x'
    return notes


def _situation(phase='', conf=CONF, keys=None, replicas=3, **changes):
    keys = KEYS if keys is None else keys
    return rot.situation(_options(**changes), {'spec': {'replicas': replicas}}, conf, keys, _notes(phase),
                         namespace='spire-system')


def _state(previous=None, new=None):
    previous, new = previous or OLD, new or NEW
    data = dict(('new-' + key, value) for key, value in new.items())
    data.update(('previous-' + key, value) for key, value in previous.items())
    return data


def _decide(situation, live=None, state=None, files=None, given_cert=''):
    live = live or OLD
    cas = rot.cas(situation, live, state or {}, files if files is not None else NEW)
    return cas, rot.decide(situation, cas['public']['previous'], cas['public']['new'], live={'tls.crt': live['tls.crt']},
                           given_cert=given_cert)


# --------------------------------------------------------------------------- inputs --
def test_good_options_have_no_problem(tmp_path):
    assert rot.option_problems(_options()) == []
    crt, key = tmp_path / 'c.crt', tmp_path / 'c.key'
    crt.write_text('x')
    key.write_text('x')
    assert rot.option_problems(_options(cert_file=str(crt), key_file=str(key), bundle_file=str(crt))) == []


@pytest.mark.parametrize('changes, words', [
    ({'transport': 'ssh'}, ['rotate_upstream_ca_transport']),
    ({'server_sockets': []}, ['rotate_upstream_ca_transport=local needs rotate_upstream_ca_server_sockets']),
    ({'server_sockets': ['relative.sock']}, ['rotate_upstream_ca_server_sockets must be absolute', "'relative.sock'"]),
    ({'grace_seconds': -1}, ['rotate_upstream_ca_grace_seconds must be >= 0 (got -1)']),
    ({'propagation_seconds': -1}, ['rotate_upstream_ca_propagation_seconds must be >= 0 (got -1)']),
    ({'volume_refresh_seconds': -5}, ['rotate_upstream_ca_volume_refresh_seconds must be >= 0']),
    ({'timeout': 0}, ['rotate_upstream_ca_timeout must be > 0']),
    ({'validity_days': 0}, ['rotate_upstream_ca_validity_days must be > 0']),
    ({'stop_after': 'retired'}, ['rotate_upstream_ca_stop_after']),
    ({'cert_file': '/nonexistent/ca.crt'}, ['go together', 'rotate_upstream_ca_cert_file: /nonexistent/ca.crt is not a file']),
    ({'bundle_file': '/nonexistent/b.crt'}, ['rotate_upstream_ca_bundle_file needs rotate_upstream_ca_cert_file']),
])
def test_each_bad_value_is_named(changes, words):
    text = ' | '.join(rot.option_problems(_options(**changes)))
    for word in words:
        assert word in text, (word, text)


def test_a_rollback_takes_no_new_ca(tmp_path):
    crt = tmp_path / 'c.crt'
    crt.write_text('x')
    text = ' '.join(rot.option_problems(_options(rollback=True, cert_file=str(crt), key_file=str(crt))))
    assert 'rotate_upstream_ca_rollback takes no new CA' in text


@pytest.mark.parametrize('changes, message', [
    ({'grace_seconds': '120'}, 'rotate_upstream_ca_grace_seconds must be an integer'),
    ({'grace_seconds': True}, 'rotate_upstream_ca_grace_seconds must be an integer'),
    ({'rollback': 'yes'}, 'rotate_upstream_ca_rollback must be a bool'),
    ({'server_sockets': '/a.sock'}, 'rotate_upstream_ca_server_sockets must be a list'),
])
def test_wrong_types_raise(changes, message):
    with pytest.raises(ValueError, match=message):
        rot.option_problems(_options(**changes))


def test_missing_options_raise():
    options = _options()
    del options['timeout']
    with pytest.raises(ValueError, match='options lack timeout'):
        rot.option_problems(options)
    with pytest.raises(ValueError, match='must be a dict'):
        rot.option_problems([])


# ---------------------------------------------------------------------- server.conf --
def test_server_settings_read_the_live_conf():
    assert rot.server_settings(CONF) == dict(trust_domain='example.org', svid_ttl='2m', svid_ttl_seconds=120,
                                             ca_ttl='24h', ca_ttl_seconds=86400)


def test_server_settings_default_to_spire_s():
    settings = rot.server_settings('server {\n  trust_domain = "example.org"\n}\n')
    assert (settings['svid_ttl'], settings['svid_ttl_seconds'], settings['ca_ttl_seconds']) == ('1h', 3600, 86400)
    assert rot.server_settings('')['trust_domain'] == ''


def test_server_settings_are_parsed_not_matched():
    # A commented-out value and a key that merely ends like another do not count (the old regexes matched both).
    conf = ('server {\n  # default_x509_svid_ttl = "10m"\n  jwt_ca_ttl = "1h"\n  default_x509_svid_ttl = "1h30m"\n'
            '  ca_ttl = "12h"\n}\n')
    settings = rot.server_settings(conf)
    assert (settings['svid_ttl_seconds'], settings['ca_ttl_seconds']) == (5400, 43200)
    json_conf = '{"server": {"default_x509_svid_ttl": "90s", "ca_ttl": "6h"}}'
    assert rot.server_settings(json_conf)['svid_ttl_seconds'] == 90


@pytest.mark.parametrize('conf, word', [
    ('server {\n  default_x509_svid_ttl = "1d"\n}\n', 'default_x509_svid_ttl of server.conf'),
    ('server {\n  ca_ttl = "soon"\n}\n', 'ca_ttl of server.conf'),
    ('server {', 'cannot be parsed'),
])
def test_server_settings_refuse_what_spire_would(conf, word):
    with pytest.raises(ValueError, match=word):
        rot.server_settings(conf)
    assert word in ' '.join(_situation(conf=conf)['problems'])


def test_grace_must_cover_one_svid_ttl():
    problems = _situation(grace_seconds=30)['problems']
    assert len(problems) == 1
    assert problems[0].startswith('rotate_upstream_ca_grace_seconds=30 is shorter than the servers\' default_x509_svid_ttl'
                                  ' (2m = 120 s)')
    assert _situation(grace_seconds=120)['problems'] == []


def test_grace_must_stay_below_half_the_ca_ttl():
    problems = _situation(grace_seconds=43200)['problems']
    assert problems == ['rotate_upstream_ca_grace_seconds=43200 is not shorter than half of ca_ttl (24h): by then the '
                        'servers prepare their next authority, which forgets the old one SPIRE needs to revoke the old root.']
    assert _situation(grace_seconds=43199)['problems'] == []


# ------------------------------------------------------------------------ situation --
def test_a_new_rotation_runs_every_phase():
    s = _situation()
    assert s['servers'] == ['spire-server-0', 'spire-server-1', 'spire-server-2']
    assert (s['phase'], s['start'], s['in_progress'], s['turned'], s['rollback']) == ('', 0, False, False, False)
    assert s['phases'] == ['staged', 'introduced', 'switched', 'retired']
    assert s['notes'] == {}


@pytest.mark.parametrize('stop_after, phases', [
    ('staged', ['staged']), ('introduced', ['staged', 'introduced']),
    ('switched', ['staged', 'introduced', 'switched']), ('', ['staged', 'introduced', 'switched', 'retired'])])
def test_stop_after(stop_after, phases):
    assert _situation(stop_after=stop_after)['phases'] == phases


@pytest.mark.parametrize('phase, phases', [
    ('staged', ['introduced', 'switched', 'retired']),
    ('introduced', ['switched', 'retired']),
    ('switched', ['retired']),
    ('retired', ['staged', 'introduced', 'switched', 'retired']),  # a kept, finished rotation: a new one starts
])
def test_a_run_resumes_after_the_recorded_phase(phase, phases):
    s = _situation(phase)
    assert s['phases'] == phases
    assert s['in_progress'] == (phase != 'retired')


def test_resume_stops_again_where_asked():
    assert _situation('staged', stop_after='introduced')['phases'] == ['introduced']
    assert _situation('introduced', stop_after='introduced')['phases'] == []


def test_switched_at_is_read_from_the_state():
    s = rot.situation(_options(), {'spec': {'replicas': 1}}, CONF, KEYS, _notes('switched', switched_at='1765100000'))
    assert s['switched_at'] == 1765100000
    assert _situation('switched')['switched_at'] == 0


def test_a_switched_rotation_without_its_switch_time_is_not_retired():
    text = ' '.join(_situation('switched')['problems'])
    assert "records phase switched but not when (annotation spire.ardur.io/rotation-switched-at is '')" in text
    assert _situation('switched', stop_after='switched')['problems'] == []  # nothing to retire in this run
    assert _situation('switched', rollback=True)['problems'] == []  # the turned rotation switches again


def test_object_names_come_from_the_caller():
    objects = {'server': 'srv', 'upstream_ca': 'my-ca', 'upstream_ca_rotation': 'my-ca-state', 'bundle': 'my-bundle',
               'agent': 'ignored'}
    s = rot.situation(_options(transport='kubernetes', server_sockets=[], stop_after='introduced'),
                      {'spec': {'replicas': 1}}, CONF, ['tls.crt'], {}, objects=objects)
    assert s['servers'] == ['srv-0'] and s['objects'] == dict((k, v) for k, v in objects.items() if k != 'agent')
    assert 'Secret my-ca must exist' in s['problems'][0]
    s = rot.situation(_options(stop_after='introduced'), {'spec': {'replicas': 1}}, CONF, KEYS, {}, objects=objects)
    _cas, d = _decide(s)
    lines = rot.plan_lines(s, d, _options(stop_after='introduced'))
    assert lines[-2].endswith('Secret my-ca-state') and 'ConfigMap my-bundle' in lines[-1]
    rep = rot.report(s, d, _options(stop_after='introduced'), phase_seconds={'staged': 1.0, 'introduced': 1.0})
    assert rep['summary'][-1].endswith('recorded in Secret my-ca-state)')


def test_kubernetes_transport_counts_the_replicas_and_local_the_sockets():
    assert len(_situation(replicas=2)['servers']) == 3  # local: one per socket
    s = rot.situation(_options(transport='kubernetes', server_sockets=[]), {'spec': {'replicas': 2}}, CONF, KEYS, {},
                      server='my-server')
    assert s['servers'] == ['my-server-0', 'my-server-1']


@pytest.mark.parametrize('kwargs', [
    dict(keys=['tls.crt']), dict(keys=[]),
])
def test_refused_without_a_complete_secret(kwargs):
    problems = ' '.join(_situation(**kwargs)['problems'])
    assert 'Nothing to rotate in namespace spire-system' in problems
    assert 'has %s' % (', '.join(kwargs['keys']) or 'nothing') in problems


def test_refused_without_servers_or_with_an_unknown_phase():
    s = rot.situation(_options(transport='kubernetes', server_sockets=[]), {}, CONF, KEYS, {})
    assert 'found 0 servers' in ' '.join(s['problems'])
    s = _situation('halfway')
    assert "recorded phase must be known (got 'halfway')" in ' '.join(s['problems'])


def test_rollback_without_a_rotation_in_progress_is_refused():
    for phase in ('', 'retired'):
        text = ' '.join(_situation(phase, rollback=True)['problems'])
        assert 'rotate_upstream_ca_rollback: there is no rotation in progress in spire-system' in text


@pytest.mark.parametrize('phase', ['staged', 'introduced'])
def test_rollback_before_the_switch_undoes(phase):
    s = _situation(phase, rollback=True)
    assert (s['rollback'], s['turned'], s['phases'], s['problems']) == (True, False, [], [])


def test_rollback_after_the_switch_is_the_rotation_turned_around():
    s = _situation('switched', rollback=True)
    assert (s['rollback'], s['turned'], s['start']) == (False, True, 2)
    assert s['phases'] == ['staged', 'switched', 'retired']
    assert _situation('switched', rollback=True, stop_after='switched')['phases'] == ['staged', 'switched']


# -------------------------------------------------------------------------- the CAs --
def test_a_new_rotation_takes_the_files_and_the_ca_in_use():
    cas = rot.cas(_situation(), OLD, {}, NEW)
    assert cas['previous'] == OLD and cas['new'] == NEW
    assert cas['public']['new'] == {'tls.crt': NEW['tls.crt'], 'bundle.crt': NEW['bundle.crt']}
    assert 'tls.key' not in cas['public']['previous']
    assert cas['state_data'] == _state()


def test_a_rotation_in_progress_takes_the_state_and_ignores_files():
    other, _skid, _pair = _ca('another')
    cas = rot.cas(_situation('introduced'), NEW, _state(), other)
    assert cas['previous'] == OLD and cas['new'] == NEW


def test_a_turned_rollback_swaps_the_cas():
    cas = rot.cas(_situation('switched', rollback=True), NEW, _state(), {})
    assert cas['previous'] == NEW and cas['new'] == OLD
    assert cas['state_data']['new-tls.key'] == OLD['tls.key']


# ------------------------------------------------------------------------- decision --
def test_decide_roots_and_bundles():
    _cas, d = _decide(_situation())
    assert d['problems'] == []
    assert (d['old_skid'], d['new_skid']) == (OLD_SKID, NEW_SKID)
    assert d['added_roots'] == [NEW_SKID] and d['dropped_roots'] == [OLD_SKID]
    assert d['revocable'] == [OLD_SKID] and d['unrevocable'] == [] and d['new_roots'] == [NEW_SKID]
    assert rot.roots(d['both_bundle']) == [OLD_SKID, NEW_SKID]
    assert d['both_bundle'].endswith('-----END CERTIFICATE-----\n')
    assert d['both_bundle'].startswith(base64.b64decode(OLD['bundle.crt']).decode().strip())
    assert d['new'] == dict(subject_key_id=NEW_SKID, common_name='new CA', not_after=d['new']['not_after'])
    assert d['in_use']['common_name'] == 'old CA'
    assert 'PRIVATE' not in repr(d)


def test_both_bundle_adds_only_roots_not_already_trusted():
    # The new CA is an intermediate of a root the old bundle already holds beside the old CA.
    root_data, root_skid, root_pair = _ca('shared root')
    inter, inter_skid, _pair = _ca('intermediate', issuer=root_pair)
    old_bundle = base64.b64decode(OLD['bundle.crt']) + base64.b64decode(root_data['tls.crt'])
    live = dict(OLD, **{'bundle.crt': _b64(old_bundle)})
    _cas, d = _decide(_situation(), live=live, files=inter)
    assert d['problems'] == []
    assert d['new_skid'] == inter_skid and d['added_roots'] == []
    assert d['dropped_roots'] == [OLD_SKID] and d['revocable'] == [OLD_SKID] and d['new_roots'] == [root_skid]
    assert rot.roots(d['both_bundle']) == [OLD_SKID, root_skid]


def test_roots_that_did_not_sign_the_old_ca_are_unrevocable():
    root_data, root_skid, root_pair = _ca('old root')
    old_inter, old_inter_skid, _pair = _ca('old intermediate', issuer=root_pair)
    _cas, d = _decide(_situation(), live=old_inter)
    assert d['old_skid'] == old_inter_skid
    assert d['dropped_roots'] == [root_skid] and d['unrevocable'] == [root_skid] and d['revocable'] == []


def test_the_ca_in_use_is_refused_as_the_new_one():
    _cas, d = _decide(_situation(), files=OLD)
    assert any('The new CA is the CA in use (subject key ID %s)' % OLD_SKID in p for p in d['problems'])


def test_a_ca_without_subject_key_id_is_refused():
    bare, _skid, _pair = _ca('bare', skid=False)
    _cas, d = _decide(_situation(), files=bare)
    assert any('The new CA (bare) has no subject key identifier' in p for p in d['problems'])


def test_unreadable_certificates_are_refused():
    junk = dict(NEW, **{'tls.crt': _b64(b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')})
    _cas, d = _decide(_situation(), files=junk)
    assert 'The new CA certificate cannot be read.' in d['problems']
    empty_bundle = dict(NEW, **{'bundle.crt': ''})
    _cas, d = _decide(_situation(), files=empty_bundle)
    assert any(p.startswith('bundle.crt of the new CA would not be a valid PEM bundle') for p in d['problems'])
    with pytest.raises(ValueError, match='the new CA tls.crt is not base64 PEM text'):
        _decide(_situation(), files=dict(NEW, **{'tls.crt': '%%%'}))


def test_another_ca_than_the_rotation_in_progress_is_refused():
    s = _situation('introduced')
    _cas, d = _decide(s, state=_state(), given_cert=base64.b64decode(NEW['tls.crt']).decode())
    assert d['problems'] == []
    other, _skid, _pair = _ca('other')
    _cas, d = _decide(s, state=_state(), given_cert=base64.b64decode(other['tls.crt']).decode())
    assert any(p.startswith('A rotation to another CA is in progress (phase introduced') for p in d['problems'])


def test_situation_problems_carry_into_the_decision():
    _cas, d = _decide(_situation(grace_seconds=30))
    assert d['problems'][0].startswith('rotate_upstream_ca_grace_seconds=30')


def test_a_turned_rollback_goes_back_to_the_old_ca():
    s = _situation('switched', rollback=True)
    _cas, d = _decide(s, live=NEW, state=_state())
    assert (d['old_skid'], d['new_skid']) == (NEW_SKID, OLD_SKID)
    assert d['revocable'] == [NEW_SKID] and d['new_roots'] == [OLD_SKID]


def test_roots_of_a_bundle():
    text = base64.b64decode(OLD['tls.crt']).decode() + '\n' + base64.b64decode(NEW['tls.crt']).decode()
    assert rot.roots(text) == [OLD_SKID, NEW_SKID]
    assert rot.roots('') == [] and rot.roots(None) == []


# ------------------------------------------------------------------------------ plan --
def _views(*skids):
    return [{'x509_authorities': {'active': {'upstream_authority_subject_key_id': skid}}} for skid in skids]


def test_plan_lists_the_phases_of_the_run():
    s = _situation()
    _cas, d = _decide(s)
    lines = rot.plan_lines(s, d, _options(), servers=_views(OLD_SKID, OLD_SKID, OLD_SKID), check_mode=True)
    assert lines[0] == 'Plan (check mode: nothing is written) for the upstream CA of spire-system (local, 3 servers):'
    assert '  servers now signed by: %s, %s, %s' % (OLD_SKID, OLD_SKID, OLD_SKID) in lines
    assert '  SVID TTL 2m, CA TTL 24h, grace 120 s' in lines
    for phase in rot.PHASES:
        assert any(line.startswith('  %s: ' % phase) for line in lines), phase
    assert 'revoke root(s) %s' % OLD_SKID in lines[-1]


def test_retirement_replaces_the_servers_first_when_the_webhook_is_on():
    """The controller managers' webhook certificates must chain to the new CA before the old root goes."""
    s = _situation()
    assert s["webhook"] is False
    _cas, d = _decide(s)
    assert "replace the server pods" not in rot.plan_lines(s, d, _options())[-1]
    s = rot.situation(_options(), {"spec": {"replicas": 3}}, CONF, KEYS, _notes(""), namespace="spire-system", webhook=True)
    assert s["webhook"] is True
    _cas, d = _decide(s)
    retired = rot.plan_lines(s, d, _options())[-1]
    assert retired.startswith("  retired: replace the server pods one at a time, healthy between, so that each "
                              "controller manager mints its webhook certificate under the new CA; wait until"), retired


def test_plan_of_a_rollback_and_of_nothing():
    s = _situation('introduced', rollback=True)
    _cas, d = _decide(s, state=_state())
    lines = rot.plan_lines(s, d, _options(rollback=True))
    assert lines[0].startswith('Plan for') and lines[0].endswith(' - ROLLBACK:')
    assert lines[-1].startswith('  undo: bundle.crt, tls.crt and tls.key back')
    s = _situation('introduced', stop_after='introduced')
    _cas, d = _decide(s, state=_state())
    assert rot.plan_lines(s, d, _options(stop_after='introduced'))[-1] == '  nothing to do'


# ------------------------------------------------------------------------ retirement --
def _retire_views(olds, bundle_roots):
    return [{'x509_authorities': {'old': {'upstream_authority_subject_key_id': old} if old else None},
             'bundle_roots': bundle_roots} for old in olds]


def test_the_first_server_whose_old_authority_the_root_signed_retires_it():
    views = _retire_views([NEW_SKID, OLD_SKID, OLD_SKID], [{'subject_key_id': OLD_SKID, 'tainted': False}])
    assert rot.retirement(views, OLD_SKID, [OLD_SKID]) == dict(retirer=1, old_in_bundle=True, old_tainted=False, problem='')


def test_a_tainted_root_is_seen_and_a_revoked_one_is_done():
    views = _retire_views([OLD_SKID], [{'subject_key_id': OLD_SKID, 'tainted': True}])
    assert rot.retirement(views, OLD_SKID, [OLD_SKID])['old_tainted'] is True
    views = _retire_views([None], [{'subject_key_id': NEW_SKID, 'tainted': False}])
    assert rot.retirement(views, OLD_SKID, [OLD_SKID]) == dict(
        retirer=-1, old_in_bundle=False, old_tainted=False, problem='')


def test_late_retirement_is_refused():
    views = _retire_views([None, NEW_SKID], [{'subject_key_id': OLD_SKID, 'tainted': False}])
    result = rot.retirement(views, OLD_SKID, [OLD_SKID])
    assert result['retirer'] == -1 and 'no server has an old X.509 authority signed by it' in result['problem']


def test_an_unrevocable_old_root_needs_no_retirer():
    views = _retire_views([None], [{'subject_key_id': OLD_SKID, 'tainted': False}])
    assert rot.retirement(views, OLD_SKID, [])['problem'] == ''


# ---------------------------------------------------------------------------- report --
def _report(situation, decision=None, **kwargs):
    return rot.report(situation, decision, kwargs.pop('options', _options()), started_at='2026-12-07T10:00:00Z',
                      generated_at='2026-12-07T10:05:00Z', **kwargs)


def test_report_of_a_stopped_run():
    s = _situation(stop_after='introduced')
    _cas, d = _decide(s)
    rep = _report(s, d, options=_options(stop_after='introduced'), phase_seconds={'staged': 0.4, 'introduced': 35.2})
    assert [rep[key] for key in ('runbook', 'report_version', 'status', 'check_mode', 'started_at', 'generated_at')] == [
        'rotate_upstream_ca', 1, 'stopped', False, '2026-12-07T10:00:00Z', '2026-12-07T10:05:00Z']
    assert rep['summary'] == ['Upstream CA rotation introduced: %s -> %s' % (OLD_SKID, NEW_SKID),
                              '  phase staged: 0.4 s', '  phase introduced: 35.2 s',
                              '  stopped after introduced as asked; run again to continue (the phase is recorded in '
                              'Secret spire-upstream-ca-rotation)']
    assert rep['phases_done'] == ['staged', 'introduced'] and rep['new_ca']['subject_key_id'] == NEW_SKID
    assert 'PRIVATE' not in repr(rep) and OLD['tls.key'] not in repr(rep)


def test_report_of_a_completed_rotation():
    s = _situation('introduced', keep_previous=True)
    _cas, d = _decide(s, state=_state())
    rep = _report(s, d, options=_options(keep_previous=True), phase_seconds={'switched': 3.0, 'retired': 130.5},
                  grace_waited=118.2)
    assert rep['status'] == 'rotated'
    assert rep['summary'][0] == 'Upstream CA rotation retired: %s -> %s' % (OLD_SKID, NEW_SKID)
    assert '  (retired includes 118.2 s of waiting for the grace period to end)' in rep['summary']
    assert any('rotate_upstream_ca_keep_previous' in line for line in rep['summary'])


def test_report_warns_about_unrevocable_roots():
    root_data, root_skid, root_pair = _ca('old root')
    old_inter, _skid, _pair = _ca('old intermediate', issuer=root_pair)
    s = _situation()
    _cas, d = _decide(s, live=old_inter)
    rep = _report(s, d, phase_seconds=dict.fromkeys(rot.PHASES, 1.0))
    assert any(line.startswith('  WARNING: root(s) %s left bundle.crt' % root_skid) for line in rep['summary'])


def test_report_of_a_refusal_check_mode_rollback_and_failure():
    s = _situation(grace_seconds=30)
    rep = _report(s)
    assert rep['status'] == 'refused' and 'rotate_upstream_ca_grace_seconds=30' in rep['message']
    rep = _report(None, None, failure={'task': 'Refuse an upstream certificate that is not a CA',
                                       'message': 'not a CA certificate', 'refused': True})
    assert rep['status'] == 'refused' and rep['message'].endswith('not a CA certificate')
    rep = _report(_situation(), None, failure={'task': 'Revoke', 'message': 'boom', 'refused': False})
    assert rep['status'] == 'failed' and rep['failure']['task'] == 'Revoke'
    s = _situation()
    _cas, d = _decide(s)
    rep = _report(s, d, check_mode=True, plan=['Plan (check mode: nothing is written) ...', '  staged: ...'])
    assert rep['status'] == 'planned' and rep['check_mode'] is True and rep['plan'][1] == '  staged: ...'
    assert rep['summary'] == ['Upstream CA rotation planned (check mode, nothing was written): staged, introduced, '
                              'switched, retired']
    s = _situation('introduced', rollback=True)
    _cas, d = _decide(s, state=_state())
    rep = _report(s, d, options=_options(rollback=True))
    assert rep['status'] == 'rolled_back' and rep['message'].startswith('Rolled back: spire-upstream-ca holds the CA')
    assert 'stay in SPIRE\'s trust bundle' in rep['message']
    s = _situation('staged', rollback=True)
    _cas, d = _decide(s, state=_state())
    assert 'stay in' not in _report(s, d, options=_options(rollback=True))['message']


def test_report_of_a_turned_rollback():
    s = _situation('switched', rollback=True)
    _cas, d = _decide(s, live=NEW, state=_state())
    rep = _report(s, d, options=_options(rollback=True), phase_seconds=dict.fromkeys(['staged', 'switched', 'retired'], 1.0))
    assert rep['status'] == 'rotated' and rep['turned'] is True
    assert rep['summary'][0] == 'Upstream CA rotation (rollback) retired: %s -> %s' % (NEW_SKID, OLD_SKID)
