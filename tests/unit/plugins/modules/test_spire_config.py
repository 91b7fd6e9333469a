"""ardur.spire.spire_config end to end: fixtures, failures, check mode, diff, dest, validate_with.

The tests that run the real SPIRE 1.14.2 binaries skip (with the reason) when
the lab has not built them: ``lab/build.sh spire`` puts them under
``${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}/bin/<name>-1.14.2/<name>``.
"""

import datetime
import functools
import json
import os
import pathlib
import re
import stat
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ansible.module_utils import _internal as ansible_internal
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
    """AnsibleModule keeps warnings in a process-wide registry; give every test its own.

    Once a test in the same run imports controller code (ansible.errors, a filter plugin), ansible-core
    sends module warnings to the controller's display instead of the result: run as a module does.
    """
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_internal, "is_controller", False)


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


def binary_validate(binary, path, variables=None, cwd=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(variables or {})
    proc = subprocess.run([binary, "validate", "-config", str(path), "-expandEnv"], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120, check=False)
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


# --------------------------------------------------------------------- corpus
# Real upstream configurations (tests/unit/fixtures/spire_config/corpus/README.md): those in accepted/ must pass,
# those in refused/ must fail naming the recorded key path. manifest.json records what SPIRE 1.14 does with each
# ("spire", at start-up), what `validate` says where that differs ("validate"), and, where this module and SPIRE
# disagree, the rules of this module alone that make the difference ("ours_alone").
CORPUS = FIXTURES / "corpus"
CORPUS_MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
CORPUS_FILES = sorted((verdict, p.name) for verdict in ("accepted", "refused") for p in (CORPUS / verdict).iterdir())
DOCS = pathlib.Path(__file__).resolve().parents[4] / "docs" / "spire_config.md"

# The rules of this module alone (docs/spire_config.md, "Stricter than SPIRE"): the errors each one gives,
# as (key path pattern, message pattern).
OURS_ALONE = {
    "unchecked-section-keys": (r"(plugins\.[^:]*\.plugin_data|telemetry|server\.experimental|agent\.experimental|agent\.sds"
                               r"|server\.federation|server\.federation\.federates_with\.[^:]*)\.[^.:]+",
                               r"^(unknown key in|was removed in SPIRE)"),
    "duplicate-attribute": (r"parse error", r"is a duplicate key"),
    "psat-needs-a-cluster": (r"plugins\.NodeAttestor\.k8s_psat\.plugin_data\.clusters", r"^needs at least one cluster"),
    "psat-service-account-form": (r"plugins\.NodeAttestor\.k8s_psat\.plugin_data\.clusters.*\[\d+\]", r"is not in NAMESPACE:SERVICEACCOUNT form"),
    "trust-domain-with-path": (r".*", r"not a SPIFFE ID with a path"),
    "server-replicas-shared-datastore": (r"plugins\.DataStore\.sql\.plugin_data\.database_type", r"needs a shared database"),
}


def corpus_entry(name):
    return CORPUS_MANIFEST[name]


def corpus_args(verdict, name):
    entry = corpus_entry(name)
    return {"component": entry["component"], "src": str(CORPUS / verdict / name), "strict": entry.get("strict", True),
            "server_replicas": entry.get("server_replicas", 1), "validate_env": entry.get("env", {})}


def test_corpus_manifest_describes_every_file():
    assert len(CORPUS_FILES) == len(CORPUS_MANIFEST) and {n for _v, n in CORPUS_FILES} == set(CORPUS_MANIFEST)
    readme = (CORPUS / "README.md").read_text()
    for _verdict, name in CORPUS_FILES:
        entry = corpus_entry(name)
        assert entry["component"] in ("server", "agent") and entry["spire"] in ("accepts", "refuses")
        assert entry.get("validate", entry["spire"]) in ("accepts", "refuses", "skip")
        assert entry["source"].split(" ")[0] in readme or entry["source"].startswith("derived from "), entry["source"]
    accepted = sum(1 for v, _n in CORPUS_FILES if v == "accepted")
    assert accepted >= 60 and len(CORPUS_FILES) - accepted >= 20, "the corpus keeps real configurations of both kinds"


def test_ours_alone_rules_are_documented():
    docs = DOCS.read_text()
    section = docs[docs.index("## Stricter than SPIRE"):]
    section = section[:section.index("\n## ", 4)]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M))
    assert documented == set(OURS_ALONE)
    used = {rule for entry in CORPUS_MANIFEST.values() for rule in entry.get("ours_alone", [])}
    assert used <= documented


@pytest.mark.parametrize("verdict, name", CORPUS_FILES, ids=["%s/%s" % c for c in CORPUS_FILES])
def test_corpus_config_is_judged_as_recorded(verdict, name, capsys):
    entry = corpus_entry(name)
    code, result = run(corpus_args(verdict, name), capsys)
    errors = result["errors"]
    if verdict == "accepted":
        assert code == 0, result.get("msg")
        assert entry["spire"] == "accepts", "this module accepts what SPIRE refuses"
        if entry.get("strict_only"):
            # Accepted only with strict=false: with strict=true its only errors are the strict-only rules named.
            analysis = api.analyze(entry["component"], text=(CORPUS / verdict / name).read_text(), environ=entry.get("env"))
            assert analysis.errors and all(re.search(r"\[strict\]( \(line \d+, column \d+\))?$", e) for e in analysis.errors), analysis.errors
            assert sorted({rule for rule, _path in analysis.policy_findings}) == entry["strict_only"]
        else:
            assert entry.get("strict", True), "a file accepted with strict=false names its strict-only rules"
        return
    assert code == 1, "refused file accepted"
    hits = [e for e in errors if e.startswith(entry["path"] + ": ") and entry["message"] in e]
    assert hits, errors
    if entry["spire"] == "refuses":
        assert not entry.get("ours_alone")
        return
    # SPIRE accepts it: every error comes from a rule of this module alone, and the manifest says which.
    assert entry.get("ours_alone"), "%s: SPIRE accepts it, so the manifest must name the rules that are ours alone" % name
    for error in errors:
        path, message = error.split(": ", 1)
        assert any(re.fullmatch(OURS_ALONE[rule][0], path) and re.search(OURS_ALONE[rule][1], message)
                   for rule in entry["ours_alone"]), "not explained by %s: %s" % (entry["ours_alone"], error)


@pytest.mark.parametrize("verdict, name", CORPUS_FILES, ids=["%s/%s" % c for c in CORPUS_FILES])
def test_real_binary_judges_corpus_config_as_recorded(verdict, name, tmp_path):
    """Where SPIRE decides it (`validate`), the real 1.14 binary agrees with the manifest.

    SPIRE gets the files the configuration names (see config_with_named_files), so its verdict is about the
    configuration, not about this machine; it runs in tmp_path and writes nothing outside it.
    """
    entry = corpus_entry(name)
    expected = entry.get("validate", entry["spire"])
    if expected == "skip":
        pytest.skip(entry["validate_note"])
    binary = spire_binary("spire-" + entry["component"])
    if binary is None:
        pytest.skip("spire-%s is not built: run lab/build.sh spire" % entry["component"])
    config, workdir = config_with_named_files(CORPUS / verdict / name, tmp_path)
    rc, output = binary_validate(binary, config, entry.get("env"), cwd=workdir)
    missing = files_spire_could_not_open(output, config.read_text())
    assert not missing, ("SPIRE refuses %s only because it cannot open %s, which the configuration names under a key "
                         "NAMED_FILES does not list: add the key, with the kind of file SPIRE reads there\n%s"
                         % (name, ", ".join(missing), output))
    assert (rc == 0) == (expected == "accepts"), output


# What SPIRE reads (or writes) at a path a configuration names, by key. `validate` opens some of them (the x509pop
# CA bundle, log_file); the rest are given too, so a verdict never hangs on what this machine has.
NAMED_FILES = {
    "bundle_file_path": "certificate",
    "ca_bundle_path": "certificate",
    "ca_bundle_paths": "certificate",
    "ca_cert_path": "certificate",
    "cert_file_path": "certificate",
    "certificate_path": "certificate",
    "client_cert_path": "certificate",
    "trust_bundle_path": "certificate",
    "client_cert_key_path": "private key",
    "key_file_path": "private key",
    "private_key_path": "private key",
    "log_file": "log",
}
NAMED_FILE = re.compile(r'(?P<key>(?<![\w.])"?(?:%s)"?\s*[=:]\s*)(?P<value>"[^"\n]*"|\[[^\]]*\])'
                        % "|".join(sorted(NAMED_FILES, key=len, reverse=True)))


@functools.lru_cache(maxsize=None)
def corpus_ca():
    """A self-signed CA certificate and its private key, both PEM: what a bundle, certificate or key path holds."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ardur.spire corpus test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return {"certificate": cert.public_bytes(serialization.Encoding.PEM),
            "private key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())}


def config_with_named_files(path, tmp_path):
    """A copy of PATH in TMP_PATH whose named files exist, and the directory to run SPIRE in.

    Each path given to a key of NAMED_FILES (outside # and // comments) gets a file of its kind under TMP_PATH:
    an absolute path is rewritten to TMP_PATH/root/<path>, the rest of the text staying byte for byte; a relative
    one is created under the working directory, TMP_PATH/run, and left as it is. A log_file gets its directory.
    """
    workdir, root = tmp_path / "run", tmp_path / "root"
    workdir.mkdir()

    def give(value, kind):
        if value.startswith("/"):
            target = root / value.lstrip("/")
        elif value and not value.startswith("$"):
            target = workdir / value
        else:
            return value  # empty, or ${VAR} for -expandEnv: nothing to give
        if not target.resolve().is_relative_to(tmp_path.resolve()):
            return value
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind != "log":
            target.write_bytes(corpus_ca()[kind])
        return str(target) if value.startswith("/") else value

    def rewrite(match):
        line = match.string[match.string.rfind("\n", 0, match.start()) + 1:match.start()]
        if "#" in line or "//" in line:
            return match.group(0)
        kind = NAMED_FILES[match.group("key").strip(" \t\"=:")]
        return match.group("key") + re.sub(r'"([^"\n]*)"', lambda m: '"%s"' % give(m.group(1), kind), match.group("value"))

    config = tmp_path / path.name
    config.write_text(NAMED_FILE.sub(rewrite, path.read_text()))
    return config, workdir


def files_spire_could_not_open(output, config_text):
    """The files named in the configuration whose absence is every reason `validate` gives, or [].

    `validate` opens what a configuration names (log_file, an x509pop trust bundle, the bundle endpoint's
    serving certificate): were one not given, its verdict would say nothing about the configuration.
    """
    reasons = [line.split(" is invalid: ", 1)[1] if " is invalid: " in line else line.strip()
               for line in output.splitlines() if " is invalid: " in line or line.startswith("\t\t")]
    found = [re.search(r"open (\S+): no such file or directory", reason) for reason in reasons]
    if reasons and all(m and m.group(1) in config_text for m in found):
        return sorted({m.group(1) for m in found})
    return []
