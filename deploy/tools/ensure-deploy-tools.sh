#!/usr/bin/env bash
# The deployment checks' tools (tests/deploy), installed when missing:
#   helm               `go install` into var/tools/bin (Go's module and build caches are
#                      per machine, so a fresh clone on a warm machine only relinks)
#   docker-compose     Debian's package (1.29: `config -q` validates offline)
#   kubernetes-validate  a test extra of pyproject.toml (pip), installed by `make install`
#
#   ensure-deploy-tools.sh           install what is missing, in the foreground
#   ensure-deploy-tools.sh --start   start helm's build in the background (about 2 minutes
#                                    cold) so it overlaps the rest of the test set-up
#   ensure-deploy-tools.sh --wait    wait for that build, then install the rest
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM_VERSION=v3.22.0
TOOLS=var/tools
BIN="$PWD/$TOOLS/bin"
LOG="$TOOLS/helm-build.log"
PIDFILE="$TOOLS/helm-build.pid"
RCFILE="$TOOLS/helm-build.rc"
mkdir -p "$BIN"

helm_ok() {
    [ -x "$BIN/helm" ] && "$BIN/helm" version --short 2>/dev/null | grep -q "^${HELM_VERSION%.*}"
}

build_helm() {
    if helm_ok; then return 0; fi
    command -v go >/dev/null || { echo "helm needs Go (1.24+) to build: install it from go.dev" >&2; return 1; }
    echo "building helm $HELM_VERSION with go install (about 2 minutes the first time on a machine)" >&2
    CGO_ENABLED=0 GOBIN="$BIN" GOFLAGS=-trimpath go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

ensure_compose() {
    command -v docker-compose >/dev/null && return 0
    echo "installing Debian's docker-compose" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends docker-compose
}

wait_for_build() {
    if [ -f "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        while kill -0 "$pid" 2>/dev/null; do sleep 1; done
        rm -f "$PIDFILE"
        if [ "$(cat "$RCFILE" 2>/dev/null || echo 1)" != 0 ]; then
            cat "$LOG" >&2
            echo "building helm failed (log above, $LOG)" >&2
            return 1
        fi
    fi
    build_helm  # nothing started, or a stale build: do it now
}

case "${1:-}" in
    --start)
        helm_ok && exit 0
        rm -f "$RCFILE"
        ( set +e; build_helm >"$LOG" 2>&1; echo $? >"$RCFILE" ) </dev/null &
        echo $! >"$PIDFILE"
        ;;
    --wait)
        wait_for_build
        ensure_compose
        ;;
    "")
        build_helm
        ensure_compose
        ;;
    *)
        echo "usage: $0 [--start|--wait]" >&2
        exit 2
        ;;
esac
