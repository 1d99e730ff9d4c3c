"""The [queue] section and the Celery app made from it, against the real brokers."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from auditor.queue.celery_app import make_celery
from auditor.queue.config import QueueConfig


def test_broker_scheme_checked() -> None:
    with pytest.raises(ValidationError, match="broker_url must be"):
        QueueConfig(broker_url="http://127.0.0.1:6379/0")


def test_env_secret_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_TEST_BROKER_PW", "s3cret")
    q = QueueConfig(broker_url="amqp://guest:${AUDITOR_TEST_BROKER_PW}@127.0.0.1:5672//")
    assert q.resolved_broker_url() == "amqp://guest:s3cret@127.0.0.1:5672//"
    monkeypatch.delenv("AUDITOR_TEST_BROKER_PW")
    with pytest.raises(ValueError, match="AUDITOR_TEST_BROKER_PW is not set"):
        q.resolved_broker_url()


@pytest.mark.parametrize("env", ["AUDITOR_TEST_REDIS_URL", "AUDITOR_TEST_AMQP_URL"])
def test_app_reaches_broker(env: str) -> None:
    url = os.environ.get(env)
    if not url:
        pytest.skip(f"{env} is not set")
    app = make_celery(QueueConfig(broker_url=url, visibility_timeout_s=7200))
    assert app.conf.task_acks_late is False
    assert app.conf.broker_transport_options["visibility_timeout"] == 7200
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            assert conn.connected
    except Exception as exc:  # unreachable service: skip with the reason
        pytest.skip(f"{env} unreachable: {exc}")


def test_queue_section_in_settings() -> None:
    from auditor.config import SettingsModel

    assert SettingsModel.model_validate({}).queue is None
    s = SettingsModel.model_validate({"queue": {"broker_url": "redis://127.0.0.1:6379/0"}})
    assert s.queue is not None and s.queue.broker_url == "redis://127.0.0.1:6379/0"
    with pytest.raises(ValidationError):
        SettingsModel.model_validate({"queue": {"broker_url": "redis://x", "nope": 1}})
