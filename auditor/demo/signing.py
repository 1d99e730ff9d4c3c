"""Signed values as Django's `signing.TimestampSigner.sign_object` writes them, for download links.

A signed value is `value:timestamp:signature`: the value is URL-safe base64 of compact JSON (so it
starts `eyJ`), the timestamp is base62 seconds, the signature URL-safe base64 of an HMAC-SHA256 over
both. Real shops put such tokens in download and account links; each differs per order and per
moment, which is what makes them hard for a monitor to recognise as "the same link".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _base62(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
        if number == 0:
            return digits


class Signer:
    """Signs JSON-able values with a key of its own (a fresh one per shop unless given)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _signature(self, signed: str) -> bytes:
        # "replace": a token from a URL may hold anything; it then simply does not verify.
        return _b64(hmac.new(self._key, signed.encode("utf-8", "replace"), hashlib.sha256).digest()).encode()

    def sign(self, value: Any, *, now: float | None = None) -> str:
        """`value` as `value:timestamp:signature`."""
        payload = _b64(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{payload}:{_base62(int(time.time() if now is None else now))}"
        return f"{signed}:{self._signature(signed).decode()}"

    def unsign(self, token: str) -> Any | None:
        """The value a token carries, or None when it was not signed by this key or is malformed."""
        signed, _, signature = token.rpartition(":")
        if not signed or not hmac.compare_digest(
            self._signature(signed), signature.encode("utf-8", "replace")
        ):
            return None
        payload = signed.split(":", 1)[0]
        try:
            return json.loads(_unb64(payload))
        except (ValueError, binascii.Error):  # cannot happen for our own signatures; a key may leak
            return None
