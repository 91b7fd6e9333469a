"""The role's spire-controller-manager CRDs against upstream's generated ones, field by field.

Upstream's CRDs come, at test time, from the Go module proxy (no GitHub): the module zip of
github.com/spiffe/spire-controller-manager at the version pinned in roles/spire holds
config/crd/bases/. Descriptions are ignored; everything else that shapes validation is compared:
for every property path its type, format, pattern, enum, required list, nullability,
x-kubernetes-* markers, items and additionalProperties, plus the CRD's group, names, scope,
versions, subresources and printer columns.
"""

import json
import os
import pathlib
import shutil
import subprocess
import zipfile

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
OURS = REPO / "roles" / "registrations" / "files" / "crds"
MODULE = "github.com/spiffe/spire-controller-manager"
BASES = "config/crd/bases/"
CRD_NAMES = (
    "clusterspiffeids.spire.spiffe.io",
    "clusterfederatedtrustdomains.spire.spiffe.io",
    "clusterstaticentries.spire.spiffe.io",
)
# Schema keywords that do not shape validation.
IGNORED_KEYS = {"description", "example", "externalDocs", "title"}


def pinned_version():
    defaults = yaml.safe_load((REPO / "roles" / "spire" / "defaults" / "main.yml").read_text())
    return "v" + str(defaults["spire_controller_manager_version"]).lstrip("v")


def download_module(version):
    go = shutil.which("go")
    if go is None:
        pytest.skip("the go tool is not installed: cannot fetch upstream CRDs from the module proxy")
    env = dict(os.environ, GOFLAGS="-mod=mod", GO111MODULE="on")
    proc = subprocess.run(
        [go, "mod", "download", "-json", "%s@%s" % (MODULE, version)],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=300, check=False,
    )
    info = json.loads(proc.stdout or "{}")
    assert proc.returncode == 0 and "Error" not in info, (
        "go mod download failed: %s %s" % (info.get("Error"), proc.stderr))
    return info


@pytest.fixture(scope="module")
def upstream():
    """metadata.name -> CRD document, read from the module zip."""
    version = pinned_version()
    info = download_module(version)
    prefix = "%s@%s/%s" % (MODULE, version, BASES)
    crds = {}
    with zipfile.ZipFile(info["Zip"]) as archive:
        names = [n for n in archive.namelist() if n.startswith(prefix) and n.endswith(".yaml")]
        assert names, "the module zip %s holds no %s" % (info["Zip"], BASES)
        for name in names:
            for doc in yaml.safe_load_all(archive.read(name)):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    crds[doc["metadata"]["name"]] = doc
    assert set(CRD_NAMES) <= set(crds), "upstream lacks %s" % sorted(set(CRD_NAMES) - set(crds))
    return crds


@pytest.fixture(scope="module")
def ours():
    crds = {}
    for path in sorted(OURS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        crds[doc["metadata"]["name"]] = doc
    return crds


def flatten(schema, path="", out=None):
    """Property path -> the validation keywords of that node (descriptions dropped)."""
    out = {} if out is None else out
    node = {}
    for key, value in schema.items():
        if key in IGNORED_KEYS or key in ("properties", "items", "additionalProperties"):
            continue
        node[key] = sorted(value) if key == "required" else value
    if isinstance(schema.get("additionalProperties"), bool):
        node["additionalProperties"] = schema["additionalProperties"]
    out[path or "."] = node
    for name, sub in (schema.get("properties") or {}).items():
        flatten(sub, "%s.%s" % (path, name), out)
    if "items" in schema:
        flatten(schema["items"], path + "[]", out)
    if isinstance(schema.get("additionalProperties"), dict):
        flatten(schema["additionalProperties"], path + "{*}", out)
    return out


def version_shape(version):
    return {
        "served": version.get("served"),
        "storage": version.get("storage"),
        "subresources": version.get("subresources") or {},
        "deprecated": version.get("deprecated", False),
        "printerColumns": sorted(
            (c["name"], c["type"], c["jsonPath"], c.get("format"), c.get("priority", 0))
            for c in version.get("additionalPrinterColumns") or []),
    }


def compare(ours_doc, upstream_doc):
    """Every difference, as readable lines; empty when the CRDs agree."""
    problems = []
    for key in ("group", "names", "scope"):
        if ours_doc["spec"].get(key) != upstream_doc["spec"].get(key):
            problems.append("spec.%s: ours %r, upstream %r" % (key, ours_doc["spec"].get(key), upstream_doc["spec"].get(key)))
    our_versions = {v["name"]: v for v in ours_doc["spec"]["versions"]}
    up_versions = {v["name"]: v for v in upstream_doc["spec"]["versions"]}
    if set(our_versions) != set(up_versions):
        problems.append("versions: ours %s, upstream %s" % (sorted(our_versions), sorted(up_versions)))
    for name in sorted(set(our_versions) & set(up_versions)):
        mine, theirs = our_versions[name], up_versions[name]
        if version_shape(mine) != version_shape(theirs):
            problems.append("version %s: ours %r, upstream %r" % (name, version_shape(mine), version_shape(theirs)))
        our_paths = flatten(mine["schema"]["openAPIV3Schema"])
        up_paths = flatten(theirs["schema"]["openAPIV3Schema"])
        for path in sorted(set(up_paths) - set(our_paths)):
            problems.append("%s %s: missing in ours (upstream %r)" % (name, path, up_paths[path]))
        for path in sorted(set(our_paths) - set(up_paths)):
            problems.append("%s %s: not in upstream (ours %r)" % (name, path, our_paths[path]))
        for path in sorted(set(our_paths) & set(up_paths)):
            if our_paths[path] != up_paths[path]:
                problems.append("%s %s: ours %r, upstream %r" % (name, path, our_paths[path], up_paths[path]))
    return problems


def test_we_ship_exactly_the_three_crds(ours):
    assert sorted(ours) == sorted(CRD_NAMES)


@pytest.mark.parametrize("name", CRD_NAMES)
def test_crd_matches_upstream(name, ours, upstream):
    problems = compare(ours[name], upstream[name])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", CRD_NAMES)
def test_crd_is_cluster_scoped_with_status(name, ours):
    spec = ours[name]["spec"]
    assert spec["scope"] == "Cluster"
    assert all(v["subresources"] == {"status": {}} for v in spec["versions"])


def _drop(schema, dotted):
    parent = schema
    parts = dotted.split(".")
    for part in parts[:-1]:
        parent = parent["properties"][part]
    del parent["properties"][parts[-1]]


def _retype(schema, dotted, new_type):
    node = schema
    for part in dotted.split("."):
        node = node["properties"][part]
    node["type"] = new_type


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: _drop(s, "spec.hint"), ".spec.hint: missing in ours"),
    (lambda s: _retype(s, "spec.ttl", "integer"), ".spec.ttl: ours"),
    (lambda s: s["properties"]["spec"]["required"].append("ttl"), ".spec: ours"),
    (lambda s: s["properties"]["spec"]["properties"]["podSelector"].pop("x-kubernetes-map-type"), ".spec.podSelector: ours"),
    (lambda s: s["properties"]["spec"]["properties"].update(extra={"type": "string"}), ".spec.extra: not in upstream"),
])
def test_comparison_catches_mutations(mutate, expected, ours, upstream):
    """The comparison is not vacuous: a missing or mistyped field fails it."""
    name = "clusterspiffeids.spire.spiffe.io"
    mutated = json.loads(json.dumps(ours[name]))
    mutate(mutated["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    problems = compare(mutated, upstream[name])
    assert any(expected in p for p in problems), problems


def test_comparison_catches_enum_and_printer_column_drift(ours, upstream):
    name = "clusterfederatedtrustdomains.spire.spiffe.io"
    mutated = json.loads(json.dumps(ours[name]))
    version = mutated["spec"]["versions"][0]
    profile = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["bundleEndpointProfile"]
    profile["properties"]["type"]["enum"] = ["https_spiffe"]
    version["additionalPrinterColumns"].pop()
    problems = compare(mutated, upstream[name])
    assert any("bundleEndpointProfile.type" in p for p in problems), problems
    assert any("printerColumns" in p for p in problems), problems
