"""Every object the collection renders is valid against the Kubernetes OpenAPI spec and its CRDs.

Renders (no cluster) ``playbooks/deploy.yml`` with its default inputs (the ``render_defaults``
fixture of tests/render/conftest.py: ``-e spire_render_dir=DIR``) and ``playbooks/samples.yml``,
then validates every object of every multi-document YAML file they wrote, strictly (unknown fields
are errors; tests/support/k8s_schema.py), the custom resources against the CRDs found in the same
render output.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import k8s_schema

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "deploy.yml"
SAMPLES = REPO / "playbooks" / "samples.yml"

# At least these kinds must be among the validated objects.
REQUIRED_KINDS = {"StatefulSet", "DaemonSet", "CSIDriver", "ClusterSPIFFEID", "CustomResourceDefinition"}

pytestmark = pytest.mark.skipif(not PLAYBOOK.is_file(), reason="playbooks/deploy.yml is absent (roles not landed yet): nothing to render")


def ansible_playbook():
    """The venv's ansible-playbook (the one next to this Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.is_file() else shutil.which("ansible-playbook")
    if not found:
        pytest.fail("ansible-playbook not found next to the test interpreter nor on PATH")
    return found


def render(playbook, out_dir):
    """Run the render mode of a playbook into out_dir; fail the test with its output if it fails."""
    out_dir.mkdir(parents=True, exist_ok=True)
    missing = str(out_dir.parent / "no-such-kubeconfig")  # a Kubernetes module that ran would fail
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", K8S_AUTH_KUBECONFIG=missing, KUBECONFIG=missing)
    # The trust domain and the cluster name have no default.
    cmd = [ansible_playbook(), str(playbook), "-e", f"spire_render_dir={out_dir}",
           "-e", "spire_trust_domain=ardur.internal", "-e", "spire_cluster_name=ardur"]
    proc = subprocess.run(cmd, cwd=out_dir.parent, env=env, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        pytest.fail(f"render failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    return out_dir


@pytest.fixture(name="rendered", scope="module")
def rendered_fixture(render_defaults, tmp_path_factory):
    """name -> render directory: the default deployment, and the samples when playbooks/samples.yml exists."""
    out = {"default": Path(render_defaults.dir)}
    if SAMPLES.is_file():
        out["samples"] = render(SAMPLES, tmp_path_factory.mktemp("samples") / "out")
    return out


@pytest.fixture(name="results", scope="module")
def results_fixture(rendered, k8s_openapi_spec):
    """name -> [(file, object, problems)] for every object of every render (each with its own CRDs)."""
    out = {}
    for name, out_dir in rendered.items():
        validator = k8s_schema.SchemaValidator(k8s_openapi_spec)
        out[name] = k8s_schema.validate_objects(validator, k8s_schema.load_objects([out_dir]))
    return out


def test_default_render_writes_crds_yaml(rendered):
    """The CRDs are rendered to DIR/crds.yaml."""
    out_dir = rendered["default"]
    assert (out_dir / "crds.yaml").is_file(), f"no crds.yaml in {sorted(p.name for p in out_dir.iterdir())}"


@pytest.mark.parametrize("name", ["default", "samples"])
def test_every_rendered_object_is_schema_valid(results, rendered, name):
    """Every object of a render passes the strict Kubernetes 1.33 / CRD schema validation."""
    if name not in results:
        pytest.skip(f"no {name} render (playbooks/samples.yml is absent)")
    checked = results[name]
    assert checked, f"{name}: no objects rendered into {rendered[name]}"
    failures = [f"{path.relative_to(rendered[name])}: {k8s_schema.object_label(obj)}: {problem}"
                for path, obj, problems in checked for problem in problems]
    assert not failures, f"{name}: {len(failures)} schema errors in {len(checked)} objects:\n" + "\n".join(failures)


def test_renders_cover_the_kinds_spire_needs(results):
    """The validated objects include the kinds the deployment cannot do without."""
    kinds = {obj.get("kind") for checked in results.values() for _path, obj, _problems in checked if isinstance(obj, dict)}
    assert sum(len(checked) for checked in results.values()) > 0
    assert REQUIRED_KINDS <= kinds, f"missing kinds: {sorted(REQUIRED_KINDS - kinds)}; rendered: {sorted(k for k in kinds if k)}"
