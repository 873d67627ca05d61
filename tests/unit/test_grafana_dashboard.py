"""deploy/grafana/mpp-hub.json: a dashboard Grafana can import, whose every query is
valid PromQL (promtool parses it as a recording rule) over metrics the hub exports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

import hub.observability.metrics
import messaging.metrics
from support.prometheus import BUILT_IN, dashboard_expressions, ensure_promtool, exposed_names, metrics_in

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "mpp-hub.json"


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def test_panels_have_unique_ids_a_templated_datasource_and_queries() -> None:
    panels = [p for p in dashboard()["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    assert panels and all(p["targets"] and p["datasource"]["uid"] == "${datasource}" for p in panels)
    assert dashboard()["templating"]["list"][0]["type"] == "datasource"


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:query_{n}", "expr": expr} for n, expr in enumerate(dashboard_expressions(dashboard()))]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([ensure_promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_metric_a_panel_shows_is_exported_by_the_hub() -> None:
    assert hub.observability.metrics and messaging.metrics  # imported: their metrics are registered
    exported = exposed_names(REGISTRY.collect()) | BUILT_IN
    used = {name for expr in dashboard_expressions(dashboard()) for name in metrics_in(expr)}
    assert used and used - exported == set()
