"""The dashboard's commands: `auditor serve`, `auditor user add|list|remove`, `auditor token add|list|revoke`.

Imports stay inside the functions: `auditor crawl` must not pay for Starlette or argon2.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

DATABASE_HELP = "the results database (default: the config's database_url, or $AUDITOR_DATABASE_URL)"


def _globals() -> argparse.ArgumentParser:
    """`--config` and `-v` on the actions of `user` and `token` too, as on every subcommand."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the config file (default: auditor.toml, or $AUDITOR_CONFIG)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log what happens in detail"
    )
    return p


def _store(args: argparse.Namespace) -> Any:
    from auditor.app import database_url_for
    from auditor.store import Store
    from auditor.store.web_models import ensure_tables

    store = Store.open(database_url_for(args.config, args.database_url))
    ensure_tables(store.engine)
    return store


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from auditor import config as config_mod
    from auditor.web.app import create_app

    settings = config_mod.load(args.config)
    app = create_app(
        settings, database_url=args.database_url, secure_cookies=args.secure_cookies, workers=args.workers
    )
    print(
        f"auditor: dashboard on http://{args.host}:{args.port}/ (Ctrl-C stops it)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=args.behind_proxy)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("auditor: the two passwords differ; nothing changed")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from auditor.web.auth import add_user

    password = _password(args)
    if len(password) < 8:
        print("auditor: a password has at least 8 characters; nothing changed", file=sys.stderr)
        return 2
    store = _store(args)
    try:
        add_user(store.engine, args.name, password, args.role, args.client)
    except ValueError as e:
        print(f"auditor: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()
    scope = f"the sites of client {args.client!r}" if args.client else "every site"
    print(f"added {args.role} {args.name!r}, who sees {scope}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from auditor.web.auth import list_users

    store = _store(args)
    try:
        users = list_users(store.engine)
    finally:
        store.close()
    if not users:
        print("no users yet: `auditor user add NAME --role admin` adds one")
        return 0
    print(f"{'user':<24} {'role':<8} {'client':<20} created")
    for u in users:
        print(f"{u.name:<24} {u.role:<8} {u.client or '(all)':<20} {u.created_at:%Y-%m-%d %H:%M}")
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    from auditor.web.auth import remove_user

    store = _store(args)
    try:
        removed = remove_user(store.engine, args.name)
    finally:
        store.close()
    if not removed:
        print(f"auditor: there is no user {args.name!r} (`auditor user list` lists them)", file=sys.stderr)
        return 4
    print(f"removed {args.name!r} and their API tokens; their sessions end with their next request")
    return 0


def cmd_token_add(args: argparse.Namespace) -> int:
    from auditor.web.auth import add_token

    store = _store(args)
    try:
        token = add_token(store.engine, args.name, args.user or args.name)
    except ValueError as e:
        print(f"auditor: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(token)
    print(
        f"auditor: token {args.name!r} acts as {args.user or args.name!r}; it is shown only now: send it as "
        "`Authorization: Bearer TOKEN`",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from auditor.web.auth import list_tokens

    store = _store(args)
    try:
        tokens = list_tokens(store.engine)
    finally:
        store.close()
    if not tokens:
        print("no API tokens: `auditor token add NAME --user USER` makes one")
        return 0
    print(f"{'token':<24} {'user':<24} {'created':<17} last used")
    for t, user in tokens:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        print(f"{t.name:<24} {user:<24} {t.created_at:%Y-%m-%d %H:%M} {used}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from auditor.web.auth import revoke_token

    store = _store(args)
    try:
        revoked = revoke_token(store.engine, args.name)
    finally:
        store.close()
    if not revoked:
        print(f"auditor: there is no token {args.name!r} (`auditor token list` lists them)", file=sys.stderr)
        return 4
    print(f"revoked token {args.name!r}")
    return 0


def add_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(
        sub,
        "serve",
        "serve the dashboard: every site's state, history and incidents in a browser",
        """Serves the web dashboard and its JSON API (/api/v1/) over the results database. Nothing
        is shown without a login: add a user with `auditor user add` first. It listens on
        127.0.0.1 unless told otherwise; put it behind a TLS proxy before opening it to others.""",
        ["auditor serve", "auditor serve --host 0.0.0.0 --port 8080 --secure-cookies --behind-proxy"],
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8080, help="port to listen on")
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark session cookies Secure even on plain http (when a TLS proxy is in front)",
    )
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="trust X-Forwarded-For/-Proto from the proxy (for https detection and login limits)",
    )
    p.add_argument("--workers", type=int, default=1, help="audits run at once by `run now` without a [queue]")
    p.set_defaults(func=cmd_serve)

    p = command(
        sub,
        "user",
        "add, list or remove the dashboard's users",
        """Users log in to `auditor serve`. An admin sees every site and may start runs and
        acknowledge or mute incidents; a viewer only reads. A user with --client sees only the
        sites whose `client` is that (in pages, API, badges and artifacts).""",
        [
            "auditor user add alice --role admin",
            'echo "$PASSWORD" | auditor user add shop-owner --role viewer --client acme --password-stdin',
            "auditor user list",
            "auditor user remove alice",
        ],
    )
    parent = _globals()
    users = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = users.add_parser("add", help="add a user (asks for the password twice)", parents=[parent])
    a.add_argument("name", help="the user name to log in with")
    a.add_argument(
        "--role", choices=("admin", "viewer"), required=True, help="admin: all actions; viewer: reads"
    )
    a.add_argument("--client", help="see only the sites of this client (default: every site)")
    a.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    a.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    a.set_defaults(func=cmd_user_add)
    lst = users.add_parser("list", help="list the users", parents=[parent])
    lst.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    lst.set_defaults(func=cmd_user_list)
    r = users.add_parser("remove", help="remove a user and their API tokens", parents=[parent])
    r.add_argument("name", help="the user to remove")
    r.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    r.set_defaults(func=cmd_user_remove)

    p = command(
        sub,
        "token",
        "make, list or revoke API tokens for scripts",
        """An API token acts as its user for the JSON API (/api/v1/) and /metrics: send it as
        `Authorization: Bearer TOKEN`. It is printed once when made; only its hash is kept.""",
        ["auditor token add ci --user alice", "auditor token list", "auditor token revoke ci"],
    )
    tokens = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    t = tokens.add_parser("add", help="make a token and print it (once)", parents=[parent])
    t.add_argument("name", help="a name to tell the token by")
    t.add_argument("--user", help="the user the token acts as (default: the user named NAME)")
    t.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    t.set_defaults(func=cmd_token_add)
    tl = tokens.add_parser("list", help="list the tokens (never the tokens themselves)", parents=[parent])
    tl.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    tl.set_defaults(func=cmd_token_list)
    tr = tokens.add_parser("revoke", help="revoke a token", parents=[parent])
    tr.add_argument("name", help="the token to revoke")
    tr.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    tr.set_defaults(func=cmd_token_revoke)
