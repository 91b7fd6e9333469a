#!/usr/bin/env bash
# Debian packages the gates and the lab need; installs only what is missing.
set -euo pipefail

need=()
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v openssl >/dev/null || need+=(openssl)
command -v git >/dev/null || need+=(git)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
# The kind lab (lab/kind): a Docker engine it starts itself, and Debian root filesystems.
command -v dockerd >/dev/null || need+=(docker.io)
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v iptables >/dev/null || need+=(iptables)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
command -v go >/dev/null || { echo "go (>= 1.25.5) is required to build the lab binaries" >&2; exit 1; }
