#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the console's browser tests; idempotent.
#
#   deploy/browser/ensure-chromium.sh      # prints the browser's path on stdout
#
# Playwright cannot download its own browser on machines without general internet
# access, so the tests drive the distribution's package (tests/browser/conftest.py
# points Playwright at it). Debian/Ubuntu, as root (re-executes itself with `sudo -n`
# otherwise). MPP_CHROMIUM overrides the path (another Chromium build).
set -euo pipefail

log() { echo "ensure-chromium: $*" >&2; }
die() { echo "ensure-chromium: error: $*" >&2; exit 1; }

BROWSER="${MPP_CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$BROWSER" ]]; then
    [[ -z "${MPP_CHROMIUM:-}" ]] || die "MPP_CHROMIUM=$BROWSER is not an executable"
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "chromium is missing and we are not root (no sudo)"
        log "not root; re-running with sudo -n"
        exec sudo -n "$0" "$@"
    fi
    log "installing Debian's chromium"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
fi
[[ -x "$BROWSER" ]] || die "no browser at $BROWSER after installing"
echo "$BROWSER"
