"""The spire_registration_spec module: its result, its failure listing every error, check mode."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ardur.spire.plugins.modules import spire_registration_spec

FAMILY = {"name": "autogen", "app": "autogen-agent", "container": "autogen", "namespace": "ardur-agents"}


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            spire_registration_spec.main()
    return info.value.code, json.loads(capsys.readouterr().out)


def test_returns_cluster_spiffeids_unchanged(capsys):
    code, result = run({"families": [FAMILY], "trust_domain": "ardur.internal",
                        "labels": {"app.kubernetes.io/part-of": "spire"}}, capsys)
    assert code == 0
    assert result["changed"] is False
    (obj,) = result["cluster_spiffeids"]
    assert obj["metadata"]["name"] == "ardur-autogen"
    assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "spire"
    assert obj["spec"]["spiffeIDTemplate"].startswith("spiffe://{{ .TrustDomain }}/ns/")
    assert result["families"][0]["workload_selector_templates"] == ["k8s:container-name:autogen"]


def test_check_mode_gives_the_same_result(capsys):
    args = {"families": [FAMILY], "trust_domain": "ardur.internal"}
    normal = run(args, capsys)[1]
    checked = run(dict(args, _ansible_check_mode=True), capsys)[1]
    assert checked["cluster_spiffeids"] == normal["cluster_spiffeids"]


def test_fails_listing_every_error_with_its_path(capsys):
    bad = [FAMILY, dict(FAMILY, name="autogen", ttl="1d", spiffe_id_template="spiffe://elsewhere.org/x")]
    code, result = run({"families": bad, "trust_domain": "ardur.internal", "input_name": "registrations_families"}, capsys)
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("3 problem(s) in the registration families:")
    assert [e["path"] for e in result["errors"]] == [
        "registrations_families[1].name",
        "registrations_families[1].spiffe_id_template",
        "registrations_families[1].ttl",
    ]
    assert "registrations_families[1].spiffe_id_template: must stay inside the trust domain" in result["msg"]
