#!/usr/bin/env bash
# Builds the sandbox's test peers from the Go module proxy into a cache outside the repo:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (one Kubernetes release),
# the KWOK controller, the Go chisel client/server, and helm (renders the chart in tests). Each group is skipped when its binaries are
# already cached for the pinned version. Usage: build-binaries.sh [k8s|kwok|chisel|helm ...]
set -euo pipefail

# Pinned versions live in versions.env (shared with the TypeScript side); the environment may override.
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
while IFS='=' read -r key value; do
  case "$key" in ''|\#*) continue ;; esac
  if [ -z "${!key:-}" ]; then export "$key=$value"; fi
done < "$SCRIPT_DIR/versions.env"

CACHE_DIR="${PIPEOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pipeops-agent}"
BIN_ROOT="$CACHE_DIR/bin"
BUILD_ROOT="$CACHE_DIR/build"
export GOFLAGS=-modcacherw GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0

START_TS=$(date +%s)
elapsed() { local s=$(( $(date +%s) - START_TS )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
step() { printf '[sandbox build %s] %s\n' "$(elapsed)" "$*"; }

# Long go builds print nothing for minutes; a ticker shows the step is alive and how long it has run.
TICKER_PID=""
start_ticker() {
  local label="$1"
  ( while sleep 20; do printf '[sandbox build %s] … still %s\n' "$(elapsed)" "$label"; done ) &
  TICKER_PID=$!
}
stop_ticker() {
  if [ -n "$TICKER_PID" ]; then kill "$TICKER_PID" 2>/dev/null || true; wait "$TICKER_PID" 2>/dev/null || true; fi
  TICKER_PID=""
}
trap stop_ticker EXIT

run_step() { # label, command...
  local label="$1"; shift
  step "$label"
  start_ticker "$label"
  "$@"
  stop_ticker
}

build_k8s() {
  local out="$BIN_ROOT/k8s-v$K8S_VERSION"
  if [ -f "$out/.complete" ] && "$out/kube-apiserver" --version 2>/dev/null | grep -q "v$K8S_VERSION\$"; then
    step "kubernetes v$K8S_VERSION + etcd v$ETCD_VERSION cached in $out"
    return
  fi
  local mod="$BUILD_ROOT/k8s-v$K8S_VERSION"
  mkdir -p "$mod" "$out"
  cd "$mod"
  [ -f go.mod ] || go mod init local/pipeops-sandbox-k8s >/dev/null 2>&1
  local modfile staging
  step "downloading k8s.io/kubernetes v$K8S_VERSION module metadata"
  modfile=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*#\1#p' "$modfile")
  # The root go.mod requires every staging module at v0.0.0; the published v0.X.Y tags replace them.
  for m in $staging; do go mod edit -replace="$m=$m@v0.${K8S_VERSION#1.}"; done
  run_step "resolving modules (kube-apiserver, controller-manager, scheduler, kubectl, etcd)" \
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-scheduler@v$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION" \
      "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  local minor=${K8S_VERSION#1.}; minor=${minor%%.*}
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.gitCommit=module-proxy -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  local cmd
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    run_step "compiling $cmd v$K8S_VERSION" \
      go build -trimpath -tags selinux,notest -ldflags "$ld" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  done
  run_step "compiling etcd v$ETCD_VERSION" \
    go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  touch "$out/.complete"
  step "kubernetes binaries ready in $out"
}

# `go install pkg@version` also fetches the module's version list for deprecation notices, which the
# proxy reachable here refuses for some modules; a throw-away wrapper module needs only the pinned version.
build_tool_module() { # name, module, version, package, output, ldflags
  local name="$1" module="$2" version="$3" pkg="$4" output="$5" ldflags="$6"
  local mod="$BUILD_ROOT/$name-v$version"
  mkdir -p "$mod"
  ( cd "$mod"
    [ -f go.mod ] || go mod init "local/pipeops-sandbox-$name" >/dev/null 2>&1
    run_step "resolving $module v$version" go get -tool "$pkg@v$version"
    run_step "compiling $name v$version" go build -trimpath -ldflags "$ldflags" -o "$output" "$pkg" )
}

build_kwok() {
  local out="$BIN_ROOT/kwok-v$KWOK_VERSION"
  if [ -f "$out/.complete" ]; then step "kwok v$KWOK_VERSION cached in $out"; return; fi
  mkdir -p "$out"
  build_tool_module kwok "sigs.k8s.io/kwok" "$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok" "$out/kwok" "-s -w"
  # v0.8.0 has no built-in stages: ship the upstream "fast" node and pod stages next to the binary.
  local stages
  stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage"
  local f
  : > "$out/stages.yaml"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$stages/$f" >> "$out/stages.yaml"; printf '\n---\n' >> "$out/stages.yaml"
  done
  touch "$out/.complete"
  step "kwok ready in $out"
}

build_chisel() {
  local out="$BIN_ROOT/chisel-v$CHISEL_VERSION"
  if [ -f "$out/.complete" ]; then step "chisel v$CHISEL_VERSION cached in $out"; return; fi
  mkdir -p "$out"
  build_tool_module chisel "github.com/jpillora/chisel" "$CHISEL_VERSION" "github.com/jpillora/chisel" "$out/chisel" \
    "-s -w -X github.com/jpillora/chisel/share.BuildVersion=$CHISEL_VERSION"
  touch "$out/.complete"
  step "chisel ready in $out"
}

build_helm() {
  local out="$BIN_ROOT/helm-v$HELM_VERSION"
  if [ -f "$out/.complete" ] && "$out/helm" version --short 2>/dev/null | grep -q "^v$HELM_VERSION"; then
    step "helm v$HELM_VERSION cached in $out"
    return
  fi
  mkdir -p "$out"
  # The same -X flags as helm's Makefile: its version, and the Kubernetes version `helm template` assumes
  # (without them it claims v1.20 and refuses charts needing newer); v3.19 is built on k8s.io 0.34.
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local p
  for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ld+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=34"
  done
  build_tool_module helm "helm.sh/helm/v3" "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm" "$out/helm" "$ld"
  touch "$out/.complete"
  step "helm ready in $out"
}

command -v go >/dev/null || { echo "go is required to build the sandbox binaries (Go 1.26+)" >&2; exit 1; }
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(k8s kwok chisel helm)
for t in "${targets[@]}"; do
  case "$t" in
    k8s) build_k8s ;;
    kwok) build_kwok ;;
    chisel) build_chisel ;;
    helm) build_helm ;;
    *) echo "unknown target '$t' (allowed: k8s, kwok, chisel, helm)" >&2; exit 2 ;;
  esac
done
step "done"
