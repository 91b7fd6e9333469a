"""Bad input never reaches the cluster: each class fails in phase 1 with a message naming
the input, and the render directory receives no manifest."""

import pytest

from conftest import run_playbook, write_ca


def _rejected(result, *names):
    assert result.rc != 0, result.output[-3000:]
    for name in names:
        assert name in result.output, "%s not named in:\n%s" % (name, result.output[-3000:])
    written = list(result.dir.glob("*.yaml")) if result.dir.exists() else []
    assert written == [], "manifests written despite the error: %s" % written
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
    # ardur.spire.spire_config (strict) refuses what SPIRE would refuse, before anything is written.
    _rejected(run_playbook(tmp_path, dict(base_vars, spire_server_ca_ttl="24 hours")), "ca_ttl")


def test_bad_input_in_cluster_mode_fails_before_any_cluster_call(tmp_path, base_vars):
    # No render directory: the kubeconfig does not exist, so reaching a Kubernetes module
    # would fail with a connection error instead of the input error.
    result = run_playbook(tmp_path, dict(base_vars, spire_server_replicaz=5), render=False)
    assert result.rc != 0
    assert "spire_server_replicaz" in result.output
    assert "kube-config" not in result.output and "kubeconfig" not in result.output.lower().replace("spire_kubeconfig", "")
