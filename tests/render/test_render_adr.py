"""ADR-015 decisions, asserted on the default render (one ansible-playbook run)."""

import base64
import re
import stat
import urllib.parse

import os
import subprocess

import pytest

from conftest import PASSWORD, spire_binary


def _pod(workload):
    return workload["spec"]["template"]["spec"]


def _container(workload, name):
    found = [c for c in _pod(workload)["containers"] if c["name"] == name]
    assert len(found) == 1, name
    return found[0]


def test_render_writes_one_multidoc_file_per_role_and_the_configs(render_defaults):
    names = {p.name for p in render_defaults.dir.iterdir() if p.is_file()}
    for expected in ("namespace.yaml", "postgres_secret.yaml", "upstream_ca.yaml", "spire_server.yaml",
                     "spire_agent.yaml", "csi_driver.yaml", "server.conf", "agent.conf"):
        assert expected in names
    for doc in render_defaults.all_docs():
        assert {"apiVersion", "kind", "metadata"} <= set(doc)


def test_render_mode_runs_no_kubernetes_module(render_defaults):
    # -vvv prints every module it ships; K8S_AUTH_KUBECONFIG points at a missing file anyway.
    assert "AnsiballZ_k8s" not in render_defaults.output
    assert "kubernetes.core" not in re.findall(r"AnsiballZ_\w+", render_defaults.output)


# Decision 1: 3-replica StatefulSet, per-pod PVCs, PostgreSQL shared datastore.
def test_d1_statefulset_three_replicas_with_volume_claims(render_defaults):
    sts = render_defaults.one("StatefulSet", "spire-server")
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["serviceName"] == "spire-server-headless"
    claims = sts["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data"]
    assert claims[0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    mounts = {m["name"]: m["mountPath"] for m in _container(sts, "spire-server")["volumeMounts"]}
    assert mounts["data"] == "/run/spire/data"
    headless = render_defaults.one("Service", "spire-server-headless")
    assert headless["spec"]["clusterIP"] == "None"


def test_d1_postgres_dsn_reaches_the_server_through_env_and_expand_env(render_defaults):
    sts = render_defaults.one("StatefulSet", "spire-server")
    server = _container(sts, "spire-server")
    assert server["args"] == ["-config", "/run/spire/config/server.conf", "-expandEnv"]
    env = {e["name"]: e for e in server["env"]}
    assert env["SPIRE_DATASTORE_DSN"]["valueFrom"]["secretKeyRef"] == {"name": "spire-datastore", "key": "dsn"}
    sql = render_defaults.conf("server.conf")["plugins"]["DataStore"]["sql"]["plugin_data"]
    assert sql["database_type"] == "postgres"
    assert sql["connection_string"] == "${SPIRE_DATASTORE_DSN}"
    configmap = render_defaults.one("ConfigMap", "spire-server")
    assert "${SPIRE_DATASTORE_DSN}" in configmap["data"]["server.conf"]


def test_d1_datastore_secret_has_verified_tls_and_no_password(render_defaults):
    secret = render_defaults.one("Secret", "spire-datastore", file="postgres_secret")
    assert "spire.ardur.io/placeholder" in secret["metadata"]["annotations"]
    values = secret["stringData"]
    assert values["dsn"].startswith("REDACTED")
    assert "sslmode=verify-full" in values["dsn"]
    assert "sslrootcert=/run/spire/datastore/ca.crt" in values["dsn"]
    assert values["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")


# Decision 2: SPIFFE CSI driver.
def test_d2_csi_driver_object_and_daemonset(render_defaults):
    driver = render_defaults.one("CSIDriver", "csi.spiffe.io")
    assert driver["spec"] == {"attachRequired": False, "podInfoOnMount": True, "fsGroupPolicy": "None",
                              "volumeLifecycleModes": ["Ephemeral"]}
    ds = render_defaults.one("DaemonSet", "spiffe-csi-driver")
    plugin = _container(ds, "spiffe-csi-driver")
    assert plugin["securityContext"]["privileged"] is True
    assert plugin["args"] == ["-workload-api-socket-dir", "/spire-agent-socket", "-csi-socket-path", "/spiffe-csi/csi.sock"]
    pods = [m for m in plugin["volumeMounts"] if m["mountPath"] == "/var/lib/kubelet/pods"]
    assert pods and pods[0]["mountPropagation"] == "Bidirectional"
    registrar = _container(ds, "node-driver-registrar")
    assert registrar["securityContext"]["privileged"] is False
    assert registrar["securityContext"]["readOnlyRootFilesystem"] is True
    assert registrar["securityContext"]["allowPrivilegeEscalation"] is False
    assert "/var/lib/kubelet/plugins/csi.spiffe.io/csi.sock" in registrar["args"]
    host_paths = {v["name"]: v["hostPath"]["path"] for v in _pod(ds)["volumes"]}
    assert host_paths["agent-sockets"] == "/run/spire/agent-sockets"


# Decision 3: k8s_psat on both sides with the same cluster name; k8s + unix attestors.
def test_d3_k8s_psat_on_both_sides_with_one_cluster_name(render_defaults):
    server = render_defaults.conf("server.conf")["plugins"]["NodeAttestor"]
    agent = render_defaults.conf("agent.conf")["plugins"]["NodeAttestor"]
    assert list(server) == ["k8s_psat"] and list(agent) == ["k8s_psat"]
    clusters = server["k8s_psat"]["plugin_data"]["clusters"]
    assert list(clusters) == [agent["k8s_psat"]["plugin_data"]["cluster"]] == ["ardur"]
    assert clusters["ardur"]["service_account_allow_list"] == ["spire-system:spire-agent"]
    assert clusters["ardur"]["audience"] == ["spire-server"]


def test_d3_agent_token_attestors_and_host_pid(render_defaults):
    ds = render_defaults.one("DaemonSet", "spire-agent")
    pod = _pod(ds)
    assert pod["hostPID"] is True
    assert pod.get("hostNetwork", False) is False
    token = [v for v in pod["volumes"] if v["name"] == "agent-token"][0]
    source = token["projected"]["sources"][0]["serviceAccountToken"]
    assert source == {"path": "spire-agent", "audience": "spire-server", "expirationSeconds": 7200}
    conf = render_defaults.conf("agent.conf")
    assert conf["plugins"]["NodeAttestor"]["k8s_psat"]["plugin_data"]["token_path"] == "/var/run/secrets/tokens/spire-agent"
    attestors = conf["plugins"]["WorkloadAttestor"]
    assert set(attestors) == {"k8s", "unix"}
    k8s = attestors["k8s"]["plugin_data"]
    assert k8s["skip_kubelet_verification"] is False
    assert k8s["kubelet_secure_port"] == 10250
    assert k8s["node_name_env"] == "MY_NODE_NAME"
    env = {e["name"]: e for e in _container(ds, "spire-agent")["env"]}
    assert env["MY_NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert conf["agent"]["server_address"] == "spire-server.spire-system.svc"
    assert conf["agent"]["socket_path"] == "/run/spire/agent-sockets/spire-agent.sock"


# Decision 4: k8sbundle notifier -> spire-bundle ConfigMap -> agents.
def test_d4_k8sbundle_notifier_and_bundle_configmap(render_defaults):
    notifier = render_defaults.conf("server.conf")["plugins"]["Notifier"]["k8sbundle"]["plugin_data"]
    assert notifier == {"namespace": "spire-system", "config_map": "spire-bundle", "config_map_key": "bundle.crt"}
    bundle = render_defaults.one("ConfigMap", "spire-bundle")
    assert "data" not in bundle and "binaryData" not in bundle
    agent = render_defaults.one("DaemonSet", "spire-agent")
    volumes = {v["name"]: v for v in _pod(agent)["volumes"]}
    assert volumes["bundle"]["configMap"]["name"] == "spire-bundle"
    assert render_defaults.conf("agent.conf")["agent"]["trust_bundle_path"] == "/run/spire/bundle/bundle.crt"


# Decision 6: pinned versions.
def test_d6_images_are_pinned(render_defaults):
    images = set()
    for doc in render_defaults.all_docs():
        if doc["kind"] in ("StatefulSet", "DaemonSet", "Deployment"):
            images.update(c["image"] for c in _pod(doc)["containers"])
    assert images >= {
        "ghcr.io/spiffe/spire-server:1.14.2",
        "ghcr.io/spiffe/spire-agent:1.14.2",
        "ghcr.io/spiffe/spire-controller-manager:0.6.3",
        "ghcr.io/spiffe/spiffe-csi-driver:0.2.7",
        "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.9.4",
    }
    assert all(not image.endswith(":latest") and ":" in image for image in images)


# Decision 7: disk UpstreamAuthority from the Secret mounted as a directory; disk KeyManager.
def test_d7_disk_upstream_authority_from_secret_directory(render_defaults):
    plugins = render_defaults.conf("server.conf")["plugins"]
    upstream = plugins["UpstreamAuthority"]["disk"]["plugin_data"]
    assert upstream == {"cert_file_path": "/run/spire/upstream-ca/tls.crt",
                        "key_file_path": "/run/spire/upstream-ca/tls.key",
                        "bundle_file_path": "/run/spire/upstream-ca/bundle.crt"}
    sts = render_defaults.one("StatefulSet", "spire-server")
    mount = [m for m in _container(sts, "spire-server")["volumeMounts"] if m["name"] == "upstream-ca"]
    assert mount == [{"name": "upstream-ca", "mountPath": "/run/spire/upstream-ca", "readOnly": True}]
    assert "subPath" not in str(_pod(sts))
    volume = [v for v in _pod(sts)["volumes"] if v["name"] == "upstream-ca"][0]
    assert volume["secret"]["secretName"] == "spire-upstream-ca"


def test_d7_disk_key_manager_on_the_pod_volume(render_defaults):
    plugins = render_defaults.conf("server.conf")["plugins"]
    assert list(plugins["KeyManager"]) == ["disk"]
    assert plugins["KeyManager"]["disk"]["plugin_data"]["keys_path"].startswith("/run/spire/data/")
    assert render_defaults.conf("server.conf")["server"]["data_dir"] == "/run/spire/data"


def test_d7_generated_upstream_ca_is_a_ca(render_defaults):
    from cryptography import x509

    secret = render_defaults.one("Secret", "spire-upstream-ca", file="upstream_ca")
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert secret["stringData"]["tls.key"].startswith("REDACTED")
    assert secret["data"]["bundle.crt"] == secret["data"]["tls.crt"]
    key_dir = render_defaults.dir / "upstream-ca"
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((key_dir / "tls.key").stat().st_mode) == 0o600


# Operability and security choices (docs/deploy.md).
def test_pdb_and_topology_spread(render_defaults):
    pdb = render_defaults.one("PodDisruptionBudget", "spire-server")
    assert pdb["spec"]["maxUnavailable"] == 1
    sts = render_defaults.one("StatefulSet", "spire-server")
    assert pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]
    spread = {c["topologyKey"]: c for c in _pod(sts)["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["maxSkew"] == 1
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "ScheduleAnyway"


def test_server_pods_meet_the_restricted_pod_security_level(render_defaults):
    sts = render_defaults.one("StatefulSet", "spire-server")
    pod = _pod(sts)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "resources" in container and container["resources"]["requests"]
    for volume in pod["volumes"]:
        assert "hostPath" not in volume


def test_agent_and_csi_containers_drop_capabilities(render_defaults):
    for name in ("spire-agent", "spiffe-csi-driver"):
        for container in _pod(render_defaults.one("DaemonSet", name))["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    agent = _container(render_defaults.one("DaemonSet", "spire-agent"), "spire-agent")
    assert agent["securityContext"].get("privileged", False) is False


def test_namespace_pod_security_allows_the_node_components(render_defaults):
    namespace = render_defaults.one("Namespace", "spire-system")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_health_probes(render_defaults):
    for workload, container in (("StatefulSet", "spire-server"), ("DaemonSet", "spire-agent")):
        obj = render_defaults.one(workload, container)
        c = _container(obj, container)
        assert c["livenessProbe"]["httpGet"]["path"] == "/live"
        assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    for conf in ("server.conf", "agent.conf"):
        health = render_defaults.conf(conf)["health_checks"]
        assert health["listener_enabled"] is True and health["bind_port"] == "8080"


def test_controller_manager_sidecar_shares_the_server_socket(render_defaults):
    sts = render_defaults.one("StatefulSet", "spire-server")
    sidecar = _container(sts, "spire-controller-manager")
    assert sidecar["args"] == ["--config=/run/spire/controller-manager/controller-manager-config.yaml"]
    assert {p["containerPort"] for p in sidecar["ports"]} >= {9443}
    sockets = {c["name"]: [m["mountPath"] for m in c["volumeMounts"] if m["name"] == "server-socket"]
               for c in _pod(sts)["containers"]}
    assert sockets == {"spire-server": ["/tmp/spire-server/private"],
                       "spire-controller-manager": ["/tmp/spire-server/private"]}
    assert render_defaults.conf("server.conf")["server"]["socket_path"] == "/tmp/spire-server/private/api.sock"
    socket_volume = [v for v in _pod(sts)["volumes"] if v["name"] == "server-socket"][0]
    assert "emptyDir" in socket_volume
    volumes = {v["name"]: v for v in _pod(sts)["volumes"]}
    assert volumes["controller-manager-config"]["configMap"]["name"] == "spire-controller-manager"


def test_config_checksum_annotation_matches_server_conf(render_defaults):
    import hashlib

    sts = render_defaults.one("StatefulSet", "spire-server")
    text = (render_defaults.dir / "server.conf").read_text(encoding="utf-8")
    annotation = sts["spec"]["template"]["metadata"]["annotations"]["spire.ardur.io/config-checksum"]
    assert annotation == hashlib.sha256(text.encode()).hexdigest()


# RBAC: exactly what the components need.
def _rules(render, kind, name):
    return render.one(kind, name)["rules"]


def test_rbac_server_is_minimal(render_defaults):
    assert _rules(render_defaults, "ClusterRole", "spire-server-spire-system") == [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get"]},
    ]
    role = render_defaults.one("Role", "spire-server-bundle")
    assert role["metadata"]["namespace"] == "spire-system"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": ["spire-bundle"], "verbs": ["get", "patch"]}]
    binding = render_defaults.one("ClusterRoleBinding", "spire-server-spire-system")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "spire-server", "namespace": "spire-system"}]


def test_rbac_agent_only_reads_the_kubelet_pod_list(render_defaults):
    assert _rules(render_defaults, "ClusterRole", "spire-agent-spire-system") == [
        {"apiGroups": [""], "resources": ["nodes/pods"], "verbs": ["get"]}]
    csi = render_defaults.one("ServiceAccount", "spiffe-csi-driver")
    assert csi["automountServiceAccountToken"] is False
    for doc in render_defaults.docs("csi_driver"):
        assert doc["kind"] not in ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")


# Secrets never leave the Secret: not in files, not in the (-vvv) output.
def test_no_secret_in_rendered_files_or_output(render_defaults):
    encoded = urllib.parse.quote(PASSWORD, safe="")
    written = render_defaults.text()
    for needle in (PASSWORD, encoded, "Sup3r"):
        assert needle not in written
        assert needle not in render_defaults.output
    key_pem = (render_defaults.dir / "upstream-ca" / "tls.key").read_text(encoding="utf-8")
    body = [line for line in key_pem.splitlines() if line and not line.startswith("-----")]
    # The first lines hold the private scalar (the last one carries public key bits).
    for line in body[:2]:
        assert line not in render_defaults.output
        assert line not in "\n".join(p.read_text() for p in render_defaults.dir.glob("*.yaml"))


@pytest.mark.parametrize("component", ["server", "agent"])
def test_real_spire_accepts_the_rendered_configuration(render_defaults, component):
    binary = spire_binary("spire-%s" % component)
    if binary is None:
        pytest.skip("spire-%s not built (lab/build.sh spire)" % component)
    args = [str(binary), "validate", "-config", str(render_defaults.dir / ("%s.conf" % component))]
    env = dict(os.environ)
    if component == "server":
        args.append("-expandEnv")
        env["SPIRE_DATASTORE_DSN"] = "postgresql://spire:pw@pg:5432/spire?sslmode=verify-full"
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is valid" in proc.stdout
