"""The store keeps received mail with its recipients, and finds it by exact address after a position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.store import Store

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_mail_is_found_by_exact_lower_cased_recipient_after_an_id(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        assert store.last_mail_id() == 0
        first = store.add_mail(b"one", envelope_sender="shop@x.test", recipients=["A@X.test"], received_at=T0)
        store.add_mail(
            b"other", envelope_sender="", recipients=["aa@x.test", "a@x.test.example"], received_at=T0
        )
        second = store.add_mail(
            b"two",
            envelope_sender="shop@x.test",
            recipients=["a@x.test", " A@x.TEST ", "b@x.test"],
            received_at=T0 + timedelta(seconds=1),
        )
        assert first < second == store.last_mail_id()

        assert [m.raw for m in store.mail_for("a@X.test")] == [b"one", b"two"]
        [after] = store.mail_for("a@x.test", after_id=first)
        assert (after.id, after.raw, after.envelope_sender) == (second, b"two", "shop@x.test")
        assert after.recipients == ("a@x.test", "b@x.test")
        assert after.received_at == T0 + timedelta(seconds=1) and after.received_at.tzinfo is not None
        assert store.mail_for("a@x.test", after_id=second) == []
        assert store.mail_for("x.test") == []
    finally:
        store.close()


def test_raw_bytes_come_back_unchanged(db_url: str) -> None:
    raw = bytes(range(256)) * 40 + "Grüße ✓".encode()
    store = Store.open(db_url)
    try:
        store.add_mail(raw, envelope_sender="", recipients=["bin@x.test"], received_at=T0)
        assert [m.raw for m in store.mail_for("bin@x.test")] == [raw]
    finally:
        store.close()
