"""Who is asking: users and their argon2 hashes, session cookies, CSRF, login rate limits, API tokens.

Every route calls `require_user(request)`. It accepts either

- a session: the `auditor_session` cookie, signed with the server's key (itsdangerous), HttpOnly,
  SameSite=Lax, Secure when the request came over https or the server was told so; it names the
  user, a CSRF token bound to that session, and a fragment of the user's password hash (so a new
  password or a removed user ends every session at once), and it expires after SESSION_MAX_AGE_S;
- or `Authorization: Bearer TOKEN` (an API token, stored as its SHA-256), which needs no CSRF
  token since no browser sends it by itself.

A POST with a session must carry the session's CSRF token, as the form field `csrf` or the
`X-CSRF-Token` header (HTMX sends it). Nobody logged in: `LoginRequired` (401), which the app turns
into a redirect to /login for pages and `{"error": ...}` for the API.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from auditor.store.web_models import ApiTokenRow, UserRow, WebSecretRow, ensure_tables

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from auditor.config import Settings

SESSION_COOKIE = "auditor_session"
LOGIN_COOKIE = "auditor_login"
SESSION_MAX_AGE_S = 12 * 3600
ROLES = ("admin", "viewer")
TOKEN_PREFIX = "aud_"
# Failed logins allowed per window: per user name, and per client address.
LOGIN_WINDOW_S = 15 * 60
FAILURES_PER_USER = 5
FAILURES_PER_IP = 20
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class User:
    """A logged-in user (or the user an API token acts as)."""

    name: str
    role: str
    # The one client whose sites they see; None: every site.
    client: str | None
    # The session's CSRF token; None for an API token.
    csrf: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see_site(self, site_name: str, settings: Settings) -> bool:
        """Whether this user may see `site_name`: every site without a client, else the configured
        sites of their client (a site no longer configured has no client, so only unrestricted
        users see its recorded runs)."""
        if self.client is None:
            return True
        cfg = settings.sites.get(site_name)
        return cfg is not None and getattr(cfg, "client", None) == self.client


class LoginRequired(HTTPException):
    """Nobody (valid) is logged in."""

    def __init__(self, detail: str = "log in first (or send Authorization: Bearer TOKEN)") -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Bearer realm="auditor"'})


class CsrfFailed(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            403, "this form is stale or did not come from the dashboard: reload the page and retry"
        )


# --------------------------------------------------------------------------------------------- passwords

_hasher: Any = None


def _argon2() -> Any:
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    return str(_argon2().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_argon2().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the user does not exist, so that takes as long as a wrong password.
_DUMMY_HASH: str | None = None


def dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


# ------------------------------------------------------------------------------------------ users, tokens


def add_user(engine: Engine, name: str, password: str, role: str, client: str | None) -> None:
    """Add a user; ValueError when the name is taken, the role unknown or the password empty."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 200:
        raise ValueError("a user name is 1 to 200 characters")
    if not password:
        raise ValueError("the password is empty")
    ensure_tables(engine)
    with Session(engine) as s, s.begin():
        if s.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
            raise ValueError(f"there is already a user {name!r} (`auditor user remove {name}` first)")
        s.add(
            UserRow(
                name=name,
                password_hash=hash_password(password),
                role=role,
                client=client or None,
                created_at=datetime.now(UTC),
            )
        )


def remove_user(engine: Engine, name: str) -> bool:
    """Remove a user and their API tokens; False when there is no such user."""
    with Session(engine) as s, s.begin():
        row = s.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            return False
        for token in s.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == row.id)):
            s.delete(token)
        s.delete(row)
    return True


def list_users(engine: Engine) -> list[UserRow]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(select(UserRow).order_by(UserRow.name)))


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(engine: Engine, name: str, user: str) -> str:
    """Make an API token `name` acting as `user`; returns the token (only its hash is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as s, s.begin():
        owner = s.scalar(select(UserRow).where(UserRow.name == user))
        if owner is None:
            raise ValueError(f"there is no user {user!r} (`auditor user add {user} --role viewer` first)")
        if s.scalar(select(ApiTokenRow.id).where(ApiTokenRow.name == name)) is not None:
            raise ValueError(f"there is already a token {name!r} (`auditor token revoke {name}` first)")
        s.add(
            ApiTokenRow(
                name=name, user_id=owner.id, token_sha256=_sha256(token), created_at=datetime.now(UTC)
            )
        )
    return token


def list_tokens(engine: Engine) -> list[tuple[ApiTokenRow, str]]:
    """Every token with its user's name."""
    with Session(engine, expire_on_commit=False) as s:
        rows = s.execute(
            select(ApiTokenRow, UserRow.name)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .order_by(ApiTokenRow.name)
        )
        return [(t, n) for t, n in rows]


def revoke_token(engine: Engine, name: str) -> bool:
    with Session(engine) as s, s.begin():
        row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))
        if row is None:
            return False
        s.delete(row)
    return True


def user_for_token(engine: Engine, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with Session(engine) as s, s.begin():
        found = s.execute(
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(ApiTokenRow.token_sha256 == _sha256(token))
        ).first()
        if found is None:
            return None
        row, user = found
        row.last_used_at = datetime.now(UTC)
        return User(user.name, user.role, user.client)


# ------------------------------------------------------------------------------------------------ secret


def secret_key(engine: Engine) -> str:
    """The key that signs session cookies: made on the first start and kept in the database, so
    every server process on the same store signs alike and restarts keep people logged in."""
    from sqlalchemy.exc import IntegrityError

    with Session(engine) as s:
        row = s.get(WebSecretRow, "session_key")
        if row is not None:
            return row.value
    try:
        with Session(engine) as s, s.begin():
            s.add(WebSecretRow(name="session_key", value=secrets.token_urlsafe(48)))
    except IntegrityError:  # another server process made it first
        pass
    with Session(engine) as s:
        made = s.get(WebSecretRow, "session_key")
        assert made is not None
        return made.value


# ----------------------------------------------------------------------------------------------- limits


class LoginLimiter:
    """Failed logins per user name and per client address in a sliding window (in this process)."""

    def __init__(self, per_user: int = FAILURES_PER_USER, per_ip: int = FAILURES_PER_IP) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - LOGIN_WINDOW_S:
            q.popleft()
        return q

    def retry_after(self, name: str, ip: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = time.monotonic()
        waits = []
        for key, limit in ((f"u:{name.lower()}", self.per_user), (f"ip:{ip}", self.per_ip)):
            q = self._recent(key, now)
            if len(q) >= limit:
                waits.append(int(q[0] + LOGIN_WINDOW_S - now) + 1)
        return max(waits, default=0)

    def failed(self, name: str, ip: str) -> None:
        now = time.monotonic()
        for key in (f"u:{name.lower()}", f"ip:{ip}"):
            self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"u:{name.lower()}", None)


# ---------------------------------------------------------------------------------------------- sessions


class Sessions:
    """Signs and reads session cookies."""

    def __init__(self, key: str, *, secure: bool = False) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self.secure = secure
        self._signer = URLSafeTimedSerializer(key, salt="auditor-session")
        self._login_signer = URLSafeTimedSerializer(key, salt="auditor-login-form")

    def _secure(self, request: HTTPConnection) -> bool:
        return self.secure or request.url.scheme == "https"

    def start(self, request: Request, response: Response, user: UserRow) -> None:
        value = self._signer.dumps(
            {"u": user.name, "c": secrets.token_urlsafe(24), "p": user.password_hash[-16:]}
        )
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
            path="/",
        )

    def end(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=self._secure(request)
        )

    def read(self, request: HTTPConnection) -> dict[str, str] | None:
        from itsdangerous import BadSignature

        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or len(raw) > 4096:
            return None
        try:
            data = self._signer.loads(raw, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("u", "c", "p")):
            return None
        return data

    # The login form's CSRF token: a random value in a cookie, signed into the form (double submit).
    def login_form_token(self, request: Request, response: Response) -> str:
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=3600,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
            path="/",
        )
        return str(self._login_signer.dumps(nonce))

    def login_form_ok(self, request: Request, token: str) -> bool:
        from itsdangerous import BadSignature

        nonce = request.cookies.get(LOGIN_COOKIE)
        try:
            signed = self._login_signer.loads(token, max_age=3600)
        except BadSignature:
            return False
        return bool(nonce) and isinstance(signed, str) and hmac.compare_digest(signed, nonce or "")


def _session_user(request: HTTPConnection) -> User | None:
    state = request.app.state
    data = state.sessions.read(request)
    if data is None:
        return None
    with Session(state.store.engine) as s:
        row = s.scalar(select(UserRow).where(UserRow.name == data["u"]))
        if row is None or not hmac.compare_digest(row.password_hash[-16:], data["p"]):
            return None
        return User(row.name, row.role, row.client, csrf=data["c"])


def current_user(request: HTTPConnection) -> User | None:
    """The user of the request's bearer token or session, if any (no CSRF check)."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return user_for_token(request.app.state.store.engine, header[7:].strip())
    return _session_user(request)


async def require_user(request: Request) -> User:
    """The logged-in user; `LoginRequired` (401) when there is none, `CsrfFailed` (403) for a POST
    with a session but without its CSRF token."""
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    if request.method not in SAFE_METHODS and user.csrf is not None:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
        if not sent or not hmac.compare_digest(sent, user.csrf):
            raise CsrfFailed()
    return user


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise HTTPException(403, "only an admin may do this")
