"""Helpers for the render tests: run playbooks/deploy.yml (or samples.yml) in render mode
with `ansible-playbook` and load what it wrote.

Every run points K8S_AUTH_KUBECONFIG (and KUBECONFIG) at a file that does not exist, so any
Kubernetes module that ran would fail the play.
"""

import datetime
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from lab_binaries import lab_binary
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Sup3r'Secret\"pa$$ w0rd/@:%{x}"
# The trust domain and the cluster name have no default: every render passes these.
IDENTITY = {"spire_trust_domain": "ardur.internal", "spire_cluster_name": "ardur"}


class Render:
    """Outcome of one ansible-playbook run."""

    def __init__(self, proc, out_dir):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.dir = out_dir

    @property
    def output(self):
        return self.stdout + self.stderr

    def docs(self, name):
        """Objects of DIR/NAME.yaml."""
        with (self.dir / ("%s.yaml" % name)).open(encoding="utf-8") as handle:
            return [d for d in yaml.safe_load_all(handle) if d]

    def all_docs(self):
        docs = []
        for path in sorted(self.dir.glob("*.yaml")):
            docs.extend(self.docs(path.stem))
        return docs

    def one(self, kind, name=None, file=None):
        docs = self.docs(file) if file else self.all_docs()
        found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
        assert len(found) == 1, "expected one %s %s, found %d" % (kind, name, len(found))
        return found[0]

    def conf(self, name):
        from ansible_collections.ardur.spire.plugins.module_utils._spire import hcl

        return hcl.parse((self.dir / name).read_text(encoding="utf-8"))[0]

    def text(self):
        """Every file written (recursively), concatenated."""
        return "\n".join(p.read_text(encoding="utf-8") for p in sorted(self.dir.rglob("*")) if p.is_file())


def write_ca(directory, name="ca", *, is_ca=True, days=365, not_before_days=-1):
    """A self-signed EC certificate and key (PEM files); returns (cert_path, key_path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test %s" % name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=not_before_days))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=is_ca, crl_sign=is_ca,
                encipher_only=False, decipher_only=False),
            critical=True)
    )
    cert = builder.sign(key, hashes.SHA256())
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / ("%s.crt" % name)
    key_path = directory / ("%s.key" % name)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(scope="session")
def db_ca(tmp_path_factory):
    return write_ca(tmp_path_factory.mktemp("dbca"), "dbca")[0]


@pytest.fixture(scope="session")
def base_vars(db_ca):
    """The inputs a render needs: trust domain, cluster name, the database host, password and CA."""
    return {
        **IDENTITY,
        "postgres_secret_host": "pg.db.svc",
        "postgres_secret_password": PASSWORD,
        "postgres_secret_ca_file": str(db_ca),
    }


def run_playbook(tmp_path, extra_vars, *, playbook="deploy.yml", args=(), render=True):
    """Run a playbook of playbooks/ with extra vars (a JSON file, so any value passes)."""
    out_dir = tmp_path / "out"
    extra = dict(extra_vars)
    if render:
        extra.setdefault("spire_render_dir", str(out_dir))
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra), encoding="utf-8")
    env = dict(os.environ)
    env.update({
        "K8S_AUTH_KUBECONFIG": str(tmp_path / "no-such-kubeconfig"),
        "KUBECONFIG": str(tmp_path / "no-such-kubeconfig"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
    })
    proc = subprocess.run(
        ["ansible-playbook", str(REPO / "playbooks" / playbook), "-e", "@%s" % vars_file, *args],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600, check=False)
    return Render(proc, out_dir)


@pytest.fixture(scope="session")
def render_defaults(tmp_path_factory, base_vars):
    result = run_playbook(tmp_path_factory.mktemp("defaults"), base_vars, args=("-vvv",))
    assert result.rc == 0, result.output[-4000:]
    return result


def spire_binary(name):
    """The real SPIRE binary that lab/build.sh caches, or None (the test then skips)."""
    return lab_binary(name)
