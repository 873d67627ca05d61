"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) of `mpp-hub bench`.

The whole hub runs in one process there, so a sample is attributed to a role by the
frames on its stack (router, relay, API, adapter, simulator, the bench's own client),
and to a library by its leaf frame. SQLAlchemy's async calls run in greenlets whose
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
    ("bench client", ("benchmarks/bench.py", "httpx/")),
    ("sqlalchemy (greenlet)", ("sqlalchemy/",)),
    ("kafka client", ("aiokafka/",)),
    ("event loop", ("asyncio/",)),
)
LIBRARIES = ("sqlalchemy", "asyncpg", "pydantic", "aiokafka", "json", "logging", "uvicorn", "starlette", "fastapi", "httpx", "asyncio", "opentelemetry", "prometheus_client", "uuid")


def role(stack: str) -> str:
    for name, markers in ROLES:
        if any(marker in stack for marker in markers):
            return name
    return "other"


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
        total += count
        leaf = stack.rsplit(";", 1)[-1]
        roles[role(stack)] += count
        libraries[library(leaf)] += count
        leaves[leaf] += count
    print(f"{total} samples")
    for title, counter in (("by role (frames on the stack)", roles), ("by library (leaf frame)", libraries), ("hottest leaf frames", leaves)):
        print(f"\n{title}")
        for name, count in counter.most_common(top if counter is leaves else 15):
            print(f"  {100 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
