# -*- coding: utf-8 -*-
"""The planning half of spire_entry: pure functions, no server needed (the lab tests the rest)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import entries

TD = "spiffe://ardur.internal"
AGENT = TD + "/spire/agent/k8s_psat/ardur/node-uid-1"


def spec(path="/host/shipper", selectors=("unix:uid:1001",), **extra):
    return dict(dict(spiffe_id=TD + path, parent_id=AGENT, selectors=list(selectors)), **extra)


def server_entry(entry_id, path="/host/shipper", selectors=(("unix", "uid:1001"),), **extra):
    data = {
        "id": entry_id,
        "spiffe_id": {"trust_domain": "ardur.internal", "path": path},
        "parent_id": {"trust_domain": "ardur.internal", "path": "/spire/agent/k8s_psat/ardur/node-uid-1"},
        "selectors": [{"type": t, "value": v} for t, v in selectors],
        "x509_svid_ttl": 0, "jwt_svid_ttl": 0, "federates_with": [], "admin": False, "downstream": False,
        "expires_at": "0", "dns_names": [], "revision_number": "0", "store_svid": False, "hint": "", "created_at": "1",
    }
    data.update(extra)
    return entries.from_server(data)


def test_normalize_rejects_each_bad_field_naming_it():
    with pytest.raises(entries.EntryError) as err:
        entries.normalize(dict(spiffe_id="ardur.internal/x", parent_id=AGENT, selectors=["nocolon"], x509_svid_ttl=-1), 3)
    text = str(err.value)
    assert "entries[3].spiffe_id" in text
    assert "entries[3].selectors[0]" in text
    assert "entries[3].x509_svid_ttl" in text
    assert "parent_id" not in text


def test_identity_ignores_selector_order_and_duplicates():
    one = entries.normalize(spec(selectors=["unix:uid:1001", "unix:gid:0"]), 0)
    two = entries.normalize(spec(selectors=["unix:gid:0", "unix:uid:1001", "unix:gid:0"]), 0)
    assert entries.identity(one) == entries.identity(two)
    assert entries.entry_id("ardur", one) == entries.entry_id("ardur", two)
    assert entries.ENTRY_ID_CHARS.match(entries.entry_id("ardur", one))


def test_plan_creates_missing_and_leaves_equal_alone():
    wanted = [entries.normalize(spec(), 0), entries.normalize(spec("/host/other"), 1)]
    current = [server_entry("hand-made")]
    create, update, delete = entries.plan(wanted, current, "present", False, "ardur")
    assert [e["spiffe_id"] for e in create] == [TD + "/host/other"]
    assert create[0]["id"].startswith("ardur.")
    assert not update and not delete


def test_plan_updates_changed_attributes_in_place():
    wanted = [entries.normalize(spec(x509_svid_ttl=600, dns_names=["shipper.local"]), 0)]
    current = [server_entry("ardur.abc")]
    create, update, delete = entries.plan(wanted, current, "present", False, "ardur")
    assert not create and not delete
    assert update[0]["id"] == "ardur.abc" and update[0]["x509_svid_ttl"] == 600


def test_exclusive_deletes_only_entries_with_own_prefix():
    wanted = [entries.normalize(spec(), 0)]
    current = [server_entry("ardur.same"), server_entry("ardur.stale", path="/host/stale"),
               server_entry("scm.k8s-owned", path="/ns/a/sa/b"), server_entry("hand-made", path="/host/manual")]
    delete = entries.plan(wanted, current, "present", True, "ardur")[2]
    assert [e["id"] for e in delete] == ["ardur.stale"]


def test_absent_deletes_matching_whatever_its_id():
    wanted = [entries.normalize(spec(), 0)]
    current = [server_entry("hand-made"), server_entry("ardur.other", path="/host/other")]
    create, update, delete = entries.plan(wanted, current, "absent", False, "ardur")
    assert not create and not update
    assert [e["id"] for e in delete] == ["hand-made"]


def test_data_file_and_flags_carry_every_field():
    entry = dict(entries.normalize(spec(dns_names=["a.local"], federates_with=["peer.org"], admin=True, hint="h"), 0), id="ardur.x")
    data = json.loads(entries.to_data_file([entry]))["entries"][0]
    assert data["entry_id"] == "ardur.x"
    assert data["selectors"] == [{"type": "unix", "value": "uid:1001"}]
    assert data["federates_with"] == ["spiffe://peer.org"]
    assert data["admin"] is True and data["hint"] == "h"
    flags = entries.to_flags(entry)
    assert flags[flags.index("-selector") + 1] == "unix:uid:1001"
    assert "-admin=true" in flags and "-federatesWith" in flags
