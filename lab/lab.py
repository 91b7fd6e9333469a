#!/usr/bin/env python
"""Local Kubernetes control plane for the ardur.spire lab.

Runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
as plain host processes bound to 127.0.0.1 (no container engine needed), and
creates three kwok-managed Nodes, a default StorageClass and static
PersistentVolumes.

Subcommands: up, down [--keep], status, selftest, release-pvs, env.
Binaries come from lab/build.sh (cached under $ARDUR_SPIRE_CACHE/bin).
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LAB_SRC = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("ARDUR_SPIRE_CACHE",
                            Path.home() / ".cache" / "ardur-spire"))
STATE = Path(os.environ.get("ARDUR_SPIRE_LAB_DIR", CACHE / "lab"))
HOST = "127.0.0.1"


def env_int(name, default):
    """Integer setting from the environment."""
    return int(os.environ.get(name, default))


PORTS = {
    "etcd-client": env_int("ARDUR_SPIRE_LAB_ETCD_PORT", 22379),
    "etcd-peer": env_int("ARDUR_SPIRE_LAB_ETCD_PEER_PORT", 22380),
    "kube-apiserver": env_int("ARDUR_SPIRE_LAB_APISERVER_PORT", 16443),
    "kube-controller-manager": env_int("ARDUR_SPIRE_LAB_KCM_PORT", 20257),
    "kube-scheduler": env_int("ARDUR_SPIRE_LAB_SCHEDULER_PORT", 20259),
    "kwok": env_int("ARDUR_SPIRE_LAB_KWOK_PORT", 20247),
}
NODES = [f"lab-node-{i}" for i in (1, 2, 3)]
ZONES = ["lab-a", "lab-b", "lab-c"]
PVS_PER_NODE = env_int("ARDUR_SPIRE_LAB_PVS_PER_NODE", 3)
PV_SIZE = os.environ.get("ARDUR_SPIRE_LAB_PV_SIZE", "1Gi")
STORAGE_CLASS = "ardur-lab"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
TIMEOUT = env_int("ARDUR_SPIRE_LAB_TIMEOUT", 90)
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager",
              "kube-scheduler", "kwok"]


class LabError(Exception):
    """A failure with a message meant for the user."""


def say(msg):
    """Progress output."""
    print(f"[lab] {msg}", flush=True)


# ----------------------------------------------------------------- binaries --

def binary(name):
    """Path of a cached binary, as lab/build.sh computes it."""
    out = subprocess.run([str(LAB_SRC / "build.sh"), "path", name],
                         check=True, capture_output=True, text=True)
    path = Path(out.stdout.strip())
    if not os.access(path, os.X_OK):
        raise LabError(f"{name} is not built ({path} missing); "
                       f"run: lab/build.sh")
    return path


# ---------------------------------------------------------------------- PKI --

def openssl(*args):
    """Run the openssl CLI."""
    res = subprocess.run(["openssl", *args], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise LabError(f"openssl {' '.join(args[:2])} failed: {res.stderr}")


def new_key(path, algorithm="EC"):
    """Private key (EC P-256 or RSA 2048), mode 0600."""
    if algorithm == "EC":
        openssl("genpkey", "-algorithm", "EC",
                "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    else:
        openssl("genpkey", "-algorithm", "RSA",
                "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path))
    path.chmod(0o600)


def issue_cert(pki, name, subject, ext_lines, days=365):
    """Key + certificate NAME signed by the lab CA."""
    key, crt = pki / f"{name}.key", pki / f"{name}.crt"
    new_key(key)
    with tempfile.TemporaryDirectory() as tmp:
        csr, ext = Path(tmp) / "req.csr", Path(tmp) / "ext.cnf"
        ext.write_text("\n".join(ext_lines) + "\n", encoding="utf-8")
        openssl("req", "-new", "-key", str(key), "-subj", subject,
                "-out", str(csr))
        openssl("x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"),
                "-CAkey", str(pki / "ca.key"),
                "-set_serial", "0x" + secrets.token_hex(16),
                "-days", str(days), "-sha256", "-extfile", str(ext),
                "-out", str(crt))


CLIENTS = {
    # name: (CN, O)
    "admin": ("kubernetes-admin", "system:masters"),
    "kube-controller-manager": ("system:kube-controller-manager", None),
    "kube-scheduler": ("system:kube-scheduler", None),
    # kwok plays every kubelet; it patches nodes and pods of all nodes.
    "kwok": ("kwok-controller", "system:masters"),
    # the apiserver's identity towards kubelets (none exist; kept for shape)
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client",
                                 "kubeadm:cluster-admins"),
}


def make_pki(pki):
    """CA, apiserver serving cert, client certs, service-account key pair."""
    if (pki / "done").exists():
        return
    say("generating PKI with openssl")
    pki.mkdir(parents=True, exist_ok=True)
    new_key(pki / "ca.key")
    openssl("req", "-x509", "-new", "-key", str(pki / "ca.key"),
            "-subj", "/CN=ardur-spire-lab-ca", "-days", "3650", "-sha256",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", str(pki / "ca.crt"))
    sans = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
            "IP:127.0.0.1", "IP:10.96.0.1"]
    issue_cert(pki, "apiserver", "/CN=kube-apiserver", [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=" + ",".join(sans)])
    for name, (cn, org) in CLIENTS.items():
        subject = f"/CN={cn}" + (f"/O={org}" if org else "")
        issue_cert(pki, name, subject, [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=clientAuth"])
    new_key(pki / "sa.key", "RSA")
    openssl("pkey", "-in", str(pki / "sa.key"), "-pubout",
            "-out", str(pki / "sa.pub"))
    (pki / "done").write_text("ok\n", encoding="utf-8")


def b64file(path):
    """Base64 of a file, for kubeconfig *-data fields."""
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path, pki, client):
    """Kubeconfig for CLIENT's certificate against the lab apiserver."""
    server = f"https://{HOST}:{PORTS['kube-apiserver']}"
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "ardur-lab", "cluster": {
            "server": server,
            "certificate-authority-data": b64file(pki / "ca.crt")}}],
        "users": [{"name": client, "user": {
            "client-certificate-data": b64file(pki / f"{client}.crt"),
            "client-key-data": b64file(pki / f"{client}.key")}}],
        "contexts": [{"name": "ardur-lab", "context": {
            "cluster": "ardur-lab", "user": client}}],
        "current-context": "ardur-lab",
    }
    # JSON is valid YAML; kubectl and client-go read it as a kubeconfig.
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)


# ---------------------------------------------------------------- processes --

@dataclass
class Component:
    """One lab process: how to run it and how to tell it is healthy."""

    name: str
    argv: list
    health_url: str
    health_ok: str = "ok"
    env: dict = field(default_factory=dict)

    @property
    def log(self):
        """Log file of the component."""
        return STATE / "logs" / f"{self.name}.log"

    @property
    def pidfile(self):
        """Pid file of the component."""
        return STATE / "run" / f"{self.name}.pid"


def read_pid(name):
    """Pid of a component started by this lab, if it still runs."""
    pidfile = STATE / "run" / f"{name}.pid"
    try:
        pid = int(pidfile.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # Guard against pid reuse: our processes carry the state dir in argv.
    if str(STATE).encode() not in cmdline:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return None
    except (OSError, IndexError):
        return None
    return pid


def port_free(port):
    """True when nothing listens on HOST:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) != 0


def ssl_context(pki, verify=True):
    """TLS context presenting the admin client certificate."""
    if verify:
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return ctx


def probe(url, pki):
    """(ok, body) of a GET against a health endpoint."""
    ctx = None
    if url.startswith("https://"):
        ctx = ssl_context(pki, verify=f":{PORTS['kube-apiserver']}/" in url)
    try:
        with urllib.request.urlopen(url, timeout=3, context=ctx) as resp:
            body = resp.read().decode(errors="replace").strip()
            return resp.status == 200, body
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        return False, str(exc)


def tail(path, lines=15):
    """Last lines of a log file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def start(comp, pki):
    """Start a component in its own session and wait until healthy."""
    comp.log.parent.mkdir(parents=True, exist_ok=True)
    comp.pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(comp.log, "ab") as logf:
        logf.write(f"\n=== {time.ctime()} {' '.join(comp.argv)}\n".encode())
        logf.flush()
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            comp.argv, stdin=subprocess.DEVNULL, stdout=logf,
            stderr=subprocess.STDOUT, cwd=STATE, start_new_session=True,
            env={**os.environ, **comp.env})
    comp.pidfile.write_text(f"{proc.pid}\n", encoding="utf-8")
    t0 = time.monotonic()
    body = ""
    while time.monotonic() - t0 < TIMEOUT:
        if proc.poll() is not None:
            raise LabError(
                f"{comp.name} exited with code {proc.returncode}; "
                f"log: {comp.log}\n{tail(comp.log)}")
        ok, body = probe(comp.health_url, pki)
        if ok and comp.health_ok in body:
            say(f"{comp.name} healthy ({time.monotonic() - t0:.1f}s, "
                f"pid {proc.pid})")
            return
        time.sleep(0.3)
    raise LabError(
        f"{comp.name} not healthy after {TIMEOUT}s at {comp.health_url} "
        f"(last answer: {body[:200]}); log: {comp.log}\n{tail(comp.log)}")


def stop_pid(name, pid, grace=15.0):
    """SIGTERM the process group of PID, then SIGKILL after GRACE seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError as exc:
            raise LabError(f"cannot signal {name} pid {pid}: {exc}") from exc
        t0 = time.monotonic()
        while time.monotonic() - t0 < grace:
            if read_pid(name) is None:
                return
            time.sleep(0.1)
        say(f"{name} (pid {pid}) ignored SIGTERM, sending SIGKILL")


# ------------------------------------------------------------ control plane --

def components(pki):
    """The lab's processes, in start order."""
    kcfg = STATE / "kubeconfigs"
    etcd_url = f"http://{HOST}:{PORTS['etcd-client']}"
    peer_url = f"http://{HOST}:{PORTS['etcd-peer']}"
    api = f"https://{HOST}:{PORTS['kube-apiserver']}"
    return [
        Component("etcd", [
            str(binary("etcd")), "--name=ardur-lab",
            f"--data-dir={STATE / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=ardur-lab={peer_url}",
            "--initial-cluster-state=new",
            "--listen-metrics-urls=",
            "--unsafe-no-fsync=true", "--log-level=warn",
            "--quota-backend-bytes=4294967296",
        ], f"{etcd_url}/health", '"health":"true"'),
        Component("kube-apiserver", [
            str(binary("kube-apiserver")),
            f"--etcd-servers={etcd_url}",
            f"--bind-address={HOST}", f"--advertise-address={HOST}",
            f"--secure-port={PORTS['kube-apiserver']}",
            f"--cert-dir={STATE / 'pki' / 'generated'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--kubelet-client-certificate="
            f"{pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--profiling=false",
        ], f"{api}/readyz"),
        Component("kube-controller-manager", [
            str(binary("kube-controller-manager")),
            f"--kubeconfig={kcfg / 'kube-controller-manager.kubeconfig'}",
            "--authentication-kubeconfig="
            f"{kcfg / 'kube-controller-manager.kubeconfig'}",
            "--authorization-kubeconfig="
            f"{kcfg / 'kube-controller-manager.kubeconfig'}",
            f"--bind-address={HOST}",
            f"--secure-port={PORTS['kube-controller-manager']}",
            f"--cert-dir={STATE / 'pki' / 'generated'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            "--use-service-account-credentials=true",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--cluster-cidr={POD_CIDR}",
            "--leader-elect=false", "--profiling=false",
        ], f"https://{HOST}:{PORTS['kube-controller-manager']}/healthz"),
        Component("kube-scheduler", [
            str(binary("kube-scheduler")),
            f"--kubeconfig={kcfg / 'kube-scheduler.kubeconfig'}",
            "--authentication-kubeconfig="
            f"{kcfg / 'kube-scheduler.kubeconfig'}",
            "--authorization-kubeconfig="
            f"{kcfg / 'kube-scheduler.kubeconfig'}",
            f"--bind-address={HOST}",
            f"--secure-port={PORTS['kube-scheduler']}",
            f"--cert-dir={STATE / 'pki' / 'generated'}",
            "--leader-elect=false", "--profiling=false",
        ], f"https://{HOST}:{PORTS['kube-scheduler']}/healthz"),
        Component("kwok", [
            str(binary("kwok")),
            f"--kubeconfig={kcfg / 'kwok.kubeconfig'}",
            "--manage-all-nodes=true",
            f"--cidr={POD_CIDR}",
            f"--node-ip={HOST}",
            "--node-lease-duration-seconds=40",
            f"--server-address={HOST}:{PORTS['kwok']}",
        ], f"http://{HOST}:{PORTS['kwok']}/healthz"),
    ]


def kubectl(*args, stdin=None, check=True):
    """Run the lab's kubectl with the admin kubeconfig; return stdout."""
    res = subprocess.run(
        [str(binary("kubectl")), f"--kubeconfig={STATE / 'kubeconfig'}",
         *args], input=stdin, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise LabError(f"kubectl {' '.join(args)} failed: "
                       f"{res.stderr.strip()}")
    return res.stdout


def kubectl_json(*args):
    """kubectl ... -o json, parsed."""
    return json.loads(kubectl(*args, "-o", "json"))


def apply(docs):
    """Server-side apply a list of objects."""
    kubectl("apply", "--server-side", "--field-manager=ardur-lab", "-f", "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                              "items": docs}))


def wait_for(what, check, timeout=TIMEOUT, log=None):
    """Poll CHECK() until truthy or fail naming WHAT (and a log file)."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        try:
            last = check()
        except LabError as exc:
            last = str(exc)
        if last is True:
            return time.monotonic() - t0
        time.sleep(0.5)
    hint = f"; log: {log}" if log else ""
    raise LabError(f"timed out after {timeout}s waiting for {what} "
                   f"(last: {last}){hint}")


def node_docs():
    """The three lab Nodes (kwok keeps them Ready)."""
    docs = []
    for name, zone in zip(NODES, ZONES):
        docs.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/zone": zone,
                    "type": "kwok",
                },
                "annotations": {"kwok.x-k8s.io/node": "fake"},
            },
            "spec": {},
        })
    return docs


NODE_STATUS = {"status": {
    "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110",
                 "ephemeral-storage": "100Gi"},
    "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110",
                    "ephemeral-storage": "100Gi"},
}}


def storage_docs():
    """Default StorageClass and node-pinned static hostPath PVs."""
    docs = [{
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {
            "storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }]
    for node in NODES:
        for i in range(1, PVS_PER_NODE + 1):
            name = f"ardur-lab-{node}-pv{i}"
            path = STATE / "pv" / name
            path.mkdir(parents=True, exist_ok=True)
            docs.append({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name,
                             "labels": {"ardur.io/lab-pv": "true"}},
                "spec": {
                    "capacity": {"storage": PV_SIZE},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": STORAGE_CLASS,
                    "volumeMode": "Filesystem",
                    "hostPath": {"path": str(path),
                                 "type": "DirectoryOrCreate"},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{
                        "matchExpressions": [{
                            "key": "kubernetes.io/hostname",
                            "operator": "In", "values": [node]}]}]}},
                },
            })
    return docs


def nodes_ready():
    """True when every lab node reports Ready=True and has no taints."""
    items = kubectl_json("get", "nodes")["items"]
    state = {}
    for node in items:
        conds = {c["type"]: c["status"]
                 for c in node.get("status", {}).get("conditions", [])}
        state[node["metadata"]["name"]] = (
            conds.get("Ready") == "True"
            and not node["spec"].get("taints"))
    if all(state.get(n) for n in NODES):
        return True
    return state


def release_pvs(quiet=False):
    """Make Released lab PVs Available again (their claims were deleted)."""
    items = kubectl_json("get", "pv", "-l", "ardur.io/lab-pv=true")["items"]
    count = 0
    for pv in items:
        if pv.get("status", {}).get("phase") == "Released":
            kubectl("patch", "pv", pv["metadata"]["name"], "--type=json",
                    "-p", '[{"op":"remove","path":"/spec/claimRef"}]')
            count += 1
    if not quiet:
        say(f"{count} released PV(s) made Available again")
    return count


# ---------------------------------------------------------------- commands --

def running():
    """{component: pid} of lab processes alive now."""
    return {name: pid for name in COMPONENTS
            if (pid := read_pid(name)) is not None}


def cmd_up(_args):
    """Bring the lab up (idempotent)."""
    t0 = time.monotonic()
    pki = STATE / "pki"
    alive = running()
    if len(alive) == len(COMPONENTS):
        ok = probe(f"https://{HOST}:{PORTS['kube-apiserver']}/readyz", pki)[0]
        if ok:
            say(f"already up (pids {sorted(alive.values())}); "
                f"kubeconfig: {STATE / 'kubeconfig'}")
            return 0
    if alive:
        raise LabError(f"lab is partially up ({', '.join(alive)} running); "
                       f"run: lab/lab.py down")
    busy = [f"{name} {HOST}:{port}" for name, port in PORTS.items()
            if not port_free(port)]
    if busy:
        raise LabError("ports already in use: " + ", ".join(busy) +
                       " (set ARDUR_SPIRE_LAB_*_PORT to move them)")
    comps = components(pki)  # fails early when a binary is missing
    STATE.mkdir(parents=True, exist_ok=True)
    make_pki(pki)
    kcfg = STATE / "kubeconfigs"
    kcfg.mkdir(exist_ok=True)
    for client in CLIENTS:
        write_kubeconfig(kcfg / f"{client}.kubeconfig", pki, client)
    shutil.copyfile(kcfg / "admin.kubeconfig", STATE / "kubeconfig")
    (STATE / "kubeconfig").chmod(0o600)
    try:
        start_all(comps, pki)
    except LabError:
        stop_all()
        say(f"startup failed; stopped what was started, state kept in "
            f"{STATE} (remove it with: lab/lab.py down)")
        raise
    say(f"up in {time.monotonic() - t0:.1f}s wall")
    print_usage()
    return 0


def start_all(comps, pki):
    """Start the processes in order, then create nodes and storage."""
    for comp in comps:
        start(comp, pki)
    say("creating nodes, StorageClass and PersistentVolumes")
    apply(node_docs())
    for node in NODES:
        kubectl("patch", "node", node, "--subresource=status",
                "--type=merge", "-p", json.dumps(NODE_STATUS))
    apply(storage_docs())
    took = wait_for("nodes Ready (kwok)", nodes_ready,
                    log=STATE / "logs" / "kwok.log")
    say(f"nodes Ready after {took:.1f}s")
    wait_for("ServiceAccount default/default (controller-manager)",
             lambda: bool(kubectl("get", "sa", "default", "-n", "default",
                                  "-o", "name", check=False)),
             log=STATE / "logs" / "kube-controller-manager.log")


def print_usage():
    """How to reach the lab."""
    print(f"  kubeconfig : {STATE / 'kubeconfig'}\n"
          f"  apiserver  : https://{HOST}:{PORTS['kube-apiserver']}\n"
          f"  kubectl    : {LAB_SRC / 'kubectl'} get nodes   "
          f"(or KUBECONFIG={STATE / 'kubeconfig'} {binary('kubectl')})\n"
          f"  logs       : {STATE / 'logs'}/\n"
          f"  down       : {LAB_SRC / 'lab.py'} down [--keep]")


def stop_all():
    """Stop every running lab process (reverse start order)."""
    stopped = []
    for name in reversed(COMPONENTS):
        pid = read_pid(name)
        if pid is not None:
            stop_pid(name, pid)
            stopped.append((name, pid))
        (STATE / "run" / f"{name}.pid").unlink(missing_ok=True)
    return stopped


def ports_of(name):
    """Ports a component listens on."""
    return [port for key, port in PORTS.items()
            if key == name or key.startswith(name + "-")]


def cmd_down(args):
    """Stop every lab process; remove the state unless --keep."""
    t0 = time.monotonic()
    stopped = stop_all()
    busy = [f"{name} {HOST}:{port}" for name, _unused in stopped
            for port in ports_of(name) if not port_free(port)]
    if stopped:
        say("stopped " + ", ".join(f"{n}({p})" for n, p in stopped))
    else:
        say("nothing running")
    if not args.keep and STATE.exists():
        shutil.rmtree(STATE)
        say(f"removed {STATE}")
    elif args.keep:
        say(f"kept state in {STATE}")
    say(f"down in {time.monotonic() - t0:.1f}s wall")
    if busy:
        raise LabError("ports still in use after stopping their "
                       "processes: " + ", ".join(busy))
    return 0


def cmd_status(_args):
    """Print each component's pid and health; exit 1 unless all healthy."""
    pki = STATE / "pki"
    healthy = True
    comps = {c.name: c for c in components(pki)} if (pki / "done").exists() \
        else {}
    for name in COMPONENTS:
        pid = read_pid(name)
        if pid is None:
            print(f"{name:24} down")
            healthy = False
            continue
        ok, body = probe(comps[name].health_url, pki) if name in comps \
            else (False, "no PKI")
        healthy = healthy and ok
        print(f"{name:24} pid {pid:<8} {'healthy' if ok else body[:60]}")
    if healthy:
        print(kubectl("get", "nodes", "-L", "topology.kubernetes.io/zone"),
              end="")
        print_usage()
    return 0 if healthy else 1


def cmd_env(_args):
    """Shell exports for using the lab (eval "$(lab/lab.py env)")."""
    print(f"export KUBECONFIG={STATE / 'kubeconfig'}")
    print(f"export PATH={binary('kubectl').parent}:$PATH")
    return 0


def cmd_release_pvs(_args):
    """Recycle Released lab PVs."""
    release_pvs()
    return 0


SELFTEST_NS = "ardur-lab-selftest"


def selftest_docs():
    """Namespace, ServiceAccount, StatefulSet with 2 claim templates, DS."""
    labels_st = {"app": "selftest-st"}
    labels_ds = {"app": "selftest-ds"}
    pod_common = {"serviceAccountName": "psat-test",
                  "containers": [{"name": "main",
                                  "image": "registry.invalid/lab/pause:1"}]}
    claim = {"accessModes": ["ReadWriteOnce"],
             "resources": {"requests": {"storage": "100Mi"}}}
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": SELFTEST_NS}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "psat-test", "namespace": SELFTEST_NS}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "selftest-st", "namespace": SELFTEST_NS},
         "spec": {"clusterIP": "None", "selector": labels_st,
                  "ports": [{"port": 8081}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": {"name": "selftest-st", "namespace": SELFTEST_NS},
         "spec": {
             "replicas": 3, "serviceName": "selftest-st",
             "podManagementPolicy": "Parallel",
             "selector": {"matchLabels": labels_st},
             "template": {
                 "metadata": {"labels": labels_st},
                 "spec": {**pod_common, "affinity": {"podAntiAffinity": {
                     "requiredDuringSchedulingIgnoredDuringExecution": [{
                         "labelSelector": {"matchLabels": labels_st},
                         "topologyKey": "kubernetes.io/hostname"}]}}}},
             "volumeClaimTemplates": [
                 {"metadata": {"name": "data"}, "spec": claim},
                 {"metadata": {"name": "state"}, "spec": claim}]}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet",
         "metadata": {"name": "selftest-ds", "namespace": SELFTEST_NS},
         "spec": {"selector": {"matchLabels": labels_ds},
                  "template": {"metadata": {"labels": labels_ds},
                               "spec": pod_common}}},
    ]


def jwt_claims(token):
    """Decoded (unverified) payload of a JWT, for the report."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def token_review(token, audiences):
    """TokenReview status for TOKEN (audiences may be empty)."""
    spec = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    doc = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
           "spec": spec}
    out = kubectl("create", "-f", "-", "-o", "json", stdin=json.dumps(doc))
    return json.loads(out)["status"]


def st_ready():
    """StatefulSet ready, PVCs Bound, pods on distinct nodes."""
    sts = kubectl_json("get", "statefulset", "selftest-st",
                       "-n", SELFTEST_NS)
    pvcs = kubectl_json("get", "pvc", "-n", SELFTEST_NS)["items"]
    bound = [p for p in pvcs if p.get("status", {}).get("phase") == "Bound"]
    ready = sts.get("status", {}).get("readyReplicas", 0)
    if ready == 3 and len(bound) == 6:
        return True
    return f"readyReplicas={ready} pvcsBound={len(bound)}/6"


def ds_ready():
    """DaemonSet has a ready pod on every node."""
    status = kubectl_json("get", "daemonset", "selftest-ds",
                          "-n", SELFTEST_NS).get("status", {})
    if status.get("numberReady") == 3 and \
            status.get("desiredNumberScheduled") == 3:
        return True
    return status


def cmd_selftest(_args):
    """Check PVC binding, spreading, DaemonSets and pod-bound tokens."""
    t0 = time.monotonic()
    report = {}
    apply(selftest_docs())
    wait_for("selftest StatefulSet ready with 6 Bound PVCs", st_ready,
             log=STATE / "logs")
    wait_for("selftest DaemonSet numberReady == 3", ds_ready,
             log=STATE / "logs")
    pods = kubectl_json("get", "pods", "-n", SELFTEST_NS)["items"]
    st_nodes = sorted(p["spec"]["nodeName"] for p in pods
                      if p["metadata"]["name"].startswith("selftest-st-"))
    if len(set(st_nodes)) != 3:
        raise LabError(f"StatefulSet pods not on 3 distinct nodes: "
                       f"{st_nodes}")
    report["statefulset_nodes"] = st_nodes
    report["pvcs"] = {
        p["metadata"]["name"]: (p["status"]["phase"], p["spec"]["volumeName"])
        for p in kubectl_json("get", "pvc", "-n", SELFTEST_NS)["items"]}
    ds_status = kubectl_json("get", "daemonset", "selftest-ds",
                             "-n", SELFTEST_NS)["status"]
    report["daemonset"] = {k: ds_status.get(k) for k in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady")}
    check_pod_token(report, next(
        p for p in pods if p["metadata"]["name"].startswith("selftest-ds-")))
    kubectl("delete", "namespace", SELFTEST_NS, "--wait=true",
            "--timeout=120s")
    released = release_pvs(quiet=True)
    wait_for("lab PVs Available again", lambda: all(
        pv["status"].get("phase") == "Available" for pv in kubectl_json(
            "get", "pv", "-l", "ardur.io/lab-pv=true")["items"]) or "no")
    report["pvs_recycled"] = released
    print(json.dumps(report, indent=2))
    say(f"selftest passed in {time.monotonic() - t0:.1f}s")
    return 0


def check_pod_token(report, pod):
    """TokenRequest bound to POD, then TokenReview as k8s_psat does it."""
    pod_name, pod_uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    report["pod_ip"] = pod["status"].get("podIP")
    token = kubectl("create", "token", "psat-test", "-n", SELFTEST_NS,
                    "--bound-object-kind", "Pod",
                    "--bound-object-name", pod_name,
                    "--audience", "spire-server", "--duration", "10m").strip()
    claims = jwt_claims(token)
    report["token_claims"] = {k: claims.get(k)
                              for k in ("iss", "aud", "kubernetes.io")}
    review = token_review(token, ["spire-server"])
    extra = review.get("user", {}).get("extra", {})
    report["tokenreview_spire_server"] = {
        "authenticated": review.get("authenticated"),
        "username": review.get("user", {}).get("username"),
        "audiences": review.get("audiences"), "extra": extra}
    if not review.get("authenticated") or \
            extra.get("authentication.kubernetes.io/pod-name") != [pod_name] \
            or extra.get("authentication.kubernetes.io/pod-uid") != [pod_uid]:
        raise LabError(f"TokenReview did not carry the pod: {review}")
    default_aud = token_review(token, [])
    report["tokenreview_default_audience_authenticated"] = \
        default_aud.get("authenticated", False)
    kubectl("delete", "pod", pod_name, "-n", SELFTEST_NS, "--wait=true")
    try:
        took = wait_for(
            "TokenReview to reject the token of the deleted pod",
            lambda: not token_review(token, ["spire-server"]).get(
                "authenticated", False) or "still authenticated",
            timeout=30)
        report["tokenreview_rejected_after_pod_delete_s"] = round(took, 1)
    except LabError as exc:
        report["tokenreview_rejected_after_pod_delete_s"] = str(exc)


def main(argv=None):
    """Entry point."""
    parser = argparse.ArgumentParser(
        description="ardur.spire local Kubernetes lab (processes, no "
                    "containers)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="start the lab (idempotent)")
    down = sub.add_parser("down", help="stop the lab (idempotent)")
    down.add_argument("--keep", action="store_true",
                      help="keep the state dir (etcd data, PKI, logs)")
    sub.add_parser("status", help="component and node status")
    sub.add_parser("selftest", help="verify storage, scheduling, tokens")
    sub.add_parser("release-pvs", help="make Released lab PVs Available")
    sub.add_parser("env", help="print shell exports for the lab")
    args = parser.parse_args(argv)
    handler = {"up": cmd_up, "down": cmd_down, "status": cmd_status,
               "selftest": cmd_selftest, "release-pvs": cmd_release_pvs,
               "env": cmd_env}[args.cmd]
    try:
        return handler(args)
    except LabError as exc:
        print(f"[lab] ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
