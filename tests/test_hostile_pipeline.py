"""Hostile URLs through the whole pipeline: a real loopback site (pages, a stylesheet, a sitemap) and
real emails in the SMTP sink, the real crawl and email checks run by the real runner, findings in a
real SQLite store, every report written. Whatever the URLs, the check ends as `fail` (never
`error`), the run has no internal error, and every planted dead link is reported."""

from __future__ import annotations

import asyncio
import html
import smtplib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from auditor import config
from auditor.check import Check, CheckContext
from auditor.mail import MailSink
from auditor.registry import register
from auditor.results import CheckResult, RunStatus, Status
from auditor.runner import RunOptions, run_audit
from auditor.store import Store

HOSTILE = [
    "http://[bad",
    "https://example]org/",
    "//////",
    "http:",
    "http:/",
    "javascript:alert(1)",
    "http://☃.example/",
    "http://a\x00b/",
    "http://\ud800.example/",
    "/\udfff",
    "data:image/png;base64,AAAA,BBBB,CCCC",
    "http://x:99999/",
    "http://%zz/",
    "&#x3D;&amp;&lt;",
    "http://127.0.0.1:1/" + "a" * 5000,
    "mailto:",
    "#:~:text=hello",
]
url_strategy = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
PAGES: dict[str, tuple[str, bytes]] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = PAGES.get(self.path.split("?")[0])
        status, (ctype, body) = (200, found) if found else (404, ("text/plain", b"gone"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'auditor.db'}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def sink(store: Store) -> Iterator[MailSink]:
    with MailSink(store, port=0) as running:
        yield running


def attr(url: str) -> str:
    return html.escape(url, quote=True)


def run(settings_: config.Settings, store: Store, folder: Path) -> Any:
    opts = RunOptions(recorder=store, report_dir=folder)
    return asyncio.run(run_audit(settings_, "a", opts))


def assert_reported(result: Any, folder: Path, dead: set[str]) -> None:
    check = result.checks[-1]
    assert check.derived_status() == Status.FAIL, (check.message, result.internal_errors)
    assert result.internal_errors == [] and result.status == RunStatus.FAIL
    assert dead <= {f.url for f in check.findings}
    for name in ("report.json", "report.html", "junit.xml", "summary.md"):
        assert (folder / name).stat().st_size > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(urls=st.lists(url_strategy, min_size=1, max_size=8), n=st.integers(0, 10**6))
def test_hostile_urls_in_pages_stylesheets_and_sitemaps_never_hide_a_dead_link(
    site: str, store: Store, tmp_path: Path, urls: list[str], n: int
) -> None:
    links = "".join(f'<a href="{attr(u)}">x</a><img src="{attr(u)}" srcset="{attr(u)} 2x">' for u in urls)
    css = "".join(f"a{{background:url({u!r})}}" for u in urls) + f"b{{background:url(/dead-css-{n}.png)}}"
    sitemap = "".join(f"<url><loc>{html.escape(u)}</loc></url>" for u in urls)
    PAGES.clear()
    PAGES["/"] = (
        "text/html; charset=utf-8",
        f'<html><head><link rel="stylesheet" href="/s.css"></head><body>{links}'
        f'<a href="/dead-{n}">dead</a><style>{css}</style></body></html>'.encode("utf-8", "surrogatepass"),
    )
    PAGES["/s.css"] = ("text/css", css.encode("utf-8", "surrogatepass"))
    PAGES["/sitemap.xml"] = (
        "application/xml",
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{sitemap}'
        f"<url><loc>{site}/</loc></url></urlset>".encode("utf-8", "surrogatepass"),
    )
    settings_ = config.from_dict(
        {
            "sites": {"shop": {"base_url": site}},
            "checks": {
                "links": {"kind": "crawl", "external": False, "request_timeout_s": 2, "retries": 0},
            },
            "audits": {"a": {"checks": ["links"]}},
        },
        environ={},
    )
    folder = tmp_path / f"r{n}"
    result = run(settings_, store, folder)
    assert_reported(result, folder, {f"{site}/dead-{n}"})


class MailerOptions(BaseModel):
    port: int
    urls: list[str] = []
    dead: str = ""


@register
class MailerCheck(Check[MailerOptions]):
    """Sends one message to the sink, as a shop's checkout would, and hands over what it sent."""

    kind = "test-hostile-mailer"
    Options = MailerOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        mailbox = await ctx.resources.mailbox()
        cursor = await mailbox.cursor()
        to = f"audit+{ctx.run_id}@shop.test"
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "shop@shop.test", to, "Your order"
        body = " ".join(self.options.urls) + f" {self.options.dead}"
        msg.set_content(body.encode("utf-8", "replace").decode("utf-8"))
        anchors = "".join(f'<a href="{attr(u)}">x</a>' for u in self.options.urls)
        markup = f'<p>{anchors}<a href="{self.options.dead}">dead</a></p>'
        msg.add_alternative(markup.encode("utf-8", "replace").decode("utf-8"), subtype="html")

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", self.options.port) as smtp:
                smtp.send_message(msg)

        await asyncio.to_thread(send)
        return CheckResult(
            outputs={
                "customer": {"email": to, "first_name": "Ada"},
                "mail_cursor": cursor.to_dict(),
                "payment_submitted_at": datetime.now(UTC).isoformat(),
                "payment_result": "approved",
            }
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(urls=st.lists(url_strategy, min_size=1, max_size=8), n=st.integers(0, 10**6))
def test_hostile_urls_in_an_email_never_hide_its_dead_link(
    site: str, store: Store, sink: MailSink, tmp_path: Path, urls: list[str], n: int
) -> None:
    PAGES.clear()
    dead = f"{site}/dead-mail-{n}"
    # An email is bytes: a lone surrogate cannot be sent (nor written in a config), only its U+FFFD.
    urls = [u.encode("utf-8", "replace").decode("utf-8") for u in urls]
    settings_ = config.from_dict(
        {
            "sites": {"shop": {"base_url": site, "mailbox": {"kind": "sink", "port": sink.port}}},
            "checks": {
                "send": {"kind": "test-hostile-mailer", "port": sink.port, "urls": urls, "dead": dead},
                "email": {
                    "kind": "email",
                    "needs": ["send"],
                    "settle_s": 0,
                    "deadline_s": 10,
                    "merge_tags": False,
                    "messages": [{"name": "order", "subject": "Your order", "order_details": False}],
                },
            },
            "audits": {"a": {"checks": ["email"]}},
        },
        environ={},
    )
    folder = tmp_path / f"m{n}"
    result = run(settings_, store, folder)
    assert_reported(result, folder, {dead})
