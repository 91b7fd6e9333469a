"""The ardur.spire.rotate_upstream_ca_* filters: thin, documented wrappers over module_utils/_spire/ca_rotation.py."""

import base64
import datetime
import importlib

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CONF = 'server {\n  trust_domain = "example.org"\n  default_x509_svid_ttl = "2m"\n}\n'


def _filter(name):
    module = importlib.import_module("ansible_collections.ardur.spire.plugins.filter.%s" % name)
    return module, module.FilterModule().filters()[name]


def _ca(cn):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=9))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    pem = base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()
    key_pem = base64.b64encode(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption())).decode()
    skid = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    return {"tls.crt": pem, "tls.key": key_pem, "bundle.crt": pem}, skid


def _options(**changes):
    options = dict(transport="local", server_sockets=["/s/0.sock"], spire_server_path="/bin/spire-server", cert_file="",
                   key_file="", bundle_file="", key_type="ec-p256", validity_days=3650, common_name="", organization="",
                   grace_seconds=120, propagation_seconds=10, volume_refresh_seconds=5, timeout=120, stop_after="",
                   keep_previous=False, rollback=False, report_path="")
    options.update(changes)
    return options


def test_problems_name_the_input():
    _unused, func = _filter("rotate_upstream_ca_problems")
    assert func(_options()) == []
    assert func(_options(propagation_seconds=-1)) == ["rotate_upstream_ca_propagation_seconds must be >= 0 (got -1)"]
    message = r"^ardur.spire.rotate_upstream_ca_problems: rotate_upstream_ca_timeout must be an integer"
    with pytest.raises(AnsibleFilterError, match=message):
        func(_options(timeout="120"))


def test_a_whole_run_through_the_filters():
    old, old_skid = _ca("old")
    new, new_skid = _ca("new")
    situation = _filter("rotate_upstream_ca_situation")[1](
        _options(stop_after="introduced"), statefulset={"spec": {"replicas": 1}}, server_conf=CONF,
        live_keys=list(old), annotations={}, namespace="spire-system")
    assert situation["phases"] == ["staged", "introduced"] and situation["problems"] == []
    cas = _filter("rotate_upstream_ca_cas")[1](situation, old, {}, new)
    decision = _filter("rotate_upstream_ca_decision")[1](situation, cas["public"]["previous"], cas["public"]["new"],
                                                         live={"tls.crt": old["tls.crt"]})
    assert (decision["old_skid"], decision["new_skid"], decision["problems"]) == (old_skid, new_skid, [])
    assert _filter("rotate_upstream_ca_roots")[1](decision["both_bundle"]) == [old_skid, new_skid]
    plan = _filter("rotate_upstream_ca_plan")[1](situation, decision, _options(stop_after="introduced"), check_mode=True)
    assert plan[0].startswith("Plan (check mode: nothing is written)") and plan[-1].startswith("  introduced: ")
    retire = _filter("rotate_upstream_ca_retirement")[1](
        [{"x509_authorities": {"old": {"upstream_authority_subject_key_id": old_skid}},
          "bundle_roots": [{"subject_key_id": old_skid, "tainted": False}]}], old_skid, decision["revocable"])
    assert retire["retirer"] == 0 and retire["old_in_bundle"]
    report = _filter("rotate_upstream_ca_report")[1](situation, decision, _options(stop_after="introduced"),
                                                     phase_seconds={"staged": 1.0, "introduced": 2.0}, check_mode=False,
                                                     started_at="2026-12-07T10:00:00Z")
    assert report["status"] == "stopped" and report["started_at"] == "2026-12-07T10:00:00Z"
    assert old["tls.key"] not in repr(report) and new["tls.key"] not in repr(report)


def test_errors_are_filter_errors_naming_the_filter():
    with pytest.raises(AnsibleFilterError, match=r"^ardur.spire.rotate_upstream_ca_situation: server.conf of ConfigMap "):
        _filter("rotate_upstream_ca_situation")[1](_options(), server_conf=1)
    with pytest.raises(AnsibleFilterError, match=r"^ardur.spire.rotate_upstream_ca_roots: a certificate cannot be read"):
        _filter("rotate_upstream_ca_roots")[1]("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(AnsibleFilterError, match=r"^ardur.spire.rotate_upstream_ca_report: options must be a dict"):
        _filter("rotate_upstream_ca_report")[1]({}, None, None)
