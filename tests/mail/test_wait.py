"""wait_for returns once the mail is there, returns what it has at the deadline, and collects duplicates."""

from __future__ import annotations

import threading
import time

from auditor.mail import MailSink, SinkMailbox, wait_for
from auditor.store import Store
from tests.mail.mails import email, send


def send_later(port: int, delay_s: float, *subjects: str, to: str, gap_s: float = 0.0) -> threading.Thread:
    """Send the emails from another thread after `delay_s`, `gap_s` apart, like a shop's mailer."""

    def deliver() -> None:
        time.sleep(delay_s)
        for i, subject in enumerate(subjects):
            if i:
                time.sleep(gap_s)
            send(port, email(to, subject=subject))

    sender = threading.Thread(target=deliver)
    sender.start()
    return sender


async def test_it_returns_promptly_when_the_mail_arrives(sink: MailSink, store: Store, customer: str) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    start = time.monotonic()
    sender = send_later(sink.port, 0.5, "Your order", to=customer)
    found = await wait_for(mailbox, customer, since, timeout_s=30)
    took = time.monotonic() - start
    sender.join()
    assert [m.subject for m in found] == ["Your order"]
    # Polls at 0, 0.2, 0.6, 1.4, 3.0 s: found by one of the first, far from the 30 s deadline.
    assert 0.5 <= took < 5


async def test_it_returns_nothing_at_the_deadline_without_raising(store: Store, customer: str) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    start = time.monotonic()
    assert await wait_for(mailbox, customer, since, timeout_s=0.7) == []
    assert 0.7 <= time.monotonic() - start < 3


async def test_it_ignores_mail_that_does_not_match(sink: MailSink, store: Store, customer: str) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    send(sink.port, email(customer, subject="Please confirm your subscription"))
    found = await wait_for(
        mailbox, customer, since, match=lambda m: m.subject.startswith("Your order"), timeout_s=0.5
    )
    assert found == []


async def test_it_waits_for_count_messages(sink: MailSink, store: Store, customer: str) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    sender = send_later(sink.port, 0.1, "order", "account", to=customer, gap_s=0.6)
    found = await wait_for(mailbox, customer, since, count=2, timeout_s=20)
    sender.join()
    assert [m.subject for m in found] == ["order", "account"]


async def test_a_duplicate_sent_just_after_is_collected_during_settle(
    sink: MailSink, store: Store, customer: str
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    sender = send_later(sink.port, 0.1, "Your order", "Your order", to=customer, gap_s=0.5)
    start = time.monotonic()
    found = await wait_for(mailbox, customer, since, timeout_s=20, settle_s=1.5)
    sender.join()
    assert [m.subject for m in found] == ["Your order", "Your order"]
    assert time.monotonic() - start < 5


async def test_without_settle_the_first_copy_is_enough(sink: MailSink, store: Store, customer: str) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    send(sink.port, email(customer, subject="Your order"))
    sender = send_later(sink.port, 1.0, "Your order", to=customer)
    found = await wait_for(mailbox, customer, since, timeout_s=20)
    sender.join()
    assert len(found) == 1
