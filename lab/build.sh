#!/usr/bin/env bash
# Build and cache the binaries used by the ardur.spire lab and its tests.
#
# Usage:
#   lab/build.sh                 build everything (k8s etcd kwok spire scm, and
#                                the previous SPIRE and scm for the upgrade runbook)
#   lab/build.sh k8s             kube-apiserver, kube-controller-manager,
#                                kube-scheduler, kubectl + OpenAPI v2 spec
#   lab/build.sh etcd | kwok
#   lab/build.sh spire [VERSION] spire-server + spire-agent (default:
#                                LAB_SPIRE_VERSION in versions.env)
#   lab/build.sh scm [VERSION]   spire-controller-manager (default: the
#                                collection's spire_controller_manager_version)
#   lab/build.sh kind            everything the kind lab adds (below), plus k8s
#   lab/build.sh k8s-node        kubelet, kubeadm, kube-proxy
#   lab/build.sh kind-cli | coredns | local-path-provisioner | spiffe-csi-driver
#                                | crictl | pause   (versions: lab/versions.env)
#   lab/build.sh path NAME [VERSION]   print the cached path of a binary
#
# Results: ${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}/bin/<name>-<version>/<name>
# A binary already in the cache is never rebuilt. Versions are written without
# a leading "v". Go's module and build caches stay at their defaults.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$LAB_DIR")
CACHE=${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}
BIN_DIR=$CACHE/bin
WRAP_DIR=$CACHE/wrappers
DEFAULTS_FILE=$REPO_DIR/roles/spire/defaults/main.yml
FALLBACK_SCM_VERSION=0.6.3

# shellcheck source=versions.env
. "$LAB_DIR/versions.env"

export CGO_ENABLED=0
NICE=(nice -n 10)

log() { printf '[build] %s\n' "$*" >&2; }
die() { printf '[build] ERROR: %s\n' "$*" >&2; exit 1; }

strip_v() { printf '%s\n' "${1#v}"; }

# Read a simple top-level "key: value" from the collection defaults, without
# needing PyYAML. Quotes, a leading "v" and trailing comments are dropped.
defaults_value() {
  local key=$1
  [[ -f $DEFAULTS_FILE ]] || return 1
  sed -n -E "s/^${key}:[[:space:]]*[\"']?v?([^\"'[:space:]#]+)[\"']?.*$/\\1/p" \
    "$DEFAULTS_FILE" | head -n 1 | grep .
}

# The lab's SPIRE binaries (see versions.env for why not the collection's pin).
spire_default_version() { echo "$LAB_SPIRE_VERSION"; }

scm_default_version() {
  if ! defaults_value spire_controller_manager_version; then
    log "roles/spire/defaults/main.yml has no spire_controller_manager_version; falling back to $FALLBACK_SCM_VERSION"
    echo "$FALLBACK_SCM_VERSION"
  fi
}

bin_path() { printf '%s/%s-%s/%s\n' "$BIN_DIR" "$1" "$2" "$1"; }
cached() { [[ -x $(bin_path "$1" "$2") ]]; }

# install_bin NAME VERSION FILE: move a freshly built binary into the cache.
install_bin() {
  local dest
  dest=$(bin_path "$1" "$2")
  mkdir -p "$(dirname "$dest")"
  mv -f "$3" "$dest.tmp"
  mv -f "$dest.tmp" "$dest"
  # stdout carries only this line per new binary (callers detect changes).
  printf 'built %s %s -> %s\n' "$1" "$2" "$dest"
}

# timed LABEL CMD...: run CMD and print its wall time.
timed() {
  local label=$1 start end rc=0
  shift
  start=$(date +%s)
  "$@" || rc=$?
  end=$(date +%s)
  printf '[build] %s: %ss wall (exit %s)\n' "$label" "$((end - start))" "$rc" >&2
  return "$rc"
}

# json_field FILE KEY: print a top-level string field of a JSON document.
json_field() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")' "$1" "$2"
}

# Fresh wrapper module directory (outside the repo) for building MODULE@VERSION.
new_wrapper() {
  local dir=$WRAP_DIR/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  printf 'module ardur.invalid/lab/%s\n\ngo 1.24\n' "$1" >"$dir/go.mod"
  printf '%s\n' "$dir"
}

# module_download WRAPPER MODULE@VERSION: download into GOMODCACHE, leave the
# `go mod download -json` answer in WRAPPER/download.json.
module_download() {
  (cd "$1" && "${NICE[@]}" go mod download -json "$2" >download.json) ||
    die "go mod download $2 failed (see $1/download.json)"
}

info_time() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Time"])' "$1"
}

# check_version FILE EXPECTED ARGS...: the fresh binary must report EXPECTED
# when run with ARGS (catches a wrong or ignored version ldflag).
check_version() {
  local file=$1 expected=$2 out
  shift 2
  out=$("$file" "$@" 2>&1 | head -n 5) || true
  grep -qF -- "$expected" <<<"$out" ||
    die "$(basename "$file") reports '${out//$'\n'/ | }', expected '$expected'"
}

# seed_go_sum WRAPPER: start the wrapper's go.sum from the built module's own
# go.sum, so dependency hashes need no checksum-database lookup (the sumdb
# reached through the proxy here answers 404 for some pseudo-versions).
seed_go_sum() {
  local dir
  dir=$(json_field "$1/download.json" Dir)
  if [[ -f $dir/go.sum ]]; then
    cat "$dir/go.sum" >>"$1/go.sum"
  fi
}

# wrapper_build NAME VERSION MODULE@VERSION LDFLAGS PKG...: build main packages
# of a published module from a throwaway wrapper module that requires it.
# (`go install pkg@version` is avoided: it reads the proxy's version list,
# which the proxy reachable here refuses for some modules.)
wrapper_build() {
  local name=$1 v=$2 modver=$3 ld=$4 w
  shift 4
  w=$(new_wrapper "$name-$v")
  module_download "$w" "$modver"
  seed_go_sum "$w"
  (cd "$w" && go mod edit -require="$modver")
  mkdir -p "$w/out"
  (cd "$w" && timed "go build $name $v" \
    "${NICE[@]}" go build -mod=mod -trimpath -ldflags "$ld" -o "$w/out/" "$@")
}

# --------------------------------------------------------------------- k8s --
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
# The kind lab's node binaries (`lab/build.sh k8s-node`), same wrapper.
K8S_NODE_BINS=(kubelet kubeadm kube-proxy)
# Upstream links every binary statically except kubelet (hack/lib/golang.sh:
# KUBE_STATIC_BINARIES leaves it out, so it is built with CGO_ENABLED=1 and
# links glibc dynamically); these are built the same way here.
K8S_CGO_BINS=(kubelet)

# k8s_wrapper VERSION: fresh wrapper module requiring k8s.io/kubernetes@vVERSION
# with every staging module replaced by its published v0.x; prints its dir.
k8s_wrapper() {
  local v=$1 w modfile staging=() n
  w=$(new_wrapper "kubernetes-$v")
  module_download "$w" "k8s.io/kubernetes@v$v"
  modfile=$(json_field "$w/download.json" GoMod)
  # Staging modules: every "=> ./staging/..." replace of the upstream go.mod.
  mapfile -t staging < <(sed -n -E 's#^[[:space:]]*(replace[[:space:]]+)?([^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*$#\2#p' "$modfile")
  ((${#staging[@]} > 0)) || die "no staging replaces found in $modfile"
  log "kubernetes $v: ${#staging[@]} staging modules -> v0.${v#1.}"
  seed_go_sum "$w"
  (
    cd "$w"
    # Same go directive / GODEBUG defaults as upstream's main module.
    go mod edit -go="$(sed -n -E 's/^go[[:space:]]+([0-9.]+).*/\1/p' "$modfile" | head -n1)"
    grep -E '^godebug[[:space:]]' "$modfile" >>go.mod || true
    go mod edit -require="k8s.io/kubernetes@v$v"
    for n in "${staging[@]}"; do
      go mod edit -replace="$n=$n@v0.${v#1.}"
    done
  ) >&2
  printf '%s\n' "$w"
}

# k8s_build WRAPPER VERSION NAME...: build, check and cache k8s.io/kubernetes/cmd/NAME.
k8s_build() {
  local w=$1 v=$2 minor bdate ld n c out static=() cgo=()
  shift 2
  minor=$(cut -d. -f2 <<<"$v")
  bdate=$(info_time "$(json_field "$w/download.json" Info)")
  ld="-s -w"
  for n in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $n.gitVersion=v$v -X $n.gitMajor=1 -X $n.gitMinor=$minor"
    ld+=" -X $n.gitTreeState=clean -X $n.buildDate=$bdate"
  done
  for n in "$@"; do
    for c in "${K8S_CGO_BINS[@]}"; do
      if [[ $n == "$c" ]]; then cgo+=("k8s.io/kubernetes/cmd/$n"); continue 2; fi
    done
    static+=("k8s.io/kubernetes/cmd/$n")
  done
  out=$w/out
  mkdir -p "$out"
  if ((${#static[@]} > 0)); then
    (cd "$w" && timed "go build ${static[*]##*/} $v" \
      "${NICE[@]}" go build -mod=mod -trimpath -ldflags "$ld" -o "$out/" "${static[@]}")
  fi
  if ((${#cgo[@]} > 0)); then
    command -v gcc >/dev/null || die "gcc is needed for ${cgo[*]##*/} (cgo, as upstream)"
    (cd "$w" && timed "go build ${cgo[*]##*/} $v (cgo)" \
      env CGO_ENABLED=1 "${NICE[@]}" go build -mod=mod -trimpath -ldflags "$ld" -o "$out/" "${cgo[@]}")
  fi
  for n in "$@"; do
    case $n in
      kubectl) check_version "$out/$n" "v$v" version --client ;;
      kubeadm) check_version "$out/$n" "v$v" version -o short ;;
      *) check_version "$out/$n" "Kubernetes v$v" --version ;;
    esac
    install_bin "$n" "$v" "$out/$n"
  done
}

build_k8s() {
  local v=$LAB_KUBERNETES_VERSION missing=() n openapi w moddir
  openapi=$CACHE/openapi/kubernetes-$v/swagger.json
  for n in "${K8S_BINS[@]}"; do cached "$n" "$v" || missing+=("$n"); done
  if ((${#missing[@]} == 0)) && [[ -s $openapi ]]; then
    log "kubernetes $v: cached"
    return 0
  fi
  w=$(k8s_wrapper "$v")
  moddir=$(json_field "$w/download.json" Dir)

  # OpenAPI v2 spec: shipped in the module zip.
  if [[ ! -s $openapi ]]; then
    [[ -s $moddir/api/openapi-spec/swagger.json ]] ||
      die "api/openapi-spec/swagger.json missing from k8s.io/kubernetes@v$v"
    mkdir -p "$(dirname "$openapi")"
    install -m 0644 "$moddir/api/openapi-spec/swagger.json" "$openapi.tmp"
    mv -f "$openapi.tmp" "$openapi"
    printf 'built openapi kubernetes-%s -> %s\n' "$v" "$openapi"
  fi
  ((${#missing[@]} > 0)) || return 0
  k8s_build "$w" "$v" "${missing[@]}"
}

# kubelet, kubeadm, kube-proxy for the kind lab's node image.
build_k8s_node() {
  local v=$LAB_KUBERNETES_VERSION missing=() n w
  for n in "${K8S_NODE_BINS[@]}"; do cached "$n" "$v" || missing+=("$n"); done
  if ((${#missing[@]} == 0)); then
    log "kubernetes $v node binaries: cached"
    return 0
  fi
  w=$(k8s_wrapper "$v")
  k8s_build "$w" "$v" "${missing[@]}"
}

# -------------------------------------------------------------------- etcd --
build_etcd() {
  local v=$LAB_ETCD_VERSION w
  if cached etcd "$v"; then log "etcd $v: cached"; return 0; fi
  wrapper_build etcd "$v" "go.etcd.io/etcd/server/v3@v$v" "-s -w" \
    go.etcd.io/etcd/server/v3
  w=$WRAP_DIR/etcd-$v
  # go names a main package ending in /v3 after the element before it.
  [[ -f $w/out/etcd ]] || mv -f "$w/out/server" "$w/out/etcd"
  check_version "$w/out/etcd" "etcd Version: $v" --version
  install_bin etcd "$v" "$w/out/etcd"
}

# -------------------------------------------------------------------- kwok --
build_kwok() {
  local v=$LAB_KWOK_VERSION w
  if cached kwok "$v"; then log "kwok $v: cached"; return 0; fi
  wrapper_build kwok "$v" "sigs.k8s.io/kwok@v$v" \
    "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$v" sigs.k8s.io/kwok/cmd/kwok
  w=$WRAP_DIR/kwok-$v
  check_version "$w/out/kwok" "v$v" --version
  install_bin kwok "$v" "$w/out/kwok"
}

# ------------------------------------------------------------------- spire --
# SPIRE's version ldflag takes the tag WITHOUT its "v": spire's sqlstore
# semver-parses it at init, and "v1.14.2" makes every command panic.
spire_ldflags() { printf -- '-s -w -X github.com/spiffe/spire/pkg/common/version.gittag=%s' "$1"; }

build_spire() {
  local v n w
  v=$(strip_v "${1:-$(spire_default_version)}")
  if cached spire-server "$v" && cached spire-agent "$v"; then
    log "spire $v: cached"
    return 0
  fi
  w=$WRAP_DIR/spire-$v
  (cd "$(mktemp -d)" && go mod download "github.com/spiffe/spire@v$v" >/dev/null 2>&1) ||
    die "the Go module proxy does not serve github.com/spiffe/spire@v$v (see lab/versions.env)"
  wrapper_build spire "$v" "github.com/spiffe/spire@v$v" "$(spire_ldflags "$v")" \
    github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent
  for n in spire-server spire-agent; do
    check_version "$w/out/$n" "$v" --version
    install_bin "$n" "$v" "$w/out/$n"
  done
}

# --------------------------------------------------------------------- scm --
build_scm() {
  local v w
  v=$(strip_v "${1:-$(scm_default_version)}")
  if cached spire-controller-manager "$v"; then
    log "spire-controller-manager $v: cached"
    return 0
  fi
  wrapper_build spire-controller-manager "$v" \
    "github.com/spiffe/spire-controller-manager@v$v" "-s -w" \
    github.com/spiffe/spire-controller-manager/cmd
  w=$WRAP_DIR/spire-controller-manager-$v
  install_bin spire-controller-manager "$v" "$w/out/cmd"
}

# ---------------------------------------------------------------- kind lab --
# Binaries for the kind lab's node and add-on images (`lab/build.sh kind`).

# origin_hash WRAPPER: the git commit the proxy recorded for the downloaded
# module version (empty if it recorded none).
origin_hash() {
  python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get("Origin") or {}).get("Hash") or "")' "$1/download.json"
}

# mod_directives GOMOD: `go mod edit` flags giving a wrapper the go directive,
# godebug settings and replace directives of a module's own go.mod, one a line.
# A local (directory) replace cannot be carried over: it needs its own
# handling, as build_k8s does for the staging modules.
mod_directives() {
  go mod edit -json "$1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
if m.get("Go"):
    print("-go=" + m["Go"])
for d in m.get("GoDebug") or []:
    print("-godebug=%s=%s" % (d["Key"], d["Value"]))
def at(p):
    return p["Path"] + ("@" + p["Version"] if p.get("Version") else "")
for r in m.get("Replace") or []:
    if not r["New"].get("Version"):
        sys.exit("local replace %s => %s" % (at(r["Old"]), r["New"]["Path"]))
    print("-replace=%s=%s" % (at(r["Old"]), at(r["New"])))
'
}

# module_wrapper NAME VERSION MODULE@VERSION: like wrapper_build's wrapper, but
# it also takes the module's go directive, godebug settings and replaces
# (upstream's GODEBUG defaults and dependency graph); prints its dir.
module_wrapper() {
  local w modfile edits=() text
  w=$(new_wrapper "$1-$2")
  module_download "$w" "$3"
  seed_go_sum "$w"
  modfile=$(json_field "$w/download.json" GoMod)
  text=$(mod_directives "$modfile") || die "cannot carry over the go.mod of $3"
  [[ -z $text ]] || mapfile -t edits <<<"$text"
  (cd "$w" && go mod edit -require="$3" "${edits[@]}") >&2
  printf '%s\n' "$w"
}

# module_go_build WRAPPER LABEL LDFLAGS TAGS PKG...: build main packages into
# WRAPPER/out/.
module_go_build() {
  local w=$1 label=$2 ld=$3 tags=$4
  shift 4
  mkdir -p "$w/out"
  (cd "$w" && timed "go build $label" \
    "${NICE[@]}" go build -mod=mod -trimpath -tags="$tags" -ldflags "$ld" -o "$w/out/" "$@")
}

# kind (the CLI) is target kind-cli: `lab/build.sh kind` is the group.
build_kind_cli() {
  local v=$LAB_KIND_VERSION w p=sigs.k8s.io/kind/pkg/cmd/kind/version
  if cached kind "$v"; then log "kind $v: cached"; return 0; fi
  w=$(module_wrapper kind "$v" "sigs.k8s.io/kind@v$v")
  # The version itself is a constant of the module; upstream's Makefile adds
  # the commit (printed only by pre-releases).
  module_go_build "$w" "kind $v" "-s -w -X $p.gitCommit=$(origin_hash "$w")" "" \
    sigs.k8s.io/kind
  check_version "$w/out/kind" "kind v$v " version
  install_bin kind "$v" "$w/out/kind"
}

build_coredns() {
  local v=$LAB_COREDNS_VERSION w tags commit
  if cached coredns "$v"; then log "coredns $v: cached"; return 0; fi
  w=$(module_wrapper coredns "$v" "github.com/coredns/coredns@v$v")
  # As upstream's Makefile: CGO_ENABLED=0, GitCommit = short commit, its
  # GOTAGS (grpcnotrace since 1.13). The version is a constant; the plugins
  # are those of the module's core/plugin/zplugin.go.
  tags=$(sed -n -E 's/^GOTAGS[[:space:]]*\?=[[:space:]]*//p' \
    "$(json_field "$w/download.json" Dir)/Makefile" | head -n1)
  commit=$(origin_hash "$w")
  module_go_build "$w" "coredns $v" \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${commit:0:7}" "$tags" \
    github.com/coredns/coredns
  check_version "$w/out/coredns" "CoreDNS-$v" -version
  install_bin coredns "$v" "$w/out/coredns"
}

build_local_path_provisioner() {
  local v=$LAB_LOCAL_PATH_PROVISIONER_VERSION w n=local-path-provisioner
  if cached "$n" "$v"; then log "$n $v: cached"; return 0; fi
  w=$(module_wrapper "$n" "$v" "github.com/rancher/local-path-provisioner@v$v")
  # scripts/build: -X main.VERSION=<git tag>, printed by --version.
  module_go_build "$w" "$n $v" "-s -w -X main.VERSION=v$v" "" \
    github.com/rancher/local-path-provisioner
  check_version "$w/out/$n" "$n version v$v" --version
  install_bin "$n" "$v" "$w/out/$n"
}

build_spiffe_csi() {
  local v=$LAB_SPIFFE_CSI_VERSION w n=spiffe-csi-driver
  if cached "$n" "$v"; then log "$n $v: cached"; return 0; fi
  w=$(module_wrapper "$n" "$v" "github.com/spiffe/spiffe-csi@v$v")
  # gitTag must equal internal/version/VERSION (no "v"), or every start panics;
  # without it the driver calls itself "<VERSION>-dev". No version flag: the
  # usage text (-h) carries it.
  module_go_build "$w" "$n $v" \
    "-s -w -X github.com/spiffe/spiffe-csi/internal/version.gitTag=$v" "" \
    github.com/spiffe/spiffe-csi/cmd/spiffe-csi-driver
  check_version "$w/out/$n" "$n (version $v)" -h
  install_bin "$n" "$v" "$w/out/$n"
}

build_crictl() {
  local v=$LAB_CRICTL_VERSION w
  if cached crictl "$v"; then log "crictl $v: cached"; return 0; fi
  w=$(module_wrapper crictl "$v" "sigs.k8s.io/cri-tools@v$v")
  # hack/release.sh: -X .../pkg/version.Version=<git tag>.
  module_go_build "$w" "crictl $v" \
    "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=v$v" "" \
    sigs.k8s.io/cri-tools/cmd/crictl
  check_version "$w/out/crictl" "crictl version v$v" --version
  install_bin crictl "$v" "$w/out/crictl"
}

# pause: build/pause/linux/pause.c of the k8s.io/kubernetes module, compiled
# as upstream's build/pause/Makefile does (CFLAGS -Os -Wall -Werror -static
# -DVERSION=v$(TAG)-$(REV), then strip); REV is the kubernetes tag here.
build_pause() {
  local v=$LAB_PAUSE_VERSION k=$LAB_KUBERNETES_VERSION w dir want
  if cached pause "$v"; then log "pause $v: cached"; return 0; fi
  command -v gcc >/dev/null || die "gcc is not installed (needed for pause)"
  w=$(new_wrapper "pause-$v")
  module_download "$w" "k8s.io/kubernetes@v$k"
  dir=$(json_field "$w/download.json" Dir)
  want=$(sed -n -E 's/^[[:space:]]*PauseVersion[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' \
    "$dir/cmd/kubeadm/app/constants/constants.go" | head -n1)
  [[ $want == "$v" ]] ||
    log "note: kubeadm $k expects pause ${want:-?}, building $v (LAB_PAUSE_VERSION)"
  mkdir -p "$w/out"
  (cd "$w" && timed "gcc pause $v" "${NICE[@]}" gcc -Os -Wall -Werror -static \
    "-DVERSION=v$v-v$k" -o out/pause "$dir/build/pause/linux/pause.c")
  strip "$w/out/pause"
  check_version "$w/out/pause" "pause.c v$v-" -v
  install_bin pause "$v" "$w/out/pause"
}

# Everything the kind lab adds (the lab's control-plane binaries included).
build_kind_group() {
  build_k8s
  build_k8s_node
  build_pause
  build_crictl
  build_kind_cli
  build_coredns
  build_local_path_provisioner
  build_spiffe_csi
  # The images the collection deploys, and one release back for the upgrade tests.
  build_spire
  build_spire "$LAB_SPIRE_PREVIOUS_VERSION"
  build_scm
  build_scm "$LAB_SCM_PREVIOUS_VERSION"
}

# -------------------------------------------------------------------- main --
main() {
  command -v go >/dev/null || die "go is not installed"
  mkdir -p "$BIN_DIR" "$WRAP_DIR"
  local what=${1:-all} start
  if [[ $what != path && $what != help && $what != -h && $what != --help ]]; then
    # One build at a time per cache: concurrent runs would share wrapper dirs.
    exec 9>"$CACHE/.build.lock"
    if ! flock -n 9; then
      log "another lab/build.sh is running on $CACHE; waiting for it"
      flock 9
    fi
  fi
  start=$(date +%s)
  case $what in
    all)
      build_k8s
      build_etcd
      build_kwok
      build_spire
      build_spire "$LAB_SPIRE_PREVIOUS_VERSION"
      build_scm
      build_scm "$LAB_SCM_PREVIOUS_VERSION"
      ;;
    k8s | kubernetes) build_k8s ;;
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    spire) build_spire "${2:-}" ;;
    scm | spire-controller-manager) build_scm "${2:-}" ;;
    kind) build_kind_group ;;
    k8s-node) build_k8s_node ;;
    kind-cli) build_kind_cli ;;
    coredns) build_coredns ;;
    local-path-provisioner) build_local_path_provisioner ;;
    spiffe-csi-driver | spiffe-csi) build_spiffe_csi ;;
    crictl | cri-tools) build_crictl ;;
    pause) build_pause ;;
    path)
      [[ $# -ge 2 ]] || die "usage: $0 path NAME [VERSION]"
      local v=${3:-}
      if [[ -z $v ]]; then
        case $2 in
          kube-*|kubectl|kubelet|kubeadm) v=$LAB_KUBERNETES_VERSION ;;
          kind) v=$LAB_KIND_VERSION ;;
          coredns) v=$LAB_COREDNS_VERSION ;;
          local-path-provisioner) v=$LAB_LOCAL_PATH_PROVISIONER_VERSION ;;
          spiffe-csi-driver) v=$LAB_SPIFFE_CSI_VERSION ;;
          crictl) v=$LAB_CRICTL_VERSION ;;
          pause) v=$LAB_PAUSE_VERSION ;;
          etcd) v=$LAB_ETCD_VERSION ;;
          kwok) v=$LAB_KWOK_VERSION ;;
          spire-server|spire-agent) v=$(spire_default_version) ;;
          spire-controller-manager) v=$(scm_default_version) ;;
          *) die "unknown binary $2" ;;
        esac
      fi
      bin_path "$2" "$(strip_v "$v")"
      return 0
      ;;
    -h | --help | help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"
      return 0
      ;;
    *) die "unknown target '$what' (try --help)" ;;
  esac
  log "done: $what in $(($(date +%s) - start))s wall; binaries under $BIN_DIR"
}

main "$@"
