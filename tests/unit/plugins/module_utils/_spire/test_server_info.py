"""Certificate dates and bundle summaries of module_utils._spire (health reads the upstream CA from the bundle)."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ardur.spire.plugins.module_utils._spire import authority, exec_transport, server_info

UTC = datetime.timezone.utc


def make_cert(not_before, not_after, ski=True):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test root")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.mark.parametrize("not_after", [
    datetime.datetime(2036, 1, 2, 3, 4, 5, tzinfo=UTC),    # UTCTime
    datetime.datetime(2051, 6, 7, 8, 9, 10, tzinfo=UTC),   # GeneralizedTime (year >= 2050)
    datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),  # UTCTime of the 1900s
])
def test_certificate_dates_match_cryptography(not_after):
    not_before = datetime.datetime(1990, 1, 1, tzinfo=UTC)
    cert = make_cert(not_before, not_after)
    got = authority.certificate_dates(cert.public_bytes(serialization.Encoding.DER))
    assert got == (int(not_before.timestamp()), int(not_after.timestamp()))


def test_certificate_dates_refuses_what_is_not_a_certificate():
    with pytest.raises(ValueError):
        authority.certificate_dates(b"\x02\x01\x01")
    with pytest.raises(ValueError):
        authority.certificate_dates(b"\x30\x03\x02\x01\x01")


def test_certificate_summaries_of_a_bundle():
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    soon = make_cert(now - datetime.timedelta(days=1), now + datetime.timedelta(days=10))
    later = make_cert(now - datetime.timedelta(days=1), now + datetime.timedelta(days=400), ski=False)
    pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in (soon, later))
    blocks = server_info.pem_certificates(pem + "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
    summaries = server_info.certificate_summaries(blocks, int(now.timestamp()))
    assert len(summaries) == 2  # the broken block is skipped, not fatal
    first, second = summaries
    want_ski = soon.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    assert first["subject_key_id"] == want_ski
    assert first["seconds_left"] == 10 * 86400
    assert first["not_after_iso"] == (now + datetime.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert second["subject_key_id"] == "" and second["seconds_left"] == 400 * 86400


# The exception kubernetes.stream raises when the API refuses an exec (a Pending pod), as text.
REFUSED_EXEC = ("(0)\nReason: Handshake status 400 Bad Request -+-+- {'audit-id': 'x', 'content-type': "
                "'application/json'} -+-+- {\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                "\"Failure\",\"message\":\"pod spire-server-1 does not have a host assigned\",\"reason\":\"BadRequest\","
                "\"code\":400}")


def test_exec_failure_names_the_api_reason():
    assert exec_transport.exec_failure("spire-system", "spire-server-1", Exception(REFUSED_EXEC)) == (
        "exec in spire-system/spire-server-1 failed: pod spire-server-1 does not have a host assigned (BadRequest)")
    # Without a Status body: the exception itself, on one line.
    assert exec_transport.exec_failure("ns", "p", OSError("connection\n  refused")) == "exec in ns/p failed: connection refused"


def test_gather_stops_at_a_pod_it_cannot_reach():
    calls = []

    def run(argv, _stdin):
        calls.append(argv)
        return 1, "", exec_transport.exec_failure("spire-system", "spire-server-1", Exception(REFUSED_EXEC))

    result = server_info.ServerInfo(run, "spire-server", "/s").gather()
    assert len(calls) == 1 and calls[0][1] == "healthcheck"
    assert result["healthy"] is False and result["datastore_reachable"] is False
    assert list(result["errors"]) == ["healthcheck"]
    assert "does not have a host assigned" in result["errors"]["healthcheck"]
    assert result["bundle"] is None and result["agents"] is None and result["x509_authorities"] is None


def test_gather_reads_on_when_only_the_command_fails():
    def run(argv, _stdin):
        if argv[1] == "healthcheck":
            return 1, "", "datastore unavailable"
        return 0, "{}", ""

    result = server_info.ServerInfo(run, "spire-server", "/s").gather()
    assert result["healthy"] is False and list(result["errors"]) == ["healthcheck"]
    assert result["agents"] == [] and result["entries"]["listed"] == 0 and result["datastore_reachable"] is False
