"""OpenAPI links: how one response leads to the next call (an id from the body into a path).

Clients and generators read them, and so does the schemathesis run in CI (tests/fuzz),
whose stateful phase follows them from a submitted case or webhook to its reads,
cancel and delivery log instead of guessing ids that never exist.
"""

from __future__ import annotations

from typing import Any


def link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """A link to ``method path`` filling each path parameter from a runtime expression."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": {f"path.{k}": v for k, v in parameters.items()}}


def links(status: int, **named: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """A ``responses`` entry adding ``named`` links to the ``status`` response."""
    return {status: {"links": named}}
