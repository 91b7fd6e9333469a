# -*- coding: utf-8 -*-
"""The real SPIRE data plane of the ardur.spire lab, run from what the collection applied.

Usage (as root, from the collection root, with the venv's python):

    .venv/bin/python lab/dataplane.py up|down|status|verify|endpoints
    .venv/bin/python lab/dataplane.py watch --out counts.json [--interval 1]

The lab control plane (lab/lab.py) has real API objects but no kubelet: kwok marks the
SPIRE pods Running without running anything. This script plays the kubelet for those
pods, on this host, from the objects as they are in the API server:

* For each Pod of the server StatefulSet and of the agent DaemonSet, it materialises the
  Pod's volumes from the API (ConfigMaps, Secrets, emptyDirs, PVC-backed dirs, hostPaths
  per lab node, projected service-account tokens from the TokenRequest API bound to that
  Pod, kube-root-ca.crt), rebuilds the container env (value, secretKeyRef,
  configMapKeyRef, fieldRef) and runs the container's own command/args with the
  SPIRE binary of the image's version, in a private mount namespace (unshare -m) where
  each volume is bind-mounted at the container's exact mountPath. Paths in the SPIRE
  configs and in the DSN therefore need no change; KUBERNETES_SERVICE_HOST/PORT point
  at the lab API server, as the kubelet would point them at the kubernetes Service.
* Only listen addresses and ports are changed in the lab copy of each config, plus one
  plugin removal (see LAB_CHANGES); every change is logged to the state dir.
* A small TCP forwarder stands in for the `spire-server` Service (kube-proxy): agents
  dial 127.0.0.1:<proxy port>, which round-robins over the healthy servers.
* spire-controller-manager runs from the server Pod's sidecar container spec, with
  ENABLE_WEBHOOKS=false (no pod network reaches a webhook here).
* After `up`, a lab kubelet process (LabKubelet) follows the API so that runbooks work on
  the real processes: a process whose Pod is deleted or replaced is stopped and started
  from the new Pod (binary by image tag), and ConfigMap/Secret volumes are re-published
  with the kubelet's atomic ..data swap when their objects change. Crashed or killed
  processes are not restarted (tests kill them on purpose); `up` starts them.
* `watch` counts Workload API fetches (and chain verifications) on every node until
  SIGTERM: the zero-failure evidence of the runbook tests.

PostgreSQL comes from lab/postgres.sh; the collection's deploy is run before `up`.
State, logs and pid files: $ARDUR_SPIRE_LAB_DIR/dataplane (logs/, run/, pods/).
"""

# pylint: disable=too-many-lines,too-many-arguments,too-many-positional-arguments,too-many-locals
# pylint: disable=too-many-instance-attributes,too-many-return-statements,too-many-public-methods
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# The collection's own parsers (the venv links the checkout as ansible_collections.ardur.spire).
from ansible_collections.ardur.spire.plugins.module_utils._spire import hcl
from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import pem_certificates

LAB_SRC = Path(__file__).resolve().parent
REPO = LAB_SRC.parent
CACHE = Path(os.environ.get("ARDUR_SPIRE_CACHE", Path.home() / ".cache" / "ardur-spire"))
STATE = Path(os.environ.get("ARDUR_SPIRE_LAB_DIR", CACHE / "lab"))
DP = STATE / "dataplane"
KUBECONFIG = Path(os.environ.get("ARDUR_SPIRE_LAB_KUBECONFIG", STATE / "kubeconfig"))
HOST = "127.0.0.1"
PORT_BASE = int(os.environ.get("ARDUR_SPIRE_LAB_DP_PORT_BASE", "28000"))
TIMEOUT = int(os.environ.get("ARDUR_SPIRE_LAB_TIMEOUT", "90"))
WAIT_OBJECTS = int(os.environ.get("ARDUR_SPIRE_LAB_DP_WAIT", "300"))
WORKLOAD_UIDS = (65534, 65533)
SAMPLE_FRAMEWORKS = ("langchain", "langgraph", "autogen")

# What the lab copy of each configuration changes; nothing else is touched.
LAB_CHANGES = {
    "server.conf": [
        "server.bind_address -> 127.0.0.1", "server.bind_port -> lab port (one per server)",
        "health_checks.bind_address -> 127.0.0.1", "health_checks.bind_port -> lab port",
        "telemetry.Prometheus.host -> 127.0.0.1", "telemetry.Prometheus.port -> lab port",
        "server.federation.bundle_endpoint.address/port -> 127.0.0.1/lab port (when present)",
    ],
    "agent.conf": [
        "agent.server_address -> 127.0.0.1", "agent.server_port -> the lab's spire-server Service forwarder",
        "health_checks.bind_address/bind_port -> 127.0.0.1/lab port",
        "telemetry.Prometheus.host/port -> 127.0.0.1/lab port",
        "plugins.WorkloadAttestor \"k8s\" removed (needs a kubelet; the unix attestor serves workloads)",
    ],
    "controller-manager-config.yaml": [
        "metrics.bindAddress -> 127.0.0.1:lab port", "health.healthProbeBindAddress -> 127.0.0.1:lab port",
        "env ENABLE_WEBHOOKS=false (no pod network reaches a webhook in the lab)",
    ],
}


class DataPlaneError(Exception):
    """A failure with a message meant for the user."""


def say(msg):
    """Progress output."""
    print(f"[dataplane] {msg}", flush=True)


def ports():
    """Lab ports, all on 127.0.0.1."""
    return {
        "proxy": PORT_BASE + 81,
        "server": [PORT_BASE + 100 + i for i in range(3)],
        "server-health": [PORT_BASE + 110 + i for i in range(3)],
        "server-metrics": [PORT_BASE + 120 + i for i in range(3)],
        "server-federation": [PORT_BASE + 130 + i for i in range(3)],
        "agent-health": [PORT_BASE + 140 + i for i in range(3)],
        "agent-metrics": [PORT_BASE + 150 + i for i in range(3)],
        "scm-metrics": [PORT_BASE + 160 + i for i in range(3)],
        "scm-health": [PORT_BASE + 170 + i for i in range(3)],
    }


# ------------------------------------------------------------------- SPIRE configuration --
# Read and rewritten with the collection's own HCL library (the parser and renderer spire_config
# uses for the configurations it renders), so the lab runs what the roles applied.

def conf(text):
    """The data of a SPIRE configuration (HCL or JSON)."""
    try:
        return hcl.parse(text)[0]
    except hcl.HCLError as exc:
        raise DataPlaneError(f"SPIRE configuration: {exc}") from exc


def conf_get(data, *path, default=None):
    """The value at PATH of configuration data, or DEFAULT."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def conf_set(body, key, value, changes, where):
    """Set KEY of BODY; record the change."""
    if body.get(key, "(unset)") != value:
        changes.append(f"{where}.{key}: {body.get(key, '(unset)')!r} -> {value!r}")
    body[key] = value


def map_common_listeners(data, health_port, metrics_port, changes):
    """health_checks and telemetry Prometheus listeners -> 127.0.0.1 lab ports."""
    if isinstance(data.get("health_checks"), dict):
        conf_set(data["health_checks"], "bind_address", HOST, changes, "health_checks")
        conf_set(data["health_checks"], "bind_port", str(health_port), changes, "health_checks")
    prom = conf_get(data, "telemetry", "Prometheus")
    if isinstance(prom, dict):
        conf_set(prom, "host", HOST, changes, "telemetry.Prometheus")
        conf_set(prom, "port", metrics_port, changes, "telemetry.Prometheus")


def map_server_conf(text, index):
    """Lab copy of server.conf for server INDEX: listen addresses and ports only."""
    prt, changes = ports(), []
    data = conf(text)
    server = data.get("server")
    if not isinstance(server, dict):
        raise DataPlaneError("server.conf has no server block")
    conf_set(server, "bind_address", HOST, changes, "server")
    conf_set(server, "bind_port", prt["server"][index], changes, "server")
    endpoint = conf_get(server, "federation", "bundle_endpoint")
    if isinstance(endpoint, dict):
        conf_set(endpoint, "address", HOST, changes, "server.federation.bundle_endpoint")
        conf_set(endpoint, "port", prt["server-federation"][index], changes, "server.federation.bundle_endpoint")
    map_common_listeners(data, prt["server-health"][index], prt["server-metrics"][index], changes)
    return hcl.render(data, ("server", "plugins")), changes


def map_agent_conf(text, index):
    """Lab copy of agent.conf for agent INDEX."""
    prt, changes = ports(), []
    data = conf(text)
    agent = data.get("agent")
    if not isinstance(agent, dict):
        raise DataPlaneError("agent.conf has no agent block")
    conf_set(agent, "server_address", HOST, changes, "agent")
    conf_set(agent, "server_port", prt["proxy"], changes, "agent")
    map_common_listeners(data, prt["agent-health"][index], prt["agent-metrics"][index], changes)
    # No kubelet to ask: the lab attests workloads by unix selectors only.
    attestors = conf_get(data, "plugins", "WorkloadAttestor", default={})
    if isinstance(attestors, dict) and attestors.pop("k8s", None) is not None:
        changes.append('plugins.WorkloadAttestor "k8s": removed')
    return hcl.render(data, ("agent", "plugins")), changes


def map_scm_conf(text, index):
    """Lab copy of the controller manager config."""
    import yaml  # pylint: disable=import-outside-toplevel
    prt, changes = ports(), []
    doc = yaml.safe_load(text) or {}
    metrics = doc.setdefault("metrics", {}) or {}
    doc["metrics"] = metrics
    if metrics.get("bindAddress") != "0":
        new = f"{HOST}:{prt['scm-metrics'][index]}"
        changes.append(f"metrics.bindAddress: {metrics.get('bindAddress')!r} -> {new!r}")
        metrics["bindAddress"] = new
    health = doc.get("health") or {}
    if health.get("healthProbeBindAddress") not in (None, "", "0"):
        new = f"{HOST}:{prt['scm-health'][index]}"
        changes.append(f"health.healthProbeBindAddress: {health['healthProbeBindAddress']!r} -> {new!r}")
        health["healthProbeBindAddress"] = new
    return yaml.safe_dump(doc, sort_keys=False), changes


# ------------------------------------------------------------------------ Kubernetes --

class Kube:
    """Admin access to the lab API server (reads, TokenRequest, entry bootstrap)."""

    def __init__(self, namespace):
        # pylint: disable=import-outside-toplevel
        from kubernetes import client, config
        if not KUBECONFIG.exists():
            raise DataPlaneError(f"no lab kubeconfig at {KUBECONFIG}; run lab/lab.py up")
        self.client = config.new_client_from_config(config_file=str(KUBECONFIG))
        self.core = client.CoreV1Api(self.client)
        self.apps = client.AppsV1Api(self.client)
        self.custom = client.CustomObjectsApi(self.client)
        self.namespace = namespace
        self.exc = client.exceptions.ApiException
        self.server = self.client.configuration.host

    def raw(self, func, *args, optional=False, **kwargs):
        """JSON of an API call, or None when OPTIONAL and not found."""
        try:
            resp = func(*args, _preload_content=False, **kwargs)
        except self.exc as exc:
            if optional and exc.status == 404:
                return None
            raise DataPlaneError(f"API {func.__name__}{args}: {exc.status} {exc.reason}: {exc.body}") from exc
        return json.loads(resp.data)

    def configmap(self, name, optional=False):
        """data of a ConfigMap."""
        obj = self.raw(self.core.read_namespaced_config_map, name, self.namespace, optional=optional)
        return None if obj is None else dict(obj.get("data") or {})

    def secret(self, name, optional=False):
        """Decoded data of a Secret (bytes values)."""
        obj = self.raw(self.core.read_namespaced_secret, name, self.namespace, optional=optional)
        if obj is None:
            return None
        return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}

    def pods(self, selector):
        """Pods of the namespace matching a label selector."""
        return self.raw(self.core.list_namespaced_pod, self.namespace, label_selector=selector)["items"]

    def pod(self, name):
        """A Pod object."""
        return self.raw(self.core.read_namespaced_pod, name, self.namespace)

    def nodes(self):
        """name -> Node object."""
        return {n["metadata"]["name"]: n for n in self.raw(self.core.list_node)["items"]}

    def token(self, service_account, pod, audiences=None, seconds=3600):
        """A service-account token bound to POD (TokenRequest API)."""
        spec = {"expirationSeconds": int(seconds),
                "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                   "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}
        if audiences:
            spec["audiences"] = list(audiences)
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        obj = self.raw(self.core.create_namespaced_service_account_token, service_account,
                       pod["metadata"]["namespace"], body)
        return obj["status"]["token"]

    def selector_of(self, workload):
        """Label selector string of a StatefulSet/DaemonSet."""
        labels = workload["spec"]["selector"].get("matchLabels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def collection_namespace():
    """spire_namespace from roles/spire/defaults (or the environment)."""
    if os.environ.get("ARDUR_SPIRE_NAMESPACE"):
        return os.environ["ARDUR_SPIRE_NAMESPACE"]
    import yaml  # pylint: disable=import-outside-toplevel
    defaults = yaml.safe_load((REPO / "roles/spire/defaults/main.yml").read_text(encoding="utf-8"))
    return defaults.get("spire_namespace", "spire-system")


# ------------------------------------------------------------------------- processes --

def binary_for(image):
    """Cached lab binary for a container image, as lab/build.sh lays it out.

    The image tag picks the version: the exact version when lab/build.sh built it, else the
    lab's default build of the same minor. So SPIRE images tagged 1.14.x run the lab's
    LAB_SPIRE_VERSION (the Go module proxy does not serve the collection's pinned 1.14.2;
    lab/versions.env says why 1.14.5 stands in) and 1.13.x runs LAB_SPIRE_PREVIOUS_VERSION.
    """
    name, _unused, tag = image.rsplit("/", 1)[-1].split("@")[0].partition(":")
    if name not in {"spire-server", "spire-agent", "spire-controller-manager"}:
        raise DataPlaneError(f"no lab binary for image {image}")
    build = str(LAB_SRC / "build.sh")
    default = Path(run([build, "path", name], check=True).stdout.strip())
    path = default
    version = tag.lstrip("v")
    if version:
        exact = Path(run([build, "path", name, version], check=True).stdout.strip())
        default_version = default.parent.name[len(name) + 1:]
        if os.access(exact, os.X_OK):
            path = exact
        elif version.split(".")[:2] != default_version.split(".")[:2]:
            raise DataPlaneError(f"no lab binary for image {image}: build it with lab/build.sh "
                                 f"{'scm' if name == 'spire-controller-manager' else 'spire'} {version}")
    if not os.access(path, os.X_OK):
        raise DataPlaneError(f"{path} missing: run lab/build.sh")
    return path


IMAGE_ENTRYPOINT = {
    # ENTRYPOINT (binary path in the image, arguments) and WORKDIR of the upstream images (their Dockerfiles)
    "spire-server": ("/opt/spire/bin/spire-server", ["run"], "/opt/spire"),
    "spire-agent": ("/opt/spire/bin/spire-agent", ["run"], "/opt/spire"),
    "spire-controller-manager": ("/spire-controller-manager", [], "/"),
}


def pidfile(name):
    """Pid file of a lab process."""
    return DP / "run" / f"{name}.pid"


def logfile(name):
    """Log file of a lab process."""
    return DP / "logs" / f"{name}.log"


def read_pid(name):
    """Pid of a running lab process, or None (guards against pid reuse)."""
    try:
        pid = int(pidfile(name).read_text(encoding="utf-8").split()[0])
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return None
    # an empty environ is a process in the middle of execve (unshare -> python -> the binary)
    if environ and f"ARDUR_SPIRE_LAB_PROCESS={name}".encode() not in environ.split(b"\0"):
        return None
    return pid


def spawn(name, argv, env, cwd=None):
    """Start a lab process in its own session; log to the state dir."""
    if read_pid(name):
        raise DataPlaneError(f"{name} already running (pid {read_pid(name)})")
    logfile(name).parent.mkdir(parents=True, exist_ok=True)
    pidfile(name).parent.mkdir(parents=True, exist_ok=True)
    env = {**env, "ARDUR_SPIRE_LAB_PROCESS": name}
    with open(logfile(name), "ab") as logf:
        logf.write(f"\n=== {time.ctime()} start {name}\n".encode())
        logf.flush()
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            cwd=cwd or DP, env=env, start_new_session=True)
    pidfile(name).write_text(f"{proc.pid}\n", encoding="utf-8")
    return proc.pid


def stop(name, sig=signal.SIGTERM, grace=15.0):
    """Signal a lab process group; SIGKILL after GRACE seconds."""
    pid = read_pid(name)
    if pid is None:
        pidfile(name).unlink(missing_ok=True)
        return False
    for current in (sig, signal.SIGKILL):
        try:
            os.killpg(pid, current)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and read_pid(name):
            time.sleep(0.1)
        if not read_pid(name):
            break
    pidfile(name).unlink(missing_ok=True)
    return True


def run(argv, timeout=60, check=False, env=None):
    """Run a command; CompletedProcess with text output."""
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    if check and res.returncode != 0:
        raise DataPlaneError(f"{' '.join(map(str, argv))} failed ({res.returncode}): {res.stderr.strip()}{res.stdout.strip()}")
    return res


def record_mountpoint(path):
    """Remember a mountpoint created on the host (removed by down)."""
    listing = DP / "mountpoints"
    known = set(listing.read_text(encoding="utf-8").splitlines()) if listing.exists() else set()
    if str(path) not in known:
        with open(listing, "a", encoding="utf-8") as out:
            out.write(f"{path}\n")


def ensure_mountpoint(target, is_dir):
    """Create TARGET on the host when missing (an empty dir or file), recorded for down."""
    target = Path(target)
    if target.exists() or target.is_symlink():
        return
    missing = []
    probe = target
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        if path == target and not is_dir:
            path.touch()
        else:
            path.mkdir()
        record_mountpoint(path)


def mountpoints_in_use():
    """Host paths that are mount points in another mount namespace (another lab's processes):
    removing such a directory on the host would take the mount away from that process too."""
    own, seen, used = os.readlink("/proc/self/ns/mnt"), set(), set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            mnt_ns = os.readlink(proc / "ns" / "mnt")
            if mnt_ns == own or mnt_ns in seen:
                continue
            seen.add(mnt_ns)
            used.update(line.split()[4] for line in (proc / "mountinfo").read_text(encoding="utf-8").splitlines())
        except (OSError, IndexError):
            continue
    return used


def remove_mountpoints():
    """Remove the empty mountpoints this lab created, deepest first, unless another lab mounts on them."""
    listing = DP / "mountpoints"
    if not listing.exists():
        return
    paths = sorted({Path(p) for p in listing.read_text(encoding="utf-8").splitlines() if p},
                   key=lambda p: len(p.parts), reverse=True)
    in_use = mountpoints_in_use()
    for path in paths:
        real = os.path.realpath(path)  # the kernel lists /var/run/... as /run/...
        if real in in_use or any(u.startswith(real + "/") for u in in_use):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            elif path.is_file() and path.stat().st_size == 0:
                path.unlink()
        except OSError:
            pass
    listing.unlink()


def ns_exec(spec_path):
    """Inside `unshare -m`: bind-mount the volumes, then exec the container process."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    for src, dst, read_only in spec["mounts"]:
        if not os.path.lexists(dst):
            # only under an earlier bind mount (a lab dir): host mountpoints exist already
            if os.path.isdir(src):
                os.makedirs(dst)
            else:
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                Path(dst).touch()
        subprocess.run(["mount", "--bind", src, dst], check=True)
        if read_only:
            subprocess.run(["mount", "-o", "remount,bind,ro", dst], check=True)
    os.chdir(spec["cwd"])
    if spec.get("uid") is not None:
        gid = spec.get("gid", spec["uid"])
        os.setgroups(spec.get("groups") or [])
        os.setgid(gid)
        os.setuid(spec["uid"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


def host_mountpoints(mounts, cwd):
    """Create the mountpoints that must exist on the host (not under another mount)."""
    done = []
    for src, dst, _unused in list(mounts) + [(None, cwd, False)]:
        if any(dst == d or dst.startswith(d.rstrip("/") + "/") for d in done):
            continue
        ensure_mountpoint(dst, src is None or Path(src).is_dir())
        if src is not None:
            done.append(dst)


def spawn_in_namespace(name, mounts, argv, env, cwd, user=None):
    """Start ARGV in a private mount namespace with MOUNTS [(src, dst, ro)] as USER (uid, gid, groups)."""
    host_mountpoints(mounts, cwd)
    spec = DP / "run" / f"{name}.spec.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    env = {**env, "ARDUR_SPIRE_LAB_PROCESS": name}
    uid, gid, groups = user or (None, None, [])
    spec.write_text(json.dumps({"mounts": mounts, "argv": [str(a) for a in argv], "env": env,
                                "cwd": cwd, "uid": uid, "gid": gid, "groups": groups}, indent=1), encoding="utf-8")
    spec.chmod(0o600)
    launcher = ["unshare", "--mount", "--propagation", "private", "--",
                sys.executable, str(Path(__file__).resolve()), "_nsexec", str(spec)]
    return spawn(name, launcher, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def run_in_namespace(mounts, argv, cwd="/", uid=None, timeout=30, env=None):
    """Run ARGV to completion in a private mount namespace (a workload)."""
    host_mountpoints(mounts, cwd)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=DP / "run", delete=False) as spec:
        json.dump({"mounts": mounts, "argv": [str(a) for a in argv], "cwd": cwd, "uid": uid,
                   "env": env or {"PATH": "/usr/bin:/bin"}}, spec)
    try:
        return run(["unshare", "--mount", "--propagation", "private", "--",
                    sys.executable, str(Path(__file__).resolve()), "_nsexec", spec.name], timeout=timeout)
    finally:
        os.unlink(spec.name)


# --------------------------------------------------------------- service forwarder --

def proxy_main(listen_port, backends):
    """Stand-in for the spire-server Service: TCP round-robin over live backends."""
    counter = [0]
    lock = threading.Lock()

    def pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle(client):
        with lock:
            start = counter[0]
            counter[0] += 1
        for i in range(len(backends)):
            port = backends[(start + i) % len(backends)]
            try:
                upstream = socket.create_connection((HOST, port), timeout=2)
            except OSError:
                continue
            upstream.settimeout(None)
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            pipe(upstream, client)
            upstream.close()
            client.close()
            return
        client.close()

    with socket.create_server((HOST, listen_port), reuse_port=False) as srv:
        while True:
            client, _unused = srv.accept()
            threading.Thread(target=handle, args=(client,), daemon=True).start()


# ------------------------------------------------------------------ pod emulation --

def container_by_image(pod, image_name):
    """The container of POD whose image is IMAGE_NAME."""
    for cont in pod["spec"]["containers"]:
        if cont["image"].rsplit("/", 1)[-1].split(":")[0].split("@")[0] == image_name:
            return cont
    return None


def volume_files(data, items=None, mode=0o644):
    """{relative path: (bytes, mode)} of a ConfigMap/Secret volume (bytes or str values)."""
    wanted = [(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]
    return {rel: (data[key] if isinstance(data[key], bytes) else data[key].encode(), mode)
            for key, rel in wanted if key in data}


def write_files(dst, data, items=None, mode=0o644):
    """Files of a projected volume, written in place."""
    dst.mkdir(parents=True, exist_ok=True)
    for rel, (val, fmode) in volume_files(data, items, mode).items():
        path = dst / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(val)
        path.chmod(fmode)


def published_files(dst):
    """{relative path: bytes} currently visible through DST/..data (empty when none)."""
    data = dst / "..data"
    if not data.is_dir():
        return {}
    return {str(p.relative_to(data)): p.read_bytes() for p in data.rglob("*") if p.is_file()}


def publish_files(dst, files):
    """Lay out FILES in DST as the kubelet does for ConfigMap/Secret volumes: a new timestamped
    dir, the ..data link swapped to it atomically (rename), one link per top-level name, so a
    running process sees the old or the new set of files, never a mix."""
    dst.mkdir(parents=True, exist_ok=True)
    stamp = dst / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    stamp.mkdir()
    for rel, (val, mode) in files.items():
        path = stamp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(val)
        path.chmod(mode)
    tmp = dst / "..data_tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(stamp.name, tmp)
    os.replace(tmp, dst / "..data")
    tops = {Path(rel).parts[0] for rel in files}
    for top in tops:
        link = dst / top
        if not link.is_symlink():
            if link.is_dir():
                shutil.rmtree(link)
            elif link.exists():
                link.unlink()
            os.symlink(f"..data/{top}", link)
    for child in dst.iterdir():
        if child.name.startswith("..") and child.name not in ("..data", stamp.name):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        elif child.is_symlink() and not child.name.startswith("..") and child.name not in tops:
            child.unlink()


class PodRuntime:
    """Volumes, mounts and env of one Pod, laid out on this host."""

    def __init__(self, kube, pod):
        self.kube = kube
        self.pod = pod
        self.name = pod["metadata"]["name"]
        self.node = pod["spec"].get("nodeName") or ""
        self.root = DP / "pods" / self.name
        self.vols = {}

    def field(self, path):
        """Value of a downward-API fieldRef."""
        meta, spec = self.pod["metadata"], self.pod["spec"]
        values = {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
                  "metadata.uid": meta["uid"], "spec.nodeName": self.node,
                  "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
                  "status.podIP": HOST, "status.hostIP": HOST}
        return values.get(path, "")

    def projected(self, dst, sources):
        """A projected volume: tokens bound to this Pod, ConfigMaps, Secrets, downward API."""
        dst.mkdir(parents=True, exist_ok=True)
        for src in sources:
            if "serviceAccountToken" in src:
                tok = src["serviceAccountToken"]
                aud = [tok["audience"]] if tok.get("audience") else None
                token = self.kube.token(self.pod["spec"].get("serviceAccountName", "default"), self.pod,
                                        aud, tok.get("expirationSeconds", 3600))
                write_files(dst, {"t": token}, [{"key": "t", "path": tok["path"]}], 0o600)
            elif "configMap" in src:
                data = self.kube.configmap(src["configMap"]["name"], optional=True) or {}
                write_files(dst, data, src["configMap"].get("items"))
            elif "secret" in src:
                data = self.kube.secret(src["secret"]["name"], optional=True) or {}
                write_files(dst, data, src["secret"].get("items"), 0o600)
            elif "downwardAPI" in src:
                for item in src["downwardAPI"].get("items", []):
                    if "fieldRef" in item:
                        write_files(dst, {"v": self.field(item["fieldRef"]["fieldPath"])},
                                    [{"key": "v", "path": item["path"]}])

    def source_files(self, vol, cache=None):
        """Files of a ConfigMap or Secret volume as the API has them now (CACHE: objects read this round)."""
        kind, name = ("configMap", vol["configMap"]["name"]) if "configMap" in vol else ("secret", vol["secret"]["secretName"])
        spec = vol[kind]
        key = (kind, name)
        if cache is None or key not in cache:
            read = self.kube.configmap if kind == "configMap" else self.kube.secret
            data = read(name, optional=spec.get("optional", False)) or {}
            if cache is not None:
                cache[key] = data
        else:
            data = cache[key]
        return volume_files(data, spec.get("items"), spec.get("defaultMode", 0o644))

    def refresh(self, containers, cache=None):
        """Re-publish ConfigMap/Secret volumes whose API content changed (as the kubelet's sync
        does), except those holding a config the lab rewrote; names of the volumes refreshed."""
        rewritten = set((self.root / "rewritten-volumes").read_text(encoding="utf-8").split()) \
            if (self.root / "rewritten-volumes").exists() else set()
        changed = []
        for vol in self.pod["spec"].get("volumes", []):
            if not ("configMap" in vol or "secret" in vol) or vol["name"] in rewritten:
                continue
            dst = self.root / "volumes" / vol["name"]
            files = self.source_files(vol, cache)
            if {rel: val for rel, (val, _mode) in files.items()} != published_files(dst):
                publish_files(dst, files)
                self.vols[vol["name"]] = dst
                changed.append(vol["name"])
        if changed:
            for container in containers:
                self.apply_fs_group(container)
        return changed

    def mark_rewritten(self, container, inpod):
        """Remember the volume holding IN-POD path of CONTAINER: the lab rewrote a file in it."""
        best = max((m for m in container.get("volumeMounts", [])
                    if inpod == m["mountPath"] or inpod.startswith(m["mountPath"].rstrip("/") + "/")),
                   key=lambda m: len(m["mountPath"]), default=None)
        if best is not None:
            with open(self.root / "rewritten-volumes", "a", encoding="utf-8") as out:
                out.write(best["name"] + "\n")

    def locate(self):
        """Host dirs of the Pod's volumes, without writing anything (for verify)."""
        for vol in self.pod["spec"].get("volumes", []):
            if "persistentVolumeClaim" in vol:
                self.vols[vol["name"]] = DP / "pvc" / vol["persistentVolumeClaim"]["claimName"]
            elif "hostPath" in vol:
                self.vols[vol["name"]] = DP / "nodes" / self.node / vol["hostPath"]["path"].lstrip("/")
            elif any(k in vol for k in ("configMap", "secret", "projected", "emptyDir", "downwardAPI")):
                self.vols[vol["name"]] = self.root / "volumes" / vol["name"]
        return self

    def materialise(self, only=None):
        """Lay out the Pod's volumes (those named in ONLY, or all) from the API."""
        if only is None:
            (self.root / "rewritten-volumes").unlink(missing_ok=True)
        for vol in self.pod["spec"].get("volumes", []):
            name = vol["name"]
            if only is not None and name not in only:
                continue
            dst = self.root / "volumes" / name
            if "configMap" in vol or "secret" in vol:
                shutil.rmtree(dst, ignore_errors=True)
                publish_files(dst, self.source_files(vol))
            elif "projected" in vol:
                shutil.rmtree(dst, ignore_errors=True)
                self.projected(dst, vol["projected"].get("sources", []))
            elif "emptyDir" in vol:
                dst.mkdir(parents=True, exist_ok=True)
            elif "persistentVolumeClaim" in vol:
                dst = DP / "pvc" / vol["persistentVolumeClaim"]["claimName"]
                dst.mkdir(parents=True, exist_ok=True)
            elif "hostPath" in vol:
                dst = DP / "nodes" / self.node / vol["hostPath"]["path"].lstrip("/")
                if vol["hostPath"].get("type", "") in ("", "Directory", "DirectoryOrCreate"):
                    dst.mkdir(parents=True, exist_ok=True)
                    dst.chmod(0o755)
            elif "downwardAPI" in vol:
                shutil.rmtree(dst, ignore_errors=True)
                self.projected(dst, [{"downwardAPI": vol["downwardAPI"]}])
            else:
                continue  # csi and others: not available without a kubelet
            self.vols[name] = dst
        # the StatefulSet's volumeClaimTemplates appear in the Pod as persistentVolumeClaim volumes

    def mounts(self, container):
        """[(host source, mountPath, readOnly)] of a container, parents first."""
        out = []
        for mount in container.get("volumeMounts", []):
            src = self.vols.get(mount["name"])
            if src is None:
                continue
            if mount.get("subPath"):
                src = src / mount["subPath"]
            out.append((str(src), mount["mountPath"], bool(mount.get("readOnly"))))
        return sorted(out, key=lambda m: len(Path(m[1]).parts))

    def host_path(self, container, inpod):
        """Host path of an in-container path (through the longest matching mount)."""
        best_src, best_dst = None, ""
        for src, dst, _unused in self.mounts(container):
            if (inpod == dst or inpod.startswith(dst.rstrip("/") + "/")) and len(dst) > len(best_dst):
                best_src, best_dst = src, dst
        if best_src is None:
            return None
        rest = inpod[len(best_dst):].lstrip("/")
        return str(Path(best_src) / rest) if rest else best_src

    def env(self, container):
        """The container's env as the kubelet would build it."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": self.name}
        host, _unused, port = self.kube.server.split("://", 1)[1].partition(":")
        env.update({"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port or "443",
                    "KUBERNETES_SERVICE_PORT_HTTPS": port or "443"})
        for src in container.get("envFrom", []):
            if "configMapRef" in src:
                env.update(self.kube.configmap(src["configMapRef"]["name"], optional=True) or {})
            if "secretRef" in src:
                env.update({k: v.decode() for k, v in (self.kube.secret(src["secretRef"]["name"], optional=True) or {}).items()})
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
            elif "valueFrom" in var:
                ref = var["valueFrom"]
                if "secretKeyRef" in ref:
                    data = self.kube.secret(ref["secretKeyRef"]["name"], optional=True) or {}
                    env[var["name"]] = data.get(ref["secretKeyRef"]["key"], b"").decode()
                elif "configMapKeyRef" in ref:
                    data = self.kube.configmap(ref["configMapKeyRef"]["name"], optional=True) or {}
                    env[var["name"]] = data.get(ref["configMapKeyRef"]["key"], "")
                elif "fieldRef" in ref:
                    env[var["name"]] = self.field(ref["fieldRef"]["fieldPath"])
            else:
                env[var["name"]] = ""
        return env

    def argv(self, container):
        """(in-image binary path, host binary, argv, workdir): the image ENTRYPOINT unless command is set."""
        image_name = container["image"].rsplit("/", 1)[-1].split(":")[0].split("@")[0]
        binary = binary_for(container["image"])
        image_path, entry_args, workdir = IMAGE_ENTRYPOINT[image_name]
        if container.get("command"):
            argv = [image_path] + list(container["command"][1:])
        else:
            argv = [image_path] + entry_args
        return image_path, binary, argv + list(container.get("args", [])), container.get("workingDir") or workdir

    def user(self, container):
        """(uid, gid, groups) from the security contexts; None for root."""
        pod_sc = self.pod["spec"].get("securityContext") or {}
        c_sc = container.get("securityContext") or {}
        uid = c_sc.get("runAsUser", pod_sc.get("runAsUser"))
        if not uid:
            return None
        gid = c_sc.get("runAsGroup", pod_sc.get("runAsGroup", 0))
        groups = list(pod_sc.get("supplementalGroups") or [])
        if pod_sc.get("fsGroup") is not None:
            groups.append(pod_sc["fsGroup"])
        return uid, gid, sorted(set(groups))

    def apply_fs_group(self, container):
        """Volume ownership as the kubelet sets it for fsGroup / a non-root runAsUser."""
        user = self.user(container)
        fs_group = (self.pod["spec"].get("securityContext") or {}).get("fsGroup")
        if user is None:
            return
        kinds = {v["name"]: v for v in self.pod["spec"].get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            vol, path = kinds.get(mount["name"]), self.vols.get(mount["name"])
            if vol is None or path is None or "hostPath" in vol:
                continue
            writable = "emptyDir" in vol or "persistentVolumeClaim" in vol
            for root, dirs, files in os.walk(path):
                for name in [root] + [os.path.join(root, d) for d in dirs] + [os.path.join(root, f) for f in files]:
                    if "projected" in vol and os.path.isfile(name):
                        os.chown(name, user[0], fs_group if fs_group is not None else user[1])
                    elif fs_group is not None:
                        os.chown(name, -1 if not writable or name != root else 0, fs_group)
                        if os.path.isdir(name):
                            os.chmod(name, 0o2775 if writable else 0o2755)

    def start(self, container, proc_name, extra_env=None):
        """Run CONTAINER of this Pod as PROC_NAME."""
        image_path, binary, argv, workdir = self.argv(container)
        env = self.env(container)
        env.update(extra_env or {})
        mounts = self.mounts(container)
        work = self.root / "containers" / container["name"] / "workdir"
        work.mkdir(parents=True, exist_ok=True)
        if not any(dst == workdir for _unused, dst, _unused in mounts) and workdir != "/":
            mounts.append((str(work), workdir, False))
        mounts.append((str(binary), image_path, True))
        mounts.sort(key=lambda m: len(Path(m[1]).parts))
        self.apply_fs_group(container)
        pid = spawn_in_namespace(proc_name, mounts, argv, env, workdir, self.user(container))
        # the lab kubelet restarts PROC_NAME when this Pod is replaced (another UID)
        (DP / "run" / f"{proc_name}.pod").write_text(self.pod["metadata"]["uid"] + "\n", encoding="utf-8")
        return pid


def flag_value(args, names):
    """Value of a -flag / --flag in ARGS (either `-f v` or `-f=v`)."""
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


# ---------------------------------------------------------------------- the plane --

class DataPlane:
    """The SPIRE servers, agents and controller manager of the lab."""

    def __init__(self):
        self.namespace = collection_namespace()
        self.kube = Kube(self.namespace)
        # up may run while deploy.yml is still applying (its phase 3 waits for the bundle this plane writes)
        deadline = time.monotonic() + WAIT_OBJECTS
        while True:
            self.sts = self.kube.raw(self.kube.apps.read_namespaced_stateful_set, "spire-server", self.namespace, optional=True)
            self.ds = self.kube.raw(self.kube.apps.read_namespaced_daemon_set, "spire-agent", self.namespace, optional=True)
            if self.sts and self.ds:
                break
            if time.monotonic() > deadline:
                raise DataPlaneError(f"no StatefulSet/DaemonSet spire-server/spire-agent in {self.namespace} after {WAIT_OBJECTS}s: deploy first")
            time.sleep(2)
        self.trust_domain = None
        self.cluster = None

    # --- pods
    def server_pods(self):
        """spire-server-N pods by ordinal, waiting until the StatefulSet made them all."""
        want = self.sts["spec"].get("replicas", 1)
        deadline = time.monotonic() + TIMEOUT
        while True:
            pods = {p["metadata"]["name"]: p for p in self.kube.pods(self.kube.selector_of(self.sts))}
            names = [f"spire-server-{i}" for i in range(want)]
            if all(n in pods and pods[n]["spec"].get("nodeName") for n in names):
                return [pods[n] for n in names]
            if time.monotonic() > deadline:
                raise DataPlaneError(f"StatefulSet spire-server has not scheduled {names} (have {sorted(pods)})")
            time.sleep(1)

    def agent_pods(self):
        """node name -> agent Pod, one per node of the DaemonSet."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            pods = self.kube.pods(self.kube.selector_of(self.ds))
            by_node = {p["spec"]["nodeName"]: p for p in pods if p["spec"].get("nodeName")
                       and not p["metadata"].get("deletionTimestamp")}
            status = self.ds.get("status") or {}
            want = status.get("desiredNumberScheduled", 0)
            settled = status.get("observedGeneration", 0) >= self.ds["metadata"].get("generation", 1)
            if settled and want and len(by_node) >= want:
                return dict(sorted(by_node.items()))
            if time.monotonic() > deadline:
                raise DataPlaneError(f"DaemonSet spire-agent has pods on {sorted(by_node)} only (want {want})")
            time.sleep(1)
            self.ds = self.kube.raw(self.kube.apps.read_namespaced_daemon_set, "spire-agent", self.namespace)

    # --- server
    def server_container(self, pod):
        """The spire-server container of a server Pod."""
        cont = container_by_image(pod, "spire-server")
        if cont is None:
            raise DataPlaneError(f"{pod['metadata']['name']}: no spire-server container")
        return cont

    def config_path(self, runtime, container):
        """Host path of the container's -config file."""
        inpod = flag_value(container.get("args", []) + container.get("command", []), ["-config", "--config"])
        if inpod is None:
            raise DataPlaneError(f"{runtime.name}/{container['name']}: no -config argument")
        if not inpod.startswith("/"):
            inpod = str(Path(container.get("workingDir") or "/") / inpod)
        host = runtime.host_path(container, inpod)
        if host is None or not Path(host).exists():
            raise DataPlaneError(f"{runtime.name}/{container['name']}: config {inpod} is not on a mounted volume")
        return inpod, Path(host)

    def prepare_server(self, index, pod):
        """Materialise server Pod INDEX and write the lab copy of its server.conf."""
        runtime = PodRuntime(self.kube, pod)
        runtime.materialise()
        cont = self.server_container(pod)
        inpod, host = self.config_path(runtime, cont)
        runtime.mark_rewritten(cont, inpod)
        original = host.read_text(encoding="utf-8")
        orig_copy = runtime.root / "original" / "server.conf"
        orig_copy.parent.mkdir(parents=True, exist_ok=True)
        orig_copy.write_text(original, encoding="utf-8")
        text, changes = map_server_conf(original, index)
        host.write_text(text, encoding="utf-8")
        (runtime.root / "lab-changes.txt").write_text("\n".join(changes) + "\n", encoding="utf-8")
        self.trust_domain = conf_get(conf(original), "server", "trust_domain")
        return runtime, cont

    def server_socket(self, runtime, cont):
        """Host path of a server's private API socket."""
        data = conf((runtime.root / "original" / "server.conf").read_text(encoding="utf-8"))
        sock = conf_get(data, "server", "socket_path") or "/tmp/spire-server/private/api.sock"
        host = runtime.host_path(cont, sock)
        if host is None:
            raise DataPlaneError(f"{runtime.name}: socket {sock} is not on a shared volume")
        return host

    def start_server(self, index, pod):
        """Start spire-server INDEX and wait until healthy; seconds taken."""
        runtime, cont = self.prepare_server(index, pod)
        t0 = time.monotonic()
        runtime.start(cont, f"spire-server-{index}")
        sock = self.server_socket(runtime, cont)
        self.wait_healthy("spire-server", sock, f"spire-server-{index}")
        return time.monotonic() - t0

    def wait_healthy(self, kind, sock, proc, timeout=TIMEOUT):
        """Poll `healthcheck -socketPath` until it passes."""
        binary = binary_for(f"{kind}:{self.spire_version()}")
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if proc and read_pid(proc) is None and (time.sleep(0.5) or read_pid(proc) is None):
                raise DataPlaneError(f"{proc} exited; log {logfile(proc)}:\n{tail(logfile(proc))}")
            res = run([binary, "healthcheck", "-socketPath", sock], timeout=15)
            if res.returncode == 0:
                return True
            last = (res.stdout + res.stderr).strip()
            time.sleep(1)
        raise DataPlaneError(f"{proc or kind} not healthy after {timeout}s: {last}; log {logfile(proc)}")

    def spire_version(self):
        """Image tag of the server container."""
        cont = container_by_image(self.sts["spec"]["template"], "spire-server")
        return cont["image"].rsplit(":", 1)[1].lstrip("v")

    # --- agents
    def start_agent(self, index, node, pod):
        """Start the agent of NODE and wait until its Workload API answers."""
        runtime = PodRuntime(self.kube, pod)
        runtime.materialise()
        cont = container_by_image(pod, "spire-agent")
        if cont is None:
            raise DataPlaneError(f"{runtime.name}: no spire-agent container")
        inpod, host = self.config_path(runtime, cont)
        runtime.mark_rewritten(cont, inpod)
        original = host.read_text(encoding="utf-8")
        orig_copy = runtime.root / "original" / "agent.conf"
        orig_copy.parent.mkdir(parents=True, exist_ok=True)
        orig_copy.write_text(original, encoding="utf-8")
        text, changes = map_agent_conf(original, index)
        host.write_text(text, encoding="utf-8")
        (runtime.root / "lab-changes.txt").write_text("\n".join(changes) + "\n", encoding="utf-8")
        runtime.start(cont, f"spire-agent-{node}")
        self.wait_healthy("spire-agent", self.agent_socket(runtime, cont), f"spire-agent-{node}")

    def agent_socket(self, runtime, cont):
        """Host path of an agent's Workload API socket."""
        data = conf((runtime.root / "original" / "agent.conf").read_text(encoding="utf-8"))
        sock = conf_get(data, "agent", "socket_path") or "/tmp/spire-agent/public/api.sock"
        host = runtime.host_path(cont, sock)
        if host is None:
            raise DataPlaneError(f"{runtime.name}: socket {sock} is not on a mounted volume")
        return host

    def wait_bundle(self):
        """Wait until the k8sbundle notifier has written the spire-bundle ConfigMap."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            data = self.kube.configmap("spire-bundle", optional=True) or {}
            if "BEGIN CERTIFICATE" in data.get("bundle.crt", ""):
                return data["bundle.crt"]
            time.sleep(1)
        raise DataPlaneError("the spire-bundle ConfigMap has no bundle.crt (k8sbundle notifier)")

    # --- controller manager
    def start_scm(self, index, pod):
        """The controller-manager sidecar of server Pod INDEX, webhooks off."""
        runtime = PodRuntime(self.kube, pod).locate()
        cont = container_by_image(pod, "spire-controller-manager")
        if cont is None:
            raise DataPlaneError(f"{runtime.name}: no spire-controller-manager container")
        runtime.materialise(only={m["name"] for m in cont.get("volumeMounts", [])} - {
            m["name"] for m in self.server_container(pod).get("volumeMounts", [])})
        inpod, host = self.config_path(runtime, cont)
        runtime.mark_rewritten(cont, inpod)
        original = host.read_text(encoding="utf-8")
        text, changes = map_scm_conf(original, index)
        host.write_text(text, encoding="utf-8")
        with open(runtime.root / "lab-changes.txt", "a", encoding="utf-8") as out:
            out.write("\n".join(changes + ["env ENABLE_WEBHOOKS=false"]) + "\n")
        runtime.start(cont, f"spire-controller-manager-{index}", {"ENABLE_WEBHOOKS": "false"})

    # --- lifecycle
    def up(self):
        """Start everything; print timings."""
        t_all = time.monotonic()
        DP.mkdir(parents=True, exist_ok=True)
        res = run(["bash", str(LAB_SRC / "postgres.sh"), "status"])
        if res.returncode != 0:
            raise DataPlaneError("PostgreSQL is not running: lab/postgres.sh up (then deploy)")
        servers = self.server_pods()
        for index, pod in enumerate(servers):
            if read_pid(f"spire-server-{index}"):
                continue
            secs = self.start_server(index, pod)
            say(f"spire-server-{index} healthy in {secs:.1f}s (port {ports()['server'][index]})")
        if not read_pid("proxy"):
            spawn("proxy", [sys.executable, str(Path(__file__).resolve()), "_proxy", str(ports()["proxy"]),
                            *map(str, ports()["server"])], {"PATH": os.environ.get("PATH", "")})
        self.wait_bundle()
        for index, (node, pod) in enumerate(self.agent_pods().items()):
            if read_pid(f"spire-agent-{node}"):
                continue
            t0 = time.monotonic()
            self.start_agent(index, node, pod)
            say(f"spire-agent on {node} healthy in {time.monotonic() - t0:.1f}s")
        if not read_pid("spire-controller-manager-0"):
            self.start_scm(0, servers[0])
            say("spire-controller-manager started beside spire-server-0 (webhooks off)")
        if not read_pid("kubelet"):
            spawn("kubelet", [sys.executable, str(Path(__file__).resolve()), "_kubelet"], dict(os.environ))
            say("lab kubelet started: follows Pod replacements and Secret/ConfigMap changes")
        lines = [f"{conf}: {change}" for conf, changes in LAB_CHANGES.items() for change in changes]
        (DP / "LAB_CHANGES.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        say(f"data plane up in {time.monotonic() - t_all:.1f}s; logs in {DP / 'logs'}; "
            f"lab changes per pod in {DP / 'pods'}/*/lab-changes.txt")


# ---------------------------------------------------------------------------- verify --

def spiffe_id(obj, trust_domain=None):
    """spiffe://... of an API SPIFFEID object (or a string)."""
    if isinstance(obj, str):
        return obj
    return f"spiffe://{obj.get('trust_domain', trust_domain)}{obj.get('path', '')}"


def openssl_verify(ca_pem, untrusted_pem, cert_pem):
    """(ok, output) of `openssl verify` (x509_strict off: SPIFFE leaves have no CN)."""
    with tempfile.TemporaryDirectory() as tmp:
        ca, unt, crt = Path(tmp) / "ca.pem", Path(tmp) / "unt.pem", Path(tmp) / "crt.pem"
        ca.write_text("".join(ca_pem), encoding="utf-8")
        unt.write_text("".join(untrusted_pem), encoding="utf-8")
        crt.write_text(cert_pem, encoding="utf-8")
        argv = ["openssl", "verify", "-CAfile", str(ca)]
        if untrusted_pem:
            argv += ["-untrusted", str(unt)]
        res = run(argv + [str(crt)])
        return res.returncode == 0, (res.stdout + res.stderr).strip()


def cert_text(pem, *opts):
    """openssl x509 -noout OPTS of a PEM certificate."""
    res = subprocess.run(["openssl", "x509", "-noout", *opts], input=pem, capture_output=True, text=True, check=False)
    return res.stdout.strip()


GO_TMPL_RE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def render_go_template(template, ctx):
    """The ClusterSPIFFEID template forms used by the samples (.Field.Path, index .X.Labels "k")."""
    def one(match):
        expr = match.group(1)
        idx = re.fullmatch(r'index\s+(\.[\w.]+)\s+"([^"]+)"', expr)
        path, key = (idx.group(1), idx.group(2)) if idx else (expr, None)
        if not re.fullmatch(r"(\.\w+)+", path):
            raise DataPlaneError(f"template form not supported by the lab check: {expr}")
        val = ctx
        for part in path.strip(".").split("."):
            val = val[part]
        return str(val[key] if key is not None else val)
    return GO_TMPL_RE.sub(one, template)


class Verifier:
    """verify: numbered PASS/FAIL lines; non-zero exit on any failure."""

    def __init__(self, dp, fetches):
        self.dp = dp
        self.fetches = fetches
        self.count = 0
        self.failures = 0
        self.last_error = ""
        self.servers = dp.server_pods()
        self.srt = [PodRuntime(dp.kube, p).locate() for p in self.servers]
        self.agents = dp.agent_pods()
        self.art = {n: PodRuntime(dp.kube, p).locate() for n, p in self.agents.items()}
        self.version = dp.spire_version()
        self.server_bin = binary_for(f"spire-server:{self.version}")
        self.agent_bin = binary_for(f"spire-agent:{self.version}")
        first = self.srt[0].root / "original" / "server.conf"
        if not first.exists():
            raise DataPlaneError("the data plane was never started: dataplane.py up")
        self.trust_domain = conf_get(conf(first.read_text(encoding="utf-8")), "server", "trust_domain")
        self.nodes = dp.kube.nodes()
        self.cluster = None
        for rt in self.art.values():
            agent_data = conf((rt.root / "original" / "agent.conf").read_text(encoding="utf-8"))
            self.cluster = conf_get(agent_data, "plugins", "NodeAttestor", "k8s_psat", "plugin_data", "cluster")
            break

    # --- helpers
    def check(self, ok, name, detail):
        """One numbered result line."""
        self.count += 1
        self.failures += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'} {self.count:02d} {name}: {detail}", flush=True)
        return ok

    def sock(self, index):
        """Host path of server INDEX's private socket."""
        return self.dp.server_socket(self.srt[index], self.dp.server_container(self.servers[index]))

    def agent_sock(self, node):
        """Host path of the agent's Workload API socket on NODE."""
        pod = self.agents[node]
        return self.dp.agent_socket(self.art[node], container_by_image(pod, "spire-agent"))

    def server(self, index, *args, timeout=30):
        """spire-server CLI against server INDEX."""
        return run([self.server_bin, *args, "-socketPath", self.sock(index)], timeout=timeout)

    def healthy(self, index):
        """healthcheck of server INDEX."""
        return self.server(index, "healthcheck").returncode == 0

    def agent_id(self, node):
        """Expected k8s_psat agent ID of NODE."""
        uid = self.nodes[node]["metadata"]["uid"]
        return f"spiffe://{self.trust_domain}/spire/agent/k8s_psat/{self.cluster}/{uid}"

    def entries(self, index=0):
        """Entries as listed by server INDEX (None on error, kept in last_error for the report)."""
        res = self.server(index, "entry", "show", "-output", "json")
        if res.returncode != 0:
            self.last_error = f"spire-server-{index}: {(res.stderr or res.stdout).strip()[-300:]}"
            return None
        return json.loads(res.stdout or "{}").get("entries") or []

    def ensure_entry(self, sid, parent, selectors):
        """Create an entry through server 0 unless it exists."""
        for entry in self.entries() or []:
            if spiffe_id(entry["spiffe_id"]) == sid and spiffe_id(entry["parent_id"]) == parent:
                return True
        argv = ["entry", "create", "-spiffeID", sid, "-parentID", parent]
        for sel in selectors:
            argv += ["-selector", sel]
        res = self.server(0, *argv)
        if res.returncode != 0:
            say(f"entry create {sid}: {res.stdout}{res.stderr}")
        return res.returncode == 0

    def fetch(self, node, uid, timeout=10, want=None):
        """A workload (uid UID) on NODE fetches its X.509-SVID; (ok, spiffe_id, chain, bundle, msg)."""
        sock_host = Path(self.agent_sock(node))
        out = DP / "workloads" / f"{node}-{uid}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        os.chown(out, uid, uid)
        mounts = [(str(sock_host.parent), "/spiffe-workload-api", False),
                  (str(self.agent_bin), "/run/ardur-spire-lab/bin/spire-agent", True),
                  (str(out), "/run/ardur-spire-lab/out", False)]
        res = run_in_namespace(mounts, ["/run/ardur-spire-lab/bin/spire-agent", "api", "fetch", "x509",
                                        "-socketPath", f"/spiffe-workload-api/{sock_host.name}",
                                        "-timeout", f"{timeout}s", "-write", "/run/ardur-spire-lab/out"],
                               uid=uid, timeout=timeout + 10)
        if res.returncode != 0 or not (out / "svid.0.pem").exists():
            return False, None, [], [], (res.stdout + res.stderr).strip()[-300:]
        # one svid.N.pem per entry matching the workload; report the one asked for, else the first
        found = []
        for index in range(len(list(out.glob("svid.*.pem")))):
            chain = pem_certificates((out / f"svid.{index}.pem").read_text(encoding="utf-8"))
            bundle = pem_certificates((out / f"bundle.{index}.pem").read_text(encoding="utf-8"))
            uri = re.search(r"URI:(spiffe://\S+?)(,|$)", cert_text(chain[0], "-ext", "subjectAltName"), re.M)
            found.append((uri.group(1) if uri else None, chain, bundle))
        pick = next((f for f in found if want is not None and f[0] == want), found[0])
        return True, pick[0], pick[1], pick[2], ""

    def wait_svid(self, node, uid, want, timeout=60):
        """Seconds until a workload on NODE gets WANT (None on timeout)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            ok, sid, _unused, _unused, _unused = self.fetch(node, uid, timeout=5, want=want)
            if ok and sid == want:
                return time.monotonic() - t0
            time.sleep(1)
        return None

    # --- checks
    def check_configs(self):
        """validate: deployed configs and the lab copies."""
        rt, pod = self.srt[0], self.servers[0]
        cont = self.dp.server_container(pod)
        env = {**os.environ, **rt.env(cont)}
        inpod, lab_copy = self.dp.config_path(rt, cont)
        for label, path in (("deployed", rt.root / "original" / "server.conf"), ("lab copy", lab_copy)):
            res = run([self.server_bin, "validate", "-config", str(path), "-expandEnv"], env=env)
            self.check(res.returncode == 0, "server-config-valid",
                       f"spire-server validate -expandEnv ({label} {inpod}): {(res.stdout + res.stderr).strip()[-200:]}")
        node, art = next(iter(self.art.items()))
        acont = container_by_image(self.agents[node], "spire-agent")
        ainpod, alab = self.dp.config_path(art, acont)
        for label, path in (("deployed", art.root / "original" / "agent.conf"), ("lab copy", alab)):
            res = run([self.agent_bin, "validate", "-config", str(path)])
            self.check(res.returncode == 0, "agent-config-valid",
                       f"spire-agent validate ({label} {ainpod}): {(res.stdout + res.stderr).strip()[-200:]}")
        changes = (rt.root / "lab-changes.txt").read_text(encoding="utf-8").strip().replace("\n", "; ")
        print(f"INFO lab changes to server.conf of {rt.name}: {changes}")
        changes = (art.root / "lab-changes.txt").read_text(encoding="utf-8").strip().replace("\n", "; ")
        print(f"INFO lab changes to agent.conf of {art.name}: {changes}")

    def check_servers(self):
        """Three healthy servers on one PostgreSQL."""
        up = [i for i in range(len(self.servers)) if self.healthy(i)]
        self.check(len(up) == len(self.servers) == 3, "servers-healthy",
                   f"{len(up)}/{len(self.servers)} spire-server healthcheck -socketPath OK (want 3)")
        dsn_env = []
        for rt, pod in zip(self.srt, self.servers):
            cont = self.dp.server_container(pod)
            env = rt.env(cont)
            dsn_env.append(sorted(v for k, v in env.items() if "postgres" in v.lower())[:1])
        same = all(d == dsn_env[0] and d for d in dsn_env)
        counts = [len(e) if e is not None else None for e in (self.entries(i) for i in range(len(self.servers)))]
        self.check(same and len(set(counts)) == 1 and None not in counts, "one-datastore",
                   f"all servers take the same DSN from the Secret ({'yes' if same else 'no'}); entry counts per server {counts}")

    def check_tokens(self):
        """The servers and agents run on tokens bound to their own Pod objects."""
        groups = (("server", self.srt, self.servers, "/var/run/secrets/kubernetes.io/serviceaccount/token"),
                  ("agent", list(self.art.values()), list(self.agents.values()), None))
        for kind, runtimes, pods, path in groups:
            for rt, pod in zip(runtimes, pods):
                cont = container_by_image(pod, f"spire-{kind}")
                if path is None:
                    data = conf((rt.root / "original" / "agent.conf").read_text(encoding="utf-8"))
                    token_path = conf_get(data, "plugins", "NodeAttestor", "k8s_psat", "plugin_data", "token_path") \
                        or "/var/run/secrets/tokens/spire-agent"
                else:
                    token_path = path
                host = rt.host_path(cont, token_path)
                try:
                    claims = json.loads(base64.urlsafe_b64decode(Path(host).read_text(encoding="utf-8").split(".")[1] + "=="))
                except (OSError, ValueError, IndexError, TypeError):
                    claims = {}
                bound = (claims.get("kubernetes.io") or {}).get("pod") or {}
                ok = bound.get("uid") == pod["metadata"]["uid"] and claims.get("sub") == (
                    f"system:serviceaccount:{self.dp.namespace}:{pod['spec'].get('serviceAccountName')}")
                self.check(ok, f"{kind}-token-pod-bound",
                           f"{pod['metadata']['name']}: {token_path} sub {claims.get('sub')} aud {claims.get('aud')} bound to pod "
                           f"{bound.get('name')} ({'uid matches' if ok else 'MISMATCH'})")

    def check_agents(self):
        """Every agent attested with its k8s_psat ID."""
        res = self.server(0, "agent", "list", "-output", "json")
        listed = set()
        if res.returncode == 0:
            listed = {spiffe_id(a["id"]) for a in json.loads(res.stdout or "{}").get("agents") or []}
        for node in self.agents:
            want = self.agent_id(node)
            self.check(want in listed, "agent-attested", f"{node}: {want} {'listed' if want in listed else 'NOT listed'}")

    def check_workloads(self, upstream):
        """Workload API X.509-SVIDs for unix:uid entries; chains; bundle equality."""
        uid = WORKLOAD_UIDS[0]
        bundle_show = self.server(0, "bundle", "show")
        server_bundle = pem_certificates(bundle_show.stdout)
        cm_bundle = pem_certificates((self.dp.kube.configmap("spire-bundle") or {}).get("bundle.crt", ""))
        self.check(bool(server_bundle) and sorted(cm_bundle) == sorted(server_bundle), "bundle-configmap",
                   f"spire-bundle ConfigMap {len(cm_bundle)} cert(s) == spire-server bundle show {len(server_bundle)} cert(s)")
        roots = pem_certificates(upstream.get("bundle.crt", b"").decode()) or pem_certificates(upstream.get("tls.crt", b"").decode())
        upstream_chain = pem_certificates(upstream.get("tls.crt", b"").decode())
        self.check(all(r in server_bundle for r in roots), "bundle-has-upstream-root",
                   f"{len(roots)} upstream root(s) from Secret spire-upstream-ca are in the trust bundle")
        for node in self.agents:
            want = f"spiffe://{self.trust_domain}/lab/unix-uid-{uid}/{node}"
            self.ensure_entry(want, self.agent_id(node), [f"unix:uid:{uid}"])
        for node in self.agents:
            want = f"spiffe://{self.trust_domain}/lab/unix-uid-{uid}/{node}"
            secs = self.wait_svid(node, uid, want)
            ok, sid, chain, bundle, msg = self.fetch(node, uid, want=want)
            good, out = (False, msg)
            if ok:
                good, out = openssl_verify(bundle, chain[1:], chain[0])
            self.check(ok and sid == want and good, "workload-svid",
                       f"{node} uid {uid}: {sid} (want {want}) after {secs if secs is None else round(secs, 1)}s; "
                       f"verifies against the Workload API bundle: {out[-80:]}")
            if ok and node == next(iter(self.agents)):
                self.check(sorted(bundle) == sorted(server_bundle), "workload-bundle",
                           f"Workload API bundle ({len(bundle)}) == bundle show ({len(server_bundle)})")
                inter = chain[1:]
                good, out = (False, "no intermediate in the SVID chain")
                if inter:
                    good, out = openssl_verify(roots, inter[1:] + upstream_chain, inter[0])
                subj = cert_text(inter[0], "-subject", "-issuer") if inter else ""
                self.check(good, "intermediate-chains-to-upstream",
                           f"server X.509 CA from the SVID chain ({subj.replace(chr(10), '; ')}) verifies against the upstream CA: {out[-60:]}")
        for i in range(len(self.servers)):
            res = self.server(i, "localauthority", "x509", "show")
            active = re.search(r"Active X\.509 authority:\s*\n\s*Authority ID:\s*(\S+)", res.stdout)
            with tempfile.TemporaryDirectory() as tmp:
                mint = self.server(i, "x509", "mint", "-spiffeID", f"spiffe://{self.trust_domain}/lab/mint-check", "-ttl", "5m", "-write", tmp)
                chain = pem_certificates(Path(tmp, "svid.pem").read_text(encoding="utf-8")) if mint.returncode == 0 else []
            good, out = (False, (mint.stdout + mint.stderr).strip()[-120:])
            if len(chain) > 1:
                good, out = openssl_verify(roots, chain[2:] + upstream_chain, chain[1])
            ski = cert_text(chain[1], "-ext", "subjectKeyIdentifier").splitlines()[-1].strip().replace(":", "").lower() if len(chain) > 1 else "?"
            self.check(good, "server-ca-chains-to-upstream",
                       f"spire-server-{i}: X.509 CA (SKI {ski}; localauthority x509 show active {active.group(1) if active else '?'}) "
                       f"from an SVID it minted verifies against the upstream CA: {out[-40:]}")

    def fetch_round(self, uid, count):
        """COUNT fetches round-robin over the nodes; failure count."""
        nodes = list(self.agents)
        failures = 0
        for i in range(count):
            node = nodes[i % len(nodes)]
            ok, sid, _unused, _unused, msg = self.fetch(node, uid, timeout=5)
            if not ok or not sid:
                failures += 1
                say(f"fetch {i} on {node} failed: {msg}")
        return failures

    def check_server_loss(self):
        """Kill one server: SVIDs keep flowing, new entries reach agents; restart rejoins."""
        victim = 1
        stop(f"spire-server-{victim}", sig=signal.SIGKILL, grace=5)
        gone = not self.healthy(victim)
        failures = self.fetch_round(WORKLOAD_UIDS[0], self.fetches)
        self.check(gone and failures == 0, "server-loss-fetches",
                   f"spire-server-{victim} killed (SIGKILL); {self.fetches} Workload API fetches over {len(self.agents)} agents: {failures} failures")
        uid, stamp = WORKLOAD_UIDS[1], int(time.time())
        t0 = time.monotonic()
        for node in self.agents:
            self.ensure_entry(f"spiffe://{self.trust_domain}/lab/after-kill-{stamp}/{node}", self.agent_id(node), [f"unix:uid:{uid}"])
        waits = [self.wait_svid(n, uid, f"spiffe://{self.trust_domain}/lab/after-kill-{stamp}/{n}") for n in self.agents]
        self.check(None not in waits, "server-loss-new-entry",
                   f"new entries created after the kill reached every agent through the remaining servers in "
                   f"{round(time.monotonic() - t0, 1)}s (per node {[None if w is None else round(w, 1) for w in waits]})")
        for entry in self.entries() or []:
            if f"/lab/after-kill-{stamp}/" in spiffe_id(entry["spiffe_id"]):
                self.server(0, "entry", "delete", "-entryID", entry["id"])
        try:
            secs = self.dp.start_server(victim, self.dp.kube.pod(f"spire-server-{victim}"))
            ok = all(self.healthy(i) for i in range(len(self.servers)))
            self.check(ok, "server-rejoins", f"spire-server-{victim} restarted, healthy in {secs:.1f}s; all servers healthy: {ok}")
        except DataPlaneError as exc:
            self.check(False, "server-rejoins", str(exc)[:300])

    def check_postgres_restart(self):
        """Restart PostgreSQL; servers recover by themselves."""
        before = self.entries()
        before = len(before) if before is not None else -1
        res = run(["bash", str(LAB_SRC / "postgres.sh"), "restart"], timeout=120)
        t0 = time.monotonic()
        recovered, counts = None, []
        while time.monotonic() - t0 < 120:
            counts = [len(e) if e is not None else None for e in (self.entries(i) for i in range(len(self.servers)))]
            if all(self.healthy(i) for i in range(len(self.servers))) and counts == [before] * len(self.servers):
                recovered = time.monotonic() - t0
                break
            time.sleep(1)
        probe = f"spiffe://{self.trust_domain}/lab/pg-restart-probe"
        wrote = None
        while recovered is not None and time.monotonic() - t0 < 120:
            made = self.server(2, "entry", "create", "-spiffeID", probe, "-parentID", self.agent_id(next(iter(self.agents))),
                               "-selector", "unix:uid:65532", "-output", "json")
            if made.returncode == 0:
                wrote = time.monotonic() - t0
                for result in json.loads(made.stdout).get("results") or []:
                    self.server(2, "entry", "delete", "-entryID", result["entry"]["id"])
                break
            time.sleep(1)
        self.check(wrote is not None, "postgres-restart-write",
                   f"entry create through spire-server-2 succeeded {None if wrote is None else round(wrote, 1)}s after the restart")
        self.check(res.returncode == 0 and recovered is not None, "postgres-restart-recovery",
                   f"pg_ctl restart -m fast (rc {res.returncode}); all servers healthy with {before} entries listed by each "
                   f"after {None if recovered is None else round(recovered, 1)}s (bound 120s; last counts {counts}"
                   f"{'' if recovered is not None else '; last error ' + self.last_error})")
        failures = self.fetch_round(WORKLOAD_UIDS[0], min(self.fetches, 9))
        self.check(failures == 0, "postgres-restart-fetches", f"{min(self.fetches, 9)} fetches after the restart: {failures} failures")

    def check_postgres_outage(self, seconds=10):
        """PostgreSQL down for SECONDS, then up: servers recover by themselves."""
        before = len(self.entries() or [])
        down = run(["bash", str(LAB_SRC / "postgres.sh"), "down"], timeout=120)
        time.sleep(seconds)
        during = self.entries(1)
        failures = self.fetch_round(WORKLOAD_UIDS[0], 3)
        up = run(["bash", str(LAB_SRC / "postgres.sh"), "up"], timeout=120)
        t0 = time.monotonic()
        recovered = None
        while time.monotonic() - t0 < 120:
            counts = [len(e) if e is not None else None for e in (self.entries(i) for i in range(len(self.servers)))]
            if all(self.healthy(i) for i in range(len(self.servers))) and counts == [before] * len(self.servers):
                recovered = time.monotonic() - t0
                break
            time.sleep(1)
        self.check(down.returncode == 0 and up.returncode == 0 and recovered is not None, "postgres-outage-recovery",
                   f"PostgreSQL stopped {seconds}s (entry show during the outage: {'error' if during is None else 'answered'}; "
                   f"3 Workload API fetches during it: {failures} failures); after start all servers healthy with {before} entries in "
                   f"{None if recovered is None else round(recovered, 1)}s (bound 120s)"
                   f"{'' if recovered is not None else '; last error ' + self.last_error}")

    def check_controller_manager(self):
        """ClusterSPIFFEIDs + sample Pods -> entries (ID, k8s selectors, parent)."""
        kube = self.dp.kube
        try:
            csids = kube.raw(kube.custom.list_cluster_custom_object, "spire.spiffe.io", "v1alpha1", "clusterspiffeids")["items"]
        except DataPlaneError as exc:
            self.check(False, "controller-manager", f"cannot list ClusterSPIFFEIDs: {str(exc)[:200]}")
            return
        pods = kube.raw(kube.core.list_pod_for_all_namespaces)["items"]
        namespaces = {n["metadata"]["name"]: n for n in kube.raw(kube.core.list_namespace)["items"]}
        expected = []
        for csid in csids:
            spec = csid["spec"]
            sel = (spec.get("podSelector") or {}).get("matchLabels") or {}
            nsel = (spec.get("namespaceSelector") or {}).get("matchLabels") or {}
            for pod in pods:
                labels = pod["metadata"].get("labels") or {}
                nlabels = namespaces.get(pod["metadata"]["namespace"], {}).get("metadata", {}).get("labels") or {}
                if not sel or any(labels.get(k) != v for k, v in sel.items()):
                    continue
                if any(nlabels.get(k) != v for k, v in nsel.items()) or not pod["spec"].get("nodeName"):
                    continue
                node = self.nodes[pod["spec"]["nodeName"]]
                ctx = {"TrustDomain": self.trust_domain, "ClusterName": self.cluster, "ClusterDomain": "cluster.local",
                       "PodMeta": {"Name": pod["metadata"]["name"], "Namespace": pod["metadata"]["namespace"],
                                   "UID": pod["metadata"]["uid"], "Labels": labels,
                                   "Annotations": pod["metadata"].get("annotations") or {}},
                       "PodSpec": {"ServiceAccountName": pod["spec"].get("serviceAccountName", "default"),
                                   "NodeName": pod["spec"]["nodeName"]},
                       "NodeMeta": {"Name": node["metadata"]["name"], "UID": node["metadata"]["uid"],
                                    "Labels": node["metadata"].get("labels") or {}}}
                want_sels = {f"k8s:pod-uid:{pod['metadata']['uid']}"}
                want_sels |= {render_go_template(t, ctx) for t in spec.get("workloadSelectorTemplates") or []}
                expected.append((csid["metadata"]["name"], pod, render_go_template(spec["spiffeIDTemplate"], ctx),
                                 want_sels, self.agent_id(pod["spec"]["nodeName"])))
        if not expected:
            self.check(False, "controller-manager", f"{len(csids)} ClusterSPIFFEID(s), no matching scheduled sample Pod "
                       "(apply playbooks/samples.yml)")
            return
        t0 = time.monotonic()
        missing = expected
        while time.monotonic() - t0 < 90 and missing:
            got = {}
            for entry in self.entries() or []:
                got.setdefault((spiffe_id(entry["spiffe_id"]), spiffe_id(entry["parent_id"])), []).append(
                    {f"{s['type']}:{s['value']}" for s in entry.get("selectors") or []})
            missing = [e for e in expected if not any(e[3] <= sels for sels in got.get((e[2], e[4]), []))]
            if missing:
                time.sleep(2)
        secs = round(time.monotonic() - t0, 1)
        for name, pod, sid, sels, parent in expected:
            ok = all(m[1] is not pod for m in missing)
            container_sels = sorted(s for s in sels if s.startswith("k8s:container-name:"))
            self.check(ok and bool(container_sels), "controller-manager-entry",
                       f"{name} / {pod['metadata']['namespace']}/{pod['metadata']['name']} on {pod['spec']['nodeName']}: "
                       f"{sid} {container_sels} parent {parent} {'present' if ok else 'MISSING'} (waited {secs}s)")
        frameworks = {lab for _unused, p, _unused, _unused, _unused in expected for lab in [(p["metadata"].get("labels") or {}).get("framework")]}
        self.check(set(SAMPLE_FRAMEWORKS) <= frameworks, "controller-manager-frameworks",
                   f"sample workloads covered: {sorted(f for f in frameworks if f)} (want {list(SAMPLE_FRAMEWORKS)})")

    def run(self):
        """All checks; exit code."""
        t0 = time.monotonic()
        upstream = self.dp.kube.secret("spire-upstream-ca") or {}
        self.check_configs()
        self.check_servers()
        self.check_tokens()
        self.check_agents()
        self.check_workloads(upstream)
        self.check_controller_manager()
        self.check_server_loss()
        self.check_postgres_restart()
        self.check_postgres_outage()
        print(f"{self.count - self.failures} passed, {self.failures} failed ({time.monotonic() - t0:.0f}s)")
        return 1 if self.failures else 0


# ----------------------------------------------------------------------- lab kubelet --

def recorded_uid(proc):
    """UID of the Pod lab process PROC was started from (None: never started)."""
    try:
        return (DP / "run" / f"{proc}.pod").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def managed_processes():
    """Processes `up` (or this kubelet) started from a Pod, running or not."""
    run_dir = DP / "run"
    return sorted(p.stem for p in run_dir.glob("*.pod")) if run_dir.exists() else []


def live(pod):
    """POD when it is scheduled and not terminating, else None."""
    if pod and pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
        return pod
    return None


class LabKubelet:
    """The kubelet's part for Pods that change after `up`, so runbooks act on the API and the
    real processes follow: a process whose Pod was deleted or replaced (another UID) is stopped
    and started again from the new Pod (volumes, env from Secrets, binary of the image tag);
    ConfigMap/Secret volumes of running Pods are re-published when the API content changes
    (atomic ..data swap). Processes that crashed or were killed are left alone: the tests kill
    them on purpose; `dataplane.py up` starts them again."""

    def __init__(self):
        self.dp = DataPlane()

    def desired(self):
        """[(process, live Pod or None, starter, containers)] for every process `up` started."""
        dp = self.dp
        dp.sts = dp.kube.raw(dp.kube.apps.read_namespaced_stateful_set, "spire-server", dp.namespace, optional=True)
        dp.ds = dp.kube.raw(dp.kube.apps.read_namespaced_daemon_set, "spire-agent", dp.namespace, optional=True)
        servers = {p["metadata"]["name"]: p for p in dp.kube.pods(dp.kube.selector_of(dp.sts))} if dp.sts else {}
        agents = {}
        for pod in dp.kube.pods(dp.kube.selector_of(dp.ds)) if dp.ds else []:
            if live(pod):
                agents[pod["spec"]["nodeName"]] = pod
        out = []
        for proc in managed_processes():
            if proc.startswith("spire-server-"):
                index = int(proc.rsplit("-", 1)[1])
                pod = live(servers.get(f"spire-server-{index}"))
                conts = [dp.server_container(pod)] if pod else []
                if pod and index == 0 and read_pid("spire-controller-manager-0"):
                    conts.append(container_by_image(pod, "spire-controller-manager"))
                out.append((proc, pod, lambda p, i=index: dp.start_server(i, p), conts))
        for proc in managed_processes():
            if proc.startswith("spire-controller-manager-"):
                pod = live(servers.get("spire-server-0"))
                out.append((proc, pod, lambda p: dp.start_scm(0, p), []))
            elif proc.startswith("spire-agent-"):
                node = proc[len("spire-agent-"):]
                pod = agents.get(node)
                index = sorted(set(agents) | {node}).index(node)
                conts = [container_by_image(pod, "spire-agent")] if pod else []
                out.append((proc, pod, lambda p, i=index, n=node: dp.start_agent(i, n, p), conts))
        return out

    def sync(self):
        """One pass: stop what lost its Pod, start from the new Pods, refresh volumes."""
        plan = self.desired()
        restart = []
        for proc, pod, starter, conts in plan:
            uid = recorded_uid(proc)
            if uid is None:
                continue
            if pod is None or pod["metadata"]["uid"] != uid:
                if read_pid(proc):
                    stop(proc)
                    say(f"{proc}: its Pod was {'deleted' if pod is None else 'replaced'}: stopped")
                if pod is not None:
                    restart.append((proc, pod, starter))
        for proc, pod, starter in restart:
            t0 = time.monotonic()
            try:
                starter(pod)
                say(f"{proc}: started from Pod {pod['metadata']['name']} uid {pod['metadata']['uid']} "
                    f"({time.monotonic() - t0:.1f}s)")
            except DataPlaneError as exc:
                say(f"{proc}: start from the new Pod failed: {exc}")
        cache = {}
        for proc, pod, _starter, conts in plan:
            if pod is not None and read_pid(proc) and recorded_uid(proc) == pod["metadata"]["uid"] and conts:
                changed = PodRuntime(self.dp.kube, pod).locate().refresh(conts, cache)
                if changed:
                    say(f"{proc}: volumes refreshed from the API: {', '.join(changed)}")

    def run(self, interval=1.0):
        """Sync until SIGTERM; give up after a minute without the API."""
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_a: stopping.append(1))
        failures = 0
        while not stopping:
            try:
                self.sync()
                failures = 0
            except Exception as exc:  # pylint: disable=broad-exception-caught
                failures += 1
                say(f"sync failed ({failures}): {exc}")
                if failures > 60:
                    return 1
            time.sleep(interval)
        return 0


# ----------------------------------------------------------------------------- watch --

WATCH_UID = 65531
WATCH_DEADLINE = 5.0  # seconds a fetch may retry an unavailable Workload API, like a client's deadline


def cert_ids(pem):
    """(subject key id, authority key id) of a PEM certificate, hex."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    cert = x509.load_pem_x509_certificate(pem.encode())
    ids = []
    for cls, attr in ((x509.SubjectKeyIdentifier, "digest"), (x509.AuthorityKeyIdentifier, "key_identifier")):
        try:
            ids.append(getattr(cert.extensions.get_extension_for_class(cls).value, attr).hex())
        except x509.ExtensionNotFound:
            ids.append(None)
    return tuple(ids)


def cmd_watch(out, interval):
    """Workloads on every node fetch and verify X.509-SVIDs until SIGTERM; counts in OUT (JSON)."""
    view = Verifier(DataPlane(), 0)
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_a: stopping.append(1))
    want = {n: f"spiffe://{view.trust_domain}/lab/watch/{n}" for n in view.agents}
    for node, sid in want.items():
        view.ensure_entry(sid, view.agent_id(node), [f"unix:uid:{WATCH_UID}"])
    for node, sid in want.items():
        if view.wait_svid(node, WATCH_UID, sid, timeout=120) is None:
            raise DataPlaneError(f"watch: no SVID {sid} on {node} after 120s")
    stats = {"ready": True, "rounds": 0, "fetches": 0, "failures": 0, "retries": 0, "errors": [],
             "bundle_root_skis": [], "svid_issuer_akis": [], "started": time.time(), "updated": time.time(),
             # per node: a restarting agent makes only its own node's fetches fail, for as long as it takes
             "nodes": {n: {"fetches": 0, "failures": 0, "longest_outage_seconds": 0.0} for n in want}}
    down_since = {}
    out = Path(out)

    def write():
        stats["updated"] = time.time()
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(stats, indent=1), encoding="utf-8")
        os.replace(tmp, out)

    write()
    while not stopping:
        for node, sid in want.items():
            started = time.monotonic()
            ok, got, chain, bundle, msg = view.fetch(node, WATCH_UID, timeout=5, want=sid)
            # A workload's client (go-spiffe) retries Unavailable (the agent's socket is gone while
            # its pod is replaced) within its deadline; a fetch fails only when the deadline passes.
            while not ok and "code = Unavailable" in msg and time.monotonic() - started < WATCH_DEADLINE:
                stats["retries"] += 1
                time.sleep(0.2)
                ok, got, chain, bundle, msg = view.fetch(node, WATCH_UID, timeout=5, want=sid)
            stats["fetches"] += 1
            per = stats["nodes"][node]
            per["fetches"] += 1
            good, detail = (False, msg)
            if ok and got != sid:
                detail = f"got {got}, want {sid}"
            elif ok:
                good, detail = openssl_verify(bundle, chain[1:], chain[0])
            if not good:
                stats["failures"] += 1
                per["failures"] += 1
                down_since.setdefault(node, time.monotonic())
                per["longest_outage_seconds"] = round(max(per["longest_outage_seconds"], time.monotonic() - down_since[node]), 1)
                stats["errors"] = (stats["errors"] + [f"{time.strftime('%H:%M:%S')} {node}: {detail.strip()[-200:]}"])[-20:]
                continue
            down_since.pop(node, None)
            skis = sorted(cert_ids(c)[0] for c in bundle)
            if skis not in stats["bundle_root_skis"]:
                stats["bundle_root_skis"].append(skis)
            aki = cert_ids(chain[1])[1] if len(chain) > 1 else None
            if aki not in stats["svid_issuer_akis"]:
                stats["svid_issuer_akis"].append(aki)
        stats["rounds"] += 1
        write()
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
    write()
    return 0


def tail(path, lines=15):
    """Last lines of a log."""
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def lab_processes():
    """Names of the lab processes with pid files."""
    run_dir = DP / "run"
    return sorted(p.stem for p in run_dir.glob("*.pid")) if run_dir.exists() else []


def cmd_down():
    """Stop every data-plane process; remove host mountpoints."""
    for name in lab_processes():
        if stop(name):
            say(f"stopped {name}")
    for record in (DP / "run").glob("*.pod") if (DP / "run").exists() else []:
        record.unlink()
    remove_mountpoints()
    busy = [p for p in sorted({p for v in ports().values() for p in (v if isinstance(v, list) else [v])})
            if not port_free(p)]
    if busy:
        raise DataPlaneError(f"ports still in use after down: {busy}")
    say("down: no data-plane process or port left")


def port_free(port):
    """True when nothing listens on 127.0.0.1:PORT."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) != 0


def endpoints(dp, fetches):
    """Host paths of the running servers' admin sockets and the agents' Workload API sockets,
    and the binaries, for playbooks and modules run against the lab (transport local)."""
    view = Verifier(dp, fetches)
    return {
        "spire_server": str(view.server_bin),
        "spire_agent": str(view.agent_bin),
        "server_sockets": [str(view.sock(i)) for i in range(len(view.servers))],
        "agent_sockets": {node: str(view.agent_sock(node)) for node in view.agents},
    }


def cmd_status():
    """Print each process; exit 3 when one is down."""
    names = lab_processes()
    if not names:
        print("dataplane: not running")
        return 3
    rc = 0
    for name in names:
        pid = read_pid(name)
        print(f"{name}: {'running pid ' + str(pid) if pid else 'STOPPED'}  log {logfile(name)}")
        rc = rc if pid else 3
    return rc


def main(argv=None):
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["up", "down", "status", "verify", "endpoints", "watch", "_nsexec", "_proxy", "_kubelet"])
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--out", help="watch: the JSON file of counts (rewritten every round)")
    parser.add_argument("--interval", type=float, default=1.0, help="watch: seconds between rounds")
    parser.add_argument("--fetches", type=int, default=int(os.environ.get("ARDUR_SPIRE_LAB_FETCHES", "30")))
    args = parser.parse_args(argv)
    if args.command == "_nsexec":
        ns_exec(args.rest[0])
        return 0
    if args.command == "_proxy":
        proxy_main(int(args.rest[0]), [int(p) for p in args.rest[1:]])
        return 0
    if os.geteuid() != 0:
        print("dataplane: run as root (mount namespaces)", file=sys.stderr)
        return 2
    try:
        if args.command == "up":
            DataPlane().up()
        elif args.command == "down":
            cmd_down()
        elif args.command == "status":
            return cmd_status()
        elif args.command == "verify":
            return Verifier(DataPlane(), args.fetches).run()
        elif args.command == "_kubelet":
            return LabKubelet().run()
        elif args.command == "watch":
            if not args.out:
                parser.error("watch needs --out FILE")
            return cmd_watch(args.out, args.interval)
        elif args.command == "endpoints":
            print(json.dumps(endpoints(DataPlane(), args.fetches), indent=2))
    except DataPlaneError as exc:
        print(f"[dataplane] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
