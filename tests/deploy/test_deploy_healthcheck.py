"""The image's HEALTHCHECK (deploy/image/healthcheck.py) asks the role's own /livez:
the API on its port, every other long-running process on MPP_METRICS_PORT."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from support.deployment import DEPLOY


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", DEPLOY / "image" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = _load()


class _Livez(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/livez" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def livez() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Livez)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def fake_proc(tmp_path: Path, *command_lines: list[str]) -> Path:
    """A /proc with one process per command line, PID 1 first."""
    for pid, words in enumerate(command_lines, start=1):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(word.encode() for word in words) + b"\0")
    return tmp_path


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["/opt/mpp-hub/bin/python", "/opt/mpp-hub/bin/mpp-hub", "api"], "api"),
        (["/opt/mpp-hub/bin/python", "/opt/mpp-hub/bin/mpp-hub", "adapter", "samsat"], "adapter"),
        (["/sbin/docker-init", "--", "mpp-hub", "db", "upgrade"], "db"),
        (["/opt/mpp-hub/bin/python", "/opt/mpp-hub/bin/mpp-hub-healthcheck"], None),
    ],
)
def test_the_role_is_the_subcommand_of_mpp_hub(cmdline: list[str], expected: str | None) -> None:
    assert healthcheck.role(cmdline) == expected


def test_each_role_is_asked_on_its_own_port() -> None:
    assert healthcheck.health_port("api", {}) == 8000
    assert healthcheck.health_port("api", {"MPP_API__PORT": "8080", "MPP_METRICS_PORT": "9100"}) == 8080
    for role in ("relay", "router", "adapter"):
        assert healthcheck.health_port(role, {"MPP_METRICS_PORT": "9100"}) == 9100
    for role in ("db", "simulator", None):
        assert healthcheck.health_port(role, {"MPP_METRICS_PORT": "9100"}) is None


def test_a_process_without_its_metrics_port_is_reported_not_guessed() -> None:
    with pytest.raises(SystemExit, match="MPP_METRICS_PORT"):
        healthcheck.health_port("router", {})


def test_healthy_when_livez_answers(tmp_path: Path, livez: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_METRICS_PORT", str(livez))
    assert healthcheck.main(fake_proc(tmp_path, ["python", "/opt/mpp-hub/bin/mpp-hub", "relay"])) == 0


def test_the_role_is_found_behind_an_init(tmp_path: Path, livez: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_API__PORT", str(livez))
    proc = fake_proc(tmp_path, ["/sbin/docker-init", "--"], ["python", "/opt/mpp-hub/bin/mpp-hub", "api"])
    assert healthcheck.main(proc) == 0


def test_unhealthy_when_nothing_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_METRICS_PORT", "1")  # nothing listens on port 1
    proc = fake_proc(tmp_path, ["python", "/opt/mpp-hub/bin/mpp-hub", "adapter", "samsat"])
    assert healthcheck.main(proc) == 1


def test_one_shot_commands_count_as_healthy(tmp_path: Path) -> None:
    assert healthcheck.main(fake_proc(tmp_path, ["python", "/opt/mpp-hub/bin/mpp-hub", "db", "upgrade"])) == 0
