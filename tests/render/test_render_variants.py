"""Renders with other inputs: trust domain and names, replica count, imported CA, render
secrets, families, check mode, and a second render that must not regenerate the CA."""

import base64
import stat
import urllib.parse
from pathlib import Path

import pytest
import yaml

import subprocess

from conftest import IDENTITY, PASSWORD, run_playbook, spire_binary, write_ca


def _ok(result):
    assert result.rc == 0, result.output[-4000:]
    return result


@pytest.fixture(scope="module")
def render_other(tmp_path_factory, base_vars):
    """One render with many non-default inputs (renders are slow; each test reads one aspect)."""
    return _ok(run_playbook(tmp_path_factory.mktemp("other"), dict(
        base_vars, spire_trust_domain="prod.example.org", spire_cluster_name="eu-west-1",
        spire_namespace="identity", spire_server_replicas=5, spire_server_controller_manager_enabled=False,
        postgres_secret_sslmode="require", postgres_secret_allow_insecure_tls=True, postgres_secret_ca_file="")))


def test_other_trust_domain_cluster_and_namespace(render_other, render_defaults):
    result = render_other
    server = result.conf("server.conf")
    agent = result.conf("agent.conf")
    assert server["server"]["trust_domain"] == agent["agent"]["trust_domain"] == "prod.example.org"
    clusters = server["plugins"]["NodeAttestor"]["k8s_psat"]["plugin_data"]["clusters"]
    assert list(clusters) == ["eu-west-1"]
    assert agent["plugins"]["NodeAttestor"]["k8s_psat"]["plugin_data"]["cluster"] == "eu-west-1"
    assert clusters["eu-west-1"]["service_account_allow_list"] == ["identity:spire-agent"]
    assert server["plugins"]["Notifier"]["k8sbundle"]["plugin_data"]["namespace"] == "identity"
    assert agent["agent"]["server_address"] == "spire-server.identity.svc"
    namespaced = [d for d in result.all_docs() if d["kind"] not in (
        "Namespace", "ClusterRole", "ClusterRoleBinding", "CSIDriver", "CustomResourceDefinition",
        "ClusterSPIFFEID", "ValidatingWebhookConfiguration")]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"identity"}
    # A configuration change rolls the servers.
    key = "spire.ardur.io/config-checksum"
    new = result.one("StatefulSet", "spire-server")["spec"]["template"]["metadata"]["annotations"][key]
    old = render_defaults.one("StatefulSet", "spire-server")["spec"]["template"]["metadata"]["annotations"][key]
    assert new != old


def test_five_replicas(render_other):
    result = render_other
    assert result.one("StatefulSet", "spire-server")["spec"]["replicas"] == 5
    assert result.one("PodDisruptionBudget", "spire-server")["spec"]["maxUnavailable"] == 1


def test_imported_upstream_ca_with_render_secrets(tmp_path, base_vars):
    cert, key = write_ca(tmp_path / "import", "upstream")
    client_cert, client_key = write_ca(tmp_path / "client", "client", is_ca=False)
    result = _ok(run_playbook(tmp_path, dict(
        base_vars, upstream_ca_cert_file=str(cert), upstream_ca_key_file=str(key), spire_render_secrets=True,
        postgres_secret_sslmode="verify-ca", postgres_secret_client_cert_file=str(client_cert),
        postgres_secret_client_key_file=str(client_key))))
    secrets_dir = result.dir / "secrets"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    for path in secrets_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    upstream = [d for d in yaml.safe_load_all((secrets_dir / "upstream_ca.yaml").read_text()) if d][0]
    assert base64.b64decode(upstream["data"]["tls.crt"]) == cert.read_bytes()
    assert base64.b64decode(upstream["data"]["tls.key"]) == key.read_bytes()
    assert base64.b64decode(upstream["data"]["bundle.crt"]) == cert.read_bytes()
    # Imported: no CA kept in the render directory; the real Secrets are not in the ordinary files.
    assert not (result.dir / "upstream-ca").exists()
    assert not (result.dir / "upstream_ca.yaml").exists()
    assert not (result.dir / "postgres_secret.yaml").exists()
    datastore = [d for d in yaml.safe_load_all((secrets_dir / "postgres_secret.yaml").read_text()) if d][0]
    dsn = base64.b64decode(datastore["data"]["dsn"]).decode()
    parsed = urllib.parse.urlsplit(dsn)
    assert parsed.scheme == "postgresql"
    assert urllib.parse.unquote(parsed.password) == PASSWORD
    assert parsed.hostname == "pg.db.svc" and parsed.port == 5432 and parsed.path == "/spire"
    query = dict(urllib.parse.parse_qsl(parsed.query))
    assert query["sslmode"] == "verify-ca" and query["sslrootcert"] == "/run/spire/datastore/ca.crt"
    assert query["sslcert"] == "/run/spire/datastore/tls.crt" and query["sslkey"] == "/run/spire/datastore/tls.key"
    assert base64.b64decode(datastore["data"]["tls.key"]) == client_key.read_bytes()
    assert base64.b64decode(datastore["data"]["tls.crt"]) == client_cert.read_bytes()
    assert base64.b64decode(datastore["data"]["ca.crt"]) == Path(base_vars["postgres_secret_ca_file"]).read_bytes()
    assert client_key.read_text().splitlines()[1] not in result.output
    # The real SPIRE 1.14.2 server reads the rendered server.conf with this DSN substituted by
    # -expandEnv (a quote or backslash in the password would break the HCL string).
    binary = spire_binary("spire-server")
    if binary is not None:
        proc = subprocess.run([str(binary), "validate", "-config", str(result.dir / "server.conf"), "-expandEnv"],
                              env={"SPIRE_DATASTORE_DSN": dsn}, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    # Only unreserved characters and %XX: safe inside the HCL string after -expandEnv.
    assert not set(dsn) & set("\"\\ '$`{}")
    assert PASSWORD not in result.output


def test_second_render_reuses_the_generated_ca(tmp_path, base_vars):
    first = _ok(run_playbook(tmp_path, base_vars))
    cert_before = (first.dir / "upstream-ca" / "tls.crt").read_bytes()
    key_before = (first.dir / "upstream-ca" / "tls.key").read_bytes()
    second = _ok(run_playbook(tmp_path, dict(base_vars, upstream_ca_key_type="rsa-4096")))
    assert (second.dir / "upstream-ca" / "tls.crt").read_bytes() == cert_before
    assert (second.dir / "upstream-ca" / "tls.key").read_bytes() == key_before


def test_check_mode_writes_nothing(tmp_path, base_vars):
    result = _ok(run_playbook(tmp_path, base_vars, args=("--check", "--diff")))
    assert not result.dir.exists()
    assert PASSWORD not in result.output


def test_insecure_tls_needs_the_explicit_switch(render_other):
    dsn = render_other.one("Secret", "spire-datastore")["stringData"]["dsn"]
    assert "sslmode=require" in dsn and "sslrootcert" not in dsn


def test_single_sqlite_server_without_datastore_secret(tmp_path):
    result = _ok(run_playbook(tmp_path, {**IDENTITY, "spire_server_replicas": 1, "spire_server_datastore_type": "sqlite3"}))
    assert not (result.dir / "postgres_secret.yaml").exists()
    server = result.conf("server.conf")
    assert server["plugins"]["DataStore"]["sql"]["plugin_data"]["database_type"] == "sqlite3"
    container = result.one("StatefulSet", "spire-server")["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container


def test_controller_manager_sidecar_can_be_switched_off(render_other):
    containers = render_other.one("StatefulSet", "spire-server")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["spire-server"]


FAMILIES = [
    {"name": "crewai", "app": "crew-planner", "container": "planner", "namespace": "crew",
     "service_account": "crew-planner"},
    {"name": "llamaindex", "app": "indexer", "container": "indexer", "namespace": "rag"},
]


@pytest.mark.parametrize("families", [None, FAMILIES], ids=["default-families", "other-families"])
def test_samples_follow_the_registration_families(tmp_path, families):
    extra = dict(IDENTITY) if families is None else {**IDENTITY, "registrations_families": families}
    result = _ok(run_playbook(tmp_path, extra, playbook="samples.yml"))
    expected = families or [
        {"name": "langchain", "app": "langchain-agent", "container": "langchain", "namespace": "ardur-agents",
         "service_account": "langchain-agent"},
        {"name": "langgraph", "app": "langgraph-agent", "container": "langgraph", "namespace": "ardur-agents",
         "service_account": "langgraph-agent"},
        {"name": "autogen", "app": "autogen-agent", "container": "autogen", "namespace": "ardur-agents",
         "service_account": "autogen-agent"},
    ]
    deployments = {d["metadata"]["name"]: d for d in result.docs("samples") if d["kind"] == "Deployment"}
    assert set(deployments) == {f["app"] for f in expected}
    for family in expected:
        deployment = deployments[family["app"]]
        assert deployment["metadata"]["namespace"] == family["namespace"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["framework"] == family["name"]
        assert labels["app.kubernetes.io/name"] == family["app"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == family.get("service_account", family["app"])
        container = pod["containers"][0]
        assert container["name"] == family["container"]
        assert {"name": "SPIFFE_ENDPOINT_SOCKET", "value": "unix:///spiffe-workload-api/spire-agent.sock"} in container["env"]
        mount = container["volumeMounts"][0]
        assert mount["mountPath"] == "/spiffe-workload-api" and mount["readOnly"] is True
        assert pod["volumes"][0]["csi"] == {"driver": "csi.spiffe.io", "readOnly": True}
    namespaces = {d["metadata"]["name"] for d in result.docs("samples") if d["kind"] == "Namespace"}
    assert namespaces == {f["namespace"] for f in expected}
    accounts = {(d["metadata"]["namespace"], d["metadata"]["name"])
                for d in result.docs("samples") if d["kind"] == "ServiceAccount"}
    assert accounts == {(f["namespace"], f.get("service_account", f["app"])) for f in expected}


UNSAFE_PASSWORD = "p{{a}}%{#b"


def test_health_port_has_one_source_and_unsafe_password_with_template_markers(tmp_path, base_vars):
    """spire_server_controller_manager_health_port alone moves both the probes' port and the
    controller manager's listener; a password marked !unsafe keeps its template markers."""
    vars_file = tmp_path / "unsafe.yml"
    vars_file.write_text("postgres_secret_password: !unsafe '%s'\n" % UNSAFE_PASSWORD, encoding="utf-8")
    result = _ok(run_playbook(tmp_path, dict(base_vars, spire_server_controller_manager_health_port=9000,
                                             spire_render_secrets=True),
                              args=("-e", "@%s" % vars_file)))
    pod = result.one("StatefulSet", "spire-server")["spec"]["template"]["spec"]
    sidecar = [c for c in pod["containers"] if c["name"] == "spire-controller-manager"][0]
    assert {"name": "cm-health", "containerPort": 9000, "protocol": "TCP"} in sidecar["ports"]
    assert sidecar["livenessProbe"]["httpGet"]["port"] == sidecar["readinessProbe"]["httpGet"]["port"] == "cm-health"
    configmap = result.one("ConfigMap", "spire-controller-manager")
    config = yaml.safe_load(configmap["data"]["controller-manager-config.yaml"])
    assert config["health"] == {"healthProbeBindAddress": "0.0.0.0:9000"}
    datastore = [d for d in yaml.safe_load_all((result.dir / "secrets" / "postgres_secret.yaml").read_text()) if d][0]
    dsn = base64.b64decode(datastore["data"]["dsn"]).decode()
    assert urllib.parse.unquote(urllib.parse.urlsplit(dsn).password) == UNSAFE_PASSWORD
    assert UNSAFE_PASSWORD not in result.output


# --- images: per-image overrides (digests included) and the pull policy -----------------------------

DIGEST = "sha256:" + "0123456789abcdef" * 4
MIRROR = "mirror.example.org:5000"
IMAGES = {
    "spire_server": "%s/spire/spire-server:1.14.5@%s" % (MIRROR, DIGEST),
    "spire_agent": "%s/spire/spire-agent@%s" % (MIRROR, DIGEST),
    "spire_controller_manager": "%s/spire/spire-controller-manager:0.6.3" % MIRROR,
    "spiffe_csi_driver": "lab.ardur.invalid/spiffe/spiffe-csi-driver:0.2.7",
}


def _containers(result):
    """{container name: container} of every workload the render wrote."""
    found = {}
    for doc in result.all_docs():
        if doc["kind"] in ("StatefulSet", "DaemonSet", "Deployment"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                found[container["name"]] = container
    return found


def test_image_overrides_and_pull_policy_reach_every_container(tmp_path, base_vars, render_defaults):
    # The registrar is left out: it stays spire_k8s_image_registry's, at its pinned version.
    result = _ok(run_playbook(tmp_path, dict(base_vars, spire_images=IMAGES, spire_image_pull_policy="Never",
                                             spire_k8s_image_registry=MIRROR + "/k8s")))
    containers = _containers(result)
    assert {name: c["image"] for name, c in containers.items()} == {
        "spire-server": IMAGES["spire_server"],
        "spire-controller-manager": IMAGES["spire_controller_manager"],
        "spire-agent": IMAGES["spire_agent"],
        "spiffe-csi-driver": IMAGES["spiffe_csi_driver"],
        "node-driver-registrar": MIRROR + "/k8s/sig-storage/csi-node-driver-registrar:v2.9.4",
    }
    assert {c["imagePullPolicy"] for c in containers.values()} == {"Never"}
    # The pinned version still decides the configuration: only the image lines differ from the defaults.
    assert result.conf("server.conf") == render_defaults.conf("server.conf")
    assert result.conf("agent.conf") == render_defaults.conf("agent.conf")
    # The exact text written: the reference with its digest, untouched, in the StatefulSet and DaemonSet.
    for name, key in (("spire_server", "spire_server"), ("spire_agent", "spire_agent")):
        text = (result.dir / ("%s.yaml" % name)).read_text(encoding="utf-8")
        assert "        image: %s\n        imagePullPolicy: Never\n" % IMAGES[key] in text


def test_default_images_and_pull_policy(render_defaults):
    containers = _containers(render_defaults)
    assert {c["imagePullPolicy"] for c in containers.values()} == {"IfNotPresent"}
    assert containers["node-driver-registrar"]["image"] == "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.9.4"


def test_samples_use_the_agent_image_and_the_pull_policy(tmp_path):
    image = "%s/spire/spire-agent:1.14.5" % MIRROR
    result = _ok(run_playbook(tmp_path, dict(IDENTITY, spire_images={"spire_agent": image},
                                             spire_image_pull_policy="Always"), playbook="samples.yml"))
    pods = [d["spec"]["template"]["spec"] for d in result.docs("samples") if d["kind"] == "Deployment"]
    assert pods and {(c["image"], c["imagePullPolicy"]) for pod in pods for c in pod["containers"]} == {(image, "Always")}
