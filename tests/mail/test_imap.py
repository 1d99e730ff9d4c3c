"""ImapMailbox against a real Dovecot on loopback: positions by UID, exact recipients, clear errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from auditor.mail import (
    Cursor,
    ImapMailbox,
    ImapMailboxConfig,
    MailboxError,
    open_mailbox,
    wait_for,
)
from auditor.store import Store
from tests.mail.dovecot import PASSWORD, USER, Dovecot, start_dovecot
from tests.mail.mails import email


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot()
    if isinstance(server, str):
        pytest.skip(server)
    yield server
    server.stop()


@pytest.fixture
async def mailbox(dovecot: Dovecot) -> AsyncIterator[ImapMailbox]:
    box = ImapMailbox("127.0.0.1", dovecot.port, user=USER, password=PASSWORD, security="none")
    yield box
    await box.close()


def deliver(dovecot: Dovecot, to: str, subject: str, folder: str = "INBOX", **headers: str) -> None:
    dovecot.append(email(to, subject=subject, **headers).as_bytes(), folder)


async def test_it_returns_only_mail_that_arrived_after_the_cursor(
    dovecot: Dovecot, mailbox: ImapMailbox, customer: str
) -> None:
    deliver(dovecot, customer, "an older order")
    since = await mailbox.cursor()
    deliver(dovecot, customer, "this run's order")
    deliver(dovecot, customer, "this run's account")
    found = await mailbox.fetch(customer, since)
    assert [m.subject for m in found] == ["this run's order", "this run's account"]
    assert found[0].received_at.tzinfo is not None and int(found[0].uid) >= since.position[1]


async def test_no_new_mail_gives_nothing_even_though_uid_n_star_matches_the_last_message(
    dovecot: Dovecot, mailbox: ImapMailbox, customer: str
) -> None:
    deliver(dovecot, customer, "before")
    since = await mailbox.cursor()
    assert await mailbox.fetch(customer, since) == []


@pytest.mark.parametrize(
    ("wanted", "others"),
    [("a@x.test", ["aa@x.test", "ba@x.test", "a@x.test.example"]), ("a+1@x.test", ["a+10@x.test"])],
)
async def test_only_the_exact_recipient_matches_though_imap_search_matches_substrings(
    dovecot: Dovecot, mailbox: ImapMailbox, wanted: str, others: list[str]
) -> None:
    since = await mailbox.cursor()
    for other in others:
        deliver(dovecot, other, f"for {other}")
    assert await mailbox.fetch(wanted, since) == []
    deliver(dovecot, wanted.upper(), "mine")
    assert [m.subject for m in await mailbox.fetch(wanted, since)] == ["mine"]


async def test_a_catch_all_delivery_is_found_by_its_delivered_to_header(
    dovecot: Dovecot, mailbox: ImapMailbox, customer: str
) -> None:
    since = await mailbox.cursor()
    deliver(dovecot, "undisclosed-recipients:;", "bcc'd to the customer", Delivered_To=customer)
    assert [m.subject for m in await mailbox.fetch(customer, since)] == ["bcc'd to the customer"]


async def test_wait_for_sees_mail_arriving_on_the_open_connection(
    dovecot: Dovecot, mailbox: ImapMailbox, customer: str
) -> None:
    since = await mailbox.cursor()
    assert await mailbox.fetch(customer, since) == []  # the connection is open and the folder selected
    deliver(dovecot, customer, "arrived later")
    found = await wait_for(mailbox, customer, since, timeout_s=10)
    assert [m.subject for m in found] == ["arrived later"]


async def test_reading_does_not_mark_the_mail_as_seen(
    dovecot: Dovecot, mailbox: ImapMailbox, customer: str
) -> None:
    from imap_tools import AND, MailBoxUnencrypted

    since = await mailbox.cursor()
    deliver(dovecot, customer, "unread")
    assert len(await mailbox.fetch(customer, since)) == 1
    with MailBoxUnencrypted("127.0.0.1", dovecot.port, timeout=10).login(USER, PASSWORD) as box:
        assert box.uids(AND(to=customer, seen=False)) != []


async def test_a_connection_the_server_dropped_is_reopened(
    dovecot: Dovecot, mailbox: ImapMailbox, customer: str
) -> None:
    since = await mailbox.cursor()
    dovecot.kick()
    deliver(dovecot, customer, "after the drop")
    assert [m.subject for m in await mailbox.fetch(customer, since)] == ["after the drop"]


async def test_a_renumbered_folder_is_an_error_not_silence(dovecot: Dovecot, customer: str) -> None:
    from imap_tools import MailBoxUnencrypted

    folder = f"Orders-{uuid.uuid4().hex[:6]}"
    with MailBoxUnencrypted("127.0.0.1", dovecot.port, timeout=10).login(USER, PASSWORD) as admin:
        admin.folder.create(folder)
        box = ImapMailbox(
            "127.0.0.1", dovecot.port, user=USER, password=PASSWORD, security="none", folder=folder
        )
        try:
            since = await box.cursor()
            await box.close()
            admin.folder.delete(folder)
            admin.folder.create(folder)
            deliver(dovecot, customer, "in the new folder", folder=folder)
            with pytest.raises(MailboxError, match=rf"{folder}.*renumbered \(UIDVALIDITY"):
                await box.fetch(customer, since)
        finally:
            await box.close()


async def test_tls_with_a_trusted_certificate_works_on_both_ports(dovecot: Dovecot, customer: str) -> None:
    for security, port in (("ssl", dovecot.tls_port), ("starttls", dovecot.port)):
        box = ImapMailbox(
            "127.0.0.1",
            port,
            user=USER,
            password=PASSWORD,
            security=security,  # type: ignore[arg-type]
            ssl_context=dovecot.client_context(),
        )
        try:
            since = await box.cursor()
            deliver(dovecot, customer, f"over {security}")
            assert [m.subject for m in await box.fetch(customer, since)] == [f"over {security}"]
        finally:
            await box.close()


async def test_an_untrusted_certificate_is_refused_with_a_clear_error(dovecot: Dovecot) -> None:
    box = ImapMailbox("127.0.0.1", dovecot.tls_port, user=USER, password=PASSWORD, security="ssl")
    with pytest.raises(
        MailboxError, match=rf"TLS connection to the IMAP server 127.0.0.1:{dovecot.tls_port}.*certif"
    ):
        await box.cursor()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"password": "wrong"},
            r"refused the login of 'shop-tests@example.test'.*Check the user and password",
        ),
        ({"folder": "Nope"}, r"has no folder 'Nope'"),
        ({"security": "ssl"}, r"could not open a TLS connection.*Check the port and `security`"),
    ],
)
async def test_a_misconfigured_mailbox_says_what_to_fix(
    dovecot: Dovecot, settings: dict[str, str], expected: str
) -> None:
    options = {"user": USER, "password": PASSWORD, "security": "none", **settings}
    box = ImapMailbox("127.0.0.1", dovecot.port, **options)  # type: ignore[arg-type]
    with pytest.raises(MailboxError, match=expected):
        await box.cursor()


async def test_an_unreachable_server_is_a_mailbox_error_naming_host_and_port() -> None:
    box = ImapMailbox("127.0.0.1", 1, user=USER, password=PASSWORD, security="none")
    with pytest.raises(MailboxError, match=r"could not connect to the IMAP server 127.0.0.1:1 \(none\)"):
        await box.cursor()


async def test_open_mailbox_builds_an_imap_mailbox_from_config(
    dovecot: Dovecot, customer: str, tmp_path: Path
) -> None:
    config = ImapMailboxConfig(
        host="127.0.0.1",
        port=dovecot.port,
        security="none",
        user=USER,
        password=PASSWORD,
    )
    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    mailbox = open_mailbox(config, store)
    try:
        since = await mailbox.cursor()
        assert since.backend == "imap"
        deliver(dovecot, customer, "configured")
        assert [m.subject for m in await mailbox.fetch(customer, since)] == ["configured"]
        assert await mailbox.fetch(customer, Cursor.from_dict(since.to_dict())) != []
    finally:
        await mailbox.close()
        store.close()
