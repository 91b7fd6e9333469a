"""The input checks behind the preflight filters (plugins/module_utils/_spire/inputs.py)."""

import datetime
from fractions import Fraction

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ardur.spire.plugins.module_utils._spire import inputs


# ------------------------------------------------------------------ durations
@pytest.mark.parametrize("value", ["24h", "1h30m", "300ms", "5m", "168h", "1.5h"])
def test_durations_accepted(value):
    assert inputs.duration_problem(value) == ""


@pytest.mark.parametrize("value, fragment", [
    ("1d", "unknown unit 'd'"), ("24 hours", "is not a Go duration"), ("", "is not a Go duration"),
    ("1", "missing unit"), ("-5m", "must not be negative"), ("0", "must be longer than 0"),
    ("0s", "must be longer than 0"), (5, 'must be a Go duration string such as "1h30m", got a number'),
    (None, "got nothing"), (True, "got a boolean"),
])
def test_durations_refused(value, fragment):
    assert fragment in inputs.duration_problem(value)


def test_duration_hint_mentions_days():
    assert "7d is 168h" in inputs.duration_problem("7d")


def test_zero_duration_when_allowed():
    assert inputs.duration_problem("0", allow_zero=True) == ""
    assert "negative" in inputs.duration_problem("-1s", allow_zero=True)


@pytest.mark.parametrize("ttl, ca_ttl, ok", [
    ("4h", "24h", True), ("4h1s", "24h", False), ("1h", "6h", True), ("2h", "6h", False),
    ("168h", "1200h", True), ("169h", "1200h", False),  # the 7-day cap
    ("12h", "not-a-duration", True),  # the CA TTL's own check reports that one
])
def test_svid_ttl_within_ca_ttl(ttl, ca_ttl, ok):
    problem = inputs.duration_problem(ttl, ca_ttl=ca_ttl)
    assert (problem == "") is ok, problem
    if not ok:
        assert "min(ca_ttl/6, 7d)" in problem and "SPIRE rule" in problem


def test_svid_ttl_message_says_how_to_fix():
    assert inputs.duration_problem("12h", ca_ttl="24h") == (
        "is 12h, more than min(ca_ttl/6, 7d) = 4h for a CA TTL of 24h (SPIRE rule: an SVID cannot outlive the CA "
        "that signs it and is cut short); lower it or raise the CA TTL to at least 72h")


# ------------------------------------------------------------------ quantities
@pytest.mark.parametrize("value, amount", [
    ("100m", Fraction(1, 10)), ("1", 1), ("1.5", Fraction(3, 2)), ("256Mi", 256 * 2 ** 20), ("1Gi", 2 ** 30),
    ("1k", 1000), ("1M", 10 ** 6), ("1E", 10 ** 18), ("2Ei", 2 * 2 ** 60), ("1e3", 1000), ("1E3", 1000),
    ("5e-3", Fraction(5, 1000)), ("+2", 2), ("-2", -2), (".5", Fraction(1, 2)), ("1.", 1), ("0", 0),
    ("500u", Fraction(5, 10 ** 4)), ("3n", Fraction(3, 10 ** 9)), (2, 2), (0.25, Fraction(1, 4)),
])
def test_quantities_parsed(value, amount):
    assert inputs.parse_quantity(value) == amount


@pytest.mark.parametrize("value, fragment", [
    ("lots", "is not a Kubernetes quantity"), ("32MB", "unknown suffix 'MB'"), ("32MB", "did you mean 32M or 32Mi?"),
    ("1K", "did you mean 1k or 1Ki?"), ("1Gb", "did you mean 1G or 1Gi?"), ("2 cores", "is not a Kubernetes quantity"),
    ("1Ki5", "unknown suffix"), ("1e", "unknown suffix"), ("1e1.5", "is not a Kubernetes quantity"),
    ("1e99", "exponent out of range"), ("", "is not a Kubernetes quantity"), (" 1", "is not a Kubernetes quantity"),
    ("1B", "did you mean 1 (no unit)?"), (True, "got a boolean"), ([1], "got a list"),
])
def test_quantities_refused(value, fragment):
    with pytest.raises(ValueError) as info:
        inputs.parse_quantity(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("value, resource, positive, fragment", [
    ("-1", "cpu", False, "must not be negative"),
    ("0", "storage", True, "must be more than 0"),
    ("512m", "memory", False, "is 0.512 bytes, not a whole number of bytes; 'm' is milli, not mega: write 512Mi"),
    ("0.5", "ephemeral-storage", False, "is 0.5 bytes"),
    ("1.5", "hugepages-2Mi", False, "is 1.5 bytes"),
])
def test_quantity_rules(value, resource, positive, fragment):
    assert fragment in inputs.quantity_problem(value, resource=resource, positive=positive)


@pytest.mark.parametrize("value, resource", [("500m", "cpu"), ("0.5", "cpu"), ("1.5Ki", "memory"), ("0", "memory"),
                                             ("1Gi", "storage"), ("2Mi", None)])
def test_quantity_rules_accept(value, resource):
    assert inputs.quantity_problem(value, resource=resource) == ""


# ------------------------------------------------------------------ resources
@pytest.mark.parametrize("resources", [
    None, {}, {"requests": None}, {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    {"requests": {"cpu": 1, "ephemeral-storage": "1Gi"}, "limits": {"cpu": "1", "ephemeral-storage": "2Gi"}},
    {"requests": {"memory": "1Gi", "hugepages-2Mi": "4Mi"}, "limits": {"hugepages-2Mi": "4Mi"}},
])
def test_resources_accepted(resources):
    assert inputs.resources_problems(resources) == []


@pytest.mark.parametrize("resources, expected", [
    ({"requests": {"cpu": "lots"}}, ["requests.cpu: 'lots' is not a Kubernetes quantity"]),
    ({"limits": {"memory": "32MB"}}, ["limits.memory: '32MB' is not a Kubernetes quantity: unknown suffix 'MB'"]),
    ({"requests": {"gpu": 1}}, ["requests.gpu: unknown resource name 'gpu' (allowed: cpu, memory, ephemeral-storage, "
                                "hugepages-<size>)"]),
    ({"requests": {"nvidia.com/gpu": 1}}, ["requests.nvidia.com/gpu: unknown resource name"]),
    ({"claims": []}, ["claims: unknown key (allowed: requests, limits)"]),
    ({"requests": "1"}, ["requests: must be a dict of resource names to quantities, got a string"]),
    ({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}},
     ["requests.memory: '2Gi' is more than limits.memory ('1Gi'); Kubernetes requires requests <= limits"]),
    ({"requests": {"cpu": 2}, "limits": {"cpu": "1500m"}}, ["requests.cpu: 2 is more than limits.cpu ('1500m')"]),
    ({"requests": {"memory": "1Gi", "hugepages-2Mi": "2Mi"}}, ["limits.hugepages-2Mi: is required for hugepages"]),
    ({"requests": {"memory": "1Gi", "hugepages-2Mi": "2Mi"}, "limits": {"hugepages-2Mi": "4Mi"}},
     ["requests.hugepages-2Mi: must equal limits.hugepages-2Mi"]),
    ({"limits": {"hugepages-2Mi": "4Mi"}}, ["hugepages-2Mi: hugepages need a cpu or memory"]),
    ({"limits": {"hugepages-two": "4Mi", "memory": "1Gi"}}, ["limits.hugepages-two: hugepages-<size> needs a page size"]),
    ("1Gi", ["must be a dict with requests and/or limits, got a string"]),
])
def test_resources_refused(resources, expected):
    problems = inputs.resources_problems(resources)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert problem.startswith(start), problem


# ------------------------------------------------------------------ registries
@pytest.mark.parametrize("value", ["ghcr.io", "registry.k8s.io", "localhost", "localhost:5000", "mirror.example.org/ghcr",
                                   "registry.example.org:5000/a/b-c/d_e", "docker.io/myorg", "[::1]:5000",
                                   "10.0.0.1:5000/mirror", "Registry.Example.org"])
def test_registries_accepted(value):
    assert inputs.image_registry_problem(value) == ""


@pytest.mark.parametrize("value, fragment", [
    ("https://ghcr.io", "must not have a URL scheme (https://): an image reference has none; write 'ghcr.io'"),
    ("oci://ghcr.io/", "must not have a URL scheme (oci://)"),
    ("ghcr.io/", "must not end with '/': write 'ghcr.io'"),
    ("ghcr.io/spiffe:1.14.2", "must not carry a tag (':1.14.2')"),
    ("ghcr.io@sha256:abc", "must not carry a digest"),
    ("ghcr .io", "must not contain white space"),
    ("reg_x.io", "host 'reg_x.io' is not a DNS name"),
    ("-bad.io", "is not a DNS name"),
    ("reg.io:99999", "port '99999' is not a number within 1-65535"),
    ("reg.io:", "port '' is not a number"),
    ("reg.io/Mirror", "path component 'Mirror' must be lowercase"),
    ("reg.io/a//b", "path component '' must be lowercase"),
    ("mirror", "Docker Hub namespace"),
    ("", "must be a registry host"),
    (None, "got nothing"),
    ("a.io/" + "x" * 200, "is longer than 200 characters"),
])
def test_registries_refused(value, fragment):
    assert fragment in inputs.image_registry_problem(value)


# ------------------------------------------------------------------ image references (spire_images)
HEX = "0123456789abcdef" * 4
IMAGE_KEYS = ["spire_server", "spire_agent", "spire_controller_manager", "spiffe_csi_driver", "csi_node_driver_registrar"]


@pytest.mark.parametrize("value, parts", [
    ("ghcr.io/spiffe/spire-server:1.14.5", ("ghcr.io", "spiffe/spire-server", "1.14.5", "")),
    ("ghcr.io/spiffe/spire-server@sha256:" + HEX, ("ghcr.io", "spiffe/spire-server", "", "sha256:" + HEX)),
    ("ghcr.io/spiffe/spire-server:1.14.5@sha256:" + HEX, ("ghcr.io", "spiffe/spire-server", "1.14.5", "sha256:" + HEX)),
    ("registry.example.org:5000/mirror/spire-agent:1.14.5", ("registry.example.org:5000", "mirror/spire-agent", "1.14.5", "")),
    ("localhost:5000/spire-server:latest", ("localhost:5000", "spire-server", "latest", "")),
    ("localhost/spire-server:1.14.5", ("localhost", "spire-server", "1.14.5", "")),
    ("[::1]:5000/a/b-c/d_e:v2.9.4", ("[::1]:5000", "a/b-c/d_e", "v2.9.4", "")),
    ("10.0.0.1:5000/k8s/csi-node-driver-registrar:v2.9.4", ("10.0.0.1:5000", "k8s/csi-node-driver-registrar", "v2.9.4", "")),
    ("Registry.Example.org/x__y.z:Tag_1.0-rc.1", ("Registry.Example.org", "x__y.z", "Tag_1.0-rc.1", "")),
    ("docker.io/library/busybox@sha512:" + HEX * 2, ("docker.io", "library/busybox", "", "sha512:" + HEX * 2)),
    ("lab.ardur.invalid/lab/csi-node-registrar:t0a1b2c3", ("lab.ardur.invalid", "lab/csi-node-registrar", "t0a1b2c3", "")),
])
def test_image_references_accepted(value, parts):
    assert inputs.image_reference_problem(value) == ""
    parsed = inputs.parse_image_reference(value)
    assert (parsed["registry"], parsed["repository"], parsed["tag"], parsed["digest"]) == parts


@pytest.mark.parametrize("value, fragment", [
    # uppercase repository
    ("ghcr.io/SPIFFE/spire-server:1.14.5", "repository path component 'SPIFFE' must be lowercase"),
    ("ghcr.io/spiffe/Spire-Server:1.14.5", "repository path component 'Spire-Server' must be lowercase"),
    # missing repository
    ("ghcr.io", "'ghcr.io' names a registry but no repository"),
    ("registry.example.org:5000", "names a registry but no repository"),
    ("ghcr.io/", "names no repository after the registry 'ghcr.io'"),
    ("ghcr.io/:1.14.5", "names no repository after the registry 'ghcr.io'"),
    ("ghcr.io/spiffe/:1.14.5", "names no repository after the registry"),
    ("ghcr.io//spire-server:1.14.5", "repository path component '' must be lowercase"),
    # missing registry host
    ("spire-server:1.14.5", "names no registry host"),
    ("spiffe/spire-server:1.14.5", "'spiffe' has no \".\" and no port, so container runtimes read it as a Docker Hub "
                                   "namespace, not a registry host; write docker.io/spiffe/spire-server:1.14.5"),
    # digests
    ("ghcr.io/spiffe/spire-server@sha256:abc", "digest sha256 has 3 hex digits, sha256 needs exactly 64"),
    ("ghcr.io/spiffe/spire-server@sha256:" + HEX + "0", "digest sha256 has 65 hex digits"),
    ("ghcr.io/spiffe/spire-server:1.14.5@sha256:" + HEX[:63], "digest sha256 has 63 hex digits"),
    ("ghcr.io/spiffe/spire-server@sha256:" + HEX.upper(), "must be lowercase hex digits"),
    ("ghcr.io/spiffe/spire-server@sha256:" + "g" * 64, "must be hex digits"),
    ("ghcr.io/spiffe/spire-server@md5:" + HEX[:32], "digest algorithm 'md5' is not sha256 or sha512"),
    ("ghcr.io/spiffe/spire-server@" + HEX, "must be ALGORITHM:HEX"),
    ("ghcr.io/spiffe/spire-server:1.14.5@", "must be ALGORITHM:HEX"),
    # tags
    ("ghcr.io/spiffe/spire-server:", "has an empty tag (nothing after ':')"),
    ("ghcr.io/spiffe/spire-server:@sha256:" + HEX, "has an empty tag"),
    ("ghcr.io/spiffe/spire-server:.1", "tag '.1' must be 1-128 letters, digits"),
    ("ghcr.io/spiffe/spire-server:1.14.5:x", "tag '1.14.5:x' must be"),
    ("ghcr.io/spiffe/spire-server:" + "a" * 129, "must be 1-128 letters"),
    ("ghcr.io/spiffe/spire-server", "names neither a tag nor a digest: the container runtime would pull ':latest'"),
    # the rest of the form
    ("https://ghcr.io/spiffe/spire-server:1.14.5", "must not have a URL scheme (https://): an image reference has none; "
                                                   "write 'ghcr.io/spiffe/spire-server:1.14.5'"),
    ("ghcr.io/spiffe/spire-server:1.14.5 ", "must not contain white space"),
    ("reg.io:99999/spire-server:1.14.5", "port '99999' is not a number within 1-65535"),
    ("reg_x.io/spire-server:1.14.5", "host 'reg_x.io' is not a DNS name"),
    ("a.io/" + "x" * 260 + ":1", "is longer than 255 characters"),
    ("", "must be a full image reference such as registry.example.org/spiffe/spire-server:1.14.5"),
    (None, "got nothing (null)"),
    (1.14, "got a number"),
])
def test_image_references_refused(value, fragment):
    problem = inputs.image_reference_problem(value)
    assert fragment in problem, problem
    with pytest.raises(ValueError):
        inputs.parse_image_reference(value)


def test_image_overrides():
    assert inputs.images_problems({}, IMAGE_KEYS) == []
    assert inputs.images_problems(None, IMAGE_KEYS) == []
    good = {"spire_server": "ghcr.io/spiffe/spire-server:1.14.5@sha256:" + HEX,
            "csi_node_driver_registrar": "lab.ardur.invalid/lab/csi-node-registrar:t0"}
    assert inputs.images_problems(good, IMAGE_KEYS) == []
    assert inputs.images_problems(
        {"spire-server": "ghcr.io/x:1", "spire_agent": "", "spire_controller_manager": 3,
         "spiffe_csi_driver": "ghcr.io/X:1"}, IMAGE_KEYS) == [
        "spiffe_csi_driver: repository path component 'X' must be lowercase letters and digits, separated by \".\", "
        "\"_\", \"__\" or \"-\"",
        "spire-server: not an image of this collection (known: spire_server, spire_agent, spire_controller_manager, "
        "spiffe_csi_driver, csi_node_driver_registrar)",
        "spire_agent: is empty; leave the key out to use the default image",
        "spire_controller_manager: must be a full image reference such as registry.example.org/spiffe/spire-server:1.14.5 "
        "(a digest may follow: ...:1.14.5@sha256:<64 hex>), got a number",
    ]
    assert inputs.images_problems("ghcr.io/x:1", IMAGE_KEYS) == [
        "must be a dict of image names to image references, got a string"]


def test_registry_messages_are_unchanged_by_the_shared_host_check():
    assert inputs.image_registry_problem("reg_x.io") == (
        "host 'reg_x.io' is not a DNS name or a bracketed IPv6 address (letters, digits, \"-\" and \".\"; "
        "form host[:port][/path])")
    assert inputs.image_registry_problem("mirror/x") == (
        "'mirror' has no \".\" and no port, so container runtimes read it as a Docker Hub namespace, not a registry "
        "host; write docker.io/mirror/x for Docker Hub, or the full host name")


# ------------------------------------------------------------------ PEM
def _cert_and_key():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert, key


PAIR = _cert_and_key()
CERT = PAIR[0]
KEY = PAIR[1]
CERT_PEM = CERT.public_bytes(serialization.Encoding.PEM)
CERT_DER = CERT.public_bytes(serialization.Encoding.DER)
KEY_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
KEY_SEC1 = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
KEY_DER = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
KEY_ENCRYPTED = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"secret"))
KEY_LEGACY_ENCRYPTED = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.BestAvailableEncryption(b"secret"))


@pytest.mark.parametrize("data, kind", [
    (CERT_PEM, "certificate"), (CERT_PEM + CERT_PEM, "certificate"), (b"# Issuer: test\n" + CERT_PEM, "certificate"),
    (CERT_PEM.replace(b"\n", b"\r\n"), "certificate"), (KEY_PEM, "private_key"), (KEY_SEC1, "private_key"),
    (CERT_PEM.decode(), "certificate"),
])
def test_pem_accepted(data, kind):
    assert inputs.pem_problem(data, kind) == ""


@pytest.mark.parametrize("data, kind, fragment", [
    (CERT_DER, "certificate", "is DER (binary) encoded, not PEM; convert it, e.g. openssl x509 -inform DER"),
    (KEY_DER, "private_key", "is DER (binary) encoded, not PEM; convert it, e.g. openssl pkey -inform DER"),
    (b"", "certificate", "is empty"),
    (b"  \n", "private_key", "is empty"),
    (b"hello\n", "certificate", "holds no PEM block (-----BEGIN CERTIFICATE-----)"),
    (b"\x00\x01binary", "certificate", "is not a PEM text file"),
    (CERT_PEM + KEY_PEM, "certificate", "holds a private key (PRIVATE KEY block)"),
    (KEY_PEM, "certificate", "holds a private key"),
    (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "certificate",
     "holds a CERTIFICATE REQUEST block: only CERTIFICATE blocks are allowed"),
    (KEY_ENCRYPTED, "private_key", "encrypted (passphrase-protected) private key"),
    (KEY_LEGACY_ENCRYPTED, "private_key", "encrypted (passphrase-protected) private key"),
    (CERT_PEM, "private_key", "holds no private key (found CERTIFICATE)"),
    (KEY_PEM + CERT_PEM, "private_key", "must hold exactly one PEM block, the private key (found PRIVATE KEY, CERTIFICATE)"),
    (KEY_PEM + KEY_PEM, "private_key", "must hold exactly one PEM block"),
    (b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "certificate", "not valid base64"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n", "certificate", "begins with 'CERTIFICATE' and ends"),
])
def test_pem_refused(data, kind, fragment):
    problem = inputs.pem_problem(data, kind)
    assert fragment in problem
    assert "MI" not in problem  # no base64 content in a message


def test_pem_kind_is_checked():
    with pytest.raises(ValueError):
        inputs.pem_problem(CERT_PEM, "csr")


def test_pem_file(tmp_path):
    path = tmp_path / "ca.crt"
    path.write_bytes(CERT_DER)
    assert "DER" in inputs.pem_file_problem(str(path), "certificate")
    path.write_bytes(CERT_PEM)
    assert inputs.pem_file_problem(str(path), "certificate") == ""
    assert "cannot be read (No such file or directory)" in inputs.pem_file_problem(str(tmp_path / "missing"), "certificate")
    assert "cannot be read" in inputs.pem_file_problem(str(tmp_path), "certificate")
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * (1024 * 1024 + 10))
    assert "larger than 1 MiB" in inputs.pem_file_problem(str(big), "certificate")
    assert inputs.pem_file_problem("", "certificate") == "must be the path of a PEM file"


# ------------------------------------------------------------------ template markers
@pytest.mark.parametrize("text, line", [
    ("plain", None), ("a{b}c%", None), ("{{ x }}", 0), ("a{% if x %}b{% endif %}", 0), ("{# c #}", 0),
    ("pa{{ss", 1), ("pa{% secret", 1), ("pa{#ss", 1), ("x\n{{", 2),
    ("{% for i in x %}{% break %}{% endfor %}", 0), ("{% do x.append(1) %}", 0),
])
def test_template_syntax_error(text, line):
    assert inputs.template_syntax_error(text) == line


def test_raw_template_problems_name_the_input_never_the_value():
    variables = {
        "postgres_secret_password": "pa{% secretword",
        "spire_server_jwt_issuer": "{{ issuer }}",
        "registrations_families": [{"name": "x", "spiffe_id_template": "spiffe://td/{{ .PodMeta.Name }}"}],
        "upstream_ca_common_name": "ok",
        "not_checked": "{%",
    }
    problems = inputs.raw_template_problems(variables, list(variables)[:-1] + ["missing"])
    assert problems == [
        "postgres_secret_password: holds template markers ('{{', '{%' or '{#') that do not form a valid template "
        "(syntax error on line 1 of the value)",
        "registrations_families[0].spiffe_id_template: holds template markers ('{{', '{%' or '{#') that do not form "
        "a valid template (syntax error on line 1 of the value)",
    ]
    assert not any("secretword" in p or "PodMeta" in p for p in problems)


@pytest.mark.parametrize("password, refused", [
    ("{{ vault_pg_password }}", False), ("  {{ lookup('file', 'pw') }} ", False), ("plain%{x}", False),
    ("x{{ y }}z", True), ("{{ a }}{{ b }}", True), ("{% if x %}a{% endif %}", True), ("{# c #}pw", True),
])
def test_raw_template_problems_secrets(password, refused):
    problems = inputs.raw_template_problems({"pw": password}, ["pw"], secrets=["pw"])
    assert bool(problems) is refused, problems
    if refused:
        assert problems[0].startswith("pw: ")


def test_raw_template_problems_skip_untrusted_values():
    problems = inputs.raw_template_problems({"pw": "pa{{ss"}, ["pw"], trusted=lambda value: False)
    assert problems == []


# ------------------------------------------------------------------ labels and tolerations
@pytest.mark.parametrize("labels", [None, {}, {"disktype": "ssd", "kubernetes.io/os": "linux", "empty": "",
                                               "example.org/a_b.c-d": "A-1_b.2"}])
def test_labels_accepted(labels):
    assert inputs.labels_problems(labels) == []


@pytest.mark.parametrize("labels, fragment", [
    ({"zone": 1}, "zone: the value must be a string, got a number 1 (quote it)"),
    ({"ssd": True}, "ssd: the value must be a string, got a boolean"),
    ({"bad key": "x"}, "bad key: 'bad key' must be at most 63 letters"),
    ({"Example.org/x": "y"}, "the prefix of 'Example.org/x' must be a DNS subdomain"),
    ({"/x": "y"}, "the prefix of '/x' must be a DNS subdomain"),
    ({"a": "-x"}, "a: '-x' is not a label value"),
    ({"a": "x" * 64}, "is not a label value"),
    (["a"], "must be a dict of label keys to values, got a list"),
])
def test_labels_refused(labels, fragment):
    problems = inputs.labels_problems(labels)
    assert len(problems) == 1 and fragment in problems[0], problems


@pytest.mark.parametrize("tolerations", [
    None, [], [{"operator": "Exists"}], [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
    [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute", "tolerationSeconds": 30}],
    [{"key": "k", "operator": "Exists", "effect": "PreferNoSchedule"}],
])
def test_tolerations_accepted(tolerations):
    assert inputs.tolerations_problems(tolerations) == []


@pytest.mark.parametrize("tolerations, fragment", [
    ([{"operator": "exists"}], "[0].operator: must be Exists or Equal, got 'exists'"),
    ([{"key": "k", "operator": "Exists", "value": "v"}], "[0].value: must be empty when operator is Exists"),
    ([{"operator": "Equal"}], "[0].operator: must be Exists when key is empty"),
    ([{"key": "k", "value": 1}], "[0].value: must be a string (quote it), got a number"),
    ([{"key": "k", "effect": "NoSchedul"}], "[0].effect: must be NoSchedule, PreferNoSchedule, NoExecute or empty"),
    ([{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}], "[0].tolerationSeconds: only applies with effect NoExecute"),
    ([{"key": "k", "effect": "NoExecute", "tolerationSeconds": "5"}], "[0].tolerationSeconds: must be a whole number"),
    ([{"key": "bad key"}], "[0].key: 'bad key' must be at most 63"),
    ([{"Key": "k"}], "[0]: unknown key(s) Key"),
    (["Exists"], "[0]: must be a dict"),
    ({"operator": "Exists"}, "must be a list of tolerations, got a dict"),
])
def test_tolerations_refused(tolerations, fragment):
    problems = inputs.tolerations_problems(tolerations)
    assert len(problems) == 1 and fragment in problems[0], problems
