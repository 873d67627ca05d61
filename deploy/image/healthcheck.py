#!/usr/bin/env python3
"""The image's HEALTHCHECK: GET /livez of the process this container runs.

One image runs every role, so the check reads the role from the command line of the
``mpp-hub`` process (PID 1, or the child of an init such as ``docker run --init``): the
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


def command_lines(proc: Path = Path("/proc")) -> list[list[str]]:
    """Every process's command line, PID 1 first."""
    pids = sorted((int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()), key=lambda pid: (pid != 1, pid))
    lines: list[list[str]] = []
    for pid in pids:
        try:
            raw = (proc / str(pid) / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        lines.append([part.decode(errors="replace") for part in raw.split(b"\0") if part])
    return lines


def main(proc: Path = Path("/proc")) -> int:
    roles = [found for cmdline in command_lines(proc) if (found := role(cmdline))]
    port = health_port(roles[0] if roles else None, dict(os.environ))
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
