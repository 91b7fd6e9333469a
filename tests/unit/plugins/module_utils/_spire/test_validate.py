"""Building blocks of the checks: Go durations, env references, trust domains, DSNs, masking."""

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import api, env
from ansible_collections.ardur.spire.plugins.module_utils._spire.validate import (
    mask_dsn, parse_duration, parse_postgres_dsn, spiffe_id_problem, trust_domain_problem)

H = 3600 * 10 ** 9
M = 60 * 10 ** 9
S = 10 ** 9


@pytest.mark.parametrize("text, nanos", [
    ("0", 0), ("1h", H), ("1h30m", H + 30 * M), ("300ms", 300 * 10 ** 6), ("-1.5h", -(H + 30 * M)),
    ("+5s", 5 * S), ("1.s", S), (".5s", S // 2), ("2h45m30.5s", 2 * H + 45 * M + 30 * S + S // 2),
    ("1ns", 1), ("1us", 1000), ("1\u00b5s", 1000), ("1\u03bcs", 1000), ("168h", 168 * H), ("0s", 0),
])
def test_go_durations_accepted(text, nanos):
    assert parse_duration(text) == nanos


@pytest.mark.parametrize("text, fragment", [
    ("1d", "unknown unit 'd'"), ("", "invalid duration"), ("1", "missing unit"), ("h", "invalid duration"),
    ("1 h", "unknown unit ' h'"), (".s", "invalid duration"), ("-", "invalid duration"), ("1h-5m", "unknown unit 'h-'"),
    ("3000000h", "out of range"), ("1H", "unknown unit 'H'"),
])
def test_go_durations_rejected(text, fragment):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize("text, refs, only", [
    ("${A}", ["A"], True), ("$A", ["A"], True), ("${A}${B}", ["A", "B"], True), ("x${A}", ["A"], False),
    ("$$", [], False), ("a$", [], False), ("${}", [], False), ("$1", ["1"], True), ("p$w0rd", ["w0rd"], False),
    ("plain", [], False), ("${A", [], False),
])
def test_env_references_follow_go_os_expand(text, refs, only):
    assert env.references(text) == refs
    assert env.only_references(text) is only


def test_env_expand_matches_spire():
    values = {"A": "1", "B": "two"}
    assert env.expand("x${A}y$B$$z${C}$", lambda n: values.get(n, "")) == "x1ytwo$z$"


@pytest.mark.parametrize("value, fragment, rule", [
    ("example.org", None, None), ("a_b-c.9", None, None),
    ("Example.org", "must be lowercase", None),
    ("example.org:8443", "must not contain a port", None),
    ("example.org/path", "must not contain a path", None),
    ("spiffe://example.org", "write the bare name 'example.org'", "trust-domain-spiffe-id"),
    ("spiffe://example.org/x", "not a SPIFFE ID with a path", None),
    ("https://example.org", "looks like a SPIFFE ID", None),
    ("exa mple", "characters a SPIFFE trust domain cannot have", None),
    ("a" * 256, "longer than 255", "trust-domain-length"),
    ("", "must not be empty", None),
])
def test_trust_domain_syntax(value, fragment, rule):
    """A problem SPIRE accepts names its strict-only rule; one SPIRE refuses names none."""
    message, found_rule = trust_domain_problem(value)
    if fragment is None:
        assert message is None and found_rule is None
    else:
        assert fragment in message and found_rule == rule


@pytest.mark.parametrize("value, problem", [
    ("spiffe://td/ns/x", None), ("spiffe://td", None), ("http://td/x", "starts with spiffe://"),
    ("spiffe://td//x", "empty"), ("spiffe://TD/x", "trust domain has characters"), ("spiffe://td/a b", "path has characters"),
])
def test_spiffe_ids(value, problem):
    result = spiffe_id_problem(value)
    assert (result is None) if problem is None else (problem in result)


@pytest.mark.parametrize("dsn, password, sslmode, opaque", [
    ("dbname=spire user=spire password=s3cret sslmode=verify-full", "s3cret", "verify-full", False),
    ("host=db password='a b\\'c' sslmode = require", "a b'c", "require", False),
    ("host=db password=${PW}", "${PW}", None, False),
    ("host=db ${EXTRA}", None, None, True),
    ("postgres://spire:s3cret@db:5432/spire?sslmode=verify-ca", "s3cret", "verify-ca", False),
    ("postgresql://spire@db/spire", None, None, False),
    ("postgres://spire:${PW}@db/spire?sslmode=disable", "${PW}", "disable", False),
])
def test_postgres_dsn_parsing(dsn, password, sslmode, opaque):
    params, is_opaque, _form = parse_postgres_dsn(dsn)
    assert params.get("password", (None,))[0] == password
    assert params.get("sslmode", (None,))[0] == sslmode
    assert is_opaque is opaque


@pytest.mark.parametrize("dsn, dbtype, masked", [
    ("host=db password=s3cret sslmode=verify-full", "postgres", "host=db password=******** sslmode=verify-full"),
    ("postgres://u:s3cret@db/x", "postgres", "postgres://u:********@db/x"),
    ("host=db password=${PW}", "postgres", "host=db password=${PW}"),
    ("u:s3cret@tcp(db:3306)/spire?tls=true", "mysql", "u:********@tcp(db:3306)/spire?tls=true"),
    ("${DSN}", "postgres", "${DSN}"),
])
def test_mask_dsn(dsn, dbtype, masked):
    assert mask_dsn(dsn, dbtype) == masked


def test_scrub_free_text():
    text = 'failed: "host=db password=hunter2 sslmode=require" and postgres://u:pw1@h/x and password=${PW}'
    assert api.scrub(text) == 'failed: "host=db password=******** sslmode=require" and postgres://u:********@h/x and password=${PW}'
    assert api.scrub("token abc123 used", ["abc123"]) == "token ******** used"
