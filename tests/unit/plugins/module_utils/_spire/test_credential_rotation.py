"""plugins/module_utils/_spire/credential_rotation.py: the decisions of the datastore credential rotation."""

import base64
import json

import pytest
from jinja2 import Environment

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation as cr

CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
DSN = ("postgresql://spire:old%2Fpass@db.example:5433/spire?sslmode=verify-full"
       "&sslrootcert=/run/spire/datastore/ca.crt&connect_timeout=10")
OLD_PASSWORD = "old/pass"
NEW_PASSWORD = "rot-0123abcd/+:@%"
OPTIONS = {"user": "", "password": NEW_PASSWORD, "dsn": "", "client_cert_file": "", "client_key_file": "",
           "admin_user": "", "admin_password": "", "admin_host": "", "admin_port": 0, "admin_database": "postgres",
           "admin_ca_file": "", "owner_role": "", "connection_test": True, "connect_address": "", "revoke_old": True,
           "transport": "kubernetes",
           "server_sockets": [], "spire_server_path": "/opt/spire/bin/spire-server", "timeout": 300,
           "report_path": "./spire-rotate-datastore-credentials.json"}
STS = {"spec": {"replicas": 3, "template": {"metadata": {"annotations": {}}}}}
CM = {"data": {"server.conf": "server {}"}}


def _secret(values, rotating_from=""):
    meta = {"annotations": {"spire.ardur.io/datastore-rotation-from": rotating_from}} if rotating_from else {}
    return {"metadata": meta, "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def _run(values=None, rotating_from="", sts=None, check_mode=False, **options):
    opts = dict(OPTIONS, **options)
    sts = STS if sts is None else sts
    secrets = cr.values(_secret(values or {"dsn": DSN, "ca.crt": CA}, rotating_from), opts)
    return secrets, cr.plan(secrets, sts, opts, configmap=CM, check_mode=check_mode)


# ------------------------------------------------------------------------------------ DSN --
def test_describe_leaves_the_password_out():
    desc = cr.describe(DSN)
    assert desc == {"uri": True, "login": "spire", "has_password": True, "host": "db.example", "port": 5433,
                    "database": "spire", "sslmode": "verify-full",
                    "params": {"sslmode": "verify-full", "sslrootcert": "/run/spire/datastore/ca.crt", "connect_timeout": "10"},
                    "file_params": ["/run/spire/datastore/ca.crt"]}
    assert OLD_PASSWORD not in json.dumps(desc) and "old%2Fpass" not in json.dumps(desc)


@pytest.mark.parametrize("dsn", ["", "host=db user=spire password=x", "mysql://a:b@h/db", "postgresql://db.example/spire",
                                 "postgresql://h:notaport/spire"])
def test_describe_only_understands_the_uri_form_with_a_user(dsn):
    assert cr.describe(dsn)["uri"] is False


def test_describe_default_port_and_no_password():
    desc = cr.describe("postgres://spire@db/spire?sslmode=verify-ca")
    assert (desc["port"], desc["has_password"], desc["login"]) == (5432, False, "spire")


def test_rewrite_replaces_user_and_password_only_like_postgres_secret():
    new = cr.rewrite(DSN + "\n", "spire_a", NEW_PASSWORD)
    # roles/postgres_secret: `value | urlencode | replace('/', '%2F')`.
    jinja = Environment().from_string("{{ v | urlencode | replace('/', '%2F') }}")
    assert new == ("postgresql://spire_a:%s@db.example:5433/spire?sslmode=verify-full"
                   "&sslrootcert=/run/spire/datastore/ca.crt&connect_timeout=10" % jinja.render(v=NEW_PASSWORD))
    assert cr.credentials(new) == ("spire_a", NEW_PASSWORD)
    assert cr.rewrite("postgres://spire@db/spire", "spire_b", "p w") == "postgres://spire_b:p%20w@db/spire"


def test_rewrite_refuses_what_it_cannot_rewrite():
    with pytest.raises(ValueError, match="not a postgresql://"):
        cr.rewrite("host=db user=spire", "spire_a", "x")
    assert cr.credentials("host=db") == ("", "")


# --------------------------------------------------------------------------------- inputs --
def test_good_inputs_have_no_problem():
    assert cr.option_problems(OPTIONS) == []
    assert cr.option_problems(dict(OPTIONS, password="", dsn=cr.rewrite(DSN, "spire_a", "x"))) == []


@pytest.mark.parametrize("change, expected", [
    ({"password": ""}, "rotate_datastore_credentials_password is empty"),
    ({"dsn": cr.rewrite(DSN, "spire_a", "x")}, "OR as rotate_datastore_credentials_dsn, not both"),
    ({"password": "a\nb"}, "rotate_datastore_credentials_password holds control characters"),
    ({"password": "", "dsn": DSN.replace("verify-full", "disable")},
     "rotate_datastore_credentials_dsn: sslmode must be verify-ca or verify-full (got disable)"),
    ({"password": "", "dsn": "postgresql://db/spire?sslmode=verify-full"}, "rotate_datastore_credentials_dsn: the new connection"),
    ({"password": "", "dsn": DSN + " x"}, "rotate_datastore_credentials_dsn holds spaces"),
    ({"password": "", "dsn": DSN, "user": "spire_a"}, "rotate_datastore_credentials_user goes with"),
    ({"user": "Spire"}, "rotate_datastore_credentials_user must be a login role name"),
    ({"client_cert_file": "/etc/hostname"}, "client_cert_file and rotate_datastore_credentials_client_key_file go together"),
    ({"client_cert_file": "/nonexistent.crt", "client_key_file": "/nonexistent.key"}, "client_cert_file: no such file"),
    ({"admin_ca_file": "/nonexistent"}, "rotate_datastore_credentials_admin_ca_file: no such file"),
    ({"admin_user": "dba"}, "rotate_datastore_credentials_admin_user and rotate_datastore_credentials_admin_password go together"),
    ({"owner_role": "x-y"}, "rotate_datastore_credentials_owner_role must be a role name"),
    ({"owner_role": "spire", "user": "spire"}, "rotate_datastore_credentials_user must not be the owner role"),
    ({"admin_port": 70000}, "rotate_datastore_credentials_admin_port must be 0-65535"),
    ({"admin_database": ""}, "rotate_datastore_credentials_admin_database must name"),
    ({"connect_address": "localhost:15432"}, "rotate_datastore_credentials_connect_address must be IP:PORT"),
    ({"connect_address": "127.0.0.1"}, "rotate_datastore_credentials_connect_address must be IP:PORT"),
    ({"connect_address": "127.0.0.1:0"}, "rotate_datastore_credentials_connect_address must be IP:PORT"),
    ({"connect_address": "::1:15432"}, "rotate_datastore_credentials_connect_address must be IP:PORT"),
    ({"transport": "ssh"}, "rotate_datastore_credentials_transport must be kubernetes or local"),
    ({"transport": "local"}, "transport local needs rotate_datastore_credentials_server_sockets"),
    ({"server_sockets": ["rel/sock"]}, "rotate_datastore_credentials_server_sockets must be a list of absolute paths"),
    ({"spire_server_path": ""}, "rotate_datastore_credentials_spire_server_path"),
    ({"timeout": 0}, "rotate_datastore_credentials_timeout must be"),
    ({"report_path": None}, "rotate_datastore_credentials_report_path"),
])
def test_each_bad_input_is_named_and_no_secret_quoted(change, expected):
    problems = cr.option_problems(dict(OPTIONS, **change))
    assert any(expected in p for p in problems), problems
    text = " ".join(problems)
    assert NEW_PASSWORD not in text and "old%2Fpass" not in text


def test_bad_namespace_and_bad_options():
    assert cr.option_problems(OPTIONS, namespace="Spire") == ["spire_namespace must be a namespace name (DNS-1123 label)"]
    with pytest.raises(ValueError, match="options must be a dict"):
        cr.option_problems("x")
    with pytest.raises(ValueError, match="options lack rotate_datastore_credentials_timeout"):
        cr.option_problems({k: v for k, v in OPTIONS.items() if k != "timeout"})


# ------------------------------------------------------------------------- values & plan --
@pytest.mark.parametrize("current, expected", [("spire", "spire_a"), ("spire_a", "spire_b"), ("spire_b", "spire_a"),
                                               ("app_x", "app_x_a")])
def test_the_new_login_is_the_other_of_the_pair(current, expected):
    assert cr.new_login(current) == expected
    assert cr.new_login(current, rotating_from="other") == current
    assert cr.new_login(current, already=True) == current


def test_first_rotation_plan():
    secrets, plan = _run(check_mode=True)
    assert secrets["new"]["dsn"] == cr.rewrite(DSN, "spire_a", NEW_PASSWORD) and secrets["new"]["ca.crt"] == CA
    assert secrets["new_password"] == NEW_PASSWORD and secrets["old_credentials"] == {"user": "spire", "password": OLD_PASSWORD}
    assert secrets["new_credentials"] == {"user": "spire_a", "password": NEW_PASSWORD}
    assert plan["problems"] == [] and cr.refusal(plan) == ""
    assert (plan["new_login"], plan["old_login"], plan["resume"], plan["changed_keys"]) == ("spire_a", "spire", False, ["dsn"])
    lines = cr.plan_lines(plan, OPTIONS)
    assert lines[0].startswith("Would rotate (check mode, nothing is changed) the datastore credentials of spire-system/spire-server (3")
    assert "  login: spire -> spire_a on db.example:5433/spire (sslmode=verify-full)" in lines
    assert lines[2].endswith("tested with a real connection") and lines[-1].startswith("  4. old login spire: to revoke by hand")
    assert NEW_PASSWORD not in json.dumps(plan) and "old%2Fpass" not in json.dumps(plan)


def test_explicit_user_and_given_dsn():
    _secrets, plan = _run(user="svc_login")
    assert plan["new_login"] == "svc_login" and plan["problems"] == []
    dsn = cr.rewrite(DSN, "spire_b", "z")
    secrets, plan = _run(password="", dsn=dsn)
    assert secrets["new"]["dsn"] == dsn and secrets["new_password"] == "z" and plan["new_login"] == "spire_b"


def test_client_certificate_replaces_the_key_files():
    values = {"dsn": DSN + "&sslcert=/run/spire/datastore/tls.crt&sslkey=/run/spire/datastore/tls.key",
              "ca.crt": CA, "tls.crt": "OLD CRT", "tls.key": "OLD KEY"}
    opts = dict(OPTIONS, client_cert_file="/etc/hostname", client_key_file="/etc/hostname")
    secrets = cr.values(_secret(values), opts, client_cert="NEW CRT", client_key="NEW KEY")
    plan = cr.plan(secrets, STS, opts, configmap=CM)
    assert plan["problems"] == [] and plan["changed_keys"] == ["dsn", "tls.crt", "tls.key"]
    # Without sslcert in the DSN a new certificate is refused.
    secrets = cr.values(_secret({"dsn": DSN, "ca.crt": CA}), opts, client_cert="NEW CRT", client_key="NEW KEY")
    assert "needs a connection that already uses a client certificate" in cr.refusal(cr.plan(secrets, STS, opts, configmap=CM))


@pytest.mark.parametrize("change, expected", [
    ({"user": "spire"}, "rotate_datastore_credentials_user: the new login (spire) is the login the servers use now"),
    ({"password": "", "dsn": cr.rewrite(DSN, "spire", "new")}, "rotate_datastore_credentials_dsn: the new login (spire) is"),
    ({"password": "", "dsn": cr.rewrite(DSN, "spire_a", "x").replace("verify-full", "require")}, "sslmode must be verify-ca"),
    ({"password": "", "dsn": cr.rewrite(DSN, "spire_a", "x").replace("db.example", "other")}, "moving the datastore"),
    ({"password": "", "dsn": cr.rewrite(DSN, "spire_a", "x").replace("/run/spire/datastore/ca.crt", "/etc/ca.crt")},
     "sslrootcert/sslcert/sslkey must name keys"),
    ({"user": "owner_x", "owner_role": "owner_x"}, "is the owner role"),
])
def test_plan_refusals(change, expected):
    _secrets, plan = _run(**change)
    message = cr.refusal(plan)
    assert expected in message and message.endswith("Nothing was changed."), message
    assert plan["lines"] == []


def test_plan_refuses_a_missing_object_or_an_unrewritable_dsn():
    opts = dict(OPTIONS)
    missing = cr.plan(cr.values(None, opts), STS, opts, configmap=CM, namespace="ns1")
    assert "nothing to rotate in namespace ns1" in cr.refusal(missing)
    secrets = cr.values(_secret({"dsn": DSN}), opts)
    assert "nothing to rotate" in cr.refusal(cr.plan(secrets, None, opts, configmap=CM))
    assert "nothing to rotate" in cr.refusal(cr.plan(secrets, STS, opts, configmap=None))
    secrets = cr.values(_secret({"dsn": "host=db user=spire password=x"}), opts)
    assert secrets["new"] is None
    assert "is not a postgresql://" in cr.refusal(cr.plan(secrets, STS, opts, configmap=CM))
    with pytest.raises(ValueError, match="secrets must be"):
        cr.plan({}, STS, opts, configmap=CM)
    with pytest.raises(ValueError, match="not base64"):
        cr.secret_values({"data": {"dsn": "%%%"}})


def test_connections_default_to_the_dsn():
    _secrets, plan = _run()
    assert plan["connections"] == {
        "probe": {"host": "db.example", "port": 5433, "params": {"connect_timeout": "10"}},
        "admin": {"host": "db.example", "port": 5433, "params": {"connect_timeout": "10"}}}


@pytest.mark.parametrize("address, ip, port", [("127.0.0.1:15432", "127.0.0.1", 15432), ("[::1]:6432", "::1", 6432)])
def test_connect_address_reaches_the_dsn_host_at_another_address(address, ip, port):
    """libpq hostaddr: connect to the address, verify TLS against the DSN's host name."""
    _secrets, plan = _run(connect_address=address)
    assert cr.option_problems(dict(OPTIONS, connect_address=address)) == []
    for side in ("probe", "admin"):
        assert plan["connections"][side] == {"host": "db.example", "port": port,
                                             "params": {"connect_timeout": "10", "hostaddr": ip}}


def test_admin_host_and_port_win_over_connect_address():
    _secrets, plan = _run(connect_address="127.0.0.1:15432", admin_host="dba.example", admin_port=7000)
    assert plan["connections"]["admin"] == {"host": "dba.example", "port": 7000, "params": {"connect_timeout": "10"}}
    assert plan["connections"]["probe"]["params"]["hostaddr"] == "127.0.0.1"
    _secrets, plan = _run(connect_address="127.0.0.1:15432", admin_port=7000)
    assert plan["connections"]["admin"] == {"host": "db.example", "port": 7000,
                                            "params": {"connect_timeout": "10", "hostaddr": "127.0.0.1"}}


def test_resume_an_interrupted_rotation():
    # Interrupted after the Secret was written: it holds the new DSN and names the old login.
    new_dsn = cr.rewrite(DSN, "spire_a", NEW_PASSWORD)
    secrets, plan = _run(values={"dsn": new_dsn, "ca.crt": CA}, rotating_from="spire")
    assert secrets["new"] == secrets["old"]
    assert (plan["resume"], plan["new_login"], plan["old_login"], plan["rotating_from"]) == (True, "spire_a", "spire", "spire")
    assert plan["problems"] == []
    assert "resuming an interrupted rotation" in plan["lines"][0] and "already holds the new values" in plan["lines"][3]


def test_rerun_after_a_finished_rotation_does_nothing_new():
    new_dsn = cr.rewrite(DSN, "spire_a", NEW_PASSWORD)
    sts = {"spec": {"replicas": 3, "template": {"metadata": {"annotations": {"spire.ardur.io/datastore-login": "spire_a"}}}}}
    _secrets, plan = _run(values={"dsn": new_dsn, "ca.crt": CA}, sts=sts)
    assert (plan["resume"], plan["new_login"], plan["old_login"], plan["template_login"]) == (True, "spire_a", "", "spire_a")
    assert cr.plan_lines(plan, OPTIONS)[-1] == "  4. old login none left: to revoke by hand (SQL printed at the end)"
    assert cr.plan_lines(plan, dict(OPTIONS, revoke_old=False))[-1].endswith("kept (rotate_datastore_credentials_revoke_old false)")
    # A new password for the same pair member while nothing is under way: the other login.
    _secrets, plan = _run(values={"dsn": new_dsn, "ca.crt": CA}, password="another")
    assert (plan["resume"], plan["new_login"], plan["old_login"]) == (False, "spire_b", "spire_a")


# ---------------------------------------------------------------------------------- probe --
def test_probe_reads_a_connection_test():
    raw = {"query_result": [{"login": "spire_a", "acting": "spire", "owner": "spire", "can_write": True}]}
    assert cr.probe(raw) == {"ok": True, "error": "", "login": "spire_a", "acting": "spire", "owner": "spire",
                             "acts_as_owner": True, "can_write": True}
    raw = {"query_result": [{"login": "spire_a", "acting": "spire_a", "owner": "spire", "can_write": False}]}
    assert cr.probe(raw)["acts_as_owner"] is False and cr.probe(raw)["can_write"] is False


def test_probe_masks_the_password_in_the_error():
    raw = {"failed": True, "msg": "unable to connect: password %s (%s)\n  for user spire_a" % (NEW_PASSWORD, cr.encode(NEW_PASSWORD))}
    result = cr.probe(raw, secrets=[NEW_PASSWORD, ""])
    assert result["ok"] is False and NEW_PASSWORD not in result["error"] and cr.encode(NEW_PASSWORD) not in result["error"]
    assert result["error"] == "unable to connect: password ******** (********) for user spire_a"
    assert cr.probe({"skipped": True})["ok"] is False and cr.probe(None)["error"] == "unknown error"


# ------------------------------------------------------------------------------- rollback --
def _stopped(partition):
    return {"spec": {"replicas": 3, "updateStrategy": {"rollingUpdate": {"partition": partition}}}}


@pytest.mark.parametrize("partition, back", [(3, True), (2, True), (1, False), (0, False)])
def test_only_the_first_replica_is_rolled_back(partition, back):
    _secrets, plan = _run()
    decision = cr.rollback(plan, _stopped(partition), failed_task="Wait", failed_message="spire-server-2 not healthy. "
                           "The partition stays at 2.")
    assert decision["rollback"] is back and decision["partition"] == partition
    if back:
        assert decision["message"].startswith("ROLLED BACK: the first server replaced did not become healthy with the new "
                                              "credentials (login spire_a): spire-server-2 not healthy.")
        assert "partition stays" not in decision["message"] and "every replica runs healthy on login spire" in decision["message"]
    else:
        assert decision["message"].startswith('STOPPED at task "Wait": spire-server-2 not healthy.')
        assert "it resumes" in decision["message"]


def test_a_resumed_run_is_never_rolled_back():
    new_dsn = cr.rewrite(DSN, "spire_a", NEW_PASSWORD)
    _secrets, plan = _run(values={"dsn": new_dsn, "ca.crt": CA}, rotating_from="spire")
    assert cr.rollback(plan, _stopped(3))["rollback"] is False
    assert cr.rollback(plan, {})["partition"] == 0


def test_rollback_restores_the_pod_template():
    _secrets, plan = _run()
    assert cr.rollback(plan, _stopped(2))["template_patch"] == {}
    sts = {"spec": {"replicas": 3, "template": {"metadata": {"annotations": {"spire.ardur.io/datastore-login": "spire_b"}}}}}
    _secrets, plan = _run(values={"dsn": cr.rewrite(DSN, "spire_b", "x"), "ca.crt": CA}, sts=sts)
    assert cr.rollback(plan, _stopped(2))["template_patch"] == {
        "spec": {"template": {"metadata": {"annotations": {"spire.ardur.io/datastore-login": "spire_b"}}}}}


# --------------------------------------------------------------------------------- report --
ROLLOUT = {"replicas": 3, "revision": "spire-server-abc", "rolled": [2, 1, 0], "seconds": [7.1, 6.0, 6.3]}
SECRETS = [NEW_PASSWORD, OLD_PASSWORD, "admin-pw"]


def _report(plan, **kwargs):
    kwargs.setdefault("options", OPTIONS)
    kwargs.setdefault("secrets", SECRETS)
    rep = cr.report(plan, started_at="2026-12-07T10:00:00Z", **kwargs)
    text = json.dumps(rep)
    for secret in SECRETS + [cr.encode(NEW_PASSWORD), "old%2Fpass"]:
        assert secret not in text
    return rep


def test_report_of_a_rotation():
    _secrets, plan = _run()
    plan["admin"] = True
    rep = _report(plan, servers=ROLLOUT, sessions=[{"login": "spire_a", "sessions": 6}], revoked=True, written=True)
    assert list(rep)[:6] == ["runbook", "report_version", "status", "check_mode", "started_at", "generated_at"]
    assert (rep["runbook"], rep["report_version"], rep["status"]) == ("rotate_datastore_credentials", 1, "rotated")
    assert rep["rotation"]["from_login"] == "spire" and rep["rotation"]["to_login"] == "spire_a"
    assert rep["servers"]["replaced"] == [{"ordinal": 2, "seconds": 7.1}, {"ordinal": 1, "seconds": 6.0},
                                          {"ordinal": 0, "seconds": 6.3}]
    assert rep["sessions"] == {"spire_a": 6} and rep["old_login"] == {"login": "spire", "action": "revoked"}
    assert rep["summary"] == [
        "Rotated the datastore credentials: login spire -> spire_a",
        "  servers replaced or checked (ordinal: seconds): 2: 7.1, 1: 6.0, 0: 6.3",
        "  sessions per login: spire_a=6",
        "  old login: revoked (NOLOGIN, password removed)",
        "  next deploy.yml: set postgres_secret_user=spire_a and postgres_secret_password to the new password (the old "
        "ones would write revoked credentials back)"]


def test_report_in_check_mode_and_without_admin():
    _secrets, plan = _run(check_mode=True)
    rep = _report(plan, servers=dict(ROLLOUT, seconds=[]), check_mode=True)
    assert rep["status"] == "planned" and rep["check_mode"] is True
    assert rep["summary"][0] == "Would have rotated (check mode, nothing was changed) the datastore credentials: login spire -> spire_a"
    assert rep["summary"][2] == "  sessions per login: not read (no admin connection)"
    assert rep["summary"][3] == '  old login: STILL VALID: revoke it now with: ALTER ROLE "spire" NOLOGIN PASSWORD NULL;'
    plan["admin"] = True
    assert _report(plan, revoked=True, check_mode=True)["old_login"]["action"] == "would_revoke"
    assert _report(plan, options=dict(OPTIONS, revoke_old=False))["summary"][3] == "  old login: kept"


def test_report_of_a_rerun():
    _secrets, plan = _run(values={"dsn": cr.rewrite(DSN, "spire_a", NEW_PASSWORD), "ca.crt": CA})
    rep = _report(plan, servers=ROLLOUT)
    assert rep["status"] == "already_rotated" and rep["old_login"]["action"] == "none"
    assert rep["summary"][0].startswith("Already rotated: the servers use login spire_a")
    assert rep["summary"][3] == "  old login: nothing to revoke"


def test_report_of_failures():
    _secrets, plan = _run()
    back = cr.rollback(plan, _stopped(2), failed_message="spire-server-2 not healthy (%s)." % NEW_PASSWORD)
    rep = _report(plan, rolled_back=back, written=True, failure={"task": "Fail", "message": back["message"]})
    assert rep["status"] == "rolled_back" and rep["message"].startswith("ROLLED BACK") and "********" in rep["message"]
    assert rep["rollback"] == {"rolled_back": True, "partition": 2} and rep["summary"] == [rep["message"]]
    stop = cr.rollback(plan, _stopped(1), failed_message="node gone")
    assert _report(plan, rolled_back=stop, written=True, failure={"task": "Fail", "message": stop["message"]})["status"] == "stopped"
    _secrets, refused = _run(user="spire")
    rep = _report(refused, failure={"task": "Refuse", "message": cr.refusal(refused)})
    assert rep["status"] == "refused" and rep["summary"][0].startswith("Refused: rotate_datastore_credentials_user")
    assert _report(None, options=None, failure={"task": "Read", "message": "boom"})["status"] == "refused"
    assert _report(plan, failure={"task": "Connect", "message": "timeout"})["status"] == "failed"
    assert _report(plan, failure={"task": "Admin", "message": "x. Nothing was changed in the cluster."})["status"] == "refused"
