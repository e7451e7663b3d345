#!/usr/bin/env bash
# Builds the real programs the tests run beside the service, from the Go module proxy, and caches them
# outside the clone, keyed by a hash of their pinned build files, so that a second run takes seconds.
#   scripts/peers.sh prometheus   -> prints the directory holding prometheus and promtool
#   scripts/peers.sh otelcol      -> prints the directory holding otelcol (the Collector, our components only)
#   scripts/peers.sh jaeger       -> prints the directory holding jaeger (the trace store standing in for Tempo)
#   scripts/peers.sh compose      -> prints the directory holding docker-compose (the Compose CLI; `config` needs no engine)
#   scripts/peers.sh --ready NAME... -> builds each missing one, a progress line each on stdout (make test, make e2e)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exemplar-demo/peers}

key_of() { # a hash of the builder function ($1), its pinned build inputs and the Go toolchain: a change of any rebuilds
  local builder=$1
  shift
  (declare -f "$builder"; cat "$@"; go version) | sha256sum | cut -c1-16
}

build_prometheus() {
  local src=$root/peers/prometheus
  local out=$cache/prometheus-$(key_of build_prometheus "$src/go.mod" "$src/go.sum")
  if [[ ! -x $out/prometheus || ! -x $out/promtool ]]; then
    echo "building Prometheus into $out (a few minutes the first time)" >&2
    # Module v0.MMP.x is release v3.MM.x; stamped so `prometheus --version` and the build-info API tell it.
    local module_version release minor patch
    module_version=$(sed -n 's#^require github.com/prometheus/prometheus v0\.\([0-9]*\)\.\([0-9]*\)$#\1 \2#p' "$src/go.mod")
    read -r minor patch <<<"$module_version"
    release="$((minor / 100)).$((minor % 100)).$patch"
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    # remove_all_sd drops the cloud service-discovery plugins we never use; static and file discovery stay.
    (cd "$src" && go build -trimpath -tags remove_all_sd \
      -ldflags "-X github.com/prometheus/common/version.Version=$release -X github.com/prometheus/common/version.Branch=release" \
      -o "$out.tmp/" \
      github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool) >&2
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  echo "$out"
}

build_otelcol() {
  local src=$root/peers/otelcol
  local out=$cache/otelcol-$(key_of build_otelcol "$src/builder-config.yaml")
  if [[ ! -x $out/otelcol ]]; then
    echo "building the OpenTelemetry Collector into $out (a few minutes the first time)" >&2
    local builder_version
    builder_version=$(sed -n 's/^ *version: *"\{0,1\}\([0-9.]*\)"\{0,1\}.*$/\1/p' "$src/builder-config.yaml" | head -1)
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    GOBIN=$out.tmp/bin go install "go.opentelemetry.io/collector/cmd/builder@v$builder_version" >&2
    "$out.tmp/bin/builder" --config "$src/builder-config.yaml" --output-path "$out.tmp/build" >&2
    mv "$out.tmp/build/otelcol" "$out.tmp/otelcol"
    rm -rf "$out.tmp/build" "$out.tmp/bin" "$out" && mv "$out.tmp" "$out"
  fi
  echo "$out"
}

build_jaeger() {
  local src=$root/peers/jaeger
  local out=$cache/jaeger-$(key_of build_jaeger "$src/go.mod" "$src/go.sum")
  if [[ ! -x $out/jaeger ]]; then
    echo "building Jaeger into $out (a few minutes the first time)" >&2
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    (cd "$src" && go build -trimpath -o "$out.tmp/" github.com/jaegertracing/jaeger/cmd/jaeger) >&2
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  echo "$out"
}

build_compose() {
  local src=$root/peers/compose
  local out=$cache/compose-$(key_of build_compose "$src/go.mod" "$src/go.sum")
  if [[ ! -x $out/docker-compose ]]; then
    echo "building Docker Compose into $out (a few minutes the first time)" >&2
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    (cd "$src" && go build -trimpath -o "$out.tmp/docker-compose" github.com/docker/compose/v2/cmd) >&2
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# What a progress line calls each peer, and how long its first build took (two shared cores, Go modules downloaded
# from the proxy and compiled from an empty Go cache; a later rebuild with a warm Go cache takes seconds).
describe_peer() {
  case $1 in
    prometheus) echo "Prometheus (first build only, about 5 min)" ;;
    otelcol) echo "the OpenTelemetry Collector (first build only, about 4 min)" ;;
    jaeger) echo "Jaeger, standing in for Tempo (first build only, about 8 min)" ;;
    compose) echo "the Docker Compose CLI (first build only, about 4 min)" ;;
  esac
}

# Builds every named peer that is missing before the tests start, so that no test spends its time budget on a build.
# The Go log goes to a file, shown only if the build fails.
ready() {
  local name log started took
  for name in "$@"; do
    declare -F "build_$name" >/dev/null || usage
    printf '%s... ' "$(describe_peer "$name")"
    log=$cache/$name.log
    mkdir -p "$cache"
    started=$SECONDS
    # A process of its own: in an `if`, bash would ignore errexit inside the builder and carry on past a failed step.
    if ! "$0" "$name" >/dev/null 2>"$log"; then
      echo "FAILED; the end of its log ($log):"
      tail -n 30 "$log"
      exit 1
    fi
    took=$((SECONDS - started))
    if grep -q '^building ' "$log"; then printf 'built in %dm%02ds\n' $((took / 60)) $((took % 60)); else echo "cached"; fi
  done
}

usage() {
  echo "usage: $0 prometheus|otelcol|jaeger|compose, or $0 --ready NAME..." >&2
  exit 2
}

case ${1:-} in
  prometheus) build_prometheus ;;
  otelcol) build_otelcol ;;
  jaeger) build_jaeger ;;
  compose) build_compose ;;
  --ready) shift; ready "$@" ;;
  *) usage ;;
esac
