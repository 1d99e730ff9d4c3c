"""The email check ends early with `email_refused` when the sink refused the customer's message, and
`auditor mail-sink --max-message-mb` sets the sink's limit. Real SMTP sink, real database."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from auditor.check import CheckContext
from auditor.checks.email import EmailCheck, EmailOptions
from auditor.config import SiteConfig
from auditor.mail import MailSink
from auditor.mail.sink import SinkMailbox
from auditor.results import Status
from auditor.store import Store

ORDER = "HP-40417"
# Long enough that a check waiting for its whole deadline could never pass the time bounds below.
DEADLINE_S = 300.0


@pytest.fixture(scope="module")
def small_sink(store: Store) -> Iterator[MailSink]:
    """A sink that refuses anything over 4 KB."""
    with MailSink(store, port=0, max_message_bytes=4000) as running:
        yield running


class _Resources:
    def __init__(self, mailbox: SinkMailbox) -> None:
        self._mailbox = mailbox

    async def mailbox(self) -> SinkMailbox:
        return self._mailbox


def _message(to: str, subject: str, size: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "shop@x.test"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(f"Thank you for order {ORDER}.\n" + "x" * size + "\n")
    return msg


def _send(port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


async def _check(store: Store, customer: str, **options: Any) -> tuple[Any, float, Any]:
    """Run the email check for a purchase paid now; returns (result, seconds it took, sender hook)."""
    mailbox = SinkMailbox(store)
    cursor = await mailbox.cursor()
    outputs = {
        "checkout": {
            "customer": {"email": customer, "first_name": "Ada"},
            "payment_submitted_at": datetime.now(UTC).isoformat(),
            "mail_cursor": cursor.to_dict(),
            "order_number": ORDER,
            "order_total": "",
        }
    }
    site = SiteConfig(base_url="http://127.0.0.1:9")
    ctx = CheckContext("r1", "email", site, site.base_url, Path(), outputs=outputs)
    ctx.resources = _Resources(mailbox)
    check = EmailCheck("email", EmailOptions(deadline_s=DEADLINE_S, settle_s=0, check_links=False, **options))
    started = time.monotonic()
    result = await check.run(ctx)
    return result, time.monotonic() - started, cursor


@pytest.mark.asyncio(loop_scope="module")
async def test_a_refused_confirmation_ends_the_wait_early_as_email_refused(
    store: Store, small_sink: MailSink, customer: str
) -> None:
    async def shop_sends_later() -> None:
        await asyncio.sleep(1.0)  # the check is already waiting
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(
                _send, small_sink.port, _message(customer, f"Your order #{ORDER}", 20_000)
            )
        assert refused.value.smtp_code == 552

    sending = asyncio.create_task(shop_sends_later())
    result, took, _ = await _check(store, customer)
    await sending
    assert took < 60, f"the check waited {took:.0f} s of its {DEADLINE_S:g} s deadline"
    (refused,) = result.findings
    assert refused.kind == "email_refused"
    assert "over the sink's limit of 4,000 bytes" in refused.message
    assert refused.evidence["subjects"] == [f"Your order #{ORDER}"]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_refused_message_of_another_subject_does_not_end_the_wait(
    store: Store, small_sink: MailSink, customer: str
) -> None:
    async def shop_sends() -> None:
        await asyncio.sleep(0.5)
        with pytest.raises(smtplib.SMTPDataError):
            await asyncio.to_thread(
                _send, small_sink.port, _message(customer, "Our big spring catalogue", 20_000)
            )
        await asyncio.sleep(2.0)  # well past the refusal: the check must still be waiting
        await asyncio.to_thread(_send, small_sink.port, _message(customer, f"Your order #{ORDER}", 10))

    sending = asyncio.create_task(shop_sends())
    result, took, _ = await _check(store, customer)
    await sending
    assert took < 60
    assert result.derived_status() == Status.PASS
    assert result.findings == []
    assert result.outputs["messages"]["confirmation"]["count"] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_mail_sink_max_message_mb_sets_the_limit(tmp_path: Path) -> None:
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'sink.db'}"
    auditor = Path(sys.executable).with_name("auditor")
    proc = subprocess.Popen(
        [str(auditor), "mail-sink", "--port", str(port), "--database-url", url, "--max-message-mb", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline().decode()
        assert "refusing messages over 0.01 MB" in banner, banner
        _send(port, _message("a@x.test", "small", 100))
        with pytest.raises(smtplib.SMTPDataError) as refused:
            _send(port, _message("b@x.test", "big", 20_000))  # over 10,485 bytes
        assert refused.value.smtp_code == 552
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    store = Store.open(url)
    try:
        [small] = store.mail_for("a@x.test")
        [big] = store.mail_for("b@x.test")
        assert small.refused is None and "over the sink's limit of 10,485 bytes" in (big.refused or "")
    finally:
        store.close()


def test_mail_sink_refuses_a_limit_out_of_range() -> None:
    auditor = Path(sys.executable).with_name("auditor")
    out = subprocess.run(
        [str(auditor), "mail-sink", "--max-message-mb", "0"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0 and "--max-message-mb must be above 0" in out.stderr
