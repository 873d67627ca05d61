#!/usr/bin/env bash
# Make sure `promtool` (Debian's `prometheus` package) is installed; idempotent.
# Prints its path on stdout; progress goes to stderr. Installs as root, or through
# `sudo -n` otherwise. The rule tests (tests/unit/test_alert_rules.py) call this when
# promtool is missing, so a fresh CI machine gets it from `make test`.
set -euo pipefail

log() { echo "ensure-promtool: $*" >&2; }

if ! command -v promtool >/dev/null 2>&1; then
    as_root=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { log "error: promtool missing and not root (install the 'prometheus' package)"; exit 1; }
        as_root=(sudo -n)
    fi
    log "installing the 'prometheus' package (for promtool)"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -q >&2 || log "apt-get update failed; trying the cached package lists"
    # --no-install-recommends: promtool only, not the node exporter and friends.
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2
    # The package enables a Prometheus server where systemd runs; only promtool is wanted.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
        "${as_root[@]}" systemctl disable --now prometheus >&2
    fi
fi
command -v promtool
