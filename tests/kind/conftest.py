"""The runbook tests on kind share one cluster for the session (tests/support/kind_lab.py).

Each test module leaves the deployment as it found it (healthy, three servers, the watchers
running), so the next one starts from the state deploy.yml gives; the cluster is deleted and the
lab's engine stopped at the end of the session, whatever the outcome.
"""

import time

import pytest

from kind_lab import KindLab, need_kind  # tests/conftest.py puts tests/support on sys.path


@pytest.fixture(name="kind", scope="session")
def fixture_kind(tmp_path_factory):
    """The cluster with SPIRE deployed and a watcher on every node."""
    need_kind()
    lab = KindLab(tmp_path_factory.mktemp("kind"))
    started = time.monotonic()
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
        print("timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in lab.timings.items())
              + f"; whole session {time.monotonic() - started:.1f} s")
