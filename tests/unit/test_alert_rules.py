"""The Prometheus alerts in deploy/prometheus: valid for promtool, each with a rule unit
test that makes it fire, and reading only metrics the hub really exports.

promtool comes from Debian's ``prometheus`` package; when it is missing the test set-up
installs it (deploy/prometheus/ensure-promtool.sh), so a fresh CI machine runs these too.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import hub.observability.metrics
import messaging.metrics
from support.prometheus import BUILT_IN, PROMETHEUS_DEPLOY, ensure_promtool, exposed_names, metrics_in

PROMETHEUS = PROMETHEUS_DEPLOY
ALERTS = PROMETHEUS / "alerts.yml"
ALERT_TESTS = PROMETHEUS / "alerts_test.yml"
DEMANDED = {
    "MppConsumerLagGrowing",
    "MppOutboxBacklogOld",
    "MppDeadLettersArriving",
    "MppAdapterBreakerOpen",
    "MppSlaBreaches",
    "MppProcessDown",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return ensure_promtool()


def run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=PROMETHEUS, timeout=120)


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules(promtool: str) -> None:
    checked = run(promtool, "check", "rules", ALERTS.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_the_rule_unit_tests_pass(promtool: str) -> None:
    tested = run(promtool, "test", "rules", ALERT_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_example_scrape_configuration_is_valid(promtool: str) -> None:
    checked = run(promtool, "check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_issue_s_alerts_are_all_there() -> None:
    assert {rule["alert"] for rule in rules()} == DEMANDED


def test_every_alert_has_a_unit_test_that_makes_it_fire() -> None:
    fired = {
        case["alertname"]
        for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in rules()} <= fired


def test_every_metric_an_alert_uses_is_exported_by_the_hub() -> None:
    assert hub.observability.metrics and messaging.metrics  # imported: their metrics are registered
    exported = exposed_names(REGISTRY.collect()) | BUILT_IN
    used = {rule["alert"]: metrics_in(rule["expr"]) for rule in rules()}
    assert all(used.values()), used
    missing = {alert: names - exported for alert, names in used.items() if names - exported}
    assert missing == {}
