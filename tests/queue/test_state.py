"""QueueState (auditor/queue/state.py): the queue's store layer, on real SQLite and PostgreSQL."""

from __future__ import annotations

import socket

from auditor.store import Store
from tests.queue.conftest import PrivateRedis


def test_store_fixture_is_empty(store: Store) -> None:
    assert store.recent_runs() == []


def test_private_redis_stops_and_starts(private_redis: PrivateRedis) -> None:
    assert private_redis.running
    private_redis.stop()
    assert not private_redis.running
    try:
        socket.create_connection(("127.0.0.1", private_redis.port), timeout=2).close()
        raise AssertionError("the stopped server still answers")
    except OSError:
        pass
    private_redis.start()
    assert private_redis.running and private_redis._pong()
