"""Small HTTP helpers every adapter needs when it reads its agency's answers."""

from __future__ import annotations

import httpx


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The agency's ``Retry-After`` in seconds (delta form), or None when absent or not a number."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
