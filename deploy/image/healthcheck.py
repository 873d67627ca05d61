#!/usr/bin/env python3
"""The image's HEALTHCHECK: GET /livez of the process this container runs.

One image runs every role, so the check reads the role from PID 1's command line: the
API answers on its own port (``MPP_API__PORT``), every other long-running process on
``MPP_METRICS_PORT``. One-shot commands (``db upgrade``) and the simulators have no
health endpoint and count as healthy while they run. Standard library only: it runs
in the slim image every 15 seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

SERVES_METRICS_PORT = frozenset({"relay", "router", "adapter"})


def role(cmdline: list[str]) -> str | None:
    """The subcommand after the ``mpp-hub`` executable, e.g. ``api`` or ``adapter``."""
    for index, word in enumerate(cmdline):
        if Path(word).name == "mpp-hub" and index + 1 < len(cmdline):
            return cmdline[index + 1]
    return None


def health_port(process_role: str | None, environ: dict[str, str]) -> int | None:
    """Where this role serves /livez; None when it serves none."""
    if process_role == "api":
        return int(environ.get("MPP_API__PORT", "8000"))
    if process_role in SERVES_METRICS_PORT:
        if "MPP_METRICS_PORT" not in environ:
            raise SystemExit(f"MPP_METRICS_PORT is not set: the {process_role} serves /livez on it")
        return int(environ["MPP_METRICS_PORT"])
    return None


def main() -> int:
    cmdline = [part.decode() for part in Path("/proc/1/cmdline").read_bytes().split(b"\0") if part]
    port = health_port(role(cmdline), dict(os.environ))
    if port is None:
        return 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"/livez on port {port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
