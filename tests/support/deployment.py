"""The deployment files as the real tools read them: the Helm chart rendered by
``helm template``, the Compose file resolved by ``docker-compose config``, and the
names they set checked against the hub's settings models.

The tools come from ``deploy/tools/ensure-deploy-tools.sh`` (``make test`` runs it):
helm in ``var/tools/bin``, kubernetes-validate in the venv, docker-compose from Debian.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from adapters.sdk import discovery
from hub.config import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "mpp-hub"
PRODUCTION_VALUES = DEPLOY / "helm" / "values-production.yaml"
COMPOSE_FILE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose.env.example"
COMPOSE_PROMETHEUS = DEPLOY / "compose" / "prometheus.yml"
#: `helm template` without a cluster assumes an old Kubernetes; the chart needs 1.25+.
KUBE_VERSION = "1.31.0"
#: The hub's own image in the Compose file (HUB_IMAGE's default).
HUB_IMAGE = "mpp-hub:0.1.0"
#: Variables of the env file that the infrastructure's images read, not the hub.
INFRASTRUCTURE_VARIABLES = frozenset({"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "GF_SECURITY_ADMIN_PASSWORD"})

Manifest = dict[str, Any]


class ToolMissing(RuntimeError):
    pass


def tool(name: str) -> str:
    """A tool from the project's tool folder, the venv, or the PATH."""
    for folder in (REPO / "var" / "tools" / "bin", Path(sys.executable).parent):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed: run deploy/tools/ensure-deploy-tools.sh (make test does)")
    return found


def run(*args: str, cwd: Path = REPO, env: Mapping[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    return subprocess.run(args, cwd=cwd, env=environment, input=stdin, capture_output=True, text=True, timeout=180, check=False)


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return run(tool("helm"), *args)


def render_chart(values: Path | None = None) -> str:
    """The chart's manifests as `helm template` writes them (hooks included)."""
    extra = ("-f", str(values)) if values else ()
    result = helm("template", "mpp-hub", str(CHART), "--namespace", "mpp-hub", "--kube-version", KUBE_VERSION, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def manifests(rendered: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def compose(*args: str, profiles: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """docker-compose on deploy/compose.yaml with the documented example as its env file."""
    profile_args = [arg for profile in profiles for arg in ("--profile", profile)]
    return run(tool("docker-compose"), "-f", str(COMPOSE_FILE), *profile_args, *args, cwd=DEPLOY, env={"HUB_ENV_FILE": ENV_EXAMPLE.name})


def compose_config(profiles: tuple[str, ...] = ()) -> dict[str, Any]:
    result = compose("config", profiles=profiles)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def hub_services(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The Compose services that run the hub's image."""
    return {name: service for name, service in config["services"].items() if service.get("image") == HUB_IMAGE}


def env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """An env file's variables (KEY=VALUE lines; comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value for key, value in pairs}


def pod_specs(docs: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(workload, pod spec) of every Deployment and Job."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]


def containers(docs: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    for workload, spec in pod_specs(docs):
        for container in spec["containers"]:
            yield workload, container


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def setting_problem(name: str) -> str | None:
    """Why ``name`` is not an environment variable the hub reads; None when it is one.

    ``MPP_<FIELD>`` is a field of :class:`~hub.config.Settings`, ``MPP_<SECTION>__<FIELD>``
    a field of that section's model, ``MPP_AGENCIES__<AGENCY>__<FIELD>`` a field of the
    installed agency plug-in's settings model (pydantic-settings matches them without
    regard to case)."""
    if not name.upper().startswith("MPP_"):
        return f"{name}: not an MPP_ setting"
    parts = name[len("MPP_") :].lower().split("__")
    top = Settings.model_fields.get(parts[0])
    if top is None:
        return f"{name}: hub/config.py's Settings has no field {parts[0]!r}"
    if parts[0] == "agencies":
        return _agency_problem(name, parts[1:])
    if len(parts) == 1:
        return None
    section = top.annotation
    if not (isinstance(section, type) and issubclass(section, BaseModel)):
        return f"{name}: {parts[0]!r} is not a section with fields"
    if len(parts) != 2 or parts[1] not in section.model_fields:
        return f"{name}: {section.__name__} has no field {'__'.join(parts[1:])!r}"
    return None


def _agency_problem(name: str, parts: list[str]) -> str | None:
    if len(parts) != 2:
        return f"{name}: expected MPP_AGENCIES__<AGENCY>__<FIELD>"
    agency, field = parts
    plugins = discovery.installed()
    if agency not in plugins:
        return f"{name}: no installed agency {agency!r} (installed: {', '.join(sorted(plugins))})"
    model = plugins[agency].settings_model()
    if field not in model.model_fields:
        return f"{name}: {model.__name__} of {agency} has no field {field!r}"
    return None
