"""What an installed ardur.spire needs is declared where installers look for it.

- Every third-party Python package that plugins/ imports (found by parsing every file) is in
  meta/ee-requirements.txt, the runtime list ansible-builder reads through
  meta/execution-environment.yml, unless ansible-core itself requires it (jinja2, PyYAML, ...).
- Every collection the roles, playbooks and plugins call (by FQCN) is a dependency in
  galaxy.yml, requirements.yml lists the same ranges, and each range admits the version we test
  (the one the PyPI package `ansible` in requirements.txt bundles).
- The Python packages those collections need for what we call are in the EE requirements too,
  and every EE requirement is pinned in requirements.txt at a version it admits.
"""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SELF = "ardur.spire"
# Collections that come with ansible-core (no dependency to declare).
CORE = {"ansible.builtin", "ansible.legacy", "ansible.module_utils", "ansible.plugins"}
# The Python packages a dependency needs for the content of it we use, on the controller
# (any one of each set will do).
COLLECTION_PYTHON_NEEDS = {
    "kubernetes.core": [{"kubernetes"}],
    "community.crypto": [{"cryptography"}],
    "community.postgresql": [{"psycopg2", "psycopg2-binary", "psycopg"}],
}
FQCN = re.compile(r"(?<![\w./-])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b")
PY_COLLECTION_IMPORT = re.compile(r"ansible_collections\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\b")


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _requirements(path):
    reqs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            reqs[canonicalize_name(req.name)] = req
    return reqs


def _ee_definition():
    path = REPO / "meta" / "execution-environment.yml"
    assert path.is_file(), "meta/execution-environment.yml is missing"
    return _load(path)


def _ee_requirements():
    definition = _ee_definition()
    python = (definition.get("dependencies") or {}).get("python")
    assert isinstance(python, str) and python, "dependencies.python must name a requirements file"
    path = REPO / python
    assert path.is_file(), "%s (dependencies.python) does not exist" % python
    return _requirements(path)


def _third_party_imports():
    """Top-level names of every absolute import in plugins/, except the stdlib and Ansible."""
    names = {}
    for path in sorted((REPO / "plugins").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found = [node.module.split(".")[0]]
            else:
                continue
            for name in found:
                if name in sys.stdlib_module_names or name in ("ansible", "ansible_collections", "__future__"):
                    continue
                names.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return names


def _installed_collections():
    """namespace.name of every collection the running Python can import."""
    found = set()
    for entry in sys.path:
        root = Path(entry) / "ansible_collections"
        if root.is_dir():
            found |= {"%s.%s" % (p.parent.name, p.name) for p in root.glob("*/*") if p.is_dir()}
    return found


def _used_collections():
    """Collections referenced by FQCN in roles, playbooks and plugins (only real collections)."""
    installed = _installed_collections()
    used = {}
    files = [p for d in ("roles", "playbooks") for p in (REPO / d).rglob("*") if p.suffix in (".yml", ".yaml", ".j2")]
    files += list((REPO / "plugins").rglob("*.py"))
    files += [REPO / "meta" / "runtime.yml"]
    for path in sorted(files):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            # Python: collections it imports, and FQCNs in its string constants (documentation,
            # doc fragments); `import ansible.utils...` is ansible-core's package, not a collection.
            tree = ast.parse(text, filename=str(path))
            strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            imports = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            imports += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
            pairs = {"%s.%s" % m.group(1, 2) for t in strings for m in FQCN.finditer(t)}
            pairs |= {"%s.%s" % m.group(1, 2) for i in imports for m in PY_COLLECTION_IMPORT.finditer(i)}
        else:
            pairs = {"%s.%s" % m.group(1, 2) for m in FQCN.finditer(text)}
        for pair in pairs:
            if pair in installed and pair != SELF and pair not in CORE:
                used.setdefault(pair, set()).add(str(path.relative_to(REPO)))
    return used


def _bundled_version(collection):
    namespace, name = collection.split(".")
    for entry in sys.path:
        manifest = Path(entry) / "ansible_collections" / namespace / name / "MANIFEST.json"
        if manifest.is_file():
            return yaml.safe_load(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    return None


def test_ee_definition_is_builder_format_and_ships():
    definition = _ee_definition()
    assert definition.get("version") == 1
    deps = definition.get("dependencies") or {}
    assert set(deps) <= {"python", "system", "ansible_core", "ansible_runner", "galaxy"}, deps
    for key in ("python", "system"):
        if key in deps:
            assert deps[key].startswith("meta/"), "%s: keep it under meta/ so it ships" % deps[key]
            assert (REPO / deps[key]).is_file(), deps[key]
    assert _ee_requirements(), "no Python requirement listed"


def test_every_third_party_import_of_plugins_is_an_ee_requirement():
    ee = set(_ee_requirements())
    # What ansible-core itself requires (jinja2, PyYAML, ...) is wherever ansible-core runs.
    core = {canonicalize_name(Requirement(r).name) for r in importlib.metadata.requires("ansible-core") or []}
    assert "jinja2" in core, core
    imports = _third_party_imports()
    assert imports, "found no third-party import at all: the scan is broken"
    distributions = importlib.metadata.packages_distributions()
    for name, where in sorted(imports.items()):
        candidates = {canonicalize_name(d) for d in distributions.get(name, [])} or {canonicalize_name(name)}
        assert candidates & (ee | core), "plugins import %r (%s) but meta/ee-requirements.txt lists none of %s" % (
            name, ", ".join(sorted(where)), sorted(candidates))


def test_every_collection_used_is_a_declared_dependency():
    declared = _load(REPO / "galaxy.yml").get("dependencies") or {}
    used = _used_collections()
    assert "kubernetes.core" in used, "the scan found no kubernetes.core reference: it is broken"
    for collection, where in sorted(used.items()):
        assert collection in declared, "%s is used (%s) but not a dependency in galaxy.yml" % (
            collection, ", ".join(sorted(where)[:3]))


def test_requirements_yml_matches_galaxy_yml():
    declared = _load(REPO / "galaxy.yml").get("dependencies") or {}
    listed = {c["name"]: c.get("version", "*") for c in _load(REPO / "requirements.yml")["collections"]}
    assert listed == declared


@pytest.mark.parametrize("collection", sorted(COLLECTION_PYTHON_NEEDS))
def test_dependency_range_admits_the_tested_version(collection):
    declared = _load(REPO / "galaxy.yml").get("dependencies") or {}
    assert collection in declared
    version = _bundled_version(collection)
    assert version, "%s is not installed in this venv (the PyPI package ansible brings it)" % collection
    spec = SpecifierSet(declared[collection])
    assert spec.contains(version), "%s %s (tested) is outside %s" % (collection, version, declared[collection])
    assert any(s.operator == "<" for s in spec), "%s: give an upper bound (the next major)" % collection


@pytest.mark.parametrize("collection", sorted(COLLECTION_PYTHON_NEEDS))
def test_python_needs_of_dependencies_are_ee_requirements(collection):
    ee = {canonicalize_name(n) for n in _ee_requirements()}
    for alternatives in COLLECTION_PYTHON_NEEDS[collection]:
        assert {canonicalize_name(a) for a in alternatives} & ee, "%s needs one of %s" % (collection, sorted(alternatives))


def test_ee_requirements_are_pinned_for_development_within_their_range():
    pins = _requirements(REPO / "requirements.txt")
    for name, req in sorted(_ee_requirements().items()):
        assert name in pins, "%s (meta/ee-requirements.txt) has no pin in requirements.txt: its tested version" % name
        pinned = [s.version for s in pins[name].specifier if s.operator == "=="]
        assert pinned, "requirements.txt must pin %s with ==" % name
        assert req.specifier.contains(pinned[0]), "%s==%s (tested) is outside %s" % (name, pinned[0], req.specifier)
