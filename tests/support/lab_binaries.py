"""Where the tests find the real SPIRE binaries that lab/build.sh builds and caches."""

import os
import subprocess
from pathlib import Path

BUILD = Path(__file__).resolve().parents[2] / "lab" / "build.sh"


def lab_binary(name):
    """Path of the lab's cached NAME (spire-server, spire-agent, ...), or None when not built.

    With ARDUR_SPIRE_REQUIRE_LAB=1 (CI sets it) a missing binary is an error, never a skip.
    """
    path = subprocess.run([str(BUILD), "path", name], capture_output=True, text=True, check=True).stdout.strip()
    if os.access(path, os.X_OK):
        return path
    if os.environ.get("ARDUR_SPIRE_REQUIRE_LAB") == "1":
        raise RuntimeError("%s is not built (%s) and ARDUR_SPIRE_REQUIRE_LAB=1: run lab/build.sh" % (name, path))
    return None
