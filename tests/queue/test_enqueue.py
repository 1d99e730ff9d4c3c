"""Queueing a run: the queued row first, then the task on a real broker; nothing queued when the
broker does not take it."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from kombu import Connection

from auditor.config import Settings, from_dict
from auditor.errors import BrokerUnavailable, UsageError
from auditor.queue.enqueue import TASK, enqueue, masked
from auditor.queue.state import QueueState
from auditor.results import RunStatus
from auditor.store import Store
from tests.queue.conftest import PrivateRedis, free_port


def settings_for(broker_url: str | None, queue_name: str = "auditor") -> Settings:
    data: dict[str, Any] = {
        "sites": {
            "shop-a": {"base_url": "http://127.0.0.1:9/a/", "tags": ["woo"]},
            "shop-b": {"base_url": "http://127.0.0.1:9/b/", "tags": ["woo"]},
        },
        "checks": {"links": {"kind": "crawl"}},
        "audits": {
            "nightly": {"checks": ["links"], "sites": {"tag": "woo"}},
            "one": {"checks": ["links"], "site": "shop-b"},
        },
    }
    if broker_url:
        data["queue"] = {"broker_url": broker_url, "queue_name": queue_name}
    return from_dict(data, environ={})


def drain(broker_url: str, queue_name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(headers, kwargs) of every message waiting on `queue_name`, taken off the broker."""
    got = []
    with Connection(broker_url) as conn:
        q = conn.SimpleQueue(queue_name)
        try:
            while True:
                try:
                    m = q.get(timeout=1)
                except q.Empty:
                    break
                args, kwargs, _embed = m.decode()
                assert args == []
                got.append((m.headers, kwargs))
                m.ack()
        finally:
            q.close()
    return got


@pytest.fixture(params=["redis", "amqp"])
def broker(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def test_a_queued_run_is_recorded_then_published(broker: str, store: Store) -> None:
    name = f"auditor-test-{secrets.token_hex(4)}"
    settings = settings_for(broker, name)
    run_id = enqueue(settings, store, audit="nightly", site="shop-b", trigger="schedule")
    [(headers, kwargs)] = drain(broker, name)
    assert headers["task"] == TASK
    assert kwargs["run_id"] == run_id
    assert (kwargs["audit"], kwargs["site"], kwargs["trigger"]) == ("nightly", "shop-b", "schedule")
    assert kwargs["queued_at"].startswith(run_id[:4])
    [queued] = QueueState(store).queued_runs()
    assert (queued.id, queued.site, queued.status) == (run_id, "shop-b", RunStatus.QUEUED)
    assert queued.queued_at is not None


def test_the_site_defaults_to_the_audits_one_site(redis_url: str, sqlite_store: Store) -> None:
    name = f"auditor-test-{secrets.token_hex(4)}"
    enqueue(settings_for(redis_url, name), sqlite_store, audit="one")
    [(_, kwargs)] = drain(redis_url, name)
    assert kwargs["site"] == "shop-b"


def test_a_broker_that_is_down_queues_nothing(private_redis: PrivateRedis, sqlite_store: Store) -> None:
    # Credentials the broker refuses: said in our words, the password never shown.
    refused = settings_for(f"redis://user:hunter2@127.0.0.1:{private_redis.port}/0")
    with pytest.raises(BrokerUnavailable) as e:
        enqueue(refused, sqlite_store, audit="nightly", site="shop-a")
    message = str(e.value)
    assert "hunter2" not in message and "user:***@127.0.0.1" in message
    assert "nothing was queued" in message
    settings = settings_for(private_redis.url)
    private_redis.stop()
    with pytest.raises(BrokerUnavailable, match="did not take the task"):
        enqueue(settings, sqlite_store, audit="nightly", site="shop-a")
    assert QueueState(sqlite_store).queued_runs() == []
    # Back up: the same call queues.
    private_redis.start()
    run_id = enqueue(settings, sqlite_store, audit="nightly", site="shop-a")
    assert [r.id for r in QueueState(sqlite_store).queued_runs()] == [run_id]
    assert [kw["run_id"] for _, kw in drain(private_redis.url, "auditor")] == [run_id]


def test_nothing_listens_on_the_broker_port(sqlite_store: Store) -> None:
    settings = settings_for(f"amqp://guest:guest@127.0.0.1:{free_port()}//")
    with pytest.raises(BrokerUnavailable, match="did not take the task"):
        enqueue(settings, sqlite_store, audit="one")
    assert QueueState(sqlite_store).queued_runs() == []


def test_usage_errors_say_what_to_do(sqlite_store: Store) -> None:
    with pytest.raises(UsageError, match=r"no \[queue\] section"):
        enqueue(settings_for(None), sqlite_store, audit="one")
    queued = settings_for("redis://127.0.0.1:6379/15")
    with pytest.raises(UsageError, match="no audit named 'nope'"):
        enqueue(queued, sqlite_store, audit="nope")
    with pytest.raises(UsageError, match="'shop-c' is not one of audit 'nightly''s sites: shop-a, shop-b"):
        enqueue(queued, sqlite_store, audit="nightly", site="shop-c")
    assert QueueState(sqlite_store).queued_runs() == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("amqp://guest:s3cret@rabbit:5672//", "amqp://guest:***@rabbit:5672//"),
        ("redis://:pw@127.0.0.1/0", "redis://:***@127.0.0.1/0"),
        ("redis://[bad", "<an invalid URL>"),
    ],
)
def test_masked(url: str, shown: str) -> None:
    assert masked(url) == shown


def test_a_drawn_run_id_already_taken_is_drawn_again_a_given_one_is_an_error(
    redis_url: str, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template audit of hundreds of shops queues them within one second: run ids (a second plus
    16 random bits) collide now and then (the scale bench hit one in 200); the run is queued anyway."""
    import auditor.runner
    from auditor.errors import RunIdTaken

    name = f"auditor-test-{secrets.token_hex(4)}"
    settings = settings_for(redis_url, name)
    first = enqueue(settings, sqlite_store, audit="nightly", site="shop-b")
    draws = iter([first, first, "20261203-031500-beef"])
    monkeypatch.setattr(auditor.runner, "new_run_id", lambda now=None: next(draws))
    second = enqueue(settings, sqlite_store, audit="nightly", site="shop-b")
    assert second == "20261203-031500-beef"
    with pytest.raises(RunIdTaken, match="already recorded"):
        enqueue(settings, sqlite_store, audit="nightly", site="shop-b", run_id=first)
    assert [kw["run_id"] for _, kw in drain(redis_url, name)] == [first, second]
