"""What deploy/Dockerfile promises, read from the file (no container engine can pull its
base image on these machines; docs/deploy.md says how the image was tried by hand)."""

from __future__ import annotations

import json
import re

from support.deployment import DEPLOY, REPO

DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
#: Dockerfile instructions, continuation lines joined and comments dropped.
INSTRUCTIONS = [
    line.strip() for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines() if line.strip() and not line.lstrip().startswith("#")
]


def instructions(keyword: str) -> list[str]:
    return [line.split(None, 1)[1] for line in INSTRUCTIONS if line.split(None, 1)[0].upper() == keyword]


def final_stage() -> list[str]:
    starts = [index for index, line in enumerate(INSTRUCTIONS) if line.upper().startswith("FROM ")]
    return INSTRUCTIONS[starts[-1] :]


def test_it_builds_in_stages_on_a_slim_python() -> None:
    assert len(instructions("FROM")) >= 2
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE)


def test_the_hub_runs_as_a_non_root_user_with_one_entrypoint() -> None:
    final = final_stage()
    users = [line.split(None, 1)[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    (entrypoint,) = instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["mpp-hub"]


def test_the_healthcheck_asks_livez() -> None:
    (healthcheck,) = instructions("HEALTHCHECK")
    assert "mpp-hub-healthcheck" in healthcheck
    assert "/livez" in (DEPLOY / "image" / "healthcheck.py").read_text()


def test_no_setting_or_secret_is_baked_in() -> None:
    for env in instructions("ENV") + instructions("ARG"):
        assert "MPP_" not in env, env
        assert not re.search(r"(PASSWORD|SECRET|TOKEN|API_KEY)", env, re.IGNORECASE), env


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env", "deploy/compose.env", "tests"} <= ignored
