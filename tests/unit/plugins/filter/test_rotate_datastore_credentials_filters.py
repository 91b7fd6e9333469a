"""The datastore credential rotation's filter plugins: thin, documented wrappers over
module_utils/_spire/credential_rotation.py."""

import base64
import json

import pytest
import test_filter_plugins  # same directory: its _filter()
from ansible.errors import AnsibleFilterError

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation as cr

DSN = "postgresql://spire:old@db:5432/spire?sslmode=verify-full&sslrootcert=/run/spire/datastore/ca.crt"
OPTIONS = {"user": "", "password": "s3cret/pw", "dsn": "", "client_cert_file": "", "client_key_file": "",
           "admin_user": "", "admin_password": "", "admin_host": "", "admin_port": 0, "admin_database": "postgres",
           "admin_ca_file": "", "owner_role": "", "connection_test": True, "connect_address": "", "revoke_old": True,
           "transport": "kubernetes",
           "server_sockets": [], "spire_server_path": "/opt/spire/bin/spire-server", "timeout": 300, "report_path": ""}
SECRET = {"metadata": {"name": "spire-datastore"},
          "data": {"dsn": base64.b64encode(DSN.encode()).decode(), "ca.crt": base64.b64encode(b"CA").decode()}}
STS = {"spec": {"replicas": 3, "template": {"metadata": {}}}}


def _f(name):
    return test_filter_plugins._filter(name)[1]


def test_problems_filter():
    assert _f("rotate_datastore_credentials_problems")(OPTIONS, namespace="spire-system") == []
    assert _f("rotate_datastore_credentials_problems")(dict(OPTIONS, password=""))[0].startswith(
        "rotate_datastore_credentials_password is empty")
    with pytest.raises(AnsibleFilterError, match="ardur.spire.rotate_datastore_credentials_problems: options must be a dict"):
        _f("rotate_datastore_credentials_problems")("x")


def test_values_plan_rollback_and_report_in_a_row():
    secrets = _f("rotate_datastore_credentials_values")(SECRET, OPTIONS, client_cert=None, client_key=None)
    assert secrets["new"]["dsn"] == "postgresql://spire_a:s3cret%2Fpw@db:5432/spire?sslmode=verify-full&sslrootcert=/run/spire/datastore/ca.crt"
    plan = _f("rotate_datastore_credentials_plan")(secrets, STS, OPTIONS, configmap={"data": {}}, check_mode=True)
    assert plan["refusal"] == "" and plan["new_login"] == "spire_a" and plan["lines"][0].startswith("Would rotate")
    assert plan["lines"][-1].startswith("  4. old login spire:")
    assert "s3cret" not in json.dumps(plan) and "old@" not in json.dumps(plan)
    refused = _f("rotate_datastore_credentials_plan")(secrets, None, OPTIONS, configmap=None)
    assert refused["refusal"].startswith("Refused: nothing to rotate") and refused["refusal"].endswith("Nothing was changed.")
    decision = _f("rotate_datastore_credentials_rollback")(plan, {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}}},
                                                           failed_message="spire-server-2 not Ready.")
    assert decision["rollback"] is True and "spire-server-2" in decision["message"]
    report = _f("rotate_datastore_credentials_report")(plan, options=OPTIONS, rolled_back=decision, written=True,
                                                       failure={"task": "Fail", "message": decision["message"]},
                                                       secrets=["s3cret/pw"], started_at="2026-12-07T10:00:00Z")
    assert report["status"] == "rolled_back" and report["started_at"] == "2026-12-07T10:00:00Z"
    assert _f("rotate_datastore_credentials_report")(None, failure={"task": "x", "message": "y"})["status"] == "refused"


def test_filter_errors_name_the_filter():
    with pytest.raises(AnsibleFilterError, match="ardur.spire.rotate_datastore_credentials_plan: secrets must be"):
        _f("rotate_datastore_credentials_plan")({}, STS, OPTIONS)
    with pytest.raises(AnsibleFilterError, match="ardur.spire.rotate_datastore_credentials_rollback: the plan must be"):
        _f("rotate_datastore_credentials_rollback")({}, {})
    with pytest.raises(AnsibleFilterError, match="ardur.spire.rotate_datastore_credentials_values: Secret spire-datastore"):
        _f("rotate_datastore_credentials_values")({"data": {"dsn": "!!"}}, OPTIONS)


def test_probe_filter_masks():
    result = _f("rotate_datastore_credentials_probe")({"failed": True, "msg": "bad s3cret%2Fpw"}, secrets=["s3cret/pw"])
    assert result == {"ok": False, "error": "bad ********", "login": "", "acting": "", "owner": "", "acts_as_owner": False,
                      "can_write": False}
    assert cr.MASK == "********"
