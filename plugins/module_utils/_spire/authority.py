# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.
"""Drive one SPIRE server's X.509 authorities through its CLI (SPIRE 1.14):
`localauthority x509 show|prepare|activate`, `localauthority jwt prepare`,
`upstreamauthority taint|revoke` and `bundle show`.

What SPIRE does (read in spire v1.14.5, not copied):
* `localauthority x509 prepare` mints a new intermediate through the UpstreamAuthority. The
  disk plugin re-reads cert_file_path, key_file_path and bundle_file_path on every mint, and
  the roots of bundle_file_path are appended to the trust bundle (never removed from it).
* `localauthority x509 activate -authorityID ID` makes the prepared authority the active one;
  the previously active one becomes the "old" slot.
* `upstreamauthority taint|revoke -subjectKeyID SKID` only accept the upstream authority that
  signed this server's OLD authority (not the active one, not a prepared one). Taint marks the
  root tainted in the bundle (agents then re-sign what chains to it); revoke removes a tainted
  root from the bundle. Revoke tells bundle publishers but not notifiers (k8sbundle), so
  `notified` runs `localauthority jwt prepare`, whose bundle append does notify them.

The planning functions are pure (unit tested); AuthorityClient runs the commands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import calendar
import json
import re
import time

STATES = ("root_present", "active", "root_tainted", "root_revoked", "notified")
_SKID_OID = b"\x55\x1d\x0e"  # 2.5.29.14 subjectKeyIdentifier, DER content bytes


class AuthorityError(Exception):
    """A command that failed, or a state that cannot be reached; the message is for the user."""


def normalize_skid(value):
    """SPIRE's form of a subject key ID: lowercase hex without separators ('' when invalid)."""
    text = re.sub(r"[\s:]", "", str(value or "")).lower()
    return text if re.match(r"^(?:[0-9a-f]{2})+$", text) else ""


def _tlv(data, pos):
    """(tag, content start, content end) of the DER element at pos."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int(binascii.hexlify(data[pos:pos + count]), 16)
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _children(data, start, end):
    pos = start
    while pos < end:
        tag, cstart, cend = _tlv(data, pos)
        yield tag, cstart, cend
        pos = cend


def subject_key_id(der):
    """Hex subject key identifier of a DER certificate, '' when it has none."""
    data = bytearray(der)
    tag, start, end = _tlv(data, 0)
    if tag != 0x30:
        raise ValueError("not a certificate")
    tag, start, end = next(_children(data, start, end))  # tbsCertificate
    for tag, cstart, cend in _children(data, start, end):
        if tag != 0xA3:  # [3] extensions
            continue
        _unused, estart, eend = _tlv(data, cstart)
        for _tag, xstart, xend in _children(data, estart, eend):
            parts = list(_children(data, xstart, xend))
            if parts and parts[0][0] == 0x06 and bytes(data[parts[0][1]:parts[0][2]]) == _SKID_OID:
                octets = parts[-1]
                inner_tag, istart, iend = _tlv(data, octets[1])
                if inner_tag == 0x04:
                    return binascii.hexlify(bytes(data[istart:iend])).decode("ascii")
    return ""


def _der_time(data, tag, start, end):
    """Unix time of a DER UTCTime (0x17) or GeneralizedTime (0x18) in UTC ('Z' form, as RFC 5280 requires)."""
    text = bytes(data[start:end]).decode("ascii")
    if tag == 0x17:
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    if tag not in (0x17, 0x18) or not re.match(r"^[0-9]{14}Z$", text):
        raise ValueError("bad certificate time %r" % text)
    return calendar.timegm(time.strptime(text[:14], "%Y%m%d%H%M%S"))


def certificate_dates(der):
    """(not_before, not_after) of a DER certificate, as Unix times."""
    data = bytearray(der)
    tag, start, end = _tlv(data, 0)
    if tag != 0x30:
        raise ValueError("not a certificate")
    tag, start, end = next(_children(data, start, end))  # tbsCertificate
    # serialNumber, signature, issuer, validity (after the optional [0] version)
    fields = [child for child in _children(data, start, end) if child[0] != 0xA0]
    if len(fields) < 4 or fields[3][0] != 0x30:
        raise ValueError("certificate without validity")
    times = list(_children(data, fields[3][1], fields[3][2]))
    if len(times) != 2:
        raise ValueError("certificate without validity")
    return tuple(_der_time(data, *item) for item in times)


_CN_OID = b'\x55\x04\x03'  # id-at-commonName


def common_name(der):
    """The subject commonName of a DER certificate ('' when none)."""
    data = bytearray(der)
    _tag, start, end = _tlv(data, 0)
    _tag, start, end = next(_children(data, start, end))
    fields = [child for child in _children(data, start, end) if child[0] != 0xA0]
    if len(fields) < 5:
        return ''
    _tag, sstart, send = fields[4]
    for _set, rstart, rend in _children(data, sstart, send):
        for _seq, astart, aend in _children(data, rstart, rend):
            parts = list(_children(data, astart, aend))
            if len(parts) == 2 and bytes(data[parts[0][1]:parts[0][2]]) == _CN_OID:
                return bytes(data[parts[1][1]:parts[1][2]]).decode('utf-8', 'replace')
    return ''


def bundle_roots(bundle):
    """[{subject_key_id, tainted}] of the X.509 authorities of `bundle show -output json`."""
    roots = []
    for authority in (bundle or {}).get("x509_authorities") or []:
        der = base64.b64decode(authority.get("asn1", ""))
        roots.append(dict(subject_key_id=subject_key_id(der), tainted=bool(authority.get("tainted", False))))
    return roots


def find_root(roots, skid):
    """The root with subject key ID `skid`, or None."""
    for root in roots:
        if root["subject_key_id"] == skid:
            return root
    return None


def _upstream(slot):
    return normalize_skid((slot or {}).get("upstream_authority_subject_key_id"))


def plan(state, skid, roots, authorities):
    """What the server needs for `state` with upstream `skid`, as a list of steps:
    'prepare' (mint a new authority), 'activate' (the prepared one), 'taint', 'revoke', 'notify'.
    `roots` from bundle_roots(); `authorities` is `localauthority x509 show -output json`."""
    root = find_root(roots, skid)
    if state == "root_present":
        return [] if root else ["prepare"]
    if state == "active":
        if _upstream(authorities.get("active")) == skid:
            return []
        if _upstream(authorities.get("prepared")) == skid:
            return ["activate"]
        return ["prepare", "activate"]
    if state == "root_tainted":
        return ["taint"] if root and not root["tainted"] else []
    if state == "root_revoked":
        if not root:
            return []
        return ["revoke"] if root["tainted"] else ["taint", "revoke"]
    if state == "notified":
        return ["notify"]
    raise ValueError("unknown state %r" % (state,))


def can_retire(authorities, skid):
    """SPIRE's rule for upstreamauthority taint/revoke: SKID signed this server's OLD authority."""
    return bool(authorities.get("old")) and _upstream(authorities.get("old")) == skid \
        and _upstream(authorities.get("active")) != skid


class AuthorityClient:
    """spire-server's authority commands over one transport (`run(argv, stdin) -> (rc, out, err)`)."""

    def __init__(self, run, spire_server, socket_path):
        self._run = run
        self._base = [spire_server]
        self._socket = ["-socketPath", socket_path]
        self.commands = []  # what changed the server, in order (for the result)

    def _json(self, words, extra=None, record=False):
        argv = self._base + words + self._socket + ["-output", "json"] + (extra or [])
        if record:
            self.commands.append(" ".join(words + (extra or [])))
        rc, out, err = self._run(argv, None)
        if rc != 0:
            raise AuthorityError("spire-server %s failed (rc=%d): %s" % (
                " ".join(words + (extra or [])), rc, ((err or "") + (out or "")).strip() or "no output"))
        try:
            return json.loads(out) if (out or "").strip() else {}
        except ValueError as exc:
            raise AuthorityError("spire-server %s printed no JSON (%s): %s" % (" ".join(words), exc, out[:200]))

    def authorities(self):
        return self._json(["localauthority", "x509", "show"])

    def roots(self):
        return bundle_roots(self._json(["bundle", "show"]))

    def prepare(self):
        return self._json(["localauthority", "x509", "prepare"], record=True).get("prepared_authority") or {}

    def activate(self, authority_id):
        return self._json(["localauthority", "x509", "activate"], ["-authorityID", authority_id], record=True)

    def taint(self, skid):
        return self._json(["upstreamauthority", "taint"], ["-subjectKeyID", skid], record=True)

    def revoke(self, skid):
        return self._json(["upstreamauthority", "revoke"], ["-subjectKeyID", skid], record=True)

    def notify(self):
        return self._json(["localauthority", "jwt", "prepare"], record=True)


def ensure(client, state, skid, timeout=120, interval=3, check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Bring the server to `state`; returns (changed, steps planned, attempts).

    `root_present` and `active` prepare again until the UpstreamAuthority hands out what is
    asked (the kubelet may not have refreshed the mounted Secret yet), up to `timeout` seconds.
    """
    steps = plan(state, skid, client.roots(), client.authorities())
    if not steps or check_mode:
        return bool(steps), steps, 0
    deadline = clock() + timeout
    attempts = 0
    if state in ("root_tainted", "root_revoked"):
        authorities = client.authorities()
        if not can_retire(authorities, skid):
            raise AuthorityError(
                "this server cannot %s upstream authority %s: SPIRE only accepts the upstream authority that signed "
                "the server's old X.509 authority (localauthority x509 show: %s)" % (
                    " and ".join(steps), skid, json.dumps(authorities, sort_keys=True)))
        for step in steps:
            getattr(client, step)(skid)
        return True, steps, 1
    if state == "notified":
        client.notify()
        return True, steps, 1
    while True:
        attempts += 1
        if steps[0] == "prepare":
            prepared = client.prepare()
            got = _upstream(prepared)
            ok = find_root(client.roots(), skid) is not None if state == "root_present" else got == skid
        else:
            prepared = client.authorities().get("prepared") or {}
            ok = True
        if ok:
            break
        if clock() >= deadline:
            if state == "root_present":
                raise AuthorityError(
                    "after %d prepare(s) in %ds the trust bundle still lacks root %s: has the mounted Secret been "
                    "refreshed, and does its bundle file parse (the disk UpstreamAuthority keeps its last good files "
                    "when a reload fails)?" % (attempts, timeout, skid))
            raise AuthorityError(
                "after %d prepare(s) in %ds the server's UpstreamAuthority still does not hand out upstream %s "
                "(last prepared authority signed by %s): has the mounted Secret been refreshed, and do its files "
                "parse and match?" % (attempts, timeout, skid, got or "unknown"))
        sleep(interval)
    if state == "active":
        client.activate(prepared.get("authority_id", ""))
    return True, steps, attempts
