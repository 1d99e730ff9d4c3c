"""Users, API tokens, the session key and the login limiter on SQLite and PostgreSQL, and the
`auditor user` / `auditor token` commands."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor import config as config_mod
from auditor.store import Store
from auditor.store.web_models import ensure_tables
from auditor.web import auth
from tests.web.dashboard_server import clean_env
from tests.web.test_api_support import database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    from auditor.store.migrate import HEAD

    if request.param == "postgresql" and HEAD < "0009":
        pytest.skip(
            "PostgreSQL is migrated with Alembic, and migration 0009 (the dashboard's tables) is not in yet"
        )
    with database(request.param, tmp_path) as url:
        s = Store.open(url)
        ensure_tables(s.engine)
        try:
            yield s
        finally:
            s.close()


def test_a_user_is_stored_with_an_argon2_hash_and_checked(store: Store) -> None:
    auth.add_user(store.engine, "ann", "long enough 1", "admin", None)
    [row] = auth.list_users(store.engine)
    assert row.password_hash.startswith("$argon2id$") and "long enough 1" not in row.password_hash
    assert auth.verify_password(row.password_hash, "long enough 1")
    assert not auth.verify_password(row.password_hash, "long enough 2")
    assert not auth.verify_password("not a hash", "long enough 1")
    with pytest.raises(ValueError, match="already a user"):
        auth.add_user(store.engine, "ann", "another one 1", "viewer", None)
    with pytest.raises(ValueError, match="role"):
        auth.add_user(store.engine, "bob", "another one 1", "root", None)


def test_a_token_acts_as_its_user_until_revoked_or_the_user_is_removed(store: Store) -> None:
    auth.add_user(store.engine, "ann", "long enough 1", "viewer", "acme")
    token = auth.add_token(store.engine, "ci", "ann")
    assert auth.user_for_token(store.engine, token) == auth.User("ann", "viewer", "acme")
    assert auth.user_for_token(store.engine, token + "x") is None
    assert auth.user_for_token(store.engine, "Bearer " + token) is None
    [(row, user)] = auth.list_tokens(store.engine)
    assert user == "ann" and row.last_used_at is not None and row.token_sha256 != token
    assert auth.revoke_token(store.engine, "ci") and auth.user_for_token(store.engine, token) is None
    again = auth.add_token(store.engine, "ci", "ann")
    assert auth.remove_user(store.engine, "ann")
    assert auth.user_for_token(store.engine, again) is None and auth.list_tokens(store.engine) == []
    with pytest.raises(ValueError, match="no user"):
        auth.add_token(store.engine, "ci", "ann")


def test_the_session_key_is_made_once_and_kept(store: Store) -> None:
    key = auth.secret_key(store.engine)
    assert len(key) >= 48 and auth.secret_key(store.engine) == key


def test_failed_logins_are_counted_per_name_and_per_address() -> None:
    limiter = auth.LoginLimiter(per_user=2, per_ip=3)
    for name in ("ann", "ANN"):
        limiter.failed(name, "10.0.0.1")
    assert limiter.retry_after("ann", "10.0.0.2") > 0  # the name is locked from any address
    assert limiter.retry_after("bob", "10.0.0.2") == 0
    limiter.failed("carl", "10.0.0.1")
    assert limiter.retry_after("dora", "10.0.0.1") > 0  # the address is locked for any name
    limiter.succeeded("ann")
    assert limiter.retry_after("ann", "10.0.0.9") == 0


def test_a_user_of_a_client_sees_only_that_clients_configured_sites() -> None:
    settings = config_mod.from_dict({"sites": {"a": {"base_url": "http://127.0.0.1:1"}}})
    assert auth.User("x", "viewer", None).can_see_site("a", settings)
    assert auth.User("x", "viewer", None).can_see_site("gone", settings)
    assert not auth.User("x", "viewer", "acme").can_see_site("gone", settings)


def run(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args, "--database-url", f"sqlite:///{cwd / 'a.db'}"],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )


def test_the_user_and_token_commands(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        "user",
        "add",
        "ann",
        "--role",
        "viewer",
        "--client",
        "acme",
        "--password-stdin",
        stdin="pw-long-enough\n",
    )
    assert added.returncode == 0 and "sees the sites of client 'acme'" in added.stdout, added.stderr
    short = run(tmp_path, "user", "add", "bob", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    assert "ann" in run(tmp_path, "user", "list").stdout and "acme" in run(tmp_path, "user", "list").stdout
    token = run(tmp_path, "token", "add", "ann")  # the user named like the token
    assert token.returncode == 0 and token.stdout.startswith("aud_") and "shown only now" in token.stderr
    listed = run(tmp_path, "token", "list").stdout
    assert "ann" in listed and token.stdout.strip() not in listed
    assert run(tmp_path, "token", "revoke", "ann").returncode == 0
    assert run(tmp_path, "token", "revoke", "ann").returncode == 4
    assert run(tmp_path, "user", "remove", "ann").returncode == 0
    assert "no users yet" in run(tmp_path, "user", "list").stdout
