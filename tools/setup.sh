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

echo "ready: source $venv/bin/activate"
