"""Passwords for demo shop accounts: salted scrypt hashes, as a real shop should store them.

The demo shop holds only hashes, so what an audit checks (log in with the password chosen or
mailed at checkout) is the same round trip a real shop makes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

# scrypt cost: about 30 ms per hash here; enough to be realistic, cheap enough for tests.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_LENGTH = 8


@dataclass(frozen=True)
class PasswordHash:
    """A salted scrypt hash of a password."""

    salt: bytes
    digest: bytes

    @classmethod
    def of(cls, password: str) -> PasswordHash:
        salt = secrets.token_bytes(16)
        return cls(salt, _scrypt(password, salt))

    def matches(self, password: str) -> bool:
        """Whether `password` is the one hashed (in constant time)."""
        return hmac.compare_digest(self.digest, _scrypt(password, self.salt))


def generate_password() -> str:
    """A password for a customer who left the field empty at checkout (mailed to them)."""
    return secrets.token_urlsafe(9)


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
