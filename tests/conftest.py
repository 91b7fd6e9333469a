"""Shared pytest fixtures: the Kubernetes OpenAPI spec for offline schema validation."""

import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

import k8s_schema  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def k8s_openapi_spec_path():
    """Path of the swagger.json of the lab's Kubernetes version (env override, cache, or the Go module proxy)."""
    try:
        return k8s_schema.locate_openapi_spec()
    except k8s_schema.SpecNotFound as exc:
        pytest.fail(f"Kubernetes OpenAPI spec not available: {exc}")
    return None  # not reached: pytest.fail raises


@pytest.fixture(scope="session")
def k8s_openapi_spec(k8s_openapi_spec_path):  # pylint: disable=redefined-outer-name
    """The parsed Kubernetes OpenAPI v2 spec, loaded once per session."""
    return k8s_schema.load_openapi_spec(k8s_openapi_spec_path)
