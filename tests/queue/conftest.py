"""Fixtures of the queue tests: real PostgreSQL, SQLite, Redis and RabbitMQ, and a Redis of a test's own.

Every fixture that needs a service skips with the reason when its environment variable
(AUDITOR_TEST_POSTGRES_URL, AUDITOR_TEST_REDIS_URL, AUDITOR_TEST_AMQP_URL) is unset or the service does
not answer, so the suite passes without any broker, as the issue asks.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from auditor.config import load
from auditor.queue.state import QueueState
from auditor.store import Store
from auditor.store.models import Base
from tests.queue.cluster import Worker


def _reachable(url: str, default_port: int) -> str | None:
    """None when something listens at `url`'s host and port, else why not (for the skip reason)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as exc:
        return f"{host}:{port} does not answer ({exc})"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database made for this test module, dropped after it."""
    base = os.environ.get("AUDITOR_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("AUDITOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    name = f"auditor_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        pytest.skip(f"AUDITOR_TEST_POSTGRES_URL unreachable: {exc}")
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty(store: Store) -> None:
    """Delete every row of the schema's tables, so the module's one database starts each test empty."""
    with store.engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on SQLite and on PostgreSQL (the module's database; skipped without one)."""
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'queue.db'}")
        yield s
        s.close()
        return
    url = request.getfixturevalue("pg_url")
    s = Store.open(url)
    _empty(s)
    try:
        yield s
    finally:
        _empty(s)
        s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated store on SQLite only (for tests about one machine)."""
    s = Store.open(f"sqlite:///{tmp_path / 'queue.db'}")
    yield s
    s.close()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    """A migrated, empty store on the module's PostgreSQL database (skipped without one)."""
    s = Store.open(pg_url)
    _empty(s)
    try:
        yield s
    finally:
        _empty(s)
        s.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """AUDITOR_TEST_REDIS_URL (the shared Redis, db 15), skipped when unset or not answering."""
    url = os.environ.get("AUDITOR_TEST_REDIS_URL")
    if not url:
        pytest.skip("AUDITOR_TEST_REDIS_URL is not set: no Redis to test against")
    why = _reachable(url, 6379)
    if why:
        pytest.skip(f"AUDITOR_TEST_REDIS_URL unreachable: {why}")
    return url


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """AUDITOR_TEST_AMQP_URL (the shared RabbitMQ), skipped when unset or not answering."""
    url = os.environ.get("AUDITOR_TEST_AMQP_URL")
    if not url:
        pytest.skip("AUDITOR_TEST_AMQP_URL is not set: no RabbitMQ to test against")
    why = _reachable(url, 5672)
    if why:
        pytest.skip(f"AUDITOR_TEST_AMQP_URL unreachable: {why}")
    return url


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of a test's own on a free port, which the test may stop() and start() again.

    It keeps nothing on disk (`--save "" --appendonly no`), so a restart is an empty broker, as a
    crashed one without persistence would be. Never the system Redis: other engineers' tests use it.
    """

    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server is not installed: no private Redis to stop and restart")
        self.exe = exe
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker URL of this server (db 0: it is ours alone)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server (again, on the same port) and wait until it answers PING."""
        if self.proc is not None and self.proc.poll() is None:
            return
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited with {self.proc.returncode}")
            if self._pong():
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server on port {self.port} did not answer PING within {timeout_s} s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and wait until the port is closed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    @property
    def running(self) -> bool:
        """Whether the server process is up."""
        return self.proc is not None and self.proc.poll() is None

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running redis-server of this test's own (see PrivateRedis), killed after the test."""
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Any]:
    """Write a config for this test's sites and start workers on demand; everything stops after."""
    workers: list[Worker] = []
    queue = f"auditor-test-{secrets.token_hex(4)}"
    store = Store.open(pg_url)
    with store.engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(table.delete())

    class Cluster:
        def __init__(self) -> None:
            self.store, self.queue, self.config = store, queue, tmp_path / "auditor.toml"

        def configure(self, body: str, broker_url: str | None = None, **queue_keys: Any) -> Any:
            keys = {"heartbeat_interval_s": 1, "stale_after_s": 4, "stop_timeout_s": 3, **queue_keys}
            extra = "".join(f"{k} = {v}\n" for k, v in keys.items())
            self.config.write_text(
                f'database_url = "{pg_url}"\nreport_dir = "{tmp_path / "reports"}"\n\n{body}\n'
                f'[queue]\nbroker_url = "{broker_url or redis_url}"\nqueue_name = "{queue}"\n{extra}',
                encoding="utf-8",
            )
            self.settings = load(self.config)
            return self.settings

        def start(self, concurrency: int = 1, *extra: str) -> Worker:
            w = Worker(self.config, tmp_path / f"worker-{len(workers)}.log", concurrency, extra)
            workers.append(w)
            return w

        def live(self) -> int:
            return len(QueueState(store).workers(live_within_s=4))

        def logs(self) -> str:
            return "\n".join(f"--- {w.log.name}\n{w.text()}" for w in workers)

        def status(self, run_id: str) -> str | None:
            run = store.load_run(run_id)
            return str(run.status) if run else None

    try:
        yield Cluster()
    finally:
        for w in workers:
            w.stop()
        from tests.queue.test_enqueue import drain

        drain(redis_url, queue)
        store.close()
