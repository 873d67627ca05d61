"""The chart and the Compose file pass the tools an operator's CI would run, offline:
`helm lint --strict`, the rendered manifests against the Kubernetes JSON schemas
(`kubernetes-validate --strict`, its bundled schemas), `docker-compose config -q`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.deployment import (
    CHART,
    PRODUCTION_VALUES,
    compose,
    helm,
    manifests,
    render_chart,
    run,
    tool,
)

VALUES = {"default values": None, "production values": PRODUCTION_VALUES}


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_the_chart_lints_strictly(values: Path | None) -> None:
    extra = ("-f", str(values)) if values else ()
    result = helm("lint", "--strict", str(CHART), *extra)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_the_rendered_manifests_match_the_kubernetes_schemas(values: Path | None, tmp_path: Path) -> None:
    rendered = tmp_path / "manifests.yaml"
    rendered.write_text(render_chart(values))
    result = run(tool("kubernetes-validate"), "--strict", "--quiet", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


def test_the_schema_check_refuses_a_field_kubernetes_does_not_know(tmp_path: Path) -> None:
    """The check above can fail: strict mode rejects a misspelt field of a rendered Deployment."""
    docs = manifests(render_chart())
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/livez", "port": 8000}}
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    result = run(tool("kubernetes-validate"), "--strict", "--quiet", str(broken))
    assert result.returncode != 0
    assert "livenesProbe" in result.stdout + result.stderr


@pytest.mark.parametrize("profiles", [(), ("simulators",)], ids=["default", "simulators profile"])
def test_the_compose_file_is_valid(profiles: tuple[str, ...]) -> None:
    result = compose("config", "-q", profiles=profiles)
    assert result.returncode == 0, result.stderr
