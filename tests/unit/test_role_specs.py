"""Every role documents exactly the inputs it has.

For each role: defaults/main.yml and the `main` entry point of meta/argument_specs.yml list
the same keys (an option marked `required`, or one of the shared inputs the preflights require,
may be absent from the defaults: it has no default on purpose), every key carries the role's
prefix, every option has a description, every entry point shares the `main` option list, and
meta/main.yml depends on ardur.spire.spire (except spire itself).
"""

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
# Roles this suite covers, with the prefix of their inputs. Other roles (registrations) have
# their own tests; they are checked too when present, with their own prefix.
PREFIXES = {
    "spire": "spire_",
    "postgres_secret": "postgres_secret_",
    "upstream_ca": "upstream_ca_",
    "spire_server": "spire_server_",
    "spire_agent": "spire_agent_",
    "csi_driver": "csi_driver_",
    "registrations": "registrations_",
    # The runbooks (a role each; RUNBOOKS below).
    "health": "health_",
    "uninstall": "uninstall_",
    "upgrade": "upgrade_",
    "recover_server": "recover_server_",
    "rotate_datastore_credentials": "rotate_datastore_credentials_",
    "rotate_upstream_ca": "rotate_upstream_ca_",
}
ROLES = sorted(name for name in PREFIXES if (ROLES_DIR / name).is_dir())
RUNBOOKS = {"health", "uninstall", "upgrade", "recover_server", "rotate_datastore_credentials", "rotate_upstream_ca"}


def _load(path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _specs(role):
    return _load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]


def _preflight_required():
    """Shared inputs without a default that the preflights require (roles/spire/vars: _spire_required_inputs).

    Not `required` in the argument spec: that is validated for every role that depends on spire, the
    runbook steps that never use them included.
    """
    return {item["name"] for item in _load(ROLES_DIR / "spire" / "vars" / "main.yml")["_spire_required_inputs"]}


def _description(option):
    text = option.get("description")
    if isinstance(text, list):
        text = " ".join(text)
    return (text or "").strip()


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_spec_list_the_same_keys(role):
    defaults = _load(ROLES_DIR / role / "defaults" / "main.yml") or {}
    options = _specs(role)["main"]["options"]
    required = {name for name, option in options.items() if option.get("required")}
    if role == "spire":
        required |= _preflight_required()
    assert set(defaults) - set(options) == set(), "in defaults/main.yml but not documented"
    assert set(options) - set(defaults) - required == set(), "documented but without a default"
    assert required & set(defaults) == set(), "required options must not have a default"


@pytest.mark.parametrize("role", ROLES)
def test_every_input_carries_the_role_prefix(role):
    prefix = PREFIXES[role]
    others = [p for r, p in PREFIXES.items() if r != role and p.startswith(prefix)]
    for name in _specs(role)["main"]["options"]:
        assert name.startswith(prefix), name
        assert not any(name.startswith(other) for other in others), "%s uses another role's prefix" % name


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described(role):
    specs = _specs(role)
    for entry, spec in specs.items():
        assert (spec.get("short_description") or "").strip(), "%s: short_description" % entry
        for name, option in spec.get("options", {}).items():
            assert _description(option), "%s.%s has no description" % (entry, name)
            assert option.get("type"), "%s.%s has no type" % (entry, name)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "registrations"])
def test_entry_points_share_the_main_options(role):
    specs = _specs(role)
    main = specs["main"]["options"]
    tasks = {p.stem for p in (ROLES_DIR / role / "tasks").glob("*.yml")}
    # deploy.yml runs each deploy role in phases; a runbook role needs only main and preflight.
    for entry in ("preflight",) if role in RUNBOOKS else ("preflight", "render", "apply"):
        assert entry in specs, "entry point %s missing" % entry
    for entry, spec in specs.items():
        assert entry in tasks, "entry point %s has no tasks/%s.yml" % (entry, entry)
        assert spec["options"] == main, "%s must reuse the main option list (YAML anchor)" % entry


@pytest.mark.parametrize("role", ROLES)
def test_roles_depend_on_the_spire_role(role):
    meta = _load(ROLES_DIR / role / "meta" / "main.yml")
    deps = [d["role"] if isinstance(d, dict) else d for d in meta.get("dependencies") or []]
    if role == "spire":
        assert deps == []
    else:
        assert "ardur.spire.spire" in deps


def test_spec_defaults_match_defaults_file():
    """The documented default is the real one (both sides written by hand).

    A default computed from another setting (a Jinja expression) is documented by its
    usual value (or in the description) and skipped here.
    """
    for role in ROLES:
        defaults = _load(ROLES_DIR / role / "defaults" / "main.yml") or {}
        for name, option in _specs(role)["main"]["options"].items():
            value = defaults.get(name)
            if isinstance(value, str) and "{{" in value:
                continue
            if "default" in option and name in defaults:
                assert option["default"] == defaults[name], "%s: %s" % (role, name)


def test_spec_defaults_never_template_other_inputs():
    """A role's argument validation templates the spec: a default there must be a plain value (a
    template of another input, e.g. an unset spire_trust_domain, would fail before the preflight)."""
    for role in ROLES:
        for name, option in _specs(role)["main"]["options"].items():
            assert "{{" not in str(option.get("default", "")), "%s: %s" % (role, name)


def test_inputs_required_by_preflight_have_no_default_and_are_checked():
    """spire_trust_domain and spire_cluster_name: no default anywhere, not `required` in the spec, and
    the preflight of every role that uses them refuses to run without them."""
    spire = _specs("spire")["main"]["options"]
    defaults = _load(ROLES_DIR / "spire" / "defaults" / "main.yml") or {}
    for name in _preflight_required():
        assert name in spire and "default" not in spire[name] and name not in defaults, name
        assert not spire[name].get("required"), "%s: `required` would break the runbook steps" % name
    for role in ("upstream_ca", "spire_server", "spire_agent", "registrations"):
        preflight = (ROLES_DIR / role / "tasks" / "preflight.yml").read_text(encoding="utf-8")
        tasks = yaml.safe_load(preflight)
        first = tasks[0]["ansible.builtin.assert"]
        assert first["that"] == ["_spire_missing_inputs | length == 0"], "%s: check the required inputs first" % role
