"""The SMTP sink keeps every email in the database, and SinkMailbox reads back exactly this run's mail.

It is as tolerant as a real MTA: bare LF line ends, lines of any length, 8-bit headers, messages up
to its size limit; what it refuses is recorded with the reason."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from auditor.errors import StoreError
from auditor.mail import (
    Cursor,
    MailboxError,
    MailSink,
    SinkMailbox,
    SinkMailboxConfig,
    open_mailbox,
    serve_sink,
)
from auditor.store import Store
from tests.mail.mails import email, send


async def test_a_message_sent_over_smtp_is_stored_with_every_recipient(
    sink: MailSink, store: Store, customer: str
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    bcc = f"bcc-{customer}"
    send(sink.port, email(customer.upper(), subject="Ünïcode subject ✓"), rcpt=[customer, bcc])

    [message] = await mailbox.fetch(customer, since)
    assert message.subject == "Ünïcode subject ✓"
    assert sorted(message.recipients) == sorted([customer, bcc])
    assert message.sender == "orders@harbor-and-pine.test"
    assert message.text.strip() == "Hi Ann,\nthanks for your order."
    assert [m.uid for m in await mailbox.fetch(bcc, since)] == [message.uid]
    assert message.received_at.tzinfo is not None


async def test_mail_from_before_the_cursor_is_not_returned(
    sink: MailSink, store: Store, customer: str
) -> None:
    mailbox = SinkMailbox(store)
    send(sink.port, email(customer, subject="an older order"))
    since = await mailbox.cursor()
    send(sink.port, email(customer, subject="this run's order"))
    assert [m.subject for m in await mailbox.fetch(customer, since)] == ["this run's order"]


@pytest.mark.parametrize(
    ("wanted", "others"),
    [
        ("a@x.test", ["aa@x.test", "a@x.test.example", "ba@x.test"]),
        ("a+1@x.test", ["a+10@x.test", "a+1@x.tes"]),
    ],
)
async def test_only_the_exact_recipient_matches_not_a_longer_address(
    sink: MailSink, store: Store, wanted: str, others: list[str]
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    for other in others:
        send(sink.port, email(other, subject=f"for {other}"))
    assert await mailbox.fetch(wanted, since) == []
    send(sink.port, email(wanted.upper(), subject="mine"))
    assert [m.subject for m in await mailbox.fetch(wanted, since)] == ["mine"]


async def test_messages_come_back_oldest_first_including_duplicates(
    sink: MailSink, store: Store, customer: str
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    for subject in ["first", "second", "second"]:
        send(sink.port, email(customer, subject=subject))
    fetched = await mailbox.fetch(customer, since)
    assert [m.subject for m in fetched] == ["first", "second", "second"]
    assert [int(m.uid) for m in fetched] == sorted(int(m.uid) for m in fetched)


async def test_a_cursor_of_another_mailbox_kind_is_refused(store: Store, customer: str) -> None:
    with pytest.raises(ValueError, match="'imap' mailbox cursor"):
        await SinkMailbox(store).fetch(customer, Cursor("imap", (1, 2)))


async def test_mail_survives_a_restart_of_the_sink(tmp_path: Path, customer: str) -> None:
    url = f"sqlite:///{tmp_path / 'sink.db'}"
    with MailSink(url, port=0) as first:
        send(first.port, email(customer, subject="before the restart"))
    with MailSink(url, port=0) as second:
        send(second.port, email(customer, subject="after the restart"))
        store = Store.open(url)
        try:
            mailbox = SinkMailbox(store)
            fetched = await mailbox.fetch(customer, Cursor("sink", (0,)))
        finally:
            store.close()
    assert [m.subject for m in fetched] == ["before the restart", "after the restart"]


def test_the_sink_accepts_any_login_because_shops_often_send_with_credentials(
    sink: MailSink, customer: str
) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        smtp.login("shop", "whatever")
        refused = smtp.send_message(email(customer))
    assert refused == {}


def test_a_message_the_sink_cannot_store_is_refused_temporarily_so_the_shop_retries(
    tmp_path: Path, customer: str
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'broken.db'}")
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE mail_recipients"))
    try:
        with MailSink(store, port=0) as sink, pytest.raises(smtplib.SMTPDataError) as refused:
            send(sink.port, email(customer))
    finally:
        store.close()
    assert refused.value.smtp_code == 451


def test_a_port_already_in_use_is_a_clear_mailbox_error(sink: MailSink, store: Store) -> None:
    with pytest.raises(MailboxError, match=rf"could not listen on 127.0.0.1:{sink.port}.*another port"):
        MailSink(store, port=sink.port).start()


def test_serve_sink_runs_until_ctrl_c_and_stores_what_it_receives(tmp_path: Path, customer: str) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    code = f"from auditor.mail import serve_sink; serve_sink({url!r}, port=0)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split("listening on 127.0.0.1:")[1].split(",")[0])
        send(port, email(customer, subject="kept by the served sink"))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    store = Store.open(url)
    try:
        [stored] = store.mail_for(customer)
    finally:
        store.close()
    assert b"kept by the served sink" in stored.raw


def test_serve_sink_with_an_unreachable_database_fails_at_once_without_showing_the_password() -> None:
    said: list[str] = []
    with pytest.raises(StoreError) as err:
        serve_sink("postgresql+psycopg://u:s3cret@127.0.0.1:1/x", port=0, announce=said.append)
    assert "s3cret" not in str(err.value)
    assert said == []


async def test_open_mailbox_starts_a_sink_when_none_listens_and_stops_it_on_close(
    store: Store, customer: str
) -> None:
    port = _free_port()
    mailbox = open_mailbox(SinkMailboxConfig(port=port), store)
    try:
        since = await mailbox.cursor()
        send(port, email(customer, subject="to the started sink"))
        assert [m.subject for m in await mailbox.fetch(customer, since)] == ["to the started sink"]
    finally:
        await mailbox.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


async def test_open_mailbox_reads_a_sink_that_is_already_running(
    sink: MailSink, store: Store, customer: str
) -> None:
    mailbox = open_mailbox(SinkMailboxConfig(port=sink.port), store)
    try:
        since = await mailbox.cursor()
        send(sink.port, email(customer, subject="to the running sink"))
        assert [m.subject for m in await mailbox.fetch(customer, since)] == ["to the running sink"]
    finally:
        await mailbox.close()
    send(sink.port, email(customer, subject="the running sink still runs"))


def test_open_mailbox_refuses_a_port_where_another_smtp_server_answers(store: Store) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def greet() -> None:
        conn, _ = server.accept()
        conn.sendall(b"220 mail.example.test ESMTP Postfix\r\n")
        conn.close()

    greeter = threading.Thread(target=greet)
    greeter.start()
    try:
        with pytest.raises(MailboxError, match=rf"another server answers on 127.0.0.1:{port}.*Postfix"):
            open_mailbox(SinkMailboxConfig(port=port), store)
    finally:
        greeter.join(5)
        server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- as tolerant as a real MTA ----------------------------------------------------------------


def _big_message(to: str, megabytes: int) -> EmailMessage:
    msg = email(to, subject=f"a {megabytes} MB message")
    msg.add_attachment(os.urandom(megabytes * 1024 * 1024 * 3 // 4), maintype="application", subtype="pdf")
    return msg


def test_a_10_mb_message_sent_as_bytes_with_bare_lf_line_ends_is_accepted_20_times_of_20(
    sink: MailSink, store: Store, customer: str
) -> None:
    if not store.url.startswith("sqlite"):
        pytest.skip("the SMTP path is the same on every database; 200 MB into PostgreSQL adds a minute")
    raw = _big_message(customer, 10).as_bytes()
    assert b"\r\n" not in raw and len(raw) > 10_000_000  # what smtplib.sendmail is handed as is
    refused = []
    for _ in range(20):
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=60) as smtp:
            refused.append(smtp.sendmail("orders@harbor-and-pine.test", [customer], raw))
    assert refused == [{}] * 20
    stored = store.mail_for(customer)
    assert len(stored) == 20
    assert all(m.raw == raw + b"\r\n" for m in stored)  # smtplib ends the data with CRLF


@pytest.mark.parametrize("length", [1_001, 5_000, 300_000])
async def test_a_line_longer_than_smtp_allows_is_kept_whole(
    sink: MailSink, store: Store, customer: str, length: int
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    line = ("long-line-" * (length // 10 + 1))[:length]
    raw = f"To: {customer}\r\nSubject: a long line\r\n\r\n{line}\r\n.leading dot\r\n".encode()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        assert smtp.sendmail("shop@x.test", [customer], raw) == {}
    [message] = await mailbox.fetch(customer, since)
    assert message.raw == raw  # smtplib stuffed the leading dot; the sink unstuffed it
    assert message.text.splitlines() == [line, ".leading dot"]


async def test_8_bit_headers_without_smtputf8_are_accepted_and_read_back(
    sink: MailSink, store: Store, customer: str
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    raw = f"From: Zoë <z@x.test>\nTo: {customer}\nSubject: Ihre Bestellung über 17,00 €\n\nDanke.\n".encode()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        assert smtp.sendmail("z@x.test", [customer], raw) == {}
    [message] = await mailbox.fetch(customer, since)
    assert message.subject == "Ihre Bestellung über 17,00 €"
    assert message.sender == "z@x.test"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.one_of(
            st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
            # Lines a dot starts are stuffed by the client and unstuffed by the sink; "." alone ends DATA.
            st.sampled_from([b".", b"..", b".x", b"", b"\r", b"\xff\xfe"]),
        ),
        max_size=12,
    ),
    ends=st.lists(st.sampled_from([b"\n", b"\r\n", b""]), min_size=12, max_size=12),
)
# An empty bare-LF line, then a lone dot (sent stuffed as b"\n..\n"): the dot's stuffing is removed.
@example(lines=[b"", b"."], ends=[b"\n"] * 12)
@example(lines=[b"", b"", b".", b"", b".x"], ends=[b"\n"] * 12)
@example(lines=[b"a", b"", b"."], ends=[b"\n", b"\n", b"\r\n"] + [b""] * 9)
def test_any_bytes_a_shop_sends_are_stored_exactly_as_sent(
    sink: MailSink, store: Store, lines: list[bytes], ends: list[bytes]
) -> None:
    recipient = f"fuzz-{uuid.uuid4().hex[:10]}@example.test"
    body = b"".join(line + end for line, end in zip(lines, ends, strict=False))
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        assert smtp.sendmail("shop@x.test", [recipient], body) == {}
    [stored] = store.mail_for(recipient)
    # smtplib ends the data with CRLF when it does not already; nothing else may change.
    assert stored.raw == body if body.endswith(b"\r\n") else stored.raw == body + b"\r\n"
    assert stored.refused is None


def test_the_sink_advertises_its_size_limit(store: Store) -> None:
    with (
        MailSink(store, port=0, max_message_bytes=123_456) as small,
        smtplib.SMTP("127.0.0.1", small.port, timeout=10) as smtp,
    ):
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == "123456"
        assert "8bitmime" in smtp.esmtp_features and "smtputf8" in smtp.esmtp_features


async def test_a_message_over_the_size_limit_is_refused_and_recorded_with_its_reason(
    store: Store, customer: str
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    msg = _big_message(customer, 1)
    with (
        MailSink(store, port=0, max_message_bytes=500_000) as small,
        pytest.raises(smtplib.SMTPDataError) as err,
    ):
        send(small.port, msg)
    assert err.value.smtp_code == 552
    assert await mailbox.fetch(customer, since) == []
    [refusal] = await mailbox.refused(customer, since)
    assert refusal.subject == "a 1 MB message"
    assert refusal.recipients == (customer,)
    assert "over the sink's limit of 500,000 bytes" in refusal.reason
    [stored] = store.mail_for(customer, int(since.position[0]))
    assert len(stored.raw) == 64 * 1024  # only its start is kept, as evidence
    assert stored.refused == refusal.reason


async def test_a_message_within_the_limit_after_a_refused_one_is_accepted_on_the_same_connection(
    store: Store, customer: str
) -> None:
    mailbox = SinkMailbox(store)
    since = await mailbox.cursor()
    with (
        MailSink(store, port=0, max_message_bytes=500_000) as small,
        smtplib.SMTP("127.0.0.1", small.port, timeout=10) as smtp,
    ):
        with pytest.raises(smtplib.SMTPDataError):
            smtp.send_message(_big_message(customer, 1))
        assert smtp.send_message(email(customer, subject="a small one")) == {}
    assert [m.subject for m in await mailbox.fetch(customer, since)] == ["a small one"]
    assert [r.subject for r in await mailbox.refused(customer, since)] == ["a 1 MB message"]


def test_open_mailbox_gives_the_sink_its_configured_size_limit(store: Store) -> None:
    port = _free_port()
    mailbox = open_mailbox(SinkMailboxConfig(port=port, max_message_mb=0.5), store)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            assert smtp.esmtp_features["size"] == str(512 * 1024)
    finally:
        asyncio.run(mailbox.close())
