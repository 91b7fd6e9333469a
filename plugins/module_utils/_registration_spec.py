# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""Validation of registration families and their rendering into ClusterSPIFFEID objects.

Private to ardur.spire (the leading underscore): used by the spire_registration_spec module
and by the unit tests. Every check collects its error with the input path it concerns, so a
caller can report every problem at once, for example
``registrations_families[1].spiffe_id_template: ...``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ardur.spire.plugins.module_utils._spire.validate import parse_duration, trust_domain_problem

# ---------------------------------------------------------------------------------------
# SPIFFE / Go helpers: the collection's shared ones (module_utils/_spire/validate.py).
# ---------------------------------------------------------------------------------------


def trust_domain_error(value):
    """None when value is a plain SPIFFE trust domain name, else the reason."""
    if not isinstance(value, str):
        return "must be a SPIFFE trust domain name (a string)"
    return trust_domain_problem(value)[0]


def parse_go_duration(text):
    """Seconds in a Go duration string (time.ParseDuration syntax); ValueError when invalid."""
    return parse_duration(text) / 1e9


# ---------------------------------------------------------------------------------------
# Kubernetes names and label values
# ---------------------------------------------------------------------------------------

DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dns_label_error(value):
    if not isinstance(value, str) or len(value) > 63 or not DNS1123_LABEL_RE.match(value):
        return ("must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
                "starting and ending with a letter or digit")
    return None


def dns_subdomain_error(value):
    if not isinstance(value, str) or len(value) > 253 or not DNS1123_SUBDOMAIN_RE.match(value):
        return "must be a DNS-1123 subdomain (lowercase, at most 253 characters)"
    return None


def label_value_error(value):
    if not isinstance(value, str) or not value or len(value) > 63 or not LABEL_VALUE_RE.match(value):
        return ("must be a non-empty Kubernetes label value: at most 63 characters among "
                "letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
    return None


# ---------------------------------------------------------------------------------------
# spire-controller-manager templates
# ---------------------------------------------------------------------------------------

# Data the controller manager gives its templates (ClusterSPIFFEID spec, v0.6.x).
_SCALAR_ROOTS = ("TrustDomain", "ClusterName", "ClusterDomain")
_OBJECT_ROOTS = ("PodMeta", "PodSpec", "NodeMeta", "NodeSpec")
_ACTION_RE = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
_FIELD_CHAIN_RE = re.compile(
    r"^\.(?:(?:%s)|(?:%s)(?:\.[A-Z][A-Za-z0-9]*)+)$" % ("|".join(_SCALAR_ROOTS), "|".join(_OBJECT_ROOTS)))
_INDEX_RE = re.compile(r'^index\s+\.(?:PodMeta|NodeMeta)\.(?:Labels|Annotations)\s+"[A-Za-z0-9./_-]+"$')
TRUST_DOMAIN_ACTION_RE = re.compile(r"^\{\{-?\s*\.TrustDomain\s*-?\}\}$")
PLACEHOLDER = "X"

SPIFFE_ID_MAX_BYTES = 2048
SEGMENT_RE = re.compile(r"^[A-Za-z0-9._-]+$")
DNS_NAME_CHARS_RE = re.compile(r"^[A-Za-z0-9.*-]+$")

# Workload selector types and keys the agent's k8s and unix workload attestors produce.
KNOWN_SELECTORS = {
    "k8s": (
        "ns", "ns-label", "sa", "container-name", "container-image", "node-name",
        "pod-label", "pod-owner", "pod-owner-uid", "pod-uid", "pod-name", "pod-image",
        "pod-image-count", "pod-init-image", "pod-init-image-count",
    ),
    "unix": (
        "uid", "user", "gid", "group", "supplementary_gid", "supplementary_group",
        "path", "sha256",
    ),
}


def action_error(expression):
    """None when a template action is one this collection accepts, else the reason."""
    body = expression.strip()
    if _FIELD_CHAIN_RE.match(body) or _INDEX_RE.match(body):
        return None
    return ("unsupported template expression '{{ %s }}': use a field such as .TrustDomain, "
            ".ClusterName, .ClusterDomain, .PodMeta.Namespace, .PodSpec.ServiceAccountName, "
            "or 'index .PodMeta.Labels \"key\"'" % body)


def flatten_template(text):
    """(text with every action replaced by PLACEHOLDER, list of errors)."""
    errors = []

    def replace(match):
        err = action_error(match.group(2))
        if err:
            errors.append(err)
        return PLACEHOLDER

    flat = _ACTION_RE.sub(replace, text)
    if "{{" in flat or "}}" in flat:
        errors.append("unbalanced template braces '{{ }}'")
    return flat, errors


def spiffe_id_template_errors(template, trust_domain):
    """Every reason why template is not an acceptable SPIFFE ID template for trust_domain."""
    if not isinstance(template, str) or not template:
        return ["must be a non-empty string"]
    prefix = "spiffe://"
    if not template.startswith(prefix):
        return ["must start with 'spiffe://{{ .TrustDomain }}/' or 'spiffe://%s/'" % trust_domain]
    rest = template[len(prefix):]
    leading_action = re.match(r"^\{\{.*?\}\}", rest, re.S)
    if leading_action:
        authority = leading_action.group(0)
        if not TRUST_DOMAIN_ACTION_RE.match(authority):
            return ["must stay inside the trust domain: its authority must be '{{ .TrustDomain }}' or "
                    "'%s', not '%s'" % (trust_domain, authority)]
    else:
        authority = rest.partition("/")[0]
        if authority != trust_domain:
            return ["must stay inside the trust domain: start with 'spiffe://{{ .TrustDomain }}/' or "
                    "'spiffe://%s/', not 'spiffe://%s/'" % (trust_domain, authority)]
    path = rest[len(authority):]
    if not path.startswith("/") or path == "/":
        return ["needs a path after the trust domain (a workload ID is never the trust domain ID)"]
    path = path[1:]
    errors = []
    if len(template.encode("utf-8")) > SPIFFE_ID_MAX_BYTES:
        errors.append("is longer than %d bytes" % SPIFFE_ID_MAX_BYTES)
    flat, template_errors = flatten_template(path)
    errors.extend(template_errors)
    segments = flat.split("/")
    for index, segment in enumerate(segments, start=1):
        if segment == "":
            errors.append("path segment %d is empty (no '//' and no trailing '/')" % index)
        elif segment in (".", ".."):
            errors.append("path segment %d is '%s' (relative segments are not allowed)" % (index, segment))
        elif not SEGMENT_RE.match(segment):
            bad = sorted(set(c for c in segment if not SEGMENT_RE.match(c)))
            errors.append("path segment %d holds characters not allowed in a SPIFFE ID path: %s"
                          % (index, " ".join(repr(c) for c in bad)))
    if segments and segments[0] == "spire":
        errors.append("the path must not start with /spire (reserved for SPIRE's own agents and servers)")
    return errors


def selector_template_errors(selector):
    """Every reason why selector is not an acceptable workload selector template."""
    if not isinstance(selector, str) or not selector:
        return ["must be a non-empty 'type:value' string"]
    flat, errors = flatten_template(selector)
    kind, colon, value = flat.partition(":")
    if not colon or not kind or not value:
        return errors + ["must be 'type:value', e.g. 'k8s:container-name:langchain'"]
    if kind not in KNOWN_SELECTORS:
        return errors + ["selector type '%s' is not one of the agent's workload attestors (%s)"
                         % (kind, ", ".join(sorted(KNOWN_SELECTORS)))]
    key, colon, rest = value.partition(":")
    if key not in KNOWN_SELECTORS[kind]:
        errors.append("'%s:%s' is not a known %s selector (known: %s)"
                      % (kind, key, kind, ", ".join(KNOWN_SELECTORS[kind])))
    elif not colon or not rest:
        errors.append("'%s:%s' needs a value after '%s:%s:'" % (kind, key, kind, key))
    return errors


def dns_name_template_errors(template):
    if not isinstance(template, str) or not template:
        return ["must be a non-empty string"]
    flat, errors = flatten_template(template)
    if len(flat) > 253 or not DNS_NAME_CHARS_RE.match(flat):
        errors.append("must render a DNS name (letters, digits, '-', '.', at most 253 characters)")
    return errors


# ---------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------

REQUIRED_KEYS = ("name", "app", "container", "namespace")
OPTIONAL_KEYS = ("service_account", "spiffe_id_template", "ttl", "jwt_ttl",
                 "dns_name_templates", "hint", "workload_selector_templates")
DEFAULT_SPIFFE_ID_TEMPLATE = (
    "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}"
    "/sa/{{ .PodSpec.ServiceAccountName }}/framework/%s")
MIN_TTL_SECONDS = 60
HINT_MAX = 1024
API_VERSION = "spire.spiffe.io/v1alpha1"
FRAMEWORK_LABEL = "framework"
APP_LABEL = "app.kubernetes.io/name"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


class SpecError(Exception):
    """Raised by build() with every error found; .errors holds (path, message) pairs."""

    def __init__(self, errors):
        self.errors = errors
        super(SpecError, self).__init__(format_errors(errors))


def format_errors(errors):
    return "\n".join("%s: %s" % (path, message) for path, message in errors)


def _ttl(errors, path, value, maximum, maximum_text):
    if value is None or value == "":
        return None
    try:
        seconds = parse_go_duration(value)
    except ValueError as exc:
        errors.append((path, "must be a Go duration such as '1h' or '30m' (%s)" % exc))
        return None
    if seconds < MIN_TTL_SECONDS:
        errors.append((path, "%s is below the minimum of 1m" % value))
    elif maximum is not None and seconds > maximum:
        errors.append((path, "%s exceeds the maximum of %s (SVID TTLs must stay within "
                       "min(ca_ttl/6, 7d))" % (value, maximum_text)))
    return value


def _string_list(errors, path, value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append((path, "must be a list of strings"))
        return []
    return value


def validate_families(families, trust_domain, input_name="registrations_families",
                      max_x509_svid_ttl="4h", max_jwt_svid_ttl="4h", ignore_namespaces=()):
    """(normalized families, errors). Each error is (input path, message)."""
    errors = []
    td_error = trust_domain_error(trust_domain)
    if td_error:
        errors.append(("trust_domain", td_error))
    maxima = {}
    for option, text in (("max_x509_svid_ttl", max_x509_svid_ttl), ("max_jwt_svid_ttl", max_jwt_svid_ttl)):
        try:
            maxima[option] = parse_go_duration(text)
        except ValueError as exc:
            errors.append((option, "must be a Go duration (%s)" % exc))
            maxima[option] = None
    ignore = []
    for index, pattern in enumerate(ignore_namespaces or []):
        try:
            ignore.append((pattern, re.compile(pattern)))
        except (re.error, TypeError) as exc:
            errors.append(("ignore_namespaces[%d]" % index, "is not a valid regular expression (%s)" % exc))

    if not isinstance(families, list):
        errors.append((input_name, "must be a list of families (dicts)"))
        return [], errors
    normalized = []
    seen = {}
    for index, family in enumerate(families):
        base = "%s[%d]" % (input_name, index)
        if not isinstance(family, dict):
            errors.append((base, "must be a dict with the keys %s" % ", ".join(REQUIRED_KEYS)))
            continue
        unknown = sorted(set(family) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
        for key in unknown:
            errors.append(("%s.%s" % (base, key), "unknown key; known keys: %s"
                           % ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS)))
        missing = [key for key in REQUIRED_KEYS if family.get(key) in (None, "")]
        for key in missing:
            errors.append(("%s.%s" % (base, key), "is required"))
        name = family.get("name")
        if "name" not in missing:
            err = dns_label_error(name)
            if err:
                errors.append(("%s.name" % base, err))
            elif name in seen:
                errors.append(("%s.name" % base, "'%s' is already the name of %s[%d]; family names must be unique"
                               % (name, input_name, seen[name])))
            else:
                seen[name] = index
        if "app" not in missing:
            err = label_value_error(family["app"])
            if err:
                errors.append(("%s.app" % base, err))
        if "container" not in missing:
            err = dns_label_error(family["container"])
            if err:
                errors.append(("%s.container" % base, "(a container name) " + err))
        namespace = family.get("namespace")
        if "namespace" not in missing:
            err = dns_label_error(namespace)
            if err:
                errors.append(("%s.namespace" % base, err))
            else:
                for pattern, regex in ignore:
                    if regex.search(namespace):
                        errors.append(("%s.namespace" % base, "'%s' is ignored by the controller manager "
                                       "(ignore pattern '%s'): its pods would never get this SPIFFE ID"
                                       % (namespace, pattern)))
        service_account = family.get("service_account") or None
        if service_account is not None:
            err = dns_subdomain_error(service_account)
            if err:
                errors.append(("%s.service_account" % base, err))

        template = family.get("spiffe_id_template")
        if template in (None, ""):
            template = DEFAULT_SPIFFE_ID_TEMPLATE % (name if isinstance(name, str) else "")
        else:
            for message in spiffe_id_template_errors(template, trust_domain):
                errors.append(("%s.spiffe_id_template" % base, message))

        ttl = _ttl(errors, "%s.ttl" % base, family.get("ttl"), maxima.get("max_x509_svid_ttl"), max_x509_svid_ttl)
        jwt_ttl = _ttl(errors, "%s.jwt_ttl" % base, family.get("jwt_ttl"), maxima.get("max_jwt_svid_ttl"),
                       max_jwt_svid_ttl)

        dns_names = _string_list(errors, "%s.dns_name_templates" % base, family.get("dns_name_templates"))
        for position, value in enumerate(dns_names):
            for message in dns_name_template_errors(value):
                errors.append(("%s.dns_name_templates[%d]" % (base, position), message))

        extra = _string_list(errors, "%s.workload_selector_templates" % base, family.get("workload_selector_templates"))
        for position, value in enumerate(extra):
            for message in selector_template_errors(value):
                errors.append(("%s.workload_selector_templates[%d]" % (base, position), message))

        hint = family.get("hint") or None
        if hint is not None and (not isinstance(hint, str) or len(hint) > HINT_MAX or not hint.isprintable()):
            errors.append(("%s.hint" % base, "must be a printable string of at most %d characters" % HINT_MAX))

        selectors = ["k8s:container-name:%s" % family.get("container")]
        if service_account:
            selectors.append("k8s:sa:%s" % service_account)
        selectors.extend(s for s in extra if s not in selectors)
        normalized.append({
            "name": name,
            "app": family.get("app"),
            "container": family.get("container"),
            "namespace": namespace,
            "service_account": service_account,
            "spiffe_id_template": template,
            "ttl": ttl,
            "jwt_ttl": jwt_ttl,
            "dns_name_templates": dns_names,
            "hint": hint,
            "workload_selector_templates": selectors,
        })
    return normalized, errors


def cluster_spiffeid(family, labels=None, name_prefix="ardur-", class_name=""):
    """The ClusterSPIFFEID object (a dict) of one normalized family."""
    object_labels = dict(labels or {})
    object_labels[FRAMEWORK_LABEL] = family["name"]
    spec = {
        "spiffeIDTemplate": family["spiffe_id_template"],
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: family["namespace"]}},
        "podSelector": {"matchLabels": {FRAMEWORK_LABEL: family["name"], APP_LABEL: family["app"]}},
        "workloadSelectorTemplates": list(family["workload_selector_templates"]),
    }
    if family.get("ttl"):
        spec["ttl"] = family["ttl"]
    if family.get("jwt_ttl"):
        spec["jwtTtl"] = family["jwt_ttl"]
    if family.get("dns_name_templates"):
        spec["dnsNameTemplates"] = list(family["dns_name_templates"])
    if family.get("hint"):
        spec["hint"] = family["hint"]
    if class_name:
        spec["className"] = class_name
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterSPIFFEID",
        "metadata": {"name": "%s%s" % (name_prefix, family["name"]), "labels": object_labels},
        "spec": spec,
    }


def build(families, trust_domain, input_name="registrations_families", max_x509_svid_ttl="4h",
          max_jwt_svid_ttl="4h", ignore_namespaces=(), labels=None, name_prefix="ardur-", class_name=""):
    """Validated families and their ClusterSPIFFEIDs; raises SpecError listing every problem."""
    errors = []
    prefix_error = dns_label_error(name_prefix + "x")
    if prefix_error or len(name_prefix) > 40:
        errors.append(("name_prefix", "must be a short prefix of DNS-1123 label characters"))
    if class_name and label_value_error(class_name):
        errors.append(("class_name", label_value_error(class_name)))
    normalized, family_errors = validate_families(
        families, trust_domain, input_name=input_name, max_x509_svid_ttl=max_x509_svid_ttl,
        max_jwt_svid_ttl=max_jwt_svid_ttl, ignore_namespaces=ignore_namespaces)
    errors.extend(family_errors)
    if errors:
        raise SpecError(errors)
    objects = [cluster_spiffeid(f, labels=labels, name_prefix=name_prefix, class_name=class_name)
               for f in normalized]
    return normalized, objects
