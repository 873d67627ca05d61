"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) of `mpp-hub bench`.

The whole hub runs in one process there, so a sample is attributed to a role by the
frames on its stack (router, relay, API, adapter, simulator, the bench's own client),
and to a library by its leaf frame. Samples of threads that only wait are left out. SQLAlchemy's async calls run in greenlets whose
stacks do not reach back to the caller: those samples show as "sqlalchemy (greenlet)".
Usage: ``python -m benchmarks.profile_summary profile.raw``.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROLES = (
    ("router", ("hub/runtime/router.py",)),
    ("relay", ("hub/runtime/relay.py",)),
    ("api", ("hub/api/", "fastapi/", "starlette/", "uvicorn/")),
    ("adapter", ("adapters/sdk/runtime/", "adapters/samsat/adapter.py")),
    ("simulator", ("adapters/samsat/simulator.py", "adapters/sdk/testing/")),
    ("bench client", ("_submit_and_track", "_terminal_", "httpx/", "httpcore/")),
    ("sqlalchemy (greenlet)", ("sqlalchemy/",)),
    ("kafka client", ("aiokafka/",)),
)
#: Leaf frames of threads that wait (py-spy samples some of them as busy).
IDLE = ("Condition.wait (threading.py", "_worker (concurrent/futures/thread.py", "select (selectors.py", "_wait_ready (", "_wait_dead (")
LIBRARIES = (
    "sqlalchemy",
    "asyncpg",
    "pydantic",
    "aiokafka",
    "json",
    "logging",
    "uvicorn",
    "starlette",
    "fastapi",
    "httpx",
    "asyncio",
    "opentelemetry",
    "prometheus_client",
    "uuid",
)


def role(stack: str) -> str:
    for name, markers in ROLES:
        if any(marker in stack for marker in markers):
            return name
    return "event loop, I/O callbacks (no role on the stack)"


def library(frame: str) -> str:
    location = frame[frame.rfind("(") + 1 :]
    for name in LIBRARIES:
        if location.startswith(name + "/") or location.startswith(name + ".py") or f"/{name}/" in location:
            return name
    return location.split("/")[0].split(":")[0]


def main(path: str, top: int = 25) -> None:
    roles: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        leaf = stack.rsplit(";", 1)[-1]
        if any(marker in leaf for marker in IDLE):
            continue
        total += count
        roles[role(stack)] += count
        libraries[library(leaf)] += count
        leaves[leaf] += count
    print(f"{total} busy samples (idle waits left out)")
    for title, counter in (
        ("by role (frames on the stack)", roles),
        ("by library (leaf frame)", libraries),
        ("hottest leaf frames", leaves),
    ):
        print(f"\n{title}")
        for name, count in counter.most_common(top if counter is leaves else 15):
            print(f"  {100 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
