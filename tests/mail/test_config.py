"""Mailbox settings validate at the edge: the kind picks the model, unknown keys and bad values fail."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from auditor.mail import ImapMailboxConfig, MailboxConfig, SinkMailboxConfig

parse = TypeAdapter(MailboxConfig).validate_python


def test_the_kind_picks_the_backend_and_defaults_fill_the_rest() -> None:
    assert parse({"kind": "sink"}) == SinkMailboxConfig(host="127.0.0.1", port=8025)
    imap = parse({"kind": "imap", "host": "imap.example.test", "user": "u", "password": "p"})
    assert isinstance(imap, ImapMailboxConfig)
    assert (imap.port, imap.security, imap.folder) == (993, "ssl", "INBOX")


def test_the_password_never_shows_in_reprs_or_dumps() -> None:
    imap = parse({"kind": "imap", "host": "h", "user": "u", "password": "s3cret"})
    assert "s3cret" not in repr(imap) and "s3cret" not in str(imap.model_dump())


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"kind": "pop3"}, "union_tag_invalid"),
        ({"kind": "sink", "prot": 25}, "extra_forbidden"),
        ({"kind": "sink", "port": 0}, "greater_than_equal"),
        ({"kind": "imap", "host": "h", "user": "u"}, "missing"),
        ({"kind": "imap", "host": "h", "user": "u", "password": "p", "security": "tls"}, "literal_error"),
    ],
)
def test_a_wrong_setting_is_refused(data: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse(data)
    assert [e["type"] for e in err.value.errors()] == [problem]
