"""Offline, strict schema validation of Kubernetes objects.

Built-in kinds are validated against the Kubernetes OpenAPI v2 spec (``swagger.json``) of the
lab's Kubernetes version, custom resources against the ``openAPIV3Schema`` of the
CustomResourceDefinitions they belong to. Validation is strict, like kubeconform's ``-strict``:
a field the schema does not declare is an error, unless the schema preserves unknown fields.

Where the spec comes from, first hit wins:
1. ``$ARDUR_SPIRE_K8S_OPENAPI`` (a path to a swagger.json);
2. ``${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}/openapi/kubernetes-<version>/swagger.json``
   (``lab/build.sh`` caches it there too);
3. ``api/openapi-spec/swagger.json`` of the Go module ``k8s.io/kubernetes@v<version>``, fetched
   with ``go mod download`` (the Go module proxy), then copied to the cache of 2.

The version is ``LAB_KUBERNETES_VERSION`` of ``lab/versions.env`` (the environment variable of the
same name overrides it, as in the lab), else ``FALLBACK_KUBERNETES_VERSION``.

Semantics kept from the apiserver: a field whose value is null counts as absent (for custom
resources: pruned unless ``nullable``); ``resource.Quantity`` accepts numbers; ``int-or-string``
accepts both; a required field with a CRD default is not missing. Not checked: CEL rules
(``x-kubernetes-validations``), the apiserver's per-kind Go validation (name formats, ranges,
scope), admission.

CLI: ``python tests/support/k8s_schema.py [--spec FILE] [--crds FILE]... DIR_OR_FILE...`` prints
one line per object and exits 1 if any object has an error (2 if the spec cannot be found).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

import jsonschema
import yaml
from jsonschema import validators as _validators

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_ENV = REPO_ROOT / "lab" / "versions.env"
VERSION_VARIABLE = "LAB_KUBERNETES_VERSION"
FALLBACK_KUBERNETES_VERSION = "1.33.13"
SPEC_ENV = "ARDUR_SPIRE_K8S_OPENAPI"
CACHE_ENV = "ARDUR_SPIRE_CACHE"
K8S_MODULE = "k8s.io/kubernetes"
SPEC_IN_MODULE = "api/openapi-spec/swagger.json"

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_KIND = "CustomResourceDefinition"
_JUNCTORS = ("allOf", "anyOf", "oneOf")
_ALL_TYPES = ["array", "boolean", "integer", "number", "object", "string"]


class SpecNotFound(RuntimeError):
    """No Kubernetes OpenAPI spec could be located or downloaded."""


class Problem(NamedTuple):
    """One validation error: the JSON path of the offending field and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.message}"


# ----------------------------------------------------------------------------- locating the spec

def kubernetes_version(versions_env: Path | None = None, environ: dict[str, str] | None = None) -> str:
    """The lab's Kubernetes version (no leading ``v``)."""
    environ = os.environ if environ is None else environ
    if environ.get(VERSION_VARIABLE):
        return environ[VERSION_VARIABLE].lstrip("v")
    path = VERSIONS_ENV if versions_env is None else versions_env
    if path.is_file():
        name = VERSION_VARIABLE
        pattern = re.compile(r'^\s*(?:export\s+)?' + name + r'=["\']?(?:\$\{' + name + r':-)?v?([0-9][0-9A-Za-z.+-]*?)\}?["\']?\s*(?:#.*)?$')
        for line in path.read_text(encoding="utf-8").splitlines():
            match = pattern.match(line)
            if match:
                return match.group(1)
    return FALLBACK_KUBERNETES_VERSION


def cache_root(environ: dict[str, str] | None = None) -> Path:
    """``${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}``."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV])
    return Path(environ.get("HOME") or Path.home()) / ".cache" / "ardur-spire"


def cached_spec_path(version: str, environ: dict[str, str] | None = None) -> Path:
    """Where the swagger.json of Kubernetes ``version`` is cached."""
    return cache_root(environ) / "openapi" / f"kubernetes-{version}" / "swagger.json"


def download_spec(version: str, timeout: float = 900) -> Path:
    """``go mod download`` k8s.io/kubernetes@v<version>; the path of the swagger.json in its module dir."""
    go = shutil.which("go")
    if not go:
        raise SpecNotFound(f"'go' is not on PATH: cannot download {K8S_MODULE}@v{version}")
    with tempfile.TemporaryDirectory(prefix="k8s-openapi-") as workdir:  # outside any go.mod
        env = dict(os.environ, GOFLAGS=os.environ.get("GOFLAGS", ""), GO111MODULE="on")
        proc = subprocess.run([go, "mod", "download", "-json", f"{K8S_MODULE}@v{version}"], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    try:
        answer = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        answer = {}
    if proc.returncode != 0 or answer.get("Error") or not answer.get("Dir"):
        detail = answer.get("Error") or proc.stderr.strip() or proc.stdout.strip()
        raise SpecNotFound(f"go mod download {K8S_MODULE}@v{version} failed: {detail}")
    spec = Path(answer["Dir"]) / SPEC_IN_MODULE
    if not spec.is_file():
        raise SpecNotFound(f"{SPEC_IN_MODULE} is not in {answer['Dir']}")
    return spec


def locate_openapi_spec(version: str | None = None, download: bool = True, environ: dict[str, str] | None = None) -> Path:
    """The path of the swagger.json to use (see the module docstring for the order)."""
    environ = os.environ if environ is None else environ
    if environ.get(SPEC_ENV):
        path = Path(environ[SPEC_ENV])
        if not path.is_file():
            raise SpecNotFound(f"{SPEC_ENV}={path} is not a file")
        return path
    version = version or kubernetes_version(environ=environ)
    cached = cached_spec_path(version, environ)
    if cached.is_file() and cached.stat().st_size > 0:
        return cached
    if not download:
        raise SpecNotFound(f"no cached spec at {cached} and downloading is off")
    source = download_spec(version)
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cached.parent, prefix=".swagger-", delete=False) as tmp:
        with source.open("rb") as src:
            shutil.copyfileobj(src, tmp)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, cached)
    return cached


def load_openapi_spec(path: Path | str | None = None) -> dict[str, Any]:
    """Parse a swagger.json (located with ``locate_openapi_spec`` when no path is given)."""
    path = Path(path) if path else locate_openapi_spec()
    with Path(path).open(encoding="utf-8") as handle:
        spec = json.load(handle)
    if not isinstance(spec, dict) or not isinstance(spec.get("definitions"), dict):
        raise SpecNotFound(f"{path} is not an OpenAPI v2 spec with definitions")
    return spec


# ----------------------------------------------------------------------------- schema transforms

def _with_type(schema: dict[str, Any], extra: list[str]) -> None:
    current = schema.get("type")
    types = list(_ALL_TYPES) if current is None else ([current] if isinstance(current, str) else list(current))
    schema["type"] = types + [t for t in extra if t not in types]


def _strictify(schema: Any, crd: bool, strict: bool = True) -> Any:
    """A transformed copy of one schema node and everything below it.

    ``strict``: objects with declared properties get ``additionalProperties: false``. It is off
    below ``allOf``/``anyOf``/``oneOf``/``not``, whose branches only add value validations.
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    preserve = bool(out.get("x-kubernetes-preserve-unknown-fields"))
    if out.get("format") == "int-or-string" or out.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
        out.pop("format", None)
    if crd and out.get("nullable") is True and "type" in out:
        _with_type(out, ["null"])
    if isinstance(out.get("properties"), dict):
        props = {name: _strictify(sub, crd, strict) for name, sub in out["properties"].items()}
        if out.get("x-kubernetes-embedded-resource"):
            for name in ("apiVersion", "kind"):
                props.setdefault(name, {"type": "string"})
            props.setdefault("metadata", {"type": "object"})
        out["properties"] = props
        if crd and isinstance(out.get("required"), list):  # the apiserver defaults before it validates
            out["required"] = [name for name in out["required"] if not (isinstance(props.get(name), dict) and "default" in props[name])]
    _strictify_children(out, crd, strict)
    if strict and not preserve and "additionalProperties" not in out and "$ref" not in out:
        declares_object = out.get("type") == "object" or (isinstance(out.get("type"), list) and "object" in out["type"])
        if "properties" in out or (crd and declares_object and not out.get("x-kubernetes-embedded-resource")):
            out["additionalProperties"] = False
    return out


def _strictify_children(out: dict[str, Any], crd: bool, strict: bool) -> None:
    """``_strictify`` the items, additionalProperties and logic junctor branches of one node, in place."""
    if isinstance(out.get("items"), (dict, list)):
        items = out["items"]
        out["items"] = [_strictify(i, crd, strict) for i in items] if isinstance(items, list) else _strictify(items, crd, strict)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _strictify(out["additionalProperties"], crd, strict)
    for junctor in _JUNCTORS:
        if isinstance(out.get(junctor), list):
            out[junctor] = [_strictify(branch, crd, False) for branch in out[junctor]]
    if isinstance(out.get("not"), dict):
        out["not"] = _strictify(out["not"], crd, False)


def strict_definitions(definitions: dict[str, Any]) -> dict[str, Any]:
    """The swagger definitions made strict, with int-or-string and Quantity widened."""
    out = {name: _strictify(schema, crd=False) for name, schema in definitions.items()}
    if QUANTITY in out:
        out[QUANTITY] = dict(out[QUANTITY], type=["string", "integer", "number"])
    return out


def gvk_index(definitions: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """(group, version, kind) -> definition name, from ``x-kubernetes-group-version-kind``."""
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in sorted(definitions.items()):
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
            if key not in index or name.endswith("." + key[2]):  # DeleteOptions & co. carry many GVKs
                index[key] = name
    return index


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> (``apps``, ``v1``); ``v1`` -> (``""``, ``v1``)."""
    group, _sep, version = api_version.rpartition("/")
    return group, version


def crd_schemas(crd: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema for every version of one CRD that has a schema."""
    spec = crd.get("spec") or {}
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    out = {}
    for version in spec.get("versions") or []:
        if not isinstance(version, dict):
            continue
        schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
        if isinstance(schema, dict) and version.get("name"):
            out[(group, version["name"], kind)] = schema
    return out


def cr_root_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's openAPIV3Schema as the strict JSON schema of its custom resources.

    The root accepts ``apiVersion``, ``kind`` and ``metadata`` (validated as ObjectMeta, and by the
    CRD's own metadata schema where it has one) like the apiserver does.
    """
    root = _strictify(schema, crd=True)
    props = dict(root.get("properties") or {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    own_meta = (schema.get("properties") or {}).get("metadata")
    meta: dict[str, Any] = {"$ref": f"#/definitions/{OBJECT_META}"}
    if isinstance(own_meta, dict):
        meta = {"allOf": [meta, _strictify(own_meta, crd=True, strict=False)]}
    props["metadata"] = meta
    root["properties"] = props
    root.setdefault("type", "object")
    if not root.get("x-kubernetes-preserve-unknown-fields"):
        root["additionalProperties"] = False
    return root


# ----------------------------------------------------------------------------- the jsonschema validator

def _properties(validator, properties, instance, schema):  # pylint: disable=unused-argument
    """Draft 4 ``properties``, except that a null value counts as an absent field."""
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if name in instance and instance[name] is not None:
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)


def _required(validator, required, instance, schema):  # pylint: disable=unused-argument
    """Draft 4 ``required``, except that a null value counts as missing."""
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if instance.get(name) is None:
            yield jsonschema.ValidationError(f"{name!r} is a required property", validator_value=name)


def _list_type(validator, list_type, instance, schema):
    """``x-kubernetes-list-type``: map and set lists must not repeat a key (server-side apply rejects them)."""
    if list_type not in ("map", "set") or not validator.is_type(instance, "array"):
        return
    keys = schema.get("x-kubernetes-list-map-keys") or []
    seen: dict[str, int] = {}
    for index, item in enumerate(instance):
        if list_type == "map":
            if not isinstance(item, dict):
                continue
            key = json.dumps([item.get(k) for k in keys], sort_keys=True, default=str)
            label = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
        else:
            key = json.dumps(item, sort_keys=True, default=str)
            label = repr(item)
        if key in seen:
            yield jsonschema.ValidationError(f"duplicate entry [{index}] ({label}) of [{seen[key]}] in a list-type={list_type} list")
        else:
            seen[key] = index


def _is_int32(value: Any) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or -2 ** 31 <= value < 2 ** 31


def _is_int64(value: Any) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or -2 ** 63 <= value < 2 ** 63


def _is_byte(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value.upper()


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("int32")(_is_int32)
FORMAT_CHECKER.checks("int64")(_is_int64)
FORMAT_CHECKER.checks("byte")(_is_byte)
FORMAT_CHECKER.checks("date-time")(_is_date_time)

KubernetesValidator = _validators.extend(
    jsonschema.Draft4Validator,
    validators={"properties": _properties, "required": _required, "x-kubernetes-list-type": _list_type},
)


def _json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float), ("string", str),
                       ("array", list), ("object", dict)):
        if isinstance(value, kind):
            return name
    return type(value).__name__


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(parts: Iterable[Any]) -> str:
    """``['spec', 'containers', 0, 'name']`` -> ``spec.containers[0].name``; odd keys are quoted."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _problems(error: jsonschema.ValidationError, prefix: tuple[Any, ...]) -> Iterator[Problem]:
    path = prefix + tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = set((error.schema.get("properties") or {}))
        for name in sorted(set(error.instance) - declared, key=str):
            yield Problem(format_path(path + (name,)), "unknown field")
    elif error.validator == "required":
        yield Problem(format_path(path + (error.validator_value,)), "required field missing")
    elif error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        yield Problem(format_path(path), f"expected {' or '.join(wanted)}, got {_json_type(error.instance)} {error.instance!r}")
    elif error.validator == "format":
        yield Problem(format_path(path), f"{error.instance!r} is not a valid {error.validator_value}")
    else:
        yield Problem(format_path(path), error.message)


def _key_problems(value: Any, path: tuple[Any, ...] = ()) -> Iterator[Problem]:
    """JSON allows only string keys; YAML does not stop ``80: x``."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if not isinstance(key, str):
                yield Problem(format_path(path + (str(key),)), f"key {key!r} is a {_json_type(key)}, not a string")
            yield from _key_problems(sub, path + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _key_problems(sub, path + (index,))


def run_schema(schema: dict[str, Any], instance: Any, definitions: dict[str, Any] | None = None,
               prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """Validate ``instance`` against ``schema`` (whose ``$ref``s point into ``definitions``)."""
    root = dict(schema)
    if definitions is not None:
        root["definitions"] = definitions
    validator = KubernetesValidator(root, format_checker=FORMAT_CHECKER)
    problems: list[Problem] = []
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    for error in errors:
        if error.validator in _JUNCTORS and tuple(error.absolute_path) in typed:
            continue  # the type error at the same path says it better (int-or-string)
        problems.extend(_problems(error, prefix))
    return problems


# ----------------------------------------------------------------------------- CRD checks

def crd_problems(crd: dict[str, Any]) -> list[Problem]:
    """Checks of a CRD beyond its OpenAPI schema that the apiserver makes on create."""
    problems: list[Problem] = []
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    name = (crd.get("metadata") or {}).get("name")
    if names.get("plural") and spec.get("group") and name != f"{names['plural']}.{spec['group']}":
        problems.append(Problem("metadata.name", f"must be spec.names.plural + '.' + spec.group = {names['plural']}.{spec['group']!s}, not {name!r}"))
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    if versions and sum(1 for v in versions if v.get("storage") is True) != 1:
        problems.append(Problem("spec.versions", "exactly one version must have storage: true"))
    seen: set[Any] = set()
    for index, version in enumerate(versions):
        where = ("spec", "versions", index)
        if version.get("name") in seen:
            problems.append(Problem(format_path(where + ("name",)), f"duplicate version {version.get('name')!r}"))
        seen.add(version.get("name"))
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            problems.append(Problem(format_path(where + ("schema", "openAPIV3Schema")), "required field missing (apiextensions.k8s.io/v1)"))
            continue
        if schema.get("type") != "object":
            problems.append(Problem(format_path(where + ("schema", "openAPIV3Schema", "type")), "must be 'object' at the root"))
        problems.extend(structural_problems(schema, where + ("schema", "openAPIV3Schema")))
    return problems


def structural_problems(schema: Any, path: tuple[Any, ...] = ()) -> Iterator[Problem]:
    """Non-structural schema nodes: a ``type`` is required outside logic junctors (except int-or-string / preserve-unknown)."""
    if not isinstance(schema, dict):
        return
    if "type" not in schema and not schema.get("x-kubernetes-int-or-string") and not schema.get("x-kubernetes-preserve-unknown-fields"):
        yield Problem(format_path(path + ("type",)), "required in a structural schema")
    for name, sub in (schema.get("properties") or {}).items() if isinstance(schema.get("properties"), dict) else ():
        yield from structural_problems(sub, path + ("properties", name))
    if isinstance(schema.get("items"), dict):
        yield from structural_problems(schema["items"], path + ("items",))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from structural_problems(schema["additionalProperties"], path + ("additionalProperties",))


# ----------------------------------------------------------------------------- scope and labels

def scope_index(spec: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """(group, version, kind) -> ``Namespaced`` or ``Cluster``, from the spec's create (POST) paths."""
    scopes: dict[tuple[str, str, str], str] = {}
    for path, operations in (spec.get("paths") or {}).items():
        if "{name}" in path or not isinstance(operations, dict):
            continue
        for operation in operations.values():
            gvk = operation.get("x-kubernetes-group-version-kind") if isinstance(operation, dict) else None
            if gvk and operation.get("x-kubernetes-action") == "post":
                scopes[(gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))] = "Namespaced" if "{namespace}" in path else "Cluster"
    return scopes


_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label / annotation key (``[prefix/]name``), or None."""
    prefix, _sep, name = key.rpartition("/")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return "the name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "the prefix must be a lowercase DNS subdomain"
    return None


def label_problems(obj: dict[str, Any]) -> Iterator[Problem]:
    """Label keys and values, annotation keys, of the object and of its pod template (the apiserver's ObjectMeta checks)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    for where, meta in ((("metadata",), obj.get("metadata")), (("spec", "template", "metadata"), template.get("metadata"))):
        if not isinstance(meta, dict):
            continue
        for field in ("labels", "annotations"):
            values = meta.get(field)
            for key, value in values.items() if isinstance(values, dict) else ():
                if not isinstance(key, str) or not isinstance(value, str):
                    continue  # reported by the schema
                path = format_path(where + (field, key))
                why = qualified_name_problem(key)
                if why:
                    yield Problem(path, f"invalid key: {why}")
                if field == "labels" and value and (len(value) > 63 or not _LABEL_NAME.match(value)):
                    yield Problem(path, f"invalid label value {value!r}: at most 63 alphanumerics, '-', '_' or '.', "
                                        "starting and ending with an alphanumeric")


# ----------------------------------------------------------------------------- the public validator

def object_label(obj: Any) -> str:
    """``Kind/name`` or ``Kind/namespace/name`` of an object."""
    if not isinstance(obj, dict):
        return f"<{_json_type(obj)}>"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    parts = [str(obj.get("kind") or "<no kind>")]
    if meta.get("namespace"):
        parts.append(str(meta["namespace"]))
    parts.append(str(meta.get("name") or meta.get("generateName") or "<no name>"))
    return "/".join(parts)


def is_crd(obj: Any) -> bool:
    """Whether ``obj`` is an apiextensions.k8s.io/v1 CustomResourceDefinition."""
    return isinstance(obj, dict) and obj.get("apiVersion") == CRD_API_VERSION and obj.get("kind") == CRD_KIND


class SchemaValidator:
    """Validates objects against one swagger spec and any number of CRDs."""

    def __init__(self, spec: dict[str, Any], crds: Iterable[dict[str, Any]] = (), require_namespace: bool = True):
        """``require_namespace``: a namespaced object without ``metadata.namespace`` is an error."""
        self.definitions = strict_definitions(spec["definitions"])
        self.index = gvk_index(spec["definitions"])
        self.scopes = scope_index(spec)
        self.require_namespace = require_namespace
        self.custom: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.add_crds(crds)

    def add_crds(self, crds: Iterable[dict[str, Any]]) -> None:
        """Make the custom resources of these CRDs known (a later CRD of the same GVK wins)."""
        for crd in crds:
            if is_crd(crd):
                for gvk, schema in crd_schemas(crd).items():
                    self.custom[gvk] = cr_root_schema(schema)
                    if (crd.get("spec") or {}).get("scope") in ("Namespaced", "Cluster"):
                        self.scopes[gvk] = crd["spec"]["scope"]

    def kinds(self) -> set[tuple[str, str, str]]:
        """Every (group, version, kind) this validator has a schema for."""
        return set(self.index) | set(self.custom)

    def validate(self, obj: Any) -> list[Problem]:
        """Problems of one object; an empty list means valid."""
        if not isinstance(obj, dict):
            return [Problem("", f"an object must be a mapping, not {_json_type(obj)}")]
        problems = list(_key_problems(obj))
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            return problems + [Problem("", "apiVersion and kind are required strings")]
        gvk = (*split_api_version(api_version), kind)
        if gvk in self.index:
            schema = {"$ref": f"#/definitions/{self.index[gvk]}"}
        elif gvk in self.custom:
            schema = self.custom[gvk]
        else:
            return problems + [Problem("", f"no schema for apiVersion {api_version} kind {kind} (not in Kubernetes, no CRD given)")]
        problems.extend(run_schema(schema, obj, self.definitions))
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        if not (meta.get("name") or meta.get("generateName")):
            problems.append(Problem("metadata.name", "required field missing"))
        scope = self.scopes.get(gvk)
        if scope == "Cluster" and meta.get("namespace"):
            problems.append(Problem("metadata.namespace", f"{kind} is cluster-scoped: no namespace"))
        elif scope == "Namespaced" and self.require_namespace and not meta.get("namespace"):
            problems.append(Problem("metadata.namespace", f"required field missing ({kind} is namespaced)"))
        problems.extend(label_problems(obj))
        if is_crd(obj):
            problems.extend(crd_problems(obj))
        return problems


# ----------------------------------------------------------------------------- YAML files and the CLI

class KubeYamlLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader without implicit timestamps: kubectl's YAML keeps ``2024-01-01`` a string."""


KubeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_documents(text: str) -> list[Any]:
    """The non-empty documents of a multi-document YAML text; ``kind: *List`` items are unfolded."""
    out: list[Any] = []
    for doc in yaml.load_all(text, Loader=KubeYamlLoader):  # nosec B506 - a SafeLoader subclass
        if doc is None:
            continue
        if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend(item for item in doc["items"] if item is not None)
        else:
            out.append(doc)
    return out


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files given, and every *.yaml / *.yml / *.json below the directories given, sorted."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json")))
        else:
            out.append(path)
    return out


def load_objects(paths: Iterable[str | Path]) -> list[tuple[Path, Any]]:
    """(file, object) for every object in the given files and directories."""
    return [(path, obj) for path in yaml_files(paths) for obj in load_documents(path.read_text(encoding="utf-8"))]


def validate_objects(validator: SchemaValidator, objects: Iterable[tuple[Path, Any]]) -> list[tuple[Path, Any, list[Problem]]]:
    """Validate (file, object) pairs; the CRDs among them are registered first."""
    objects = list(objects)
    validator.add_crds(obj for _path, obj in objects)
    return [(path, obj, validator.validate(obj)) for path, obj in objects]


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Strict offline validation of Kubernetes manifests (OpenAPI v2 + CRDs).")
    parser.add_argument("paths", nargs="+", help="multi-document YAML files, or directories of them")
    parser.add_argument("--spec", help=f"swagger.json to use (default: ${SPEC_ENV}, the cache, the Go module proxy)")
    parser.add_argument("--crds", action="append", default=[], help="more files or directories with CRDs (repeatable)")
    parser.add_argument("--k8s-version", help="Kubernetes version of the spec (default: lab/versions.env)")
    parser.add_argument("--no-require-namespace", action="store_true", help="accept namespaced objects without metadata.namespace")
    args = parser.parse_args(argv)
    try:
        spec = load_openapi_spec(args.spec or locate_openapi_spec(args.k8s_version))
    except (SpecNotFound, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    validator = SchemaValidator(spec, require_namespace=not args.no_require_namespace)
    try:
        validator.add_crds(obj for _path, obj in load_objects(args.crds))
        results = validate_objects(validator, load_objects(args.paths))
    except (OSError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path, obj, problems in results:
        label = f"{path}: {object_label(obj)}"
        if problems:
            failed += 1
            print(f"{label}: {'; '.join(str(p) for p in problems)}")
        else:
            print(f"{label}: ok")
    print(f"{len(results)} objects, {len(results) - failed} ok, {failed} with errors")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
