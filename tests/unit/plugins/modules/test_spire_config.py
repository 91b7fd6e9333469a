"""ardur.spire.spire_config end to end: fixtures, failures, check mode, diff, dest, validate_with.

The tests that run the real SPIRE 1.14.2 binaries skip (with the reason) when
the lab has not built them: ``lab/build.sh spire`` puts them under
``${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}/bin/<name>-1.14.2/<name>``.
"""

import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ardur.spire.plugins.module_utils._spire import api
from ansible_collections.ardur.spire.plugins.modules import spire_config
from lab_binaries import lab_binary

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "spire_config"
VALID = sorted(p.name for p in (FIXTURES / "valid").iterdir())
EXPECTATIONS = json.loads((FIXTURES / "invalid" / "expectations.json").read_text())


def valid_context(name):
    component = "agent" if name.startswith("agent") else "server"
    replicas = 3 if name.startswith("server-ha") else 1
    return component, replicas


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """AnsibleModule keeps warnings in a process-wide registry; give every test its own."""
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})


def run(args, capsys, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            spire_config.main()
    result = json.loads(capsys.readouterr().out)
    # The module side emits warning objects; the controller turns them into the strings users see.
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return info.value.code, result


# ------------------------------------------------------------------ fixtures
@pytest.mark.parametrize("name", VALID)
def test_valid_fixture_passes_strict(name, capsys):
    component, replicas = valid_context(name)
    code, result = run({"component": component, "src": str(FIXTURES / "valid" / name), "server_replicas": replicas}, capsys)
    assert code == 0, result.get("msg")
    assert result["errors"] == [] and not result.get("warnings")
    assert result["changed"] is False
    assert result["rendered"].startswith(component + " {\n")
    assert result["config"]["plugins"]


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_invalid_fixture_fails_naming_the_key(name, capsys):
    exp = EXPECTATIONS[name]
    args = {"component": exp["component"], "src": str(FIXTURES / "invalid" / name),
            "server_replicas": exp.get("server_replicas", 1)}
    code, result = run(args, capsys)
    assert code == 1 and result["failed"] is True
    hits = [e for e in result["errors"] if e.startswith(exp["path"] + ": ") and exp["message"] in e]
    assert hits, result["errors"]
    assert "SPIRE 1.14.2 %s configuration is invalid" % exp["component"] in result["msg"]
    for error in result["errors"]:
        assert error in result["msg"], "the message lists every error"


def test_json_and_hcl_forms_normalize_alike(capsys):
    _code, hcl_result = run({"component": "server", "src": str(FIXTURES / "valid" / "server-ha.conf"), "server_replicas": 3}, capsys)
    _code, json_result = run({"component": "server", "src": str(FIXTURES / "valid" / "server-ha.json"), "server_replicas": 3}, capsys)
    for result in (hcl_result, json_result):
        result["config"]["plugins"]["DataStore"]["sql"]["plugin_data"].pop("connection_string")
    assert hcl_result["config"] == json_result["config"]
    assert json_result["config"]["server"]["bind_port"] == 8081, "a numeric string for an int key becomes an int"
    assert json_result["config"]["health_checks"]["bind_port"] == "8080", "bind_port of health_checks is a string in SPIRE"


def test_config_mapping_renders_like_the_file(capsys):
    text = (FIXTURES / "valid" / "agent.conf").read_text()
    mapping = api.load("agent", text=text)[0]
    _code, from_file = run({"component": "agent", "content": text}, capsys)
    _code, from_mapping = run({"component": "agent", "config": mapping}, capsys)
    assert from_file["rendered"] == from_mapping["rendered"]
    assert from_file["config"] == from_mapping["config"]


def test_exactly_one_input(capsys):
    code, result = run({"component": "agent", "content": "agent {}", "src": "/nonexistent"}, capsys)
    assert code == 1 and "mutually exclusive" in result["msg"]
    code, result = run({"component": "agent"}, capsys)
    assert code == 1 and "one of the following is required" in result["msg"]


def test_missing_src(capsys):
    code, result = run({"component": "agent", "src": "/nonexistent/agent.conf"}, capsys)
    assert code == 1 and "cannot read src /nonexistent/agent.conf" in result["msg"]


def test_strict_false_turns_policy_errors_into_warnings(capsys):
    path = FIXTURES / "invalid" / "server-ttl-too-long.conf"
    code, result = run({"component": "server", "src": str(path), "server_replicas": 3, "strict": False}, capsys)
    assert code == 0 and result["errors"] == []
    assert any(w.startswith("server.default_x509_svid_ttl: ") for w in result["warnings"])


def test_literal_password_is_masked_everywhere(capsys, tmp_path):
    text = (FIXTURES / "invalid" / "server-dsn-literal-password.conf").read_text()
    dest = tmp_path / "server.conf"
    args = {"component": "server", "content": text, "server_replicas": 3, "strict": False, "dest": str(dest)}
    code, result = run(args, capsys, diff=True)
    assert code == 0
    dump = json.dumps(result)
    assert "hunter2" not in dump
    assert "password=********" in result["rendered"]
    assert result["config"]["plugins"]["DataStore"]["sql"]["plugin_data"]["connection_string"].count("********") == 1
    assert "password=********" in result["diff"]["after"]
    assert "password=hunter2" in dest.read_text(), "the file itself is faithful"
    # A second run shows the old content in the diff: masked as well.
    code, result = run(dict(args, content=text.replace("sslmode=verify-full", "sslmode=verify-ca")), capsys, diff=True)
    assert result["changed"] is True and "hunter2" not in json.dumps(result)


def test_literal_password_error_does_not_echo_it(capsys):
    text = (FIXTURES / "invalid" / "server-dsn-literal-password.conf").read_text()
    code, result = run({"component": "server", "content": text, "server_replicas": 3}, capsys)
    assert code == 1 and "hunter2" not in json.dumps(result)


# ----------------------------------------------------------------------- dest
def test_dest_check_mode_diff_write_and_idempotence(capsys, tmp_path):
    dest = tmp_path / "agent.conf"
    args = {"component": "agent", "src": str(FIXTURES / "valid" / "agent.conf"), "dest": str(dest)}

    code, result = run(args, capsys, check_mode=True, diff=True)
    assert code == 0 and result["changed"] is True and not dest.exists()
    assert result["diff"]["before"] == "" and result["diff"]["after"] == result["rendered"]

    code, result = run(args, capsys, diff=True)
    assert code == 0 and result["changed"] is True
    assert dest.read_text() == result["rendered"]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644

    code, result = run(args, capsys, diff=True)
    assert code == 0 and result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]

    code, result = run(args, capsys, check_mode=True)
    assert result["changed"] is False


def test_dest_mode_change_alone_is_a_change(capsys, tmp_path):
    dest = tmp_path / "agent.conf"
    args = {"component": "agent", "src": str(FIXTURES / "valid" / "agent.conf"), "dest": str(dest)}
    run(args, capsys)
    code, result = run(dict(args, mode="0600"), capsys, check_mode=True)
    assert result["changed"] is True and stat.S_IMODE(dest.stat().st_mode) == 0o644
    code, result = run(dict(args, mode="0600"), capsys)
    assert result["changed"] is True and stat.S_IMODE(dest.stat().st_mode) == 0o600
    code, result = run(dict(args, mode="0600"), capsys)
    assert result["changed"] is False


def test_dest_rewritten_when_content_differs(capsys, tmp_path):
    dest = tmp_path / "agent.conf"
    dest.write_text("agent {}\n")
    args = {"component": "agent", "src": str(FIXTURES / "valid" / "agent.conf"), "dest": str(dest)}
    code, result = run(args, capsys, check_mode=True, diff=True)
    assert result["changed"] is True and result["diff"]["before"] == "agent {}\n"
    assert dest.read_text() == "agent {}\n"
    run(args, capsys)
    assert dest.read_text() == result["rendered"]


def test_invalid_config_never_writes_dest(capsys, tmp_path):
    dest = tmp_path / "server.conf"
    args = {"component": "server", "src": str(FIXTURES / "invalid" / "server-unknown-key.conf"), "dest": str(dest),
            "server_replicas": 3}
    code, _result = run(args, capsys)
    assert code == 1 and not dest.exists()


# ------------------------------------------------------------ ansible itself
def ansible_adhoc(module_args, tmp_path):
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-o", "-m", "ardur.spire.spire_config",
           "-a", module_args, "-e", "ansible_python_interpreter=%s" % sys.executable]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300, check=False)
    line = [x for x in proc.stdout.splitlines() if x.startswith("localhost | ")]
    assert line, proc.stdout + proc.stderr
    return proc.returncode, line[0]


def test_ansible_adhoc_success_and_failure(tmp_path):
    rc, line = ansible_adhoc("component=server server_replicas=3 src=%s" % (FIXTURES / "valid" / "server-ha.conf"), tmp_path)
    assert rc == 0 and line.startswith("localhost | SUCCESS")
    rc, line = ansible_adhoc("component=agent src=%s" % (FIXTURES / "invalid" / "agent-removed-key.conf"), tmp_path)
    assert rc != 0 and "FAILED" in line
    assert "agent.retry_bootstrap: was removed in SPIRE 1.14.0" in line


# ------------------------------------------------------------- validate_with
def spire_binary(name):
    return lab_binary(name)


def needs(name):
    path = spire_binary(name)
    return pytest.mark.skipif(path is None, reason="%s is not built: run lab/build.sh spire" % name)


def binary_validate(binary, path, variables=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(variables or {})
    proc = subprocess.run([binary, "validate", "-config", str(path), "-expandEnv"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


@pytest.mark.parametrize("name", VALID)
def test_real_binary_accepts_valid_fixture(name):
    component, _replicas = valid_context(name)
    binary = spire_binary("spire-" + component)
    if binary is None:
        pytest.skip("spire-%s is not built: run lab/build.sh spire" % component)
    rc, output = binary_validate(binary, FIXTURES / "valid" / name, {"SPIRE_DB_PASSWORD": "x"})
    assert rc == 0, output
    assert "configuration file is valid" in output


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_real_binary_agrees_on_invalid_fixture(name):
    """SPIRE rejects what it is documented to reject; the rest shows where this module is stricter."""
    exp = EXPECTATIONS[name]
    binary = spire_binary("spire-" + exp["component"])
    if binary is None:
        pytest.skip("spire-%s is not built: run lab/build.sh spire" % exp["component"])
    rc, output = binary_validate(binary, FIXTURES / "invalid" / name, {"SPIRE_DB_PASSWORD": "x"})
    assert (rc != 0) == (exp["spire"] == "rejects"), output


@pytest.mark.parametrize("name", VALID)
def test_validate_with_accepts_valid_fixture(name, capsys):
    component, replicas = valid_context(name)
    binary = spire_binary("spire-" + component)
    if binary is None:
        pytest.skip("spire-%s is not built: run lab/build.sh spire" % component)
    args = {"component": component, "src": str(FIXTURES / "valid" / name), "server_replicas": replicas,
            "validate_with": binary, "validate_env": {"SPIRE_DB_PASSWORD": "not-real"}}
    code, result = run(args, capsys)
    assert code == 0, result.get("msg")
    assert not result.get("warnings")


@needs("spire-server")
def test_validate_with_fills_placeholders_and_says_so(capsys):
    args = {"component": "server", "src": str(FIXTURES / "valid" / "server-ha.conf"), "server_replicas": 3,
            "validate_with": spire_binary("spire-server")}
    code, result = run(args, capsys)
    assert code == 0, result.get("msg")
    assert any("SPIRE_DB_PASSWORD" in w and "placeholder" in w for w in result["warnings"])


@needs("spire-server")
def test_validate_with_failure_reports_the_binary_output(capsys):
    text = (FIXTURES / "valid" / "server-ha.conf").read_text().replace("bind_port = 8081", 'bind_port = "${SPIRE_PORT}"')
    args = {"component": "server", "content": text, "server_replicas": 3, "validate_with": spire_binary("spire-server"),
            "validate_env": {"SPIRE_PORT": "not-a-port", "SPIRE_DB_PASSWORD": "s3cr3t-value"}}
    code, result = run(args, capsys)
    assert code == 1
    (error,) = result["errors"]
    assert error.startswith("validate_with: spire-server validate exited with 1: ")
    assert "SPIRE server configuration file is invalid" in error
    assert "s3cr3t-value" not in json.dumps(result)


@needs("spire-agent")
def test_validate_with_agent_uses_expand_env(capsys):
    text = (FIXTURES / "valid" / "agent.conf").read_text().replace('trust_domain = "ardur.example"', 'trust_domain = "${TD}"')
    args = {"component": "agent", "content": text, "validate_with": spire_binary("spire-agent"),
            "validate_env": {"TD": "Bad.Domain"}}
    code, result = run(args, capsys)
    assert code == 1 and "could not parse trust_domain" in result["errors"][0]
    code, result = run(dict(args, validate_env={"TD": "ardur.example"}), capsys)
    assert code == 0, result.get("msg")


def test_validate_with_requires_an_executable(capsys, tmp_path):
    fake = tmp_path / "spire-server"
    fake.write_text("not a program")
    args = {"component": "server", "src": str(FIXTURES / "valid" / "server-ha.conf"), "server_replicas": 3,
            "validate_with": str(fake)}
    code, result = run(args, capsys)
    assert code == 1 and result["errors"] == ["validate_with: %s is not an executable file" % fake]
