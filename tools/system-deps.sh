#!/usr/bin/env bash
# Debian packages the gates and the lab need; installs only what is missing.
set -euo pipefail

need=()
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v openssl >/dev/null || need+=(openssl)
command -v git >/dev/null || need+=(git)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
command -v go >/dev/null || { echo "go (>= 1.25.5) is required to build the lab binaries" >&2; exit 1; }
