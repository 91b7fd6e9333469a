"""The runbook tests on kind share one cluster for the session (tests/support/kind_lab.py).

Each test module leaves the deployment as it found it (healthy, three servers, the watchers
running), so the next one starts from the state deploy.yml gives; the cluster is deleted and the
lab's engine stopped at the end of the session, whatever the outcome (unless
ARDUR_SPIRE_KIND_KEEP=1: kept for a look, and reused by the next session's set-up).
"""

import os
import time
from pathlib import Path

import pytest

from kind_lab import CLUSTER, KindLab, need_kind  # tests/conftest.py puts tests/support on sys.path

KEEP_WORK = Path("/tmp/ardur-spire-kind") / f"{CLUSTER}-tests"


@pytest.fixture(name="kind", scope="session")
def fixture_kind(tmp_path_factory):
    """The cluster with SPIRE deployed and a watcher on every node."""
    need_kind()
    keep = os.environ.get("ARDUR_SPIRE_KIND_KEEP") == "1"
    # A kept cluster's kubeconfig and PostgreSQL secrets must outlive the session: a fixed work dir.
    lab = KindLab(KEEP_WORK if keep else tmp_path_factory.mktemp("kind"))
    started = time.monotonic()
    try:
        lab.up()
        yield lab
    finally:
        if keep:
            print(f"ARDUR_SPIRE_KIND_KEEP=1: cluster kept, KUBECONFIG={lab.kubeconfig}")
        else:
            lab.down()
        print("timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in lab.timings.items())
              + f"; whole session {time.monotonic() - started:.1f} s")
