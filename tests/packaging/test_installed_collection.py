"""The built artifact is what a Galaxy user gets, and it works once installed.

Builds the collection with `ansible-galaxy collection build`, checks the artifact's file list
(runtime content only; the allow-list of top-level entries fails on anything new), installs it
with `ansible-galaxy collection install --offline --no-deps` into an empty directory, and then,
from a working directory outside the checkout, with that directory first in
ANSIBLE_COLLECTIONS_PATH (the venv's collection tree second, for kubernetes.core and the other
dependencies from the PyPI package `ansible`):

- `ansible-galaxy collection list` shows the installed copy and the dependencies, and Ansible
  loads ardur.spire from that copy, not from the checkout's own link in the venv
  (site-packages/ansible_collections/ardur/spire);
- `ansible-doc` documents every module and `ansible-doc -t role` every role, from that copy;
- `ansible-playbook ardur.spire.deploy` renders the manifests, every task from that copy.

Nothing is skipped: a missing tool or file fails.
"""

import json
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SITE = Path(sysconfig.get_paths()["purelib"])

# Top-level entries of the artifact: runtime content and Galaxy's own files. Anything else fails
# (ship it on purpose by adding it here, or leave it out with galaxy.yml's build_ignore).
ALLOWED_TOP = {
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst",
    "meta", "plugins", "roles", "playbooks", "docs", "changelogs",
}
REQUIRED_FILES = {
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE",
    "meta/runtime.yml", "meta/execution-environment.yml", "meta/ee-requirements.txt",
    "changelogs/changelog.yaml", "docs/reference/index.rst",
}
# Never in the artifact, at any depth.
FORBIDDEN_PARTS = {
    "tests", "molecule", "lab", "tools", ".venv", ".git", ".ci", ".build", ".ansible",
    "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", "fragments",
}
FORBIDDEN_NAMES = {
    "Makefile", "requirements.txt", "requirements.yml", ".ansible-lint", ".yamllint", ".gitignore",
    ".plugin-cache.yaml", "galaxy.yml", "testing.md",
}
FORBIDDEN_SUFFIXES = (".pyc", ".tar.gz", ".retry", ".swp", "~", ".orig", ".rej", ".log")

MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))
PLAYBOOKS = sorted(p.name for p in (REPO / "playbooks").glob("*.yml"))


def _tool(name):
    path = BIN / name
    assert path.is_file(), "%s is not in the venv (%s): run `make setup`" % (name, BIN)
    return str(path)


def _run(args, *, env=None, cwd=None, timeout=300):
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, "%s failed (rc %d):\n%s\n%s" % (
        " ".join(str(a) for a in args), proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    _run([_tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO)])
    built = list(out.glob("ardur-spire-*.tar.gz"))
    assert len(built) == 1, built
    return built[0]


@pytest.fixture(scope="module")
def artifact_files(artifact):
    with tarfile.open(artifact) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


@pytest.fixture(scope="module")
def installed(artifact, tmp_path_factory):
    """(collections dir holding only the installed ardur.spire, env that puts it first, a cwd outside the checkout)."""
    root = tmp_path_factory.mktemp("installed")
    target = root / "collections"
    target.mkdir()
    # Without this, ansible-galaxy finds the checkout's link in the venv (sys.path), says the
    # collection is already installed and installs nothing.
    install_env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    install_env.update({"ANSIBLE_COLLECTIONS_PATH": str(target), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"})
    _run([_tool("ansible-galaxy"), "collection", "install", "--offline", "--no-deps",
          "-p", str(target), str(artifact)], env=install_env, cwd=str(root))
    assert (target / "ansible_collections" / "ardur" / "spire" / "MANIFEST.json").is_file()
    assert not (target / "ansible_collections" / "ardur" / "spire").is_symlink()
    workdir = root / "work"
    workdir.mkdir()
    assert REPO not in workdir.resolve().parents
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(target), str(SITE)]),
        "ANSIBLE_LOCAL_TEMP": str(root / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
    })
    return target, env, workdir


def test_artifact_has_runtime_content_only(artifact_files):
    names = set(artifact_files)
    unexpected_top = {n.split("/", 1)[0] for n in names} - ALLOWED_TOP
    assert not unexpected_top, "not runtime content (ignore it in galaxy.yml or allow it here): %s" % sorted(unexpected_top)
    bad = sorted(
        n for n in names
        if FORBIDDEN_PARTS & set(n.split("/"))
        or n.rsplit("/", 1)[-1] in FORBIDDEN_NAMES
        or n.endswith(FORBIDDEN_SUFFIXES)
    )
    assert not bad, "developer files in the artifact: %s" % bad[:20]


def test_artifact_has_everything_needed(artifact_files):
    names = set(artifact_files)
    expected = set(REQUIRED_FILES)
    expected |= {"plugins/modules/%s.py" % m for m in MODULES}
    expected |= {"roles/%s/meta/argument_specs.yml" % r for r in ROLES}
    expected |= {"roles/%s/meta/main.yml" % r for r in ROLES}
    expected |= {"roles/%s/tasks/main.yml" % r for r in ROLES}
    expected |= {"playbooks/%s" % p for p in PLAYBOOKS}
    expected |= {"docs/reference/%s_module.rst" % m for m in MODULES}
    expected |= {"docs/reference/%s_role.rst" % r for r in ROLES}
    missing = sorted(expected - names)
    assert not missing, "missing from the artifact: %s" % missing
    # Every runtime file of the checkout ships (a build_ignore pattern too broad would drop some).
    for top in ("plugins", "roles", "playbooks", "meta"):
        for path in (REPO / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(FORBIDDEN_SUFFIXES):
                assert str(path.relative_to(REPO)) in names, "%s is not in the artifact" % path.relative_to(REPO)
    assert MODULES and ROLES and PLAYBOOKS


def test_artifact_metadata(artifact):
    with tarfile.open(artifact) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
        license_text = tar.extractfile("LICENSE").read().decode("utf-8")
    assert manifest["license"] == ["Apache-2.0"]
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text, "LICENSE is not the full Apache-2.0 text"
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
    assert manifest["dependencies"] == galaxy["dependencies"]
    for collection in ("kubernetes.core", "community.crypto", "community.postgresql"):
        assert collection in manifest["dependencies"], collection
    for key in ("repository", "documentation", "homepage", "issues"):
        assert manifest.get(key), "galaxy.yml: %s" % key


def test_installed_copy_is_the_one_ansible_finds(installed):
    target, env, workdir = installed
    listing = json.loads(_run([_tool("ansible-galaxy"), "collection", "list", "--format", "json"],
                              env=env, cwd=str(workdir)).stdout)
    holders = [Path(path) for path, collections in listing.items() if "ardur.spire" in collections]
    assert target / "ansible_collections" in holders, "the installed copy is not listed: %s" % holders
    found = {c for collections in listing.values() for c in collections}
    for dependency in ("kubernetes.core", "community.crypto", "community.postgresql"):
        assert dependency in found, "%s is not available next to the installed copy" % dependency
    # The listing also shows the checkout's link in the venv, and not in the order the loader
    # searches (a path that is also on sys.path comes last), so ask the loader itself which copy
    # it loads: ansible-doc prints the file it documents.
    out = _run([_tool("ansible-doc"), "ardur.spire.spire_config"], env=env, cwd=str(workdir)).stdout
    first_line = out.splitlines()[0]
    assert str(target / "ansible_collections" / "ardur" / "spire" / "plugins") in first_line, (
        "ardur.spire is loaded from elsewhere (the checkout's venv link shadows the installed copy?): %s" % first_line)


def test_every_module_is_documented_from_the_installed_copy(installed):
    target, env, workdir = installed
    listed = json.loads(_run([_tool("ansible-doc"), "--list", "--json", "ardur.spire"], env=env, cwd=str(workdir)).stdout)
    assert sorted(n.split(".")[-1] for n in listed) == MODULES
    for module in MODULES:
        out = _run([_tool("ansible-doc"), "ardur.spire.%s" % module], env=env, cwd=str(workdir)).stdout
        assert out.strip(), module
        assert str(target / "ansible_collections" / "ardur" / "spire") in out, "%s not documented from the installed copy" % module
        assert "OPTIONS" in out and "EXAMPLES" in out and "RETURN VALUES" in out, module


def test_every_role_is_documented_from_the_installed_copy(installed):
    target, env, workdir = installed
    for role in ROLES:
        out = _run([_tool("ansible-doc"), "-t", "role", "ardur.spire.%s" % role], env=env, cwd=str(workdir)).stdout
        assert out.strip(), role
        assert str(target / "ansible_collections" / "ardur" / "spire") in out, "%s not documented from the installed copy" % role
        # ansible-doc marks names with * when colour is off.
        assert re.search(r"ENTRY POINT: \*?main\*? - ", out), role


def test_render_deploy_from_the_installed_copy(installed, tmp_path):
    target, env, workdir = installed
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    import datetime  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "packaging test database CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(key, hashes.SHA256()))
    ca_file = tmp_path / "db-ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out_dir = tmp_path / "out"
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"postgres_secret_password": "packaging-test-password"}), encoding="utf-8")

    run_env = dict(env)
    # Any Kubernetes module that ran would fail: render mode must not need a cluster.
    run_env["K8S_AUTH_KUBECONFIG"] = str(tmp_path / "no-such-kubeconfig")
    run_env["KUBECONFIG"] = str(tmp_path / "no-such-kubeconfig")
    proc = _run([
        _tool("ansible-playbook"), "ardur.spire.deploy", "-vv",
        "-e", "spire_render_dir=%s" % out_dir,
        "-e", "spire_trust_domain=example.org",
        "-e", "spire_cluster_name=demo",
        "-e", "postgres_secret_host=db.example.org",
        "-e", "postgres_secret_ca_file=%s" % ca_file,
        "-e", "@%s" % secrets,
    ], env=run_env, cwd=str(workdir), timeout=900)

    installed_root = str(target / "ansible_collections" / "ardur" / "spire")
    assert "plays in %s/playbooks/deploy.yml" % installed_root in proc.stdout, "the playbook did not come from the installed copy"
    task_paths = [line.split("task path: ", 1)[1] for line in proc.stdout.splitlines() if "task path: " in line]
    assert task_paths, "no task ran"
    elsewhere = sorted({p.rsplit(":", 1)[0] for p in task_paths if not p.startswith(installed_root + "/")})
    assert not elsewhere, "tasks ran from outside the installed copy: %s" % elsewhere[:10]

    for manifest in ("namespace", "crds", "postgres_secret", "upstream_ca", "spire_server", "registrations",
                     "spire_agent", "csi_driver"):
        path = out_dir / ("%s.yaml" % manifest)
        assert path.is_file(), "%s.yaml was not written" % manifest
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        assert docs and all("kind" in d for d in docs), manifest
    for conf in ("server.conf", "agent.conf"):
        text = (out_dir / conf).read_text(encoding="utf-8")
        assert 'trust_domain = "example.org"' in text, conf
    server = [d for d in yaml.safe_load_all((out_dir / "spire_server.yaml").read_text(encoding="utf-8")) if d]
    assert any(d["kind"] == "StatefulSet" for d in server)
    assert "packaging-test-password" not in proc.stdout + proc.stderr
