"""Stand-in for the pip bootstrap script ansible-test downloads, whose host our machines cannot reach.

ansible-test looks for the script in ~/.ansible/test/cache/ and documents saving it there by hand;
tools/setup.sh puts this file there. It does the same job from what we can reach: pip from the
interpreter's own ensurepip, then the requested packages (pip==X among them) from PyPI.
"""

import ensurepip
import os
import subprocess
import sys


def main():
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null; the machine's pip.conf may hold its CA bundle.
    os.environ.pop("PIP_CONFIG_FILE", None)
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))


if __name__ == "__main__":
    main()
