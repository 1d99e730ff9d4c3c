"""The SMTP sink keeps every email in the database, and SinkMailbox reads back exactly this run's mail."""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
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
