#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/ardur/spire and resolves
# symlinks, so it runs on a fresh copy of the files git knows (tracked or not ignored).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dest=$repo/.build/ansible_collections/ardur/spire
rm -rf "$dest"
mkdir -p "$dest"
cd "$repo"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$dest"
echo "$dest"
