"""A staging shop behind a header gate (as many are): the site's configured headers reach it from
every part of the purchase flow, including the link the login check opens from the account email."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from auditor.demo import DemoShop
from auditor.mail.sink import MailSink
from tests.checks_login.test_login_and_delivery import ALL, CHECKOUT, LOGIN, check, kinds
from tests.flows import Audit

pytestmark = pytest.mark.asyncio(loop_scope="module")

GATE = ("X-Staging-Key", "let-me-in")


class StagingGate(BaseHTTPMiddleware):
    """403 for every request without the staging header, like a preview deployment's protection."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.headers.get(GATE[0]) != GATE[1]:
            return PlainTextResponse("Staging: missing access header", status_code=403)
        return await call_next(request)


@pytest.fixture(scope="module")
def gated(sink: MailSink) -> Iterator[DemoShop]:
    shop = DemoShop(smtp_port=sink.port)
    shop.app.add_middleware(StagingGate)
    with shop:
        yield shop


HEADERS: dict[str, Any] = {"headers": {GATE[0]: GATE[1]}}


async def test_the_whole_purchase_flow_passes_the_gate_with_the_sites_headers(
    gated: DemoShop, audit: Audit
) -> None:
    run = await audit(gated, ALL, ["delivery"], **HEADERS)
    assert run.findings == []
    assert check(run, "login").outputs["logged_in"] is True


async def test_the_link_from_the_account_email_is_opened_with_the_sites_headers(
    gated: DemoShop, audit: Audit
) -> None:
    # The demo's account email links to the login form, which is not a magic link: opened *through
    # the gate*, it shows the form and the account page sends the customer back to it. Without the
    # header the link and the account page would both be the gate's 403, not a redirect to login.
    login = {**LOGIN, "credentials": "email", "link_pattern": r"/login$", "email_wait_s": 15}
    run = await audit(gated, {"checkout": CHECKOUT, "login": login}, ["login"], **HEADERS)
    assert kinds(run, "checkout", "login") == ["login_failed"]
    (failed,) = check(run, "login").findings
    assert "opening the link from the account email" in failed.message
    assert "/login?next=" in failed.url  # sent back to the login form, not stopped by the gate
