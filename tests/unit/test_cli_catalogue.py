"""`mpp-hub catalogue list` shows what the README promises: every service and every
composite with its provider, SLA and fee."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from hub.catalogue import Catalogue
from hub.cli import app
from hub.config import get_settings


@pytest.fixture
def listing(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The command's output lines, with the built-in catalogue and default agencies."""
    monkeypatch.delenv("MPP_CATALOGUE_PATH", raising=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["catalogue", "list"])
    assert result.exit_code == 0, result.output
    yield result.output.splitlines()
    get_settings.cache_clear()


def block_of(lines: list[str], code: str) -> list[str]:
    """The entry's header line and its indented lines, up to the next entry."""
    start = next(i for i, line in enumerate(lines) if line.split()[0] == code)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


def test_every_service_is_listed_with_provider_sla_and_fee(listing: list[str]) -> None:
    services = list(Catalogue.load())
    assert services
    for service in services:
        header, *rest = block_of(listing, service.code)
        assert header.split()[1] == service.provider, header
        assert f"SLA {service.sla_working_days:>3g} wd" in header, header
        assert f"fee: {service.fee}" in [line.strip() for line in rest], rest


def test_every_composite_is_listed_with_sla_fee_and_each_steps_provider(listing: list[str]) -> None:
    catalogue = Catalogue.load()
    composites = list(catalogue.composites())
    assert composites
    for composite in composites:
        header, *rest = block_of(listing, composite.code)
        assert f"SLA {composite.sla_working_days:>3g} wd" in header, header
        assert f"fee: {composite.fee}" in [line.strip() for line in rest], rest
        for step in composite.steps:
            provider = catalogue.get(step.service).provider  # type: ignore[union-attr]
            assert any(line.strip().startswith(f"{step.name}: {step.service} ({provider})") for line in rest), rest


def test_a_re_pointed_provider_shows_in_the_composite_step(listing: list[str]) -> None:
    # halal.certification is provided by BPJPH, not by the ministry its code suggests.
    assert any("halal: halal.certification (bpjph)" in line for line in block_of(listing, "mpp.food_business_start"))
