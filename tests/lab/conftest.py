"""The live lab for tests/lab: a private lab/lab.py + lab/postgres.sh instance for the session.

State dir and ports come from ARDUR_SPIRE_LAB_* (defaults below: never the default lab at
~/.cache/ardur-spire/lab, apiserver 16443, that molecule uses). Without the lab binaries the
tests skip with the reason, or fail when ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parents[1] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from lab_binaries import lab_binary  # noqa: E402  pylint: disable=wrong-import-position
from lab_instance import LabInstance, private_lab  # noqa: E402  pylint: disable=wrong-import-position

DEFAULTS = private_lab("lab-bench", 1)
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")


@pytest.fixture(scope="session")
def lab():
    """The lab, up for the whole session and torn down at its end."""
    missing = [name for name in BINARIES if lab_binary(name) is None]  # raises under ARDUR_SPIRE_REQUIRE_LAB=1
    if missing:
        pytest.skip("lab binaries not built (%s): run lab/build.sh" % ", ".join(missing))
    instance = LabInstance(DEFAULTS)
    if str(instance.dir) == str(Path.home() / ".cache" / "ardur-spire" / "lab"):
        pytest.fail("tests/lab must not use the default lab dir (molecule's): set ARDUR_SPIRE_LAB_DIR elsewhere")
    instance.up()
    try:
        yield instance
    finally:
        instance.down()
