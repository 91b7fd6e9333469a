#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/ardur/spire and resolves
# symlinks, so it runs on a fresh copy of the files git knows (tracked or not ignored). The copy lives
# outside the checkout: inside it, ansible-test would ask the checkout's git and skip ignored paths.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}/collections/$(printf '%s' "$repo" | sha1sum | cut -c1-12)
dest=$root/ansible_collections/ardur/spire
rm -rf "$dest"
mkdir -p "$dest"
cd "$repo"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$dest"
# Sibling collections that ours depends on, from the venv's `ansible` package, so sanity's import
# and validate-modules tests resolve kubernetes.core and community.crypto as a user's install would.
site=$("${ARDUR_SPIRE_VENV:-$repo/.venv}/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(list(ansible_collections.__path__)[0]))')
for dep in kubernetes/core community/crypto; do
  mkdir -p "$root/ansible_collections/${dep%/*}"
  ln -sfn "$site/ansible_collections/$dep" "$root/ansible_collections/$dep"
done
echo "$dest"
