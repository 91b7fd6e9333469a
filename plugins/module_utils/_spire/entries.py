# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""Registration entries: normalise, identify, plan and apply them through spire-server's CLI.

An entry's identity is what SPIRE itself treats as "the same entry": its SPIFFE ID, parent ID and
set of selectors. Entries this collection creates get a deterministic ID, `<prefix>.<digest of the
identity>`, so exclusive mode can tell its own entries from those of spire-controller-manager
(which only touches entries carrying its own `entryIDPrefix`) or of people.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

ENTRY_ID_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")
SPIFFE_ID = re.compile(r"^spiffe://[a-z0-9._-]{1,255}(/[A-Za-z0-9._-]+)*$")
SELECTOR = re.compile(r"^[A-Za-z0-9_-]+:.+$")
INT32_MAX = 2 ** 31 - 1

# Attributes compared to decide whether an existing entry needs an update.
MUTABLE_FIELDS = ("x509_svid_ttl", "jwt_svid_ttl", "dns_names", "federates_with", "admin",
                  "downstream", "hint", "store_svid", "expires_at")


class EntryError(Exception):
    """Bad input or a failed spire-server call; the message names the entry and the field."""


def _trust_domain_name(value):
    return value[len("spiffe://"):] if value.startswith("spiffe://") else value


def normalize(spec, index):
    """Validate one requested entry and return it in canonical form."""
    where = "entries[%d]" % index
    errors = []
    spiffe_id = spec.get("spiffe_id") or ""
    parent_id = spec.get("parent_id") or ""
    if not SPIFFE_ID.match(spiffe_id):
        errors.append("%s.spiffe_id: %r is not a SPIFFE ID (spiffe://trust.domain/path)" % (where, spiffe_id))
    if not SPIFFE_ID.match(parent_id):
        errors.append("%s.parent_id: %r is not a SPIFFE ID (spiffe://trust.domain/path)" % (where, parent_id))
    selectors = spec.get("selectors") or []
    if not selectors:
        errors.append("%s.selectors: at least one selector is required" % where)
    for pos, selector in enumerate(selectors):
        if not SELECTOR.match(selector):
            errors.append("%s.selectors[%d]: %r is not TYPE:VALUE" % (where, pos, selector))
    for field in ("x509_svid_ttl", "jwt_svid_ttl"):
        value = spec.get(field) or 0
        if value < 0 or value > INT32_MAX:
            errors.append("%s.%s: %d is out of range 0..%d seconds (0 means the server default)" % (where, field, value, INT32_MAX))
    if errors:
        raise EntryError("; ".join(errors))
    return {
        "spiffe_id": spiffe_id,
        "parent_id": parent_id,
        "selectors": sorted(set(selectors)),
        "x509_svid_ttl": spec.get("x509_svid_ttl") or 0,
        "jwt_svid_ttl": spec.get("jwt_svid_ttl") or 0,
        "dns_names": list(spec.get("dns_names") or []),
        "federates_with": sorted(_trust_domain_name(td) for td in spec.get("federates_with") or []),
        "admin": bool(spec.get("admin")),
        "downstream": bool(spec.get("downstream")),
        "hint": spec.get("hint") or "",
        "store_svid": bool(spec.get("store_svid")),
        "expires_at": spec.get("expires_at") or 0,
    }


def from_server(entry):
    """Canonical form of one entry as `spire-server entry show -output json` prints it."""
    def spiffe(value):
        return "spiffe://%s%s" % (value["trust_domain"], value.get("path", "")) if value else ""
    return {
        "id": entry["id"],
        "spiffe_id": spiffe(entry.get("spiffe_id")),
        "parent_id": spiffe(entry.get("parent_id")),
        "selectors": sorted("%s:%s" % (s["type"], s["value"]) for s in entry.get("selectors") or []),
        "x509_svid_ttl": int(entry.get("x509_svid_ttl") or 0),
        "jwt_svid_ttl": int(entry.get("jwt_svid_ttl") or 0),
        "dns_names": list(entry.get("dns_names") or []),
        "federates_with": sorted(_trust_domain_name(td) for td in entry.get("federates_with") or []),
        "admin": bool(entry.get("admin")),
        "downstream": bool(entry.get("downstream")),
        "hint": entry.get("hint") or "",
        "store_svid": bool(entry.get("store_svid")),
        "expires_at": int(entry.get("expires_at") or 0),
    }


def identity(entry):
    return (entry["spiffe_id"], entry["parent_id"], tuple(entry["selectors"]))


def entry_id(prefix, entry):
    """Deterministic entry ID: the same identity always gets the same ID."""
    digest = hashlib.sha256(json.dumps(identity(entry)).encode("utf-8")).hexdigest()[:32]
    return "%s.%s" % (prefix, digest)


def plan(desired, current, state, exclusive, prefix):
    """Return (create, update, delete): the calls that bring `current` to what was asked."""
    by_identity = {}
    for entry in current:
        by_identity.setdefault(identity(entry), entry)
    wanted = {identity(e): e for e in desired}
    create, update, delete = [], [], []
    if state == "absent":
        delete = [by_identity[key] for key in wanted if key in by_identity]
        return create, update, delete
    for key, entry in wanted.items():
        existing = by_identity.get(key)
        if existing is None:
            create.append(dict(entry, id=entry_id(prefix, entry)))
        elif any(existing[f] != entry[f] for f in MUTABLE_FIELDS):
            update.append(dict(entry, id=existing["id"]))
    if exclusive:
        owned = prefix + "."
        delete = [e for e in current if e["id"].startswith(owned) and identity(e) not in wanted]
    return create, update, delete


def to_data_file(entries):
    """The JSON `entry create|update -data` reads (SPIRE's RegistrationEntries message)."""
    def one(entry):
        data = {
            "entry_id": entry["id"],
            "spiffe_id": entry["spiffe_id"],
            "parent_id": entry["parent_id"],
            "selectors": [dict(zip(("type", "value"), s.split(":", 1))) for s in entry["selectors"]],
            "x509_svid_ttl": entry["x509_svid_ttl"],
            "jwt_svid_ttl": entry["jwt_svid_ttl"],
            "dns_names": entry["dns_names"],
            "federates_with": ["spiffe://%s" % td for td in entry["federates_with"]],
            "admin": entry["admin"],
            "downstream": entry["downstream"],
            "hint": entry["hint"],
            "store_svid": entry["store_svid"],
            "entryExpiry": entry["expires_at"],
        }
        return data
    return json.dumps({"entries": [one(e) for e in entries]}, sort_keys=True)


def to_flags(entry):
    """The same entry as `entry create|update` flags, for transports that cannot close stdin."""
    argv = ["-entryID", entry["id"], "-spiffeID", entry["spiffe_id"], "-parentID", entry["parent_id"],
            "-x509SVIDTTL", str(entry["x509_svid_ttl"]), "-jwtSVIDTTL", str(entry["jwt_svid_ttl"]),
            "-entryExpiry", str(entry["expires_at"]), "-hint", entry["hint"]]
    for flag, values in (("-selector", entry["selectors"]), ("-dns", entry["dns_names"]),
                         ("-federatesWith", ["spiffe://%s" % td for td in entry["federates_with"]])):
        for value in values:
            argv += [flag, value]
    for flag in ("admin", "downstream"):
        argv.append("-%s=%s" % (flag, str(entry[flag]).lower()))
    argv.append("-storeSVID=%s" % str(entry["store_svid"]).lower())
    return argv


def _refused(verb, result):
    failed = [r for r in result.get("results") or [] if (r.get("status") or {}).get("code") not in (0, None)]
    if failed:
        raise EntryError("spire-server entry %s refused %d entries: %s" % (
            verb, len(failed), "; ".join((r["status"].get("message") or "") for r in failed)))


class EntryClient:
    """spire-server's entry commands over one transport.

    `run(argv, stdin)` returns (rc, stdout, stderr) and decides whether argv runs on this host or
    inside a server pod. With `batch_stdin`, each kind of change is one call that reads its batch
    from stdin; without it (the exec API cannot close a pod's stdin) each entry is one call.
    """

    def __init__(self, run, spire_server, socket_path, batch_stdin=True):
        self._run = run
        self._base = [spire_server]
        self._socket = ["-socketPath", socket_path]
        self._batch_stdin = batch_stdin

    def _call(self, verb, extra=None, stdin=None):
        argv = self._base + ["entry", verb] + self._socket + ["-output", "json"] + (extra or [])
        rc, out, err = self._run(argv, stdin)
        try:
            result = json.loads(out) if out.strip() else {}
        except ValueError:
            result = None
        if rc != 0 or result is None:
            raise EntryError("spire-server entry %s failed (rc=%d): %s" % (verb, rc, (err or out).strip()))
        _refused(verb, result)
        return result

    def list(self):
        return [from_server(e) for e in self._call("show").get("entries") or []]

    def _write(self, verb, entries):
        if not entries:
            return
        if self._batch_stdin:
            self._call(verb, ["-data", "-"], to_data_file(entries))
            return
        for entry in entries:
            self._call(verb, to_flags(entry))

    def create(self, entries):
        self._write("create", entries)

    def update(self, entries):
        self._write("update", entries)

    def delete(self, entries):
        if not entries:
            return
        if self._batch_stdin:
            self._call("delete", ["-file", "-"], json.dumps({"ids": [e["id"] for e in entries]}))
            return
        for entry in entries:
            self._call("delete", ["-entryID", entry["id"]])
