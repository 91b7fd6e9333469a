"""Bad input never reaches the cluster: each class fails in phase 1 with a message naming
the input and the rule, and nothing at all is written to the render directory."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import IDENTITY, run_playbook, write_ca


def _rejected(result, *names):
    assert result.rc != 0, result.output[-3000:]
    for name in names:
        assert name in result.output, "%s not named in:\n%s" % (name, result.output[-3000:])
    # No manifest, no generated CA key, not even a directory: the render directory stays absent or empty.
    written = sorted(str(p.relative_to(result.dir)) for p in result.dir.rglob("*")) if result.dir.exists() else []
    assert written == [], "written despite the error: %s" % written
    return result


@pytest.mark.parametrize("value", ["spiffe://ardur.internal", "Ardur.Internal", "ardur.internal:8443", ""])
def test_bad_trust_domain(tmp_path, base_vars, value):
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_trust_domain=value)), "spire_trust_domain")


@pytest.mark.parametrize("name", ["spire_agent_cluster_name", "spire_server_cluster_name", "spire_agent_trust_domain"])
def test_per_component_cluster_settings_are_refused(tmp_path, base_vars, name):
    # The cluster name has one source (spire_cluster_name), so server and agent cannot
    # disagree; an attempt to override it for one component is an unknown input.
    _rejected(run_playbook(tmp_path, dict(base_vars, **{name: "other"})), name, "Unknown input")


def test_unknown_role_input(tmp_path, base_vars):
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_server_replicaz=5)), "spire_server_replicaz")


def test_unknown_role_parameter_is_rejected(tmp_path):
    # Role parameters meet two gates: the spire role's unknown-input check (it runs first, as the
    # dependency) and the role's argument spec.
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  roles:\n    - role: ardur.spire.csi_driver\n      csi_driver_kubelet_dirr: /x\n")
    result = run_playbook(tmp_path, {}, playbook=str(playbook))
    _rejected(result, "csi_driver_kubelet_dirr")
    assert "Unknown input" in result.output or "Unsupported parameters" in result.output


def test_sqlite_with_three_replicas(tmp_path, base_vars):
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_server_datastore_type="sqlite3")),
              "spire_server_datastore_type", "spire_server_replicas")


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "require"])
def test_weak_database_tls(tmp_path, base_vars, mode):
    _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_sslmode=mode)),
              "postgres_secret_sslmode", "postgres_secret_allow_insecure_tls")


def test_verified_tls_needs_the_database_ca(tmp_path, base_vars):
    _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_ca_file="")), "postgres_secret_ca_file")


def test_password_is_required(tmp_path, base_vars):
    inputs = dict(base_vars)
    del inputs["postgres_secret_password"]
    _rejected(run_playbook(tmp_path, inputs), "postgres_secret_password")


def test_password_with_control_characters(tmp_path, base_vars):
    result = _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_password="line1\nline2")),
                       "postgres_secret_password")
    assert "line1" not in result.output


def test_expired_upstream_ca(tmp_path, base_vars):
    cert, key = write_ca(tmp_path / "ca", "expired", days=-1, not_before_days=-30)
    _rejected(run_playbook(tmp_path, dict(base_vars, upstream_ca_cert_file=str(cert), upstream_ca_key_file=str(key))),
              "upstream_ca_cert_file", "not valid now")


def test_upstream_certificate_that_is_not_a_ca(tmp_path, base_vars):
    cert, key = write_ca(tmp_path / "ca", "leaf", is_ca=False)
    _rejected(run_playbook(tmp_path, dict(base_vars, upstream_ca_cert_file=str(cert), upstream_ca_key_file=str(key))),
              "upstream_ca_cert_file", "not a CA")


def test_upstream_certificate_and_key_that_do_not_match(tmp_path, base_vars):
    cert, _unused = write_ca(tmp_path / "ca1", "one")
    _unused, key = write_ca(tmp_path / "ca2", "two")
    _rejected(run_playbook(tmp_path, dict(base_vars, upstream_ca_cert_file=str(cert), upstream_ca_key_file=str(key))),
              "upstream_ca_cert_file", "do not match")


def test_server_config_rule_from_spire_config(tmp_path, base_vars):
    # Refused in preflight, naming the input, before the upstream CA is generated into the render directory.
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_server_ca_ttl="24 hours")),
              "spire_server_ca_ttl=24 hours is not a Go duration")


def test_bad_input_in_cluster_mode_fails_before_any_cluster_call(tmp_path, base_vars):
    # No render directory: the kubeconfig does not exist, so reaching a Kubernetes module
    # would fail with a connection error instead of the input error.
    result = run_playbook(tmp_path, dict(base_vars, spire_server_replicaz=5), render=False)
    assert result.rc != 0
    assert "spire_server_replicaz" in result.output
    assert "kube-config" not in result.output and "kubeconfig" not in result.output.lower().replace("spire_kubeconfig", "")


# --- the trust domain and the cluster name have no default ------------------------------------------

@pytest.mark.parametrize("missing", [["spire_trust_domain"], ["spire_cluster_name"],
                                     ["spire_trust_domain", "spire_cluster_name"]])
def test_trust_domain_and_cluster_name_are_required(tmp_path, base_vars, missing):
    inputs = {k: v for k, v in base_vars.items() if k not in missing}
    result = _rejected(run_playbook(tmp_path, inputs), *["%s is required: set it" % name for name in missing])
    for name in missing:
        assert "-e %s=" % name in result.output  # says what to set


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_empty_trust_domain_or_cluster_name_is_missing(tmp_path, base_vars, name):
    _rejected(run_playbook(tmp_path, dict(base_vars, **{name: ""})), "%s is required: set it" % name)


# --- durations: checked where they enter, naming the input ------------------------------------------

@pytest.mark.parametrize("name, value, rule", [
    ("spire_server_ca_ttl", "1d", "is not a Go duration: unknown unit 'd'"),
    ("spire_server_default_x509_svid_ttl", "1 h", "is not a Go duration"),
    ("spire_server_default_jwt_svid_ttl", "-5m", "must not be negative"),
    ("spire_server_datastore_conn_max_lifetime", "30 minutes", "is not a Go duration"),
    ("spire_server_default_x509_svid_ttl", "12h", "is 12h, more than min(ca_ttl/6, 7d) = 4h"),
    ("registrations_max_x509_svid_ttl", "4hours", "is not a Go duration"),
    ("registrations_max_jwt_svid_ttl", "0", "must be longer than 0"),
])
def test_bad_duration(tmp_path, base_vars, name, value, rule):
    _rejected(run_playbook(tmp_path, dict(base_vars, **{name: value})), "%s=%s %s" % (name, value, rule))


# --- files: PEM only, unencrypted keys, the message names the input ---------------------------------

def _der(pem_path, directory, kind="cert"):
    der = directory / (pem_path.name + ".der")
    data = pem_path.read_bytes()
    if kind == "cert":
        der.write_bytes(x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER))
    else:
        key = serialization.load_pem_private_key(data, None)
        der.write_bytes(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return der


def test_der_database_ca(tmp_path, base_vars, db_ca):
    _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_ca_file=str(_der(db_ca, tmp_path)))),
              "postgres_secret_ca_file", "is DER (binary) encoded, not PEM", "openssl x509 -inform DER")


def test_private_key_in_the_database_ca_file(tmp_path, base_vars):
    cert, key = write_ca(tmp_path / "ca", "dbca2")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(cert.read_bytes() + key.read_bytes())
    result = _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_ca_file=str(bundle))),
                       "postgres_secret_ca_file", "holds a private key")
    assert "BEGIN PRIVATE KEY" not in result.output


@pytest.mark.parametrize("which", ["cert", "key"])
def test_der_upstream_ca_file(tmp_path, base_vars, which):
    cert, key = write_ca(tmp_path / "ca", "upstream")
    files = {"cert": cert, "key": key}
    files[which] = _der(files[which], tmp_path, which)
    _rejected(run_playbook(tmp_path, dict(base_vars, upstream_ca_cert_file=str(files["cert"]),
                                          upstream_ca_key_file=str(files["key"]))),
              "upstream_ca_%s_file" % which, "is DER (binary) encoded, not PEM")


def test_upstream_ca_file_that_is_not_pem(tmp_path, base_vars):
    _unused, key = write_ca(tmp_path / "ca", "upstream")
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate\n")
    _rejected(run_playbook(tmp_path, dict(base_vars, upstream_ca_cert_file=str(text), upstream_ca_key_file=str(key))),
              "upstream_ca_cert_file", "holds no PEM block")


def test_encrypted_upstream_ca_key(tmp_path, base_vars):
    cert, key = write_ca(tmp_path / "ca", "upstream")
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(serialization.load_pem_private_key(key.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    _rejected(run_playbook(tmp_path, dict(base_vars, upstream_ca_cert_file=str(cert),
                                          upstream_ca_key_file=str(encrypted))),
              "upstream_ca_key_file", "encrypted (passphrase-protected) private key")


def test_generated_ca_subject_too_long(tmp_path, base_vars):
    # The default common name is the trust domain + " SPIRE upstream CA": over 64 characters the
    # certificate request fails, after the key was generated into the render directory.
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_trust_domain="a" * 50 + ".example.org")),
              "upstream_ca_common_name is 80 characters long, X.509 allows 64", "set upstream_ca_common_name")


# --- Kubernetes quantities and resources ------------------------------------------------------------

@pytest.mark.parametrize("name, value, rule", [
    ("spire_server_resources", {"requests": {"cpu": "lots"}},
     "spire_server_resources.requests.cpu: 'lots' is not a Kubernetes quantity"),
    ("spire_server_controller_manager_resources", {"limits": {"memory": "32MB"}},
     "spire_server_controller_manager_resources.limits.memory: '32MB' is not a Kubernetes quantity: unknown suffix 'MB'"),
    ("spire_agent_resources", {"requests": {"gpu": 1}}, "spire_agent_resources.requests.gpu: unknown resource name"),
    ("csi_driver_resources", {"requests": {"memory": "256Mi"}, "limits": {"memory": "128Mi"}},
     "csi_driver_resources.requests.memory: '256Mi' is more than limits.memory ('128Mi')"),
    ("csi_driver_registrar_resources", {"limits": {"memory": "512m"}},
     "csi_driver_registrar_resources.limits.memory: '512m' is 0.512 bytes"),
    ("spire_server_storage_size", "1GB", "spire_server_storage_size: '1GB' is not a Kubernetes quantity"),
])
def test_bad_kubernetes_quantity(tmp_path, base_vars, name, value, rule):
    _rejected(run_playbook(tmp_path, dict(base_vars, **{name: value})), rule)


# --- one source for the controller manager's health port --------------------------------------------

@pytest.mark.parametrize("extra", [
    {"registrations_health_bind_address": "0.0.0.0:9000"},
    {"registrations_health_bind_address": "0.0.0.0:9000", "spire_server_controller_manager_health_port": 9001},
], ids=["bind-address-only", "both-differ"])
def test_health_bind_address_that_disagrees_with_the_probes(tmp_path, base_vars, extra):
    _rejected(run_playbook(tmp_path, dict(base_vars, **extra)),
              "spire_server_controller_manager_health_port", "registrations_health_bind_address",
              "nothing listens on")


@pytest.mark.parametrize("port", [8080, 9443, 70000])
def test_health_port_that_collides_or_is_out_of_range(tmp_path, base_vars, port):
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_server_controller_manager_health_port=port)),
              "spire_server_controller_manager_health_port must be a port within 1-65535 that the server pod")


# --- versions and registries ------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, supported", [
    ("spire_version", "1.4.2", "1.13.x or 1.14.x"),
    ("spire_controller_manager_version", "0.7.0", "0.6.x"),
    ("spire_csi_driver_version", "0.3.1", "0.2.x"),
    ("spire_node_driver_registrar_version", "3.0.0", "2.x"),
])
def test_unsupported_version(tmp_path, base_vars, name, value, supported):
    _rejected(run_playbook(tmp_path, dict(base_vars, **{name: value})),
              "%s=%s is not a version this collection supports: use %s" % (name, value, supported))


@pytest.mark.parametrize("name, value, rule", [
    ("spire_image_registry", "https://ghcr.io", "must not have a URL scheme (https://)"),
    ("spire_image_registry", "ghcr.io/spiffe:1.14.2", "must not carry a tag"),
    ("spire_k8s_image_registry", "registry.k8s.io/", "must not end with '/'"),
    ("spire_image_registry", "mirror", "Docker Hub namespace"),
])
def test_bad_image_registry(tmp_path, base_vars, name, value, rule):
    _rejected(run_playbook(tmp_path, dict(base_vars, **{name: value})), "%s=%s: " % (name, value), rule)


HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize("images, rule", [
    ({"spire_sever": "ghcr.io/spiffe/spire-server:1.14.5"},
     "spire_images.spire_sever: not an image of this collection (known: spire_server, spire_agent, "
     "spire_controller_manager, spiffe_csi_driver, csi_node_driver_registrar)"),
    ({"spire_server": "ghcr.io/SPIFFE/spire-server:1.14.5"},
     "spire_images.spire_server: repository path component 'SPIFFE' must be lowercase"),
    ({"spire_agent": "ghcr.io/spiffe/spire-agent@sha256:" + HEX[:40]},
     "spire_images.spire_agent: digest sha256 has 40 hex digits, sha256 needs exactly 64"),
    ({"spiffe_csi_driver": "ghcr.io/spiffe/spiffe-csi-driver:"}, "spire_images.spiffe_csi_driver: has an empty tag"),
    ({"csi_node_driver_registrar": "ghcr.io"}, "spire_images.csi_node_driver_registrar: 'ghcr.io' names a registry but no repository"),
    ({"spire_controller_manager": "spiffe/spire-controller-manager:0.6.3"}, "Docker Hub namespace"),
    ({"spire_server": "ghcr.io/spiffe/spire-server"}, "names neither a tag nor a digest"),
    # The role's argument validation (type dict) refuses it before the preflight.
    ("ghcr.io/spiffe/spire-server:1.14.5", "argument 'spire_images' is of type str"),
], ids=["unknown-key", "uppercase-repository", "digest-length", "empty-tag", "no-repository", "no-registry", "latest",
        "not-a-dict"])
def test_bad_image_override(tmp_path, base_vars, images, rule):
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_images=images)), rule)


@pytest.mark.parametrize("policy", ["ifnotpresent", "Sometimes", ""])
def test_bad_image_pull_policy(tmp_path, base_vars, policy):
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_image_pull_policy=policy)), "spire_image_pull_policy")


# --- the database connection: one message per input, the password never shown -----------------------

def test_database_host_with_a_port(tmp_path, base_vars):
    result = _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_host="db.example.org:5432")),
                       "postgres_secret_host='db.example.org:5432' must be a DNS name or an IP address")
    assert "postgres_secret_port must" not in result.output and "postgres_secret_database" not in result.output


@pytest.mark.parametrize("port", [0, 70000])
def test_database_port_out_of_range(tmp_path, base_vars, port):
    result = _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_port=port)),
                       "postgres_secret_port must be a port number within 1-65535, got '%d'" % port)
    assert "postgres_secret_database" not in result.output  # not one message for every database input


@pytest.mark.parametrize("password, secret", [
    ("pa{% secretword", "secretword"),  # Jinja would quote it: "Encountered unknown tag 'secretword'"
    ("pa{{ss", "pa{{ss"),
    ("x{{ secretvar }}y", "secretvar"),  # would be templated into another value ("'secretvar' is undefined")
    ("pa{#ss", "pa{#ss"),
], ids=["tag", "open-expression", "expression-in-text", "comment"])
def test_password_with_template_markers(tmp_path, base_vars, password, secret):
    result = _rejected(run_playbook(tmp_path, dict(base_vars, postgres_secret_password=password)),
                       "postgres_secret_password", "!unsafe")
    assert secret not in result.output


# --- scheduling inputs: label maps and tolerations as the API server checks them --------------------

@pytest.mark.parametrize("name, value, rule", [
    ("spire_agent_tolerations", [{"operator": "exists"}],
     "spire_agent_tolerations[0].operator: must be Exists or Equal, got 'exists'"),
    ("spire_server_node_selector", {"zone": 1}, "spire_server_node_selector.zone: the value must be a string"),
    ("registrations_webhook_pod_selector", {"app.kubernetes.io/name": True},
     "registrations_webhook_pod_selector.app.kubernetes.io/name: the value must be a string"),
])
def test_bad_scheduling_input(tmp_path, base_vars, name, value, rule):
    _rejected(run_playbook(tmp_path, dict(base_vars, **{name: value})), rule)
