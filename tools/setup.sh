#!/usr/bin/env bash
# One command sets up a development machine: a virtual environment with every
# pinned requirement, and the checkout made importable as the collection ardur.spire.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${ARDUR_SPIRE_VENV:-$repo/.venv}
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$repo/requirements.txt"

# ansible and ansible-doc find ardur.spire through a link in the venv's collection tree.
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$site/ansible_collections/ardur"
ln -sfn "$repo" "$site/ansible_collections/ardur/spire"

# ansible-test --venv bootstraps pip with a script from a host we cannot reach; it reads a cached
# copy first, so seed the cache with our stand-in for the pip version this ansible-test asks for.
pip_version=$("$venv/bin/python" - <<'PY'
import re, ansible_test._internal.python_requirements as m
print(re.search(r"pip='([0-9.]+)'", open(m.__file__).read()).group(1))
PY
)
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cp "$repo/tools/get_pip_standin.py" "$cache"

echo "ready: source $venv/bin/activate"
