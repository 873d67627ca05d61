"""A real, single-node Apache Kafka broker for development and tests.

The broker is assembled from Maven Central jars (see ``deploy/kafka/pom.xml``):
no release tarball, no Docker. It runs in KRaft combined mode (broker and
controller in one JVM) on 127.0.0.1, with all of its state under one
directory::

    <home>/cluster.id          22-char base64 cluster id, generated once
    <home>/server.properties   rewritten on every start
    <home>/data/               log.dirs (meta.properties lives here once formatted)
    <home>/broker.log          JVM stdout/stderr (log4j2 console output), appended
    <home>/broker.pid          PID of the running broker

Usage::

    kafka = LocalKafka(LocalKafkaConfig(home=Path(".local/kafka")))
    kafka.start()            # idempotent; blocks until the broker answers Metadata
    print(kafka.bootstrap)   # "127.0.0.1:9092"
    kafka.stop()             # SIGTERM (clean shutdown), SIGKILL after the timeout

The client listener speaks SASL/SCRAM-SHA-512 (``SASL_PLAINTEXT`` on 127.0.0.1) and
Kafka's standard KRaft authorizer denies whatever no ACL allows
(``allow.everyone.if.no.acl.found=false``). Its one SCRAM user at start-up is the
configured admin, a super user, written into the storage when it is formatted; every
other principal and its ACLs are provisioned by the admin over the Kafka protocol
(``mpp-hub kafka principals``). The controller listener stays PLAINTEXT on 127.0.0.1
(KRaft controllers cannot authenticate with SCRAM, whose credentials live in the very
metadata they serve); its ``ANONYMOUS`` principal is a super user for that reason.
``LocalKafkaConfig(admin=None)`` gives the old plaintext broker, open to anyone.

:class:`LocalKafkaCluster` runs several such nodes as one KRaft cluster (each node
broker and controller, a static quorum of all of them, replication factor 3 and
``min.insync.replicas`` 2 on three nodes), each node in ``<home>/node-<id>``.

This module is stdlib-only and imports nothing else from ``hub``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BrokerStatus",
    "LocalKafka",
    "LocalKafkaCluster",
    "LocalKafkaConfig",
    "LocalKafkaError",
    "ScramUser",
    "ensure_jars",
    "free_port",
    "free_ports",
]

_REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_DEPLOY_DIR = _REPO_ROOT / "deploy" / "kafka"
DEFAULT_LIBS_DIR = KAFKA_DEPLOY_DIR / "libs"
POM_PATH = KAFKA_DEPLOY_DIR / "pom.xml"
LOG4J_CONFIG_PATH = KAFKA_DEPLOY_DIR / "log4j2.yaml"

#: Written into libs_dir after a complete fetch; holds the sha256 of the pom used.
MARKER_NAME = ".fetched"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

_MAIN_CLASS = "kafka.Kafka"
_FALLBACK_LOG4J = """\
Configuration:
  status: warn
  shutdownHook: disable
  Appenders:
    Console:
      name: STDOUT
      target: SYSTEM_OUT
      PatternLayout:
        pattern: "[%d{ISO8601}] %-5p %m (%c{1.})%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: org.apache.kafka.common.config.AbstractConfig
        level: WARN
"""


class LocalKafkaError(RuntimeError):
    """The local broker could not be fetched, formatted, started or stopped."""


@dataclass(frozen=True)
class ScramUser:
    name: str
    password: str = field(repr=False)


#: The development admin, the same as the hub's default Kafka credentials
#: (messaging/settings.py): known to everyone, so production refuses it.
DEV_ADMIN = ScramUser("mpp-dev", "mpp-dev-kafka-password-not-for-production")
SCRAM_MECHANISM = "SCRAM-SHA-512"
#: Written next to the data once the storage holds the admin's SCRAM credential.
_SCRAM_MARKER = "scram-admin"


@dataclass(frozen=True)
class LocalKafkaConfig:
    home: Path
    port: int = 9092
    controller_port: int = 9093
    heap_mb: int = 512
    libs_dir: Path = field(default_factory=lambda: DEFAULT_LIBS_DIR)
    admin: ScramUser | None = DEV_ADMIN  # None: a plaintext broker without authorization
    # A node of a cluster (LocalKafkaCluster sets these; the defaults are one node alone):
    node_id: int = 1
    voters: tuple[tuple[int, int], ...] = ()  # the controller quorum: (node id, controller port) of every node
    replication_factor: int = 1  # of new and internal topics
    min_insync_replicas: int = 1
    cluster_id: str | None = None  # shared by a cluster's nodes; None: generated once in home


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    home: Path


# --------------------------------------------------------------------------- jars


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _jars_ready(libs_dir: Path, digest: str) -> bool:
    marker = libs_dir / MARKER_NAME
    try:
        ok = marker.read_text().strip() == digest
    except OSError:
        return False
    return ok and any(libs_dir.glob("kafka_2.13-*.jar"))


def ensure_jars(libs_dir: Path) -> Path:
    """Make sure ``libs_dir`` holds the broker classpath; return ``libs_dir``.

    Runs ``mvn copy-dependencies`` against ``deploy/kafka/pom.xml`` once. A marker
    file (``.fetched``, holding the pom's sha256) makes later calls free; a changed
    pom triggers a clean re-fetch. The fetch goes to a temporary directory that is
    swapped in at the end, under a file lock, so concurrent callers and interrupted
    fetches never leave a mixed or half-filled classpath.
    """
    libs_dir = Path(libs_dir).resolve()
    if not POM_PATH.is_file():
        raise LocalKafkaError(f"Kafka pom not found: {POM_PATH}")
    digest = _pom_digest(POM_PATH)
    if _jars_ready(libs_dir, digest):
        return libs_dir

    libs_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = libs_dir.parent / f".{libs_dir.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _jars_ready(libs_dir, digest):  # another process fetched meanwhile
            return libs_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalKafkaError(
                "Maven ('mvn') is not on PATH; it is needed once to fetch the Kafka jars "
                f"into {libs_dir} (or run deploy/kafka/fetch-jars.sh on a machine with Maven)"
            )
        tmp = libs_dir.parent / f".{libs_dir.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            mvn,
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(POM_PATH),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ]
        try:
            proc = _run_tool(cmd, "mvn copy-dependencies", timeout=900)
        except LocalKafkaError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if proc.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
            shutil.rmtree(tmp, ignore_errors=True)
            out = "\n".join(proc.stdout.strip().splitlines()[-40:])
            raise LocalKafkaError(f"fetching Kafka jars failed (mvn exit {proc.returncode}): {' '.join(cmd)}\n{out}")
        (tmp / MARKER_NAME).write_text(digest + "\n")
        if libs_dir.exists():
            shutil.rmtree(libs_dir)
        tmp.rename(libs_dir)
    return libs_dir


def _run_tool(cmd: list[str], what: str, *, timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a build or admin tool to completion, its output (stdout and stderr) kept for the
    caller's error. A timeout names the tool, never its arguments (they may carry a secret)."""
    try:
        return subprocess.run(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalKafkaError(f"{what} timed out after {timeout:.0f} s ({cmd[0]})") from exc


# --------------------------------------------------------------------------- ports


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (racy by nature)."""
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (all sockets held open while choosing)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return bytes(buf)


def _exchange(port: int, payload: bytes, timeout: float) -> bytes | None:
    """One request (``payload`` = header + body) on a fresh connection; its response body."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(payload)) + payload)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            return _recv_exact(sock, size)
    except (OSError, ConnectionError, struct.error):
        return None


def _sasl_ready(port: int, timeout: float = 2.0) -> bool:
    """True when the SASL listener answers a SaslHandshake (v1) offering SCRAM-SHA-512.

    Before authentication a SASL listener answers nothing else; the broker opens its
    client listener only once it is ready, and clients retry a not-yet-ready broker."""
    client_id = b"mpp-hub-local-kafka"
    correlation_id = 0x4D5049
    mechanism = SCRAM_MECHANISM.encode()
    payload = struct.pack(">hhih", 17, 1, correlation_id, len(client_id)) + client_id
    payload += struct.pack(">h", len(mechanism)) + mechanism
    body = _exchange(port, payload, timeout)
    if body is None or len(body) < 6:
        return False
    corr, error_code = struct.unpack_from(">ih", body)
    return bool(corr == correlation_id and error_code == 0)


def _broker_ready(port: int, timeout: float = 2.0, brokers: int = 1) -> bool:
    """True when the broker answers a Metadata (v4) request listing >= ``brokers`` live brokers.

    The client port can accept TCP connections before request processing is enabled,
    and a fenced broker is left out of Metadata responses, so this is stricter than a
    TCP connect: once it passes, producers and consumers can work.
    """
    client_id = b"mpp-hub-local-kafka"
    correlation_id = 0x4D5048
    # Request header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id.
    # Body v4: topics=null (-1), allow_auto_topic_creation=false.
    payload = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id
    payload += struct.pack(">i?", -1, False)
    body = _exchange(port, payload, timeout)
    if body is None or len(body) < 12:
        return False
    # Response header v0: correlation_id; body v4: throttle_time_ms, brokers[] ...
    corr, _throttle, n_brokers = struct.unpack_from(">iii", body)
    return bool(corr == correlation_id and n_brokers >= max(brokers, 1))


# --------------------------------------------------------------------------- process helpers


def _proc_state(pid: int) -> str | None:
    """Single-letter state from /proc/<pid>/stat, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) S ..." -- comm may contain spaces/parens, so split after the last ')'.
    rest = stat.rsplit(")", 1)[-1].split()
    return rest[0] if rest else None


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _pid_alive(pid: int) -> bool:
    """Alive and not a zombie. Reaps the process if it is our own dead child."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child (or already reaped): fall through to /proc
    except OSError:
        pass
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _generate_cluster_id() -> str:
    """Kafka-style Uuid: url-safe base64 of 16 random bytes, no padding (22 chars)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cid.startswith("-"):  # Kafka avoids a leading '-' (CLI-unfriendly)
            return cid


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise LocalKafkaError("'java' not found (Kafka 4 needs Java 17+ on PATH or JAVA_HOME)")
    return java


# --------------------------------------------------------------------------- broker


class LocalKafka:
    """Start/stop/inspect one local broker whose state lives in ``config.home``."""

    def __init__(self, config: LocalKafkaConfig) -> None:
        self.config = config
        self.home = Path(config.home).expanduser().resolve()
        self.data_dir = self.home / "data"
        self.properties_path = self.home / "server.properties"
        self.log_path = self.home / "broker.log"
        self.pid_path = self.home / "broker.pid"
        self.cluster_id_path = self.home / "cluster.id"
        self._proc: subprocess.Popen[bytes] | None = None

    # ---- public

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.config.port}"

    def status(self) -> BrokerStatus:
        pid = self._live_pid()
        return BrokerStatus(running=pid is not None, pid=pid, bootstrap=self.bootstrap, home=self.home)

    def start(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pid, log_offset = self.launch()
        self.await_ready(pid, log_offset, deadline)

    def launch(self) -> tuple[int, int | None]:
        """Start the JVM without waiting for it to serve: a cluster's nodes must all be
        started before any of them can (the controllers need a quorum). Returns the pid
        and where this start's lines begin in the log (None: it was already running)."""
        pid = self._live_pid()
        if pid is not None:
            return pid, None  # already running (maybe started by another process)

        if self.config.port == self.config.controller_port:
            raise LocalKafkaError("port and controller_port must differ")
        for p in (self.config.port, self.config.controller_port):
            if _port_open(p):
                raise LocalKafkaError(f"port 127.0.0.1:{p} is already in use by another process (no broker of ours runs in {self.home})")

        libs = ensure_jars(self.config.libs_dir)
        self.home.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_properties()
        log4j = self._log4j_config()
        if not (self.data_dir / "meta.properties").exists():
            self._format(libs, log4j)
        self._check_admin_formatted()

        cmd = [
            _java(),
            f"-Xms{min(256, self.config.heap_mb)}m",
            f"-Xmx{self.config.heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.home}",
            "-cp",
            f"{libs}/*",
            _MAIN_CLASS,
            str(self.properties_path),
        ]
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== mpp-hub local kafka start {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
            log.flush()
            log_offset = log.tell()
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")
        return self._proc.pid, log_offset

    def await_ready(self, pid: int, log_offset: int | None, deadline: float) -> None:
        """Wait until the node started by :meth:`launch` serves; stop it when it cannot."""
        try:
            self._wait_ready(pid, deadline, log_offset=log_offset)
        except LocalKafkaError:
            if log_offset is not None:  # ours, this start: do not leave it half up
                self._terminate(pid, timeout=10.0)
                self.pid_path.unlink(missing_ok=True)
            raise

    def stop(self, timeout: float = 30.0) -> None:
        pid = self._live_pid()
        if pid is not None:
            self._terminate(pid, timeout=timeout)
        self.pid_path.unlink(missing_ok=True)
        self._proc = None

    def kill(self) -> None:
        pid = self._live_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_dead(pid, 10.0)
        self.pid_path.unlink(missing_ok=True)
        self._proc = None

    # ---- internals

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _is_our_broker(self, pid: int) -> bool:
        """Guard against stale pid files whose PID now belongs to something else."""
        args = _cmdline(pid)
        if not args:
            # cmdline unreadable (e.g. process just exiting); trust our own child only
            return self._proc is not None and self._proc.pid == pid
        return _MAIN_CLASS in args and str(self.properties_path) in args

    def _live_pid(self) -> int | None:
        pid = self._read_pid()
        if pid is None:
            return None
        if self._alive(pid) and self._is_our_broker(pid):
            return pid
        # stale pid file: the broker died (or was killed) without stop()
        self.pid_path.unlink(missing_ok=True)
        return None

    def _alive(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None
        return _pid_alive(pid)

    def _wait_dead(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive(pid):
                return True
            time.sleep(0.1)
        return not self._alive(pid)

    def _terminate(self, pid: int, timeout: float) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if self._wait_dead(pid, timeout):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        if not self._wait_dead(pid, 10.0):
            raise LocalKafkaError(f"broker pid {pid} did not exit after SIGKILL")

    def _wait_ready(self, pid: int, deadline: float, log_offset: int | None) -> None:
        while True:
            if not self._alive(pid):
                code = self._proc.returncode if self._proc is not None and self._proc.pid == pid else None
                raise LocalKafkaError(
                    f"Kafka broker (pid {pid}) exited during startup"
                    + (f" with code {code}" if code is not None else "")
                    + f"; last lines of {self.log_path}:\n{self._log_tail(log_offset)}"
                )
            if (_broker_ready if self.config.admin is None else _sasl_ready)(self.config.port):
                return
            if time.monotonic() >= deadline:
                raise LocalKafkaError(
                    f"Kafka broker (pid {pid}) not ready on {self.bootstrap} in time; "
                    f"last lines of {self.log_path}:\n{self._log_tail(log_offset)}"
                )
            time.sleep(0.2)

    def _log_tail(self, offset: int | None, lines: int = 40) -> str:
        try:
            with open(self.log_path, "rb") as f:
                if offset is not None:
                    f.seek(offset)
                else:
                    f.seek(max(0, f.seek(0, os.SEEK_END) - 64 * 1024))
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def _cluster_id(self) -> str:
        if self.config.cluster_id is not None:
            return self.config.cluster_id
        try:
            cid = self.cluster_id_path.read_text().strip()
            if len(cid) == 22:
                return cid
        except OSError:
            pass
        cid = _generate_cluster_id()
        self.cluster_id_path.write_text(cid + "\n")
        return cid

    def _check_admin_formatted(self) -> None:
        """SCRAM users are written when the storage is formatted: a broker formatted as
        plaintext, or for another admin, would start with nobody able to sign in."""
        admin = self.config.admin
        if admin is None:
            return
        try:
            formatted_for = (self.data_dir / _SCRAM_MARKER).read_text().strip()
        except OSError:
            formatted_for = None
        if formatted_for != admin.name:
            raise LocalKafkaError(
                f"the broker data in {self.data_dir} was formatted without the SCRAM admin {admin.name!r} "
                "(an older plaintext broker?); stop it and delete that directory to start afresh"
            )

    def _log4j_config(self) -> Path:
        if LOG4J_CONFIG_PATH.is_file():
            return LOG4J_CONFIG_PATH
        fallback = self.home / "log4j2.yaml"
        fallback.write_text(_FALLBACK_LOG4J)
        return fallback

    def _write_properties(self) -> None:
        c = self.config
        voters = c.voters or ((c.node_id, c.controller_port),)
        rf, min_isr = str(c.replication_factor), str(c.min_insync_replicas)
        props = self._listener_properties()
        props |= {
            # KRaft combined mode, static quorum (this node alone, or every node of a cluster)
            "process.roles": "broker,controller",
            "node.id": str(c.node_id),
            "controller.quorum.voters": ",".join(f"{node}@127.0.0.1:{port}" for node, port in voters),
            "controller.listener.names": "CONTROLLER",
            "log.dirs": str(self.data_dir),
            # topics
            "num.partitions": "3",
            "default.replication.factor": rf,
            "min.insync.replicas": min_isr,
            "unclean.leader.election.enable": "false",  # never a lagging copy as leader: acked writes stay
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            # internal topics as replicated as the data (fewer partitions: faster first group/txn use)
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min_isr,
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": min_isr,
            # consumer groups start at once instead of waiting 3 s for more members
            "group.initial.rebalance.delay.ms": "0",
            # small heap: the cleaner's dedupe buffer defaults to 128 MiB
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
            "num.recovery.threads.per.data.dir": "2",
            # after kill -9 the restarted broker cannot register until the old
            # incarnation's session expires (default 9 s); keep that short
            "broker.heartbeat.interval.ms": "1000",
            "broker.session.timeout.ms": "4000",
        }
        if len(voters) > 1:  # several JVMs share the machine: fewer threads each
            props |= {"num.network.threads": "2", "num.io.threads": "2"}
        text = "# Generated by deploy/kafka/local_kafka.py on every start; edits are overwritten.\n"
        text += "".join(f"{k}={v}\n" for k, v in props.items())
        # It holds the admin's password: readable by its owner alone.
        self.properties_path.touch(mode=0o600)
        self.properties_path.chmod(0o600)
        self.properties_path.write_text(text)

    def _listener_properties(self) -> dict[str, str]:
        c = self.config
        if c.admin is None:
            return {
                "listeners": f"PLAINTEXT://127.0.0.1:{c.port},CONTROLLER://127.0.0.1:{c.controller_port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{c.port}",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name": "PLAINTEXT",
            }
        jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{c.admin.name}" password="{c.admin.password}";'
        return {
            "listeners": f"SASL_PLAINTEXT://127.0.0.1:{c.port},CONTROLLER://127.0.0.1:{c.controller_port}",
            "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{c.port}",
            "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            f"listener.name.sasl_plaintext.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": jaas,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            # ANONYMOUS: the plaintext controller listener on 127.0.0.1 (see the module docstring)
            "super.users": f"User:{c.admin.name};User:ANONYMOUS",
        }

    def _format(self, libs: Path, log4j: Path) -> None:
        cmd = [
            _java(),
            "-Xmx256m",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self._cluster_id(),
            "-c",
            str(self.properties_path),
            # static controller.quorum.voters => no --standalone / --initial-controllers
        ]
        admin = self.config.admin
        if admin is not None:
            cmd += ["--add-scram", f"{SCRAM_MECHANISM}=[name={admin.name},password={admin.password}]"]
        proc = _run_tool(cmd, "formatting Kafka storage", timeout=120, cwd=self.home)
        if proc.returncode != 0 or not (self.data_dir / "meta.properties").exists():
            raise LocalKafkaError(f"formatting Kafka storage failed (exit {proc.returncode}): {cmd[0]} ... format\n" + proc.stdout.strip())
        if admin is not None:
            (self.data_dir / _SCRAM_MARKER).write_text(admin.name + "\n")


# --------------------------------------------------------------------------- cluster


class LocalKafkaCluster:
    """Several local nodes as one KRaft cluster: each node broker and controller, a
    static quorum of all of them, their state in ``<home>/node-<id>`` under one cluster
    id. On three nodes topics get replication factor 3 and ``min.insync.replicas`` 2:
    an ``acks=all`` write survives losing a node, and writes stop rather than go to a
    single copy when two are gone. Stop or kill one node with :meth:`node`."""

    def __init__(
        self,
        home: Path,
        ports: list[int],
        controller_ports: list[int],
        heap_mb: int = 256,
        libs_dir: Path = DEFAULT_LIBS_DIR,
        admin: ScramUser | None = DEV_ADMIN,
    ) -> None:
        if len(ports) != len(controller_ports) or not ports:
            raise LocalKafkaError("a cluster needs one client and one controller port per node")
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        voters = tuple((i + 1, port) for i, port in enumerate(controller_ports))
        replication = min(3, len(ports))
        self.nodes = [
            LocalKafka(
                LocalKafkaConfig(
                    home=self.home / f"node-{node_id}",
                    port=port,
                    controller_port=controller_port,
                    heap_mb=heap_mb,
                    libs_dir=libs_dir,
                    admin=admin,
                    node_id=node_id,
                    voters=voters,
                    replication_factor=replication,
                    min_insync_replicas=max(1, replication - 1),
                    cluster_id=self._cluster_id(),
                )
            )
            for (node_id, controller_port), port in zip(voters, ports, strict=True)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def replication_factor(self) -> int:
        return self.nodes[0].config.replication_factor

    @property
    def min_insync_replicas(self) -> int:
        return self.nodes[0].config.min_insync_replicas

    def node(self, node_id: int) -> LocalKafka:
        return self.nodes[node_id - 1]

    def status(self) -> list[BrokerStatus]:
        return [node.status() for node in self.nodes]

    def start(self, timeout: float = 180.0) -> None:
        """Start every node (all at once: the controllers need each other for a quorum),
        return when each serves and sees all of them; on failure stop what this started."""
        deadline = time.monotonic() + timeout
        launched: list[tuple[LocalKafka, int, int | None]] = []
        try:
            for node in self.nodes:
                launched.append((node, *node.launch()))
            for node, pid, log_offset in launched:
                node.await_ready(pid, log_offset, deadline)
            self._await_all_registered(deadline)
        except LocalKafkaError:
            for node, _pid, log_offset in launched:
                if log_offset is not None:
                    node.stop(timeout=10.0)
            raise

    def stop(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            node.stop(timeout=timeout)

    def _await_all_registered(self, deadline: float) -> None:
        if self.nodes[0].config.admin is not None:
            # A SASL listener answers nothing before sign-in, and a node opens it only once
            # it serves (registered and unfenced): every node ready is every node registered.
            return
        while not all(_broker_ready(node.config.port, brokers=len(self.nodes)) for node in self.nodes):
            if time.monotonic() >= deadline:
                raise LocalKafkaError(f"the cluster at {self.bootstrap} did not see all {len(self.nodes)} brokers in time")
            time.sleep(0.2)

    def _cluster_id(self) -> str:
        path = self.home / "cluster.id"
        try:
            cid = path.read_text().strip()
            if len(cid) == 22:
                return cid
        except OSError:
            pass
        cid = _generate_cluster_id()
        path.write_text(cid + "\n")
        return cid
