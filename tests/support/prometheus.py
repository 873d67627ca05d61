"""What Prometheus sees of a registry or a scrape: the sample names each metric family
exposes, and the metric names a PromQL expression reads."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PROMETHEUS_DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}
#: Prometheus's own series, not exported by any process of ours.
BUILT_IN = {"up"}

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}|\[[^\]]*\]")  # label matchers, ranges
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}


def exposed_names(families: Iterable[Any]) -> set[str]:
    """Sample names of ``families`` (``prometheus_client`` Metric objects, from a
    registry's ``collect()`` or the text parser), whether or not they have samples yet."""
    names: set[str] = set()
    for family in families:
        base = family.name.removesuffix("_total") if family.type == "counter" else family.name
        names.update(base + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def metrics_in(expression: str) -> set[str]:
    """The metric names a PromQL expression selects: every identifier that is not a
    function, a keyword, a label (in matchers and grouping clauses) or a string."""
    text = _GROUPING.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub(" ", expression)))
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}


def dashboard_expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every query of a Grafana dashboard's panels (rows' panels included)."""
    found: list[str] = []
    for panel in dashboard.get("panels", []):
        found += [target["expr"] for target in panel.get("targets", []) if "expr" in target]
        found += dashboard_expressions(panel)
    return found


def ensure_promtool() -> str:
    """promtool's path; installed first (Debian's ``prometheus`` package) when missing."""
    found = shutil.which("promtool")
    if found is None:
        installed = subprocess.run(["bash", str(PROMETHEUS_DEPLOY / "ensure-promtool.sh")], capture_output=True, text=True, timeout=600)
        assert installed.returncode == 0, f"could not install promtool: {installed.stderr}"
        found = installed.stdout.strip().splitlines()[-1]
    return found
