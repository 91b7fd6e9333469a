# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""Read one SPIRE server's state through its CLI: health, bundle, agents, entries, X.509 authorities.

Every command is read-only. The JSON shapes are those of SPIRE 1.14's `-output json` (protojson with
proto field names, unpopulated fields emitted, nulls removed; 64-bit integers arrive as strings).
A command that fails does not stop the others: its error is recorded under `errors`, so a caller
can report a sick server instead of failing on it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import time

from ansible_collections.ardur.spire.plugins.module_utils._spire.authority import certificate_dates, subject_key_id

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


class ServerCommandError(Exception):
    """A spire-server command that failed or printed something that is not the expected JSON."""


def spiffe_id(value):
    """`spiffe://td/path` from the API's {trust_domain, path} (or a string already)."""
    if isinstance(value, dict):
        return "spiffe://%s%s" % (value.get("trust_domain", ""), value.get("path", ""))
    return value or ""


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _iso(unix):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix)) if unix else None


def pem_certificates(text):
    """The PEM certificate blocks of `text`, each normalised (no surrounding blanks), in order."""
    certs, current = [], None
    for line in (text or "").splitlines():
        line = line.strip()
        if line == PEM_BEGIN:
            current = [line]
        elif current is not None:
            current.append(line)
            if line == "-----END CERTIFICATE-----":
                certs.append("\n".join(current) + "\n")
                current = None
    return certs


def certificate_summaries(pem_blocks, now):
    """Subject key ID and validity of each PEM certificate (a bundle's roots); unreadable ones are skipped."""
    out = []
    for block in pem_blocks or []:
        try:
            der = base64.b64decode("".join(block.strip().splitlines()[1:-1]))
            not_before, not_after = certificate_dates(der)
            skid = subject_key_id(der)
        except (ValueError, TypeError, binascii.Error):
            continue
        out.append(dict(subject_key_id=skid, not_before_iso=_iso(not_before), not_after=not_after,
                        not_after_iso=_iso(not_after), seconds_left=not_after - now))
    return out


def agent_summary(agent, now):
    # Proto field names: x509svid_expires_at, x509svid_serial_number (no underscore after x509).
    expires_at = _int(agent.get("x509svid_expires_at"))
    node_name = [s.get("value", "")[len("agent_node_name:"):] for s in agent.get("selectors") or []
                 if s.get("type") == "k8s_psat" and s.get("value", "").startswith("agent_node_name:")]
    return dict(
        spiffe_id=spiffe_id(agent.get("id")),
        attestation_type=agent.get("attestation_type", ""),
        expires_at=expires_at,
        expires_at_iso=_iso(expires_at),
        expired=bool(expires_at) and expires_at <= now,
        banned=bool(agent.get("banned", False)),
        can_reattest=bool(agent.get("can_reattest", False)),
        serial_number=agent.get("x509svid_serial_number", ""),
        agent_version=agent.get("agent_version", ""),
        node_name=node_name[0] if node_name else None,
    )


def authority_summary(state, now):
    """One X.509 authority (active, prepared or old), or None when the server has none in that slot."""
    if not state:
        return None
    expires_at = _int(state.get("expires_at"))
    return dict(
        authority_id=state.get("authority_id", ""),
        expires_at=expires_at,
        expires_at_iso=_iso(expires_at),
        seconds_left=expires_at - now if expires_at else None,
        upstream_authority_subject_key_id=state.get("upstream_authority_subject_key_id", ""),
    )


def entry_prefix_counts(entries, prefixes):
    """How many entries have an ID starting with each prefix; the rest under ''."""
    counts = dict((p, 0) for p in prefixes)
    counts[""] = 0
    for entry in entries:
        entry_id = entry.get("id", "")
        matched = [p for p in prefixes if p and entry_id.startswith(p)]
        # The longest matching prefix wins, so "ardur" and "ardur.scm." do not count one entry twice.
        counts[max(matched, key=len) if matched else ""] += 1
    return counts


# How a runner's error starts when the transport itself failed (exec_transport: the API refused
# the exec), as opposed to spire-server failing.
EXEC_FAILED = "exec in "


class ServerInfo:
    """spire-server's read-only commands over one transport.

    `run(argv, stdin)` returns (rc, stdout, stderr) and decides whether argv runs on this host or
    inside a server pod.
    """

    def __init__(self, run, spire_server, socket_path, clock=time.time):
        self._run = run
        self._base = [spire_server]
        self._socket = ["-socketPath", socket_path]
        self._clock = clock

    def _raw(self, words, extra=None):
        argv = self._base + words + self._socket + (extra or [])
        rc, out, err = self._run(argv, None)
        if rc != 0:
            raise ServerCommandError("spire-server %s failed (rc=%d): %s" % (
                " ".join(words), rc, ((err or "") + (out or "")).strip() or "no output"))
        return out or ""

    def _json(self, words, extra=None):
        out = self._raw(words, ["-output", "json"] + (extra or []))
        try:
            return json.loads(out) if out.strip() else {}
        except ValueError as exc:
            raise ServerCommandError("spire-server %s printed no JSON (%s): %s" % (" ".join(words), exc, out[:200]))

    def healthcheck(self):
        """(healthy, message)."""
        try:
            return True, self._raw(["healthcheck"]).strip()
        except ServerCommandError as exc:
            return False, str(exc)

    def bundle(self):
        return self._raw(["bundle", "show"], ["-format", "pem"])

    def agents(self):
        now = int(self._clock())
        return [agent_summary(a, now) for a in self._json(["agent", "list"]).get("agents") or []]

    def entry_count(self):
        return _int(self._json(["entry", "count"]).get("count"))

    def entries(self):
        return self._json(["entry", "show"]).get("entries") or []

    def x509_authorities(self):
        now = int(self._clock())
        state = self._json(["localauthority", "x509", "show"])
        return dict((slot, authority_summary(state.get(slot), now)) for slot in ("active", "prepared", "old"))

    def gather(self, entry_id_prefixes=(), entry_details=False):
        """Everything this module reports; failed parts are None and their error is in `errors`."""
        result = dict(errors={})
        result["healthy"], result["health_message"] = self.healthcheck()
        if not result["healthy"]:
            result["errors"]["healthcheck"] = result["health_message"]
            if EXEC_FAILED in result["health_message"]:
                # The pod cannot be reached at all (not running, not scheduled): no other read can work.
                result.update(dict.fromkeys(("bundle", "bundle_certificates", "bundle_authorities", "agents",
                                             "entries", "x509_authorities", "upstream_authority_subject_key_id")))
                result["datastore_reachable"] = False
                return result

        def attempt(name, func):
            try:
                return func()
            except ServerCommandError as exc:
                result["errors"][name] = str(exc)
                return None

        bundle = attempt("bundle", self.bundle)
        result["bundle"] = bundle
        result["bundle_certificates"] = pem_certificates(bundle) if bundle is not None else None
        result["bundle_authorities"] = (certificate_summaries(result["bundle_certificates"], int(self._clock()))
                                        if bundle is not None else None)
        result["agents"] = attempt("agents", self.agents)

        count = attempt("entry_count", self.entry_count)
        entries = attempt("entries", self.entries)
        result["entries"] = None
        if count is not None or entries is not None:
            result["entries"] = dict(count=count)
            if entries is not None:
                result["entries"]["listed"] = len(entries)
                result["entries"]["by_prefix"] = entry_prefix_counts(entries, list(entry_id_prefixes))
                if entry_details:
                    result["entries"]["items"] = [dict(id=e.get("id", ""), spiffe_id=spiffe_id(e.get("spiffe_id")),
                                                       parent_id=spiffe_id(e.get("parent_id"))) for e in entries]

        authorities = attempt("x509_authorities", self.x509_authorities)
        result["x509_authorities"] = authorities
        active = (authorities or {}).get("active") or {}
        result["upstream_authority_subject_key_id"] = active.get("upstream_authority_subject_key_id") or None
        result["datastore_reachable"] = bool(result["healthy"] and count is not None)
        return result
