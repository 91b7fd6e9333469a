# -*- coding: utf-8 -*-
"""The logic of ardur.spire.spire_authority: subject key IDs from DER, the bundle's roots, the
steps each state needs, SPIRE's retire rule and the prepare-until-refreshed loop. The real
commands run against real servers in tests/lab/test_runbook_rotate_upstream_ca.py; here a small
in-memory server stands in only to drive the loop (it records the calls, it fakes no SPIRE output
format beyond the JSON keys the CLI prints)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ardur.spire.plugins.module_utils._spire import authority


def make_cert(ski=True, name="test"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(key, hashes.SHA256())


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def test_subject_key_id_matches_cryptography():
    cert = make_cert()
    want = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    assert authority.subject_key_id(der(cert)) == want


def test_subject_key_id_empty_without_the_extension_and_error_on_garbage():
    assert authority.subject_key_id(der(make_cert(ski=False))) == ""
    with pytest.raises(ValueError):
        authority.subject_key_id(b"\x30\x82\x10\x00\x01")


@pytest.mark.parametrize("raw,want", [
    ("3F:9A:00:01", "3f9a0001"), ("3f9a0001", "3f9a0001"), (" 3f 9a ", "3f9a"),
    ("xyz", ""), ("abc", ""), ("", ""), (None, ""),
])
def test_normalize_skid(raw, want):
    assert authority.normalize_skid(raw) == want


def test_bundle_roots_reads_asn1_and_tainted():
    one, two = make_cert(name="one"), make_cert(name="two")
    bundle = {"trust_domain": "ardur.internal", "x509_authorities": [
        {"asn1": base64.b64encode(der(one)).decode(), "tainted": False},
        {"asn1": base64.b64encode(der(two)).decode(), "tainted": True}]}
    roots = authority.bundle_roots(bundle)
    assert [r["tainted"] for r in roots] == [False, True]
    assert roots[1]["subject_key_id"] == authority.subject_key_id(der(two))
    assert authority.bundle_roots({}) == []


OLD, NEW = "aa01", "bb02"


def slots(active=None, prepared=None, old=None):
    def slot(upstream, ident):
        return None if upstream is None else {"authority_id": ident, "upstream_authority_subject_key_id": upstream}
    return {"active": slot(active, "act"), "prepared": slot(prepared, "prep"), "old": slot(old, "old")}


@pytest.mark.parametrize("state,skid,roots,auth,want", [
    ("root_present", NEW, [{"subject_key_id": NEW, "tainted": False}], slots(OLD), []),
    ("root_present", NEW, [{"subject_key_id": OLD, "tainted": False}], slots(OLD), ["prepare"]),
    ("active", NEW, [], slots(NEW, old=OLD), []),
    ("active", NEW, [], slots(OLD, prepared=NEW), ["activate"]),
    ("active", NEW, [], slots(OLD, prepared=OLD), ["prepare", "activate"]),
    ("active", NEW, [], slots(OLD), ["prepare", "activate"]),
    ("root_tainted", OLD, [{"subject_key_id": OLD, "tainted": False}], slots(NEW, old=OLD), ["taint"]),
    ("root_tainted", OLD, [{"subject_key_id": OLD, "tainted": True}], slots(NEW, old=OLD), []),
    ("root_tainted", OLD, [{"subject_key_id": NEW, "tainted": False}], slots(NEW, old=OLD), []),
    ("root_revoked", OLD, [{"subject_key_id": OLD, "tainted": False}], slots(NEW, old=OLD), ["taint", "revoke"]),
    ("root_revoked", OLD, [{"subject_key_id": OLD, "tainted": True}], slots(NEW, old=OLD), ["revoke"]),
    ("root_revoked", OLD, [{"subject_key_id": NEW, "tainted": False}], slots(NEW, old=OLD), []),
    ("notified", NEW, [], slots(NEW), ["notify"]),
])
def test_plan(state, skid, roots, auth, want):
    assert authority.plan(state, skid, roots, auth) == want


def test_can_retire_follows_spires_rule():
    assert authority.can_retire(slots(NEW, old=OLD), OLD)
    assert not authority.can_retire(slots(OLD), OLD)  # signs the active authority
    assert not authority.can_retire(slots(NEW, prepared=OLD), OLD)  # only a prepared one
    assert not authority.can_retire(slots(NEW, old=NEW), OLD)  # old one signed by another CA


class Server:
    """In-memory stand-in for the loop: the mounted Secret becomes fresh after `stale` prepares."""

    def __init__(self, active=OLD, stale=0, roots=(OLD,)):
        self.state = slots(active)
        self.roots_ = [{"subject_key_id": r, "tainted": False} for r in roots]
        self.stale = stale
        self.commands = []

    def roots(self):
        return [dict(r) for r in self.roots_]

    def authorities(self):
        return dict(self.state)

    def prepare(self):
        self.commands.append("prepare")
        upstream = OLD if self.stale > 0 else NEW
        self.stale -= 1
        if upstream == NEW and not any(r["subject_key_id"] == NEW for r in self.roots_):
            self.roots_.append({"subject_key_id": NEW, "tainted": False})
        self.state["prepared"] = {"authority_id": "p%d" % len(self.commands), "upstream_authority_subject_key_id": upstream}
        return self.state["prepared"]

    def activate(self, authority_id):
        self.commands.append("activate " + authority_id)
        self.state = {"active": self.state["prepared"], "prepared": None, "old": self.state["active"]}

    def taint(self, skid):
        self.commands.append("taint " + skid)
        authority.find_root(self.roots_, skid)["tainted"] = True

    def revoke(self, skid):
        self.commands.append("revoke " + skid)
        self.roots_ = [r for r in self.roots_ if r["subject_key_id"] != skid]

    def notify(self):
        self.commands.append("notify")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_active_prepares_until_the_secret_is_fresh_then_activates_that_one():
    server, clock = Server(stale=2), Clock()
    changed, steps, attempts = authority.ensure(server, "active", NEW, timeout=60, interval=3, clock=clock, sleep=clock.sleep)
    assert (changed, steps, attempts) == (True, ["prepare", "activate"], 3)
    assert server.commands == ["prepare", "prepare", "prepare", "activate p3"]
    assert server.state["active"]["upstream_authority_subject_key_id"] == NEW
    assert server.state["old"]["upstream_authority_subject_key_id"] == OLD
    # Idempotent: a second call changes nothing.
    assert authority.ensure(server, "active", NEW, clock=clock, sleep=clock.sleep)[0] is False


def test_active_gives_up_naming_the_stale_upstream():
    server, clock = Server(stale=100), Clock()
    with pytest.raises(authority.AuthorityError) as err:
        authority.ensure(server, "active", NEW, timeout=9, interval=3, clock=clock, sleep=clock.sleep)
    assert "still does not hand out upstream %s" % NEW in str(err.value) and OLD in str(err.value)
    assert not any(c.startswith("activate") for c in server.commands)


def test_root_present_prepares_without_activating():
    server, clock = Server(stale=1), Clock()
    assert authority.ensure(server, "root_present", NEW, clock=clock, sleep=clock.sleep)[0] is True
    assert server.commands == ["prepare", "prepare"]
    assert server.state["active"]["upstream_authority_subject_key_id"] == OLD


def test_check_mode_runs_nothing():
    server = Server()
    assert authority.ensure(server, "active", NEW, check_mode=True) == (True, ["prepare", "activate"], 0)
    assert server.commands == []


def test_revoke_taints_first_and_only_where_spire_allows_it():
    server, clock = Server(roots=(OLD,)), Clock()
    authority.ensure(server, "active", NEW, clock=clock, sleep=clock.sleep)
    assert authority.ensure(server, "root_revoked", OLD)[:2] == (True, ["taint", "revoke"])
    assert server.commands[-2:] == ["taint " + OLD, "revoke " + OLD]
    assert authority.ensure(server, "root_revoked", OLD)[0] is False

    fresh = Server(active=NEW, roots=(OLD, NEW))  # never signed by OLD: SPIRE would refuse
    with pytest.raises(authority.AuthorityError) as err:
        authority.ensure(fresh, "root_tainted", OLD)
    assert "old X.509 authority" in str(err.value)
    assert fresh.commands == []


def test_root_present_gives_up_saying_the_bundle_lacks_the_root():
    class Stuck(Server):
        def prepare(self):  # the disk plugin keeps its last good files: never the new root
            self.commands.append("prepare")
            self.state["prepared"] = {"authority_id": "p", "upstream_authority_subject_key_id": OLD}
            return self.state["prepared"]

    server, clock = Stuck(), Clock()
    with pytest.raises(authority.AuthorityError) as err:
        authority.ensure(server, "root_present", NEW, timeout=6, interval=3, clock=clock, sleep=clock.sleep)
    assert "still lacks root %s" % NEW in str(err.value)
    assert server.commands == ["prepare"] * 3
