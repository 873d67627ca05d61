"""Production mode: the hub refuses to start when its configuration is only fit for a laptop.

``MPP_ENV=production`` is the default; only ``mpp-hub dev`` and ``make run`` set
``development``. Every problem is listed at once, so an operator fixes the
configuration in one pass rather than one refusal at a time. Problems name the
setting, never its value (values are secrets).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import AnyUrl, SecretStr

from adapters.sdk import discovery
from hub.config import Settings
from hub.db.engine import is_sqlite

MIN_SECRET_BYTES = 32
#: Names of a plug-in's development settings that hold credentials (their values are refused).
SECRET_FIELD = re.compile(r"secret|password|key|token", re.IGNORECASE)
#: The hub's own development keys (hub/config.py defaults).
DEV_KEYS = frozenset({"dev-portal-key", "dev-operator-key"})


class ProductionRefused(RuntimeError):
    """The configuration is unsafe for production; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"refusing to start in production mode ({len(problems)} problem(s)):\n{listing}\n"
            "Fix them, or run a development hub with MPP_ENV=development (never with real personal data)."
        )


def ensure_production_ready(settings: Settings, agency: str | None = None) -> None:
    """Raise :class:`ProductionRefused` when ``settings`` run in production and are unsafe
    (with ``agency``: an adapter process, judged only by that agency's settings)."""
    if settings.env != "production":
        return
    found = production_problems(settings, agency)
    if found:
        raise ProductionRefused(found)


def production_problems(settings: Settings, agency: str | None = None) -> list[str]:
    """Every reason ``settings`` are not fit for production (empty when they are).

    With ``agency``, only that agency's secrets and URLs: its adapter process uses
    nothing else, and may run where the hub's API keys are not configured."""
    dev_values = _dev_values()
    if agency is not None:
        backend = settings.agencies.get(agency)
        return _agency_problems(agency, backend.model_dump(), backend, dev_values) if backend else []
    problems: list[str] = []
    for index, key in enumerate(settings.api.clients):
        problems += _weak(f"MPP_API__CLIENTS (key #{index + 1}, client {settings.api.clients[key]!r})", key, dev_values)
    for index, key in enumerate(settings.api.operator_keys):
        problems += _weak(f"MPP_API__OPERATOR_KEYS (key #{index + 1}, operator {settings.api.operator_keys[key]!r})", key, dev_values)
    for name, backend in sorted(settings.agencies.items()):
        problems += _agency_problems(name, backend.model_dump(), backend, dev_values)
    if is_sqlite(settings.database_url):
        problems.append("MPP_DATABASE_URL is SQLite; production needs PostgreSQL (postgresql+asyncpg://...)")
    if settings.webhooks.allow_private_targets:
        problems.append("MPP_WEBHOOKS__ALLOW_PRIVATE_TARGETS is true; webhooks to private addresses are for development only")
    if settings.webhooks.https_only is False:
        problems.append("MPP_WEBHOOKS__HTTPS_ONLY is false; production sends webhooks over https only")
    return problems


def _agency_problems(agency: str, fields: dict[str, Any], backend: object, dev_values: frozenset[str]) -> list[str]:
    problems: list[str] = []
    for name, value in _secret_fields(fields):
        problems += _weak(f"MPP_AGENCIES__{agency.upper()}__{name.upper()}", value, dev_values)
    for name in ("base_url", "callback_base_url"):
        url = getattr(backend, name, None)
        if isinstance(url, AnyUrl) and url.scheme != "https":
            problems.append(f"MPP_AGENCIES__{agency.upper()}__{name.upper()} is plain {url.scheme}://; production needs https://")
    return problems


def _weak(setting: str, value: str, dev_values: frozenset[str]) -> list[str]:
    if not value.strip():
        return [f"{setting} is empty"]
    if value in dev_values or value.lower().startswith("dev-"):
        return [f"{setting} is a development value"]
    if len(value.encode()) < MIN_SECRET_BYTES:
        return [f"{setting} is shorter than {MIN_SECRET_BYTES} bytes"]
    return []


def _secret_fields(fields: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The credentials among an agency's settings: the fields its model types as secrets
    (a name such as ``oauth_token_path`` or ``token_refresh_margin_seconds`` is not one)."""
    for name, value in fields.items():
        if isinstance(value, SecretStr):
            yield name, value.get_secret_value()


def _dev_values() -> frozenset[str]:
    """Every installed plug-in's development secrets, plus the hub's own dev keys."""
    values = set(DEV_KEYS)
    for plugin in discovery.installed().values():
        values.update(str(v) for k, v in plugin.dev.settings.items() if SECRET_FIELD.search(k) and isinstance(v, str))
    return frozenset(values)
