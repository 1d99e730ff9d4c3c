"""What the browser saw while a scenario ran: console messages, uncaught page errors, requests.

Console errors and failed subresource requests become `warning` findings (a scenario can pass
while the page logs errors or an image is missing); an uncaught page error fails the scenario,
at the step during which it happened, unless `fail_on_page_error` is off.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.results import Finding, Severity

# A document that fails is the scenario's own failure (goto raises); ERR_ABORTED is a request the
# browser dropped because the page moved on, not one the site failed.
_NOT_SUBRESOURCE = {"document"}
_ABORTED = "net::ERR_ABORTED"
# Chromium logs every failed resource on the console too; failed_request already reports it.
_RESOURCE_CONSOLE = re.compile(r"^Failed to load resource\b")
# Bounds on what is kept for console.json / requests.json, however chatty the page.
MAX_RECORDS = 5000


@dataclass
class PageError:
    step: str
    url: str
    message: str


@dataclass
class PageWatcher:
    """Listens to a browser context's events; `findings()` turns them into warnings."""

    current_step: Callable[[], str]
    # Fails the scenario; returns False when it is not running any more (the error is then a warning).
    on_page_error: Callable[[PageError], bool]
    fail_on_page_error: bool = True
    ignore_console: list[str] = field(default_factory=list)
    ignore_requests: list[str] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _warnings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)

    def attach(self, context: Any) -> None:
        context.on("page", self._on_page)
        context.on("console", self._on_console)
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_request_failed)

    def findings(self) -> list[Finding]:
        return list(self._warnings.values())

    def _on_page(self, page: Any) -> None:
        page.on("pageerror", lambda error: self._on_page_error(page, error))

    def _on_page_error(self, page: Any, error: Any) -> None:
        name = getattr(error, "name", "") or "Error"
        message = f"{name}: {getattr(error, 'message', '') or error}"
        step = self.current_step()
        self._record(self.console, {"type": "pageerror", "text": message, "url": page.url, "step": step})
        if not (self.fail_on_page_error and self.on_page_error(PageError(step, page.url, message))):
            self._console_warning(page.url, message, step, {"stack": getattr(error, "stack", "")})

    def _on_console(self, msg: Any) -> None:
        page = msg.page
        url = page.url if page is not None else ""
        step = self.current_step()
        self._record(
            self.console,
            {"type": msg.type, "text": msg.text, "url": url, "location": msg.location, "step": step},
        )
        if msg.type != "error" or _RESOURCE_CONSOLE.match(msg.text):
            return
        if any(re.search(p, msg.text) for p in self.ignore_console):
            return
        self._console_warning(url, msg.text, step, {"location": msg.location})

    def _console_warning(self, url: str, text: str, step: str, extra: dict[str, Any]) -> None:
        first = text.strip().splitlines()[0] if text.strip() else "(empty message)"
        key = ("console_error", url, first[:200])
        if key not in self._warnings:
            self._warnings[key] = Finding(
                "console_error",
                Severity.WARNING,
                url or "about:blank",
                f"console error on {url}: {first[:300]}",
                evidence={"text": text, "step": step, **extra},
                key=first[:200],
            )

    def _on_response(self, response: Any) -> None:
        request = response.request
        self._record(
            self.requests,
            {
                "method": request.method,
                "url": response.url,
                "status": response.status,
                "resource_type": request.resource_type,
                "step": self.current_step(),
            },
        )
        if response.status >= 400 and request.resource_type not in _NOT_SUBRESOURCE:
            self._request_warning(request, f"answered HTTP {response.status}", {"status": response.status})

    def _on_request_failed(self, request: Any) -> None:
        failure = request.failure or "failed"
        self._record(
            self.requests,
            {
                "method": request.method,
                "url": request.url,
                "failure": failure,
                "resource_type": request.resource_type,
                "step": self.current_step(),
            },
        )
        if request.resource_type not in _NOT_SUBRESOURCE and _ABORTED not in failure:
            self._request_warning(request, f"failed: {failure}", {"failure": failure})

    def _request_warning(self, request: Any, what: str, evidence: dict[str, Any]) -> None:
        url = request.url
        if any(re.search(p, url) for p in self.ignore_requests):
            return
        key = ("failed_request", url, "")
        if key in self._warnings:
            return
        source = _frame_url(request)
        self._warnings[key] = Finding(
            "failed_request",
            Severity.WARNING,
            url,
            f"{request.resource_type} {url} {what}" + (f" (on {source})" if source else ""),
            source=source,
            element=request.resource_type,
            evidence={"method": request.method, "step": self.current_step(), **evidence},
        )

    @staticmethod
    def _record(records: list[dict[str, Any]], item: dict[str, Any]) -> None:
        if len(records) < MAX_RECORDS:
            records.append(item)


def _frame_url(request: Any) -> str | None:
    """The URL of the page that made `request`, if there is one."""
    try:
        url = request.frame.url
    except Exception:
        # A service worker's request has no frame, and Playwright raises when asked for it.
        return None
    return url if url and url != "about:blank" else None
