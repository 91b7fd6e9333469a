#!/usr/bin/env python
"""Offline kind lab: a Docker engine of its own, every image built here, a kind cluster.

No registry is reachable from the lab machines, so each image a kind cluster and the
collection need is assembled here from Debian packages (mmdebstrap) and binaries built from
Go modules (lab/build.sh), then loaded into the kind nodes. See lab/kind/README.md.

Subcommands:
  engine-up | engine-down   the lab's own dockerd (own socket, data root, runtime wrapper)
  build                     node image + every image (cached: an existing tag is reused)
  up [--name N]             engine, build, kind cluster, collection images loaded
  down [--name N]           delete the cluster; `--engine` also stops the engine
  env                       shell exports: DOCKER_HOST, PATH (kind), ARDUR_SPIRE_KIND_IMAGES
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIND_SRC = Path(__file__).resolve().parent
LAB_SRC = KIND_SRC.parent
REPO = LAB_SRC.parent
CACHE = Path(os.environ.get("ARDUR_SPIRE_CACHE", Path.home() / ".cache" / "ardur-spire"))
KIND_CACHE = CACHE / "kind"
ENGINE_DIR = Path(os.environ.get("ARDUR_SPIRE_ENGINE_DIR", CACHE / "engine"))
# Short: containerd's sockets live under the exec root (unix socket paths are limited).
ENGINE_EXEC = Path(os.environ.get("ARDUR_SPIRE_ENGINE_EXEC", "/run/ardur-spire-engine"))
SOCKET = ENGINE_DIR / "docker.sock"
DOCKER_HOST = f"unix://{SOCKET}"
STATE = Path(os.environ.get("ARDUR_SPIRE_KIND_DIR", "/tmp/ardur-spire-kind"))
# What `build` made: the node image, the collection's images (keys of spire_images), the
# PostgreSQL and workload images. The kind scenario reads it (ARDUR_SPIRE_KIND_IMAGES).
IMAGES_FILE = KIND_CACHE / "images.json"
CLUSTER = os.environ.get("ARDUR_SPIRE_KIND_CLUSTER", "ardur-spire")

# Every image built here is named under this registry host, which resolves nowhere: a
# missing image fails to pull at once instead of reaching out.
REGISTRY = "lab.ardur.invalid"
DEBIAN_MIRRORS = [
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
]

# The node's packages: kind's base image list, minus what this lab never uses (NFS, iSCSI,
# fuse-overlayfs), plus the runtime pieces kind builds from source and Debian ships.
NODE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "conntrack", "iptables", "nftables", "iproute2",
    "ethtool", "util-linux", "mount", "kmod", "libseccomp2", "pigz", "bash",
    "ca-certificates", "curl", "jq", "procps", "socat", "ebtables",
    "containerd", "runc", "containernetworking-plugins",
]
# kind's own cleanup of a systemd image (its base Dockerfile does the same by RUN).
NODE_HOOKS = [
    'rm -f "$1"/lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service',
    'rm -f "$1"/lib/systemd/system/multi-user.target.wants/*',
    'rm -f "$1"/etc/systemd/system/*.wants/*',
    'rm -f "$1"/lib/systemd/system/local-fs.target.wants/*',
    'rm -f "$1"/lib/systemd/system/sockets.target.wants/*udev*',
    'rm -f "$1"/lib/systemd/system/sockets.target.wants/*initctl*',
    'rm -f "$1"/lib/systemd/system/basic.target.wants/*',
    'echo ReadKMsg=no >> "$1"/etc/systemd/journald.conf',
    'ln -sf /dev/null "$1"/etc/systemd/system/systemd-binfmt.service',
    'mkdir -p "$1"/etc/kubernetes/manifests "$1"/opt/cni',
    'ln -sfn /usr/lib/cni "$1"/opt/cni/bin',
    'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*',
]
# kind's node-image parts, read from the kind module at build time (never kept here).
KIND_FILES = [
    "usr/local/bin/entrypoint",
    "kind/bin/mount-product-files.sh",
    "kind/bin/undo-mount-hacks.sh",
    "kind/bin/create-kubelet-cgroup-v2.sh",
    "etc/systemd/system/kubelet.service",
    "etc/systemd/system/kubelet.slice",
    "etc/systemd/system/undo-mount-hacks.service",
    "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "etc/systemd/system/kubelet.service.d/11-kind.conf",
    "etc/sysctl.d/10-network-magic.conf",
    "etc/sysctl.d/10-network-security.conf",
    "etc/default/kubelet",
    "etc/crictl.yaml",
]
NODE_UNITS = ["kubelet.service", "containerd.service", "undo-mount-hacks.service"]

# Tools packages: kube-proxy needs iptables/conntrack, the local-path helper a shell.
TOOLS_PACKAGES = ["iptables", "nftables", "conntrack", "iproute2", "bash", "coreutils"]
POSTGRES_PACKAGES = ["postgresql-15", "postgresql-client-15", "bash", "coreutils"]
# The scenario runs PostgreSQL as 999:999 (the official image's postgres user); initdb needs
# that uid to have a passwd entry.
POSTGRES_HOOKS = [
    'chroot "$1" groupmod -g 999 postgres',
    'chroot "$1" usermod -u 999 -g 999 postgres',
    'chroot "$1" chown -R 999:999 /var/lib/postgresql /var/run/postgresql',
    'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*',
]


def say(msg):
    print(f"[kindlab] {msg}", file=sys.stderr, flush=True)


def die(msg):
    say(f"ERROR: {msg}")
    sys.exit(1)


def run(argv, check=True, capture=False, env=None, input_=None, timeout=None, cwd=None):
    """Run a command; on failure, raise with its output."""
    full_env = dict(os.environ, **(env or {}))
    res = subprocess.run(argv, check=False, text=True, env=full_env, input=input_, cwd=cwd,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.PIPE if capture else None, timeout=timeout)
    if check and res.returncode != 0:
        detail = (res.stderr or res.stdout or "").strip()[-2000:] if capture else ""
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {res.returncode}: {detail}")
    return res


def docker(*args, check=True, capture=True, input_=None, timeout=None):
    return run(["docker", *map(str, args)], check=check, capture=capture,
               env={"DOCKER_HOST": DOCKER_HOST}, input_=input_, timeout=timeout)


# ------------------------------------------------------------------ versions --
def versions():
    """lab/versions.env as a dict (the environment may override each value)."""
    out = run(["bash", "-c", f'set -a; . "{LAB_SRC}/versions.env"; env -0'], capture=True).stdout
    pairs = (item.split("=", 1) for item in out.split("\0") if "=" in item)
    return {k: v for k, v in pairs if k.startswith("LAB_")}


def defaults_value(key):
    """A top-level scalar of roles/spire/defaults/main.yml."""
    for line in (REPO / "roles" / "spire" / "defaults" / "main.yml").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return line.split(":", 1)[1].split("#")[0].strip().strip("'\"")
    die(f"roles/spire/defaults/main.yml has no {key}")
    return None


def binary(name, version=None):
    """Cached path of a binary built by lab/build.sh (`lab/build.sh kind` builds them all)."""
    args = [name] + ([version] if version else [])
    path = run([str(LAB_SRC / "build.sh"), "path", *args], capture=True).stdout.strip()
    if not os.access(path, os.X_OK):
        die(f"{name} is not built at {path}: run lab/build.sh kind")
    return Path(path)


def tree_hash(*paths, extra=""):
    """Short content hash of files and directories (a cache key for what we build); Go test
    files are left out: they change no binary."""
    h = hashlib.sha256(extra.encode())
    for root in paths:
        root = Path(root)
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and not p.name.endswith("_test.go")) if root.is_dir() else [root]
        for f in files:
            h.update(str(f.relative_to(root.parent)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


# -------------------------------------------------------------------- engine --
def engine_pid():
    try:
        pid = int((ENGINE_DIR / "dockerd.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def engine_ready():
    return SOCKET.exists() and docker("version", check=False).returncode == 0


def lab_tools():
    """The lab's own Go programs (lab/kind/go), built once per source hash."""
    src = KIND_SRC / "go"
    out = KIND_CACHE / "tools" / tree_hash(src, extra=run(["go", "version"], capture=True).stdout)
    if not (out / "runc-capfit").exists():
        tmp = out.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        say(f"building lab/kind/go -> {out}")
        run(["nice", "-n", "10", "go", "build", "-trimpath", "-ldflags", "-s -w",
             "-o", f"{tmp}/", "./cmd/..."], env={"CGO_ENABLED": "0"}, cwd=src)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return out


def cmd_engine_up(_args=None):
    """Start the lab's dockerd unless it already runs: own socket, data root and exec root,
    the capability-fitting runtime wrapper as the default runtime, no default bridge."""
    if engine_pid() and engine_ready():
        return
    tools = lab_tools()
    ENGINE_DIR.mkdir(parents=True, exist_ok=True)
    ENGINE_EXEC.mkdir(parents=True, exist_ok=True)
    for stale in (SOCKET, ENGINE_DIR / "dockerd.pid"):
        stale.unlink(missing_ok=True)
    argv = [
        "dockerd",
        "--data-root", str(ENGINE_DIR / "root"),
        "--exec-root", str(ENGINE_EXEC),
        "--host", DOCKER_HOST,
        "--pidfile", str(ENGINE_DIR / "dockerd.pid"),
        "--add-runtime", f"capfit={tools / 'runc-capfit'}",
        "--default-runtime", "capfit",
        "--bridge", "none",
        # Containers resolve each other through Docker's embedded DNS (CoreDNS forwards node
        # names there); any other name is forwarded to loopback, where nothing answers, so no
        # query leaves the machine.
        "--dns", "127.0.0.1",
        "--storage-driver", "overlay2",
    ]
    log = open(ENGINE_DIR / "dockerd.log", "ab")  # pylint: disable=consider-using-with
    subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                     start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if engine_ready():
            say(f"engine up: {DOCKER_HOST}")
            return
        time.sleep(0.5)
    die(f"dockerd did not answer on {SOCKET} within 60 s (log: {ENGINE_DIR / 'dockerd.log'})")


def cmd_engine_down(_args=None):
    """Stop the engine this lab started (never another daemon): its pid file names it."""
    pid = engine_pid()
    if pid:
        for ctr in docker("ps", "-aq", check=False).stdout.split():
            docker("rm", "-f", ctr, check=False)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and engine_pid():
            time.sleep(0.5)
        if engine_pid():
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(ENGINE_EXEC, ignore_errors=True)
    SOCKET.unlink(missing_ok=True)
    say("engine down")


# -------------------------------------------------------------------- images --
def image_exists(ref):
    return docker("image", "inspect", ref, check=False).returncode == 0


def debian_rootfs(name, packages, hooks=()):
    """A Debian bookworm minbase tarball with PACKAGES, cached by its inputs."""
    key = hashlib.sha256(json.dumps([packages, list(hooks), DEBIAN_MIRRORS]).encode()).hexdigest()[:12]
    tar = KIND_CACHE / "rootfs" / f"{name}-{key}.tar"
    if tar.exists():
        return tar
    tar.parent.mkdir(parents=True, exist_ok=True)
    say(f"mmdebstrap {name} ({len(packages)} packages)")
    argv = ["nice", "-n", "10", "mmdebstrap", "--variant=minbase", "--format=tar", "--quiet",
            "--aptopt=Acquire::Retries \"3\"", "--include=" + ",".join(packages)]
    argv += [f"--customize-hook={h}" for h in hooks]
    argv += ["bookworm", f"{tar}.tmp", *DEBIAN_MIRRORS]
    run(argv)
    os.replace(f"{tar}.tmp", tar)
    return tar


def build_image(ref, files, dockerfile_tail, base="scratch"):
    """docker build of FROM BASE + FILES ({dest: source path or bytes}) + the tail lines."""
    if image_exists(ref):
        return
    with tempfile.TemporaryDirectory(prefix="kindlab-") as ctx:
        for dest, src in files.items():
            target = Path(ctx, "root", dest.lstrip("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if Path(src).is_symlink() if isinstance(src, Path) else False:
                target.symlink_to(os.readlink(src))
                continue
            if isinstance(src, Path):
                shutil.copyfile(src, target)
            else:
                target.write_bytes(src.encode() if isinstance(src, str) else src)
            # Module files are read-only in the Go cache: modes are set here, by place.
            executable = "/bin/" in dest or "/sbin/" in dest or dest.endswith(".sh")
            target.chmod(0o755 if executable else 0o644)
        Path(ctx, "root").mkdir(exist_ok=True)
        dockerfile = "\n".join([f"FROM {base}", "COPY root/ /", *dockerfile_tail]) + "\n"
        say(f"docker build {ref}")
        docker("build", "--quiet", "--tag", ref, "-f-", ctx, input_=dockerfile, timeout=1800)


def import_rootfs(ref, tar, changes):
    if image_exists(ref):
        return
    say(f"docker import {ref}")
    docker("import", *[a for c in changes for a in ("--change", c)], tar, ref, timeout=1800)


def save_archive(ref):
    """`docker save` of REF, cached by reference (what `kind load image-archive` reads)."""
    safe = ref.replace("/", "_").replace(":", "_")
    archive = KIND_CACHE / "archives" / f"{safe}.tar"
    if not archive.exists():
        archive.parent.mkdir(parents=True, exist_ok=True)
        docker("save", "-o", f"{archive}.tmp", ref, timeout=1800)
        os.replace(f"{archive}.tmp", archive)
    return archive


def binary_image(ref, name, path, entrypoint=None, user=None, workdir=None):
    """A FROM-scratch image of one static binary (plus the CA bundle); the binary sits where
    the entrypoint runs it (default /usr/local/bin/NAME)."""
    entrypoint = entrypoint or [f"/usr/local/bin/{name}"]
    files = {entrypoint[0]: path,
             "/etc/ssl/certs/ca-certificates.crt": Path("/etc/ssl/certs/ca-certificates.crt")}
    tail = ["ENV PATH=/usr/local/bin:/usr/bin:/bin"]
    if workdir:
        tail.append(f"WORKDIR {workdir}")
    if user:
        tail.append(f"USER {user}")
    tail.append(f"ENTRYPOINT {json.dumps(entrypoint)}")
    build_image(ref, files, tail)


class Images:
    """Every image of the lab, its reference and how it is built."""

    def __init__(self):
        self.v = versions()
        self.k8s = "v" + self.v["LAB_KUBERNETES_VERSION"]
        self.tools = lab_tools()
        self.tools_tag = self.tools.name

    # Kubernetes: kubeadm pulls <imageRepository>/<name>:<tag>; kind's cluster config
    # points imageRepository, etcd and dns at these.
    def k8s_ref(self, name, tag):
        return f"{REGISTRY}/k8s/{name}:{tag}"

    def control_plane(self):
        refs = []
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            ref = self.k8s_ref(name, self.k8s)
            binary_image(ref, name, binary(name), entrypoint=[f"/usr/local/bin/{name}"])
            refs.append(ref)
        ref = self.k8s_ref("kube-proxy", self.k8s)
        tools = self.debian_tools()
        build_image(ref, {"/usr/local/bin/kube-proxy": binary("kube-proxy")},
                    ["ENTRYPOINT [\"/usr/local/bin/kube-proxy\"]"], base=tools)
        refs.append(ref)
        etcd_v = self.v["LAB_ETCD_VERSION"]
        ref = self.k8s_ref("etcd", etcd_v)
        binary_image(ref, "etcd", binary("etcd"), entrypoint=["/usr/local/bin/etcd"])
        refs.append(ref)
        dns_v = "v" + self.v["LAB_COREDNS_VERSION"]
        ref = self.k8s_ref("coredns", dns_v)
        binary_image(ref, "coredns", binary("coredns"), entrypoint=["/usr/local/bin/coredns"])
        refs.append(ref)
        refs.append(self.pause())
        return refs

    def pause(self):
        tag = self.v["LAB_PAUSE_VERSION"]
        ref = self.k8s_ref("pause", tag)
        binary_image(ref, "pause", binary("pause", tag), entrypoint=["/usr/local/bin/pause"],
                     user="65535:65535")
        return ref

    def debian_tools(self):
        tar = debian_rootfs("tools", TOOLS_PACKAGES)
        ref = f"{REGISTRY}/lab/debian-tools:{tar.stem.split('-')[-1]}"
        import_rootfs(ref, tar, ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        return ref

    def podnet(self):
        ref = f"{REGISTRY}/lab/podnet:{self.tools_tag}"
        binary_image(ref, "podnet", self.tools / "podnet")
        return ref

    def local_path(self):
        v = "v" + self.v["LAB_LOCAL_PATH_PROVISIONER_VERSION"]
        ref = f"{REGISTRY}/lab/local-path-provisioner:{v}"
        binary_image(ref, "local-path-provisioner", binary("local-path-provisioner"))
        return ref

    def node_infra(self):
        """What the node image carries preloaded: control plane, pod network, storage."""
        return [*self.control_plane(), self.podnet(), self.local_path(), self.debian_tools()]

    # The collection's images, tagged as what they really are (never the 1.14.2 pin on a
    # 1.14.5 binary).
    def collection(self):
        """The images deploy.yml runs (spire_images), the workload's and PostgreSQL's, and
        `previous`: SPIRE and the controller manager one release back (the upgrade tests)."""
        refs = self.spire(self.v["LAB_SPIRE_VERSION"], defaults_value("spire_controller_manager_version"))
        previous = self.spire(self.v["LAB_SPIRE_PREVIOUS_VERSION"], self.v["LAB_SCM_PREVIOUS_VERSION"])
        csi_v = self.v["LAB_SPIFFE_CSI_VERSION"]
        ref = f"{REGISTRY}/spiffe/spiffe-csi-driver:{csi_v}"
        binary_image(ref, "spiffe-csi-driver", binary("spiffe-csi-driver", csi_v))
        refs["spiffe_csi_driver"] = ref
        ref = f"{REGISTRY}/lab/csi-node-registrar:{self.tools_tag}"
        binary_image(ref, "csi-node-registrar", self.tools / "csi-node-registrar")
        refs["csi_node_driver_registrar"] = ref
        ref = f"{REGISTRY}/lab/svid-watch:{self.tools_tag}"
        binary_image(ref, "svid-watch", self.tools / "svid-watch", user="1000:1000")
        return {"spire_images": refs, "previous": {"spire_images": previous}, "workload": ref,
                "postgres": self.postgres()}

    def spire(self, spire_v, scm_v):
        """spire-server and spire-agent SPIRE_V, spire-controller-manager SCM_V: {input key: ref}."""
        refs = {}
        for comp, uid in (("server", "1000:1000"), ("agent", "0:0")):
            name = f"spire-{comp}"
            ref = f"{REGISTRY}/spiffe/{name}:{spire_v}"
            binary_image(ref, name, binary(name, spire_v), user=uid, workdir="/opt/spire",
                         entrypoint=[f"/opt/spire/bin/{name}", "run"])
            refs[name.replace("-", "_")] = ref
        ref = f"{REGISTRY}/spiffe/spire-controller-manager:{scm_v}"
        binary_image(ref, "spire-controller-manager", binary("spire-controller-manager", scm_v),
                     user="65532:65532")
        refs["spire_controller_manager"] = ref
        return refs

    def postgres(self):
        tar = debian_rootfs("postgres", POSTGRES_PACKAGES, POSTGRES_HOOKS)
        base = f"{REGISTRY}/lab/postgres-base:{tar.stem.split('-')[-1]}"
        import_rootfs(base, tar, [])
        pg_v = docker("run", "--rm", "--network", "none", "--entrypoint",
                      "/usr/lib/postgresql/15/bin/postgres", base, "--version").stdout.split()[2]
        ref = f"{REGISTRY}/lab/postgres:{pg_v}-{tree_hash(KIND_SRC / 'images' / 'postgres')[:6]}"
        build_image(ref, {"/usr/local/bin/docker-entrypoint.sh":
                          KIND_SRC / "images" / "postgres" / "entrypoint.sh"},
                    ["ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin",
                     "ENV PGDATA=/var/lib/postgresql/data",
                     "USER 999:999",
                     'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]'], base=base)
        return ref


def node_image(images):
    """kind node image: Debian bookworm + kind's node parts + Kubernetes binaries, with the
    control plane, pod network and storage images preloaded in containerd."""
    v = images.v
    infra = images.node_infra()
    kind_dir = kind_module_dir(v["LAB_KIND_VERSION"])
    node_files = KIND_SRC / "node"
    key = hashlib.sha256(json.dumps([infra, NODE_PACKAGES, NODE_HOOKS, KIND_FILES, tree_hash(node_files),
                                     tree_hash(KIND_SRC / "manifests"), str(kind_dir)]).encode()).hexdigest()[:12]
    ref = f"{REGISTRY}/kind/node:{images.k8s}-{key}"
    if image_exists(ref):
        return ref
    base_tar = debian_rootfs("node", NODE_PACKAGES, NODE_HOOKS)
    base = f"{REGISTRY}/kind/node-base:{base_tar.stem.split('-')[-1]}"
    import_rootfs(base, base_tar, [])
    files = {f"/{f}": kind_dir / "images" / "base" / "files" / f for f in KIND_FILES}
    for f in node_files.rglob("*"):
        if f.is_file():
            files["/" + str(f.relative_to(node_files))] = f
    files["/usr/bin/kubelet"] = binary("kubelet")
    files["/usr/bin/kubeadm"] = binary("kubeadm")
    files["/usr/bin/kubectl"] = binary("kubectl")
    files["/usr/local/bin/crictl"] = binary("crictl")
    files["/usr/local/sbin/runc-capfit"] = images.tools / "runc-capfit"
    files["/kind/version"] = images.k8s + "\n"
    files["/kind/manifests/default-cni.yaml"] = (KIND_SRC / "manifests" / "podnet.yaml").read_text().replace(
        "@PODNET_IMAGE@", images.podnet())
    files["/kind/manifests/default-storage.yaml"] = (KIND_SRC / "manifests" / "storage.yaml").read_text().replace(
        "@PROVISIONER_IMAGE@", images.local_path()).replace("@HELPER_IMAGE@", images.debian_tools())
    files["/etc/containerd/config.toml"] = (node_files / "etc/containerd/config.toml").read_text().replace(
        "@PAUSE_IMAGE@", images.pause())
    # enabled units: the symlinks `systemctl enable` would make
    with tempfile.TemporaryDirectory(prefix="kindlab-links-") as links:
        for unit in NODE_UNITS:
            link = Path(links, unit)
            link.symlink_to(f"/etc/systemd/system/{unit}")
            files[f"/etc/systemd/system/multi-user.target.wants/{unit}"] = link
        files["/etc/containerd/cri-base.json"] = cri_base_spec()
        staged = f"{REGISTRY}/kind/node-staged:{key}"
        build_image(staged, files, ["ENV container=docker", "STOPSIGNAL SIGRTMIN+3"], base=base)
    preload(staged, ref, infra)
    return ref


def cri_base_spec():
    """containerd's default OCI spec with kind's two changes: the product-files hook and no
    rlimits (kind's base image does this with `ctr oci spec | jq`)."""
    spec = json.loads(run(["ctr", "oci", "spec"], capture=True).stdout)
    spec.setdefault("hooks", {}).setdefault("createContainer", []).append(
        {"path": "/kind/bin/mount-product-files.sh"})
    spec["process"].pop("rlimits", None)
    return json.dumps(spec, indent=2)


def preload(staged, ref, infra):
    """Run containerd in a container of STAGED, import the INFRA images (pinned, not
    unpacked, as kind's node-image build does), commit as REF."""
    name = f"kindlab-preload-{os.getpid()}"
    docker("run", "-d", "--name", name, "--privileged", "--network", "none",
           "--tmpfs", "/run", "--tmpfs", "/tmp", "--entrypoint", "/usr/bin/containerd", staged)
    try:
        deadline = time.monotonic() + 60
        while docker("exec", name, "ctr", "version", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("containerd did not start in the preload container")
            time.sleep(0.5)
        for image in infra:
            archive = save_archive(image)
            say(f"preload {image}")
            with open(archive, "rb") as fh:
                res = subprocess.run(
                    ["docker", "exec", "-i", name, "ctr", "--namespace=k8s.io", "images", "import",
                     "--label=io.cri-containerd.pinned=pinned", "--all-platforms", "--no-unpack",
                     "--digests", "-"],
                    stdin=fh, capture_output=True, text=False, check=False,
                    env=dict(os.environ, DOCKER_HOST=DOCKER_HOST))
            if res.returncode != 0:
                raise RuntimeError(f"import {image}: {res.stderr.decode()[-1000:]}")
        docker("stop", "-t", "10", name)
        docker("commit",
               "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
               "--change", "CMD []",
               name, ref)
    finally:
        docker("rm", "-f", name, check=False)


def kind_module_dir(version):
    """The kind module's source (its node-image parts), downloaded through the Go proxy."""
    with tempfile.TemporaryDirectory(prefix="kindlab-mod-") as tmp:
        Path(tmp, "go.mod").write_text("module ardur.invalid/kindfiles\n\ngo 1.24\n")
        out = run(["go", "mod", "download", "-json", f"sigs.k8s.io/kind@v{version}"],
                  capture=True, env={"GOFLAGS": "-mod=mod"}, timeout=600, cwd=tmp)
    return Path(json.loads(out.stdout)["Dir"])


def cmd_build(_args=None):
    """Build (or reuse) every image; write the scenario's image file (images.json)."""
    run([str(LAB_SRC / "build.sh"), "kind"])
    cmd_engine_up()
    images = Images()
    refs = {"node": node_image(images), **images.collection()}
    for ref in loadable(refs):
        save_archive(ref)
    IMAGES_FILE.write_text(json.dumps(refs, indent=2) + "\n")
    say(f"images: {IMAGES_FILE}")
    return refs


def loadable(refs):
    """The images `kind load` puts on the nodes (the node image itself excepted)."""
    return [*refs["spire_images"].values(), *refs["previous"]["spire_images"].values(),
            refs["workload"], refs["postgres"]]


# ------------------------------------------------------------------- cluster --
def cluster_dir(name):
    return STATE / name


def kind(*args, check=True, capture=True, timeout=1800):
    kind_bin = binary("kind", versions()["LAB_KIND_VERSION"])
    return run([str(kind_bin), *map(str, args)], check=check, capture=capture,
               env={"DOCKER_HOST": DOCKER_HOST}, timeout=timeout)


def cluster_config(images, workers):
    """kind's cluster configuration: one untainted control plane and WORKERS workers,
    kubeadm pointed at the images built here, kubelets serving certificates signed by the
    cluster CA (the SPIRE agent verifies its kubelet)."""
    v = images.v
    nodes = "\n".join(["  - role: control-plane"] + ["  - role: worker"] * workers)
    return f"""kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
{nodes}
kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    imageRepository: {REGISTRY}/k8s
    etcd:
      local:
        imageTag: "{v['LAB_ETCD_VERSION']}"
    dns:
      imageTag: "v{v['LAB_COREDNS_VERSION']}"
  - |
    kind: KubeletConfiguration
    serverTLSBootstrap: true
    failCgroupV1: false
"""


def kubectl(kubeconfig, *args, check=True, input_=None):
    return run([str(binary("kubectl")), f"--kubeconfig={kubeconfig}", *map(str, args)],
               check=check, capture=True, input_=input_)


def wait_until(what, check, timeout=300, interval=2):
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def approve_kubelet_csrs(kubeconfig, nodes):
    """serverTLSBootstrap: approve each node's kubelet serving CSR (kubelet-serving signer)."""
    def pending():
        doc = json.loads(kubectl(kubeconfig, "get", "csr", "-o", "json").stdout)
        done, todo = set(), []
        for csr in doc["items"]:
            if csr["spec"].get("signerName") != "kubernetes.io/kubelet-serving":
                continue
            node = csr["spec"].get("username", "").removeprefix("system:node:")
            conds = {c["type"] for c in csr.get("status", {}).get("conditions", [])}
            if "Approved" in conds:
                done.add(node)
            else:
                todo.append(csr["metadata"]["name"])
        for name in todo:
            kubectl(kubeconfig, "certificate", "approve", name)
        return set(nodes) <= done
    wait_until("kubelet serving CSRs of every node", pending, timeout=180)


def cmd_up(args):
    """Engine, images, cluster (reused when it exists), collection images loaded, nodes
    Ready, kubelet certificates approved. Leftovers of an interrupted run are removed."""
    refs = cmd_build()
    name = args.name
    cdir = cluster_dir(name)
    cdir.mkdir(parents=True, exist_ok=True)
    kubeconfig = Path(args.kubeconfig or cdir / "kubeconfig")
    images = Images()
    existing = kind("get", "clusters").stdout.split()
    healthy = name in existing and kubectl(
        kubeconfig, "get", "--raw", "/readyz", check=False).returncode == 0
    if name in existing and not healthy:
        say(f"removing the leftovers of cluster {name}")
        kind("delete", "cluster", "--name", name)
    if not healthy:
        (cdir / "kind-config.yaml").write_text(cluster_config(images, args.workers))
        start = time.monotonic()
        kind("create", "cluster", "--name", name, "--image", refs["node"],
             "--config", cdir / "kind-config.yaml", "--kubeconfig", kubeconfig,
             "--retain", "--wait", "0s", capture=False)
        say(f"kind create: {time.monotonic() - start:.0f}s")
    nodes = kind("get", "nodes", "--name", name).stdout.split()
    # The control plane takes workloads too: three nodes carry three SPIRE servers.
    kubectl(kubeconfig, "taint", "nodes", "--all", "node-role.kubernetes.io/control-plane-",
            check=False)
    approve_kubelet_csrs(kubeconfig, nodes)
    start = time.monotonic()
    for ref in loadable(refs):
        kind("load", "image-archive", save_archive(ref), "--name", name)
    say(f"kind load ({len(loadable(refs))} images): {time.monotonic() - start:.0f}s")
    kubectl(kubeconfig, "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=300s")
    kubectl(kubeconfig, "-n", "kube-system", "rollout", "status", "deployment/coredns",
            "--timeout=300s")
    say(f"cluster {name} ready: KUBECONFIG={kubeconfig}")


def cmd_down(args):
    """Delete the cluster (its node containers and network); `--engine` stops the engine."""
    if engine_pid() and engine_ready():
        if args.name in kind("get", "clusters").stdout.split():
            kind("delete", "cluster", "--name", args.name)
        docker("network", "rm", "kind", check=False)
    shutil.rmtree(cluster_dir(args.name), ignore_errors=True)
    if args.engine:
        cmd_engine_down()


def cmd_env(_args=None):
    """Shell exports for the kind scenario: the lab's engine, kind on PATH, the images."""
    kind_dir = binary("kind", versions()["LAB_KIND_VERSION"]).parent
    print(f"export DOCKER_HOST={DOCKER_HOST}")
    print(f"export PATH={kind_dir}:$PATH")
    print(f"export ARDUR_SPIRE_KIND_IMAGES={IMAGES_FILE}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("engine-up")
    sub.add_parser("engine-down")
    sub.add_parser("build")
    sub.add_parser("env")
    up = sub.add_parser("up")
    up.add_argument("--name", default=CLUSTER)
    up.add_argument("--kubeconfig")
    up.add_argument("--workers", type=int, default=2)
    down = sub.add_parser("down")
    down.add_argument("--name", default=CLUSTER)
    down.add_argument("--engine", action="store_true")
    args = parser.parse_args(argv)
    {"engine-up": cmd_engine_up, "engine-down": cmd_engine_down, "build": cmd_build,
     "up": cmd_up, "down": cmd_down, "env": cmd_env}[args.cmd](args)


if __name__ == "__main__":
    main()
