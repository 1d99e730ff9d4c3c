"""What the `campaign` check does: landing pages, coupon, email. Each part emits its findings as
it goes, and a part that cannot run (no browser, a dead site) is a finding or the check's error,
never lost findings."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from selectolax.lexbor import LexborHTMLParser

from auditor.campaign import mailfile, spelling
from auditor.campaign.coupon import apply_coupon, expected_after, parse_amount
from auditor.campaign.params import lost, tracking
from auditor.campaign.spec import CampaignOptions
from auditor.check import CheckContext
from auditor.checks.inbox import LinkOptions, check_links, link_findings, merge_tag_findings, visible_text
from auditor.crawl import sitemap
from auditor.crawl.indexing import signals
from auditor.crawl.linkcheck import check_urls
from auditor.crawl.urls import MalformedURL, normalise
from auditor.http import build_client
from auditor.mail.message import Message
from auditor.results import Finding, Severity

MAX_HOPS = 10
_IMAGE_ELEMENTS = ("img[", "source[", "video[poster]")
_UNSUBSCRIBE = re.compile(
    r"unsubscri|opt[ -]?out|abmelden|d[ée]sinscri|darse de baja|manage (?:your )?preferences", re.I
)


@dataclass
class Hop:
    url: str
    status: int | None


@dataclass
class Landing:
    """One landing URL as fetched over HTTP: every hop, the final page."""

    url: str
    hops: list[Hop] = field(default_factory=list)
    final_url: str = ""
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""


def absolute(base_url: str, url: str) -> str:
    return urljoin(base_url.rstrip("/") + "/", url.strip()) if url.strip().startswith("/") else url.strip()


def without_query(url: str) -> str:
    try:
        p = urlsplit(url)
        return normalise(urlunsplit((p.scheme, p.netloc, p.path or "/", "", "")))[0]
    except (ValueError, MalformedURL):
        return url


async def fetch_chain(client: httpx.AsyncClient, url: str) -> Landing:
    """GET `url`, following at most MAX_HOPS redirects by hand (each hop recorded)."""
    out = Landing(url)
    current = url
    for _ in range(MAX_HOPS + 1):
        try:
            resp = await client.get(current)
        except httpx.HTTPError as e:
            out.error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            out.final_url = current
            return out
        out.hops.append(Hop(current, resp.status_code))
        location = resp.headers.get("location")
        if resp.is_redirect and location:
            current = urljoin(current, location)
            continue
        out.final_url, out.status = current, resp.status_code
        out.headers = {k.lower(): v for k, v in resp.headers.items()}
        out.body = resp.content[:2_000_000]
        return out
    out.error = f"more than {MAX_HOPS} redirects"
    out.final_url = current
    return out


class CampaignAudit:
    def __init__(self, ctx: CheckContext, opts: CampaignOptions, emit: Callable[[Finding], None]) -> None:
        self.ctx = ctx
        self.opts = opts
        self.emit = emit
        self.base = ctx.base_url
        self.stats: dict[str, int | float] = {}
        self.problems: list[str] = []  # what could not be checked (the check's error message)
        self.browser: Any = None

    def _find(
        self,
        kind: str,
        severity: Severity,
        url: str,
        message: str,
        *,
        key: str = "",
        source: str | None = None,
        **evidence: Any,
    ) -> None:
        self.emit(
            Finding(
                kind=kind,
                severity=severity,
                url=url,
                message=message,
                key=key,
                source=source,
                evidence=evidence,
            )
        )

    # --- landing pages -------------------------------------------------------------------

    async def landings(self) -> None:
        urls = [absolute(self.base, u) for u in self.opts.landing_urls]
        if not urls:
            return
        async with build_client(self.ctx.site) as client:
            fetched = [await fetch_chain(client, u) for u in urls]
            reach = await self._reachable_pages(client) if self.opts.reachable else None
        for land in fetched:
            self._judge_http(land, reach)
        self.stats["landing_urls"] = len(urls)
        rendered: dict[str, Any] = {}
        if self.opts.browser and self.browser is not None:
            from auditor.crawl.render import RenderSettings, render_pages

            pages = await render_pages(urls, browser=self.browser, settings=RenderSettings(), concurrency=2)
            rendered = {p.url: p for p in pages}
            for land in fetched:
                self._judge_rendered(land, rendered[land.url])
        if self.opts.check_links:
            await self._links(fetched, rendered)

    def _judge_http(self, land: Landing, reach: set[str] | None) -> None:
        expected = tracking(land.url, self.opts.tracking_params)
        chain = [{"url": h.url, "status": h.status} for h in land.hops]
        if expected:
            for prev, hop in zip(land.hops, land.hops[1:], strict=False):
                gone = lost(expected, hop.url)
                if gone:
                    self._find(
                        "tracking_params_lost",
                        Severity.ERROR,
                        land.url,
                        f"The campaign link {land.url} loses its tracking parameters "
                        f"{', '.join(sorted(gone))} at the redirect from {prev.url} (HTTP {prev.status}) to "
                        f"{hop.url}: analytics and partners will not see where the visit came from. "
                        "Make the redirect keep the query string.",
                        lost=sorted(gone),
                        chain=chain,
                        at=prev.url,
                    )
                    break
        if land.error or land.status is None or land.status >= 400:
            why = land.error or f"HTTP {land.status}"
            self._find(
                "landing_page_broken",
                Severity.ERROR,
                land.url,
                f"The landing page {land.url} does not load: {why}. Every visitor of the campaign lands "
                "on it.",
                key="http",
                chain=chain,
                status=land.status,
                error=land.error or None,
            )
            return
        sig = signals(land.body, land.headers, land.final_url)
        if sig.noindex:
            where = (
                "X-Robots-Tag header"
                if "noindex" in land.headers.get("x-robots-tag", "").lower()
                else "meta robots tag"
            )
            self._find(
                "landing_page_noindex",
                Severity.ERROR,
                land.final_url,
                f"The landing page {land.final_url} tells search engines not to index it ({where}): the "
                "campaign's organic traffic will not find it. Remove the noindex before launch.",
                source=land.url,
                robots=land.headers.get("x-robots-tag", ""),
            )
        intended = absolute(self.base, self.opts.canonical) if self.opts.canonical else None
        if sig.canonical:
            ok = {without_query(land.final_url), normalise(land.final_url)[0]}
            if intended:
                ok = {normalise(intended)[0], without_query(intended)}
            if sig.canonical not in ok and without_query(sig.canonical) not in ok:
                self._find(
                    "landing_page_canonical",
                    Severity.WARNING,
                    land.final_url,
                    f"The landing page {land.final_url} names {sig.canonical} as its canonical page, not "
                    f"{intended or 'itself'}: search engines will show the other page instead.",
                    canonical=sig.canonical,
                    expected=intended or without_query(land.final_url),
                )
        if reach is not None and without_query(land.final_url) not in reach:
            self._find(
                "landing_page_unreachable",
                Severity.WARNING,
                land.final_url,
                f"The landing page {without_query(land.final_url)} is neither linked from the home page nor "
                "listed in the sitemap: visitors who do not come through the campaign link cannot find "
                "it. Link it or list it (or set reachable = false for a page meant to be hidden).",
            )
        if self.opts.expected_price:
            want = parse_amount(self.opts.expected_price)
            text = LexborHTMLParser(land.body).body
            shown = {
                parse_amount(m) for m in re.findall(r"\d[\d,.]*", text.text(separator=" ") if text else "")
            }
            if want is not None and want not in shown:
                self._find(
                    "price_mismatch",
                    Severity.ERROR,
                    land.final_url,
                    f"The landing page {land.final_url} does not show the campaign price {want}.",
                    key="landing",
                    expected=str(want),
                )

    def _judge_rendered(self, land: Landing, page: Any) -> None:
        problems: list[str] = []
        if page.error:
            problems.append(f"it did not load: {page.error}")
        elif page.status is not None and page.status >= 400:
            problems.append(f"HTTP {page.status}")
        problems += [f"script error: {e.message}" for e in page.exceptions[:5]]
        problems += [f"console error: {c.text}" for c in page.console_errors[:5]]
        # A link or image of the page that fails is its own finding (the link check's).
        linked = {u for u, _ in page.links}
        failed = [r for r in page.failed_requests if r.url not in linked]
        problems += [f"{r.url} failed ({r.reason})" for r in failed[:5]]
        if problems and not (land.error or (land.status or 0) >= 400):
            self._find(
                "landing_page_broken",
                Severity.ERROR,
                land.url,
                f"The landing page {land.url} has errors in a browser: {'; '.join(problems)}.",
                key="browser",
                problems=problems,
                final_url=page.final_url,
            )
        expected = tracking(land.url, self.opts.tracking_params)
        gone = lost(expected, page.final_url) if page.final_url else {}
        if expected and gone and not lost(expected, land.final_url):
            self._find(
                "tracking_params_lost",
                Severity.ERROR,
                land.url,
                f"In a browser, the campaign link {land.url} ends on {page.final_url} without "
                f"{', '.join(sorted(gone))}: a script on the page drops them.",
                key="browser",
                lost=sorted(gone),
                final_url=page.final_url,
            )

    async def _reachable_pages(self, client: httpx.AsyncClient) -> set[str]:
        found: set[str] = set()
        home = await fetch_chain(client, absolute(self.base, "/"))
        if home.body:
            tree = LexborHTMLParser(home.body)
            for a in tree.css("a[href]"):
                try:
                    found.add(without_query(urljoin(home.final_url, a.attributes.get("href") or "")))
                except ValueError:
                    continue
        roots = [absolute(self.base, "/sitemap.xml")]
        robots = await fetch_chain(client, absolute(self.base, "/robots.txt"))
        for line in robots.body.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("sitemap:"):
                roots.append(line.split(":", 1)[1].strip())
        seen: set[str] = set()
        while roots and len(seen) < 20:
            root = roots.pop(0)
            if root in seen:
                continue
            seen.add(root)
            got = await fetch_chain(client, root)
            if got.status != 200:
                continue
            is_index, locs = sitemap.parse(got.body)
            if is_index:
                roots += locs[:20]
            else:
                found.update(without_query(u) for u in locs)
        return found

    async def _links(self, fetched: Sequence[Landing], rendered: dict[str, Any]) -> None:
        ignore = [re.compile(p) for p in self.opts.ignore_links]
        targets: dict[str, tuple[str, str]] = {}  # url -> (page, element)
        for land in fetched:
            page = rendered.get(land.url)
            if page is not None and not page.error:
                links = list(page.links)
            else:
                links = _html_links(land.body, land.final_url)
            for url, element in links:
                if not url.lower().startswith(("http://", "https://")) or any(p.search(url) for p in ignore):
                    continue
                url = url.split("#", 1)[0]
                if not self.opts.external and urlsplit(url).netloc != urlsplit(self.base).netloc:
                    continue
                targets.setdefault(url, (land.final_url or land.url, element))
        if not targets:
            return
        verdicts = await check_urls(list(targets), site=self.ctx.site)
        self.stats["links_checked"] = len(verdicts)
        for url, v in verdicts.items():
            if not v.broken:
                continue
            page, element = targets[url]
            image = element.startswith(_IMAGE_ELEMENTS)
            kind = (
                "broken_image" if image else ("malformed_link" if v.verdict == "malformed" else "broken_link")
            )
            self.emit(
                Finding(
                    kind=kind,
                    severity=Severity.WARNING if kind == "malformed_link" else Severity.ERROR,
                    url=url,
                    source=page,
                    element=element,
                    message=f"The landing page {page} {'shows an image' if image else 'links to'} {url}: "
                    f"{v.describe()}.",
                    evidence=v.evidence(),
                )
            )

    # --- coupon and cart -----------------------------------------------------------------

    async def cart(self) -> None:
        if self.browser is None:
            return
        if self.opts.params_in_cart:
            await self._params_in_cart()
        if self.opts.coupon is not None:
            await self._coupon()

    async def _params_in_cart(self) -> None:
        first = next(
            (
                u
                for u in self.opts.landing_urls
                if tracking(absolute(self.base, u), self.opts.tracking_params)
            ),
            None,
        )
        if first is None:
            return
        url = absolute(self.base, first)
        expected = tracking(url, self.opts.tracking_params)
        context = await self.browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(url, wait_until="load")
            cart = absolute(self.base, self.opts.cart_path)
            await page.goto(cart, wait_until="load")
            where = (
                page.url
                + " "
                + (await page.content())
                + " "
                + " ".join(f"{c['name']}={c['value']}" for c in await context.cookies())
            )
        finally:
            await context.close()
        from urllib.parse import unquote

        gone = {n: v for n, v in expected.items() if v and v not in where and v not in unquote(where)}
        if gone:
            self._find(
                "tracking_params_lost",
                Severity.ERROR,
                cart,
                f"After landing from {url}, the cart {cart} has lost {', '.join(sorted(gone))} (not in its "
                "URL, its page or a cookie): the order will not be credited to the campaign.",
                key="cart",
                source=url,
                lost=sorted(gone),
            )

    async def _coupon(self) -> None:
        c = self.opts.coupon
        assert c is not None
        context = await self.browser.new_context()
        product = absolute(self.base, c.product_path)
        cart = absolute(self.base, c.cart_path)
        try:
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto(product, wait_until="load")
            await page.locator(c.add_to_cart).first.click()
            await page.wait_for_load_state("load")
            if without_query(page.url) != without_query(cart):
                await page.goto(cart, wait_until="load")
            result = await apply_coupon(page, c.code, field=c.field, submit=c.submit, total=c.total)
        except Exception as e:
            self._find(
                "coupon_rejected",
                Severity.ERROR,
                cart,
                f"The coupon {c.code} could not be tried: {_first_line(e)}.",
                code=c.code,
                product=product,
            )
            return
        finally:
            await context.close()
        ev = {
            "code": c.code,
            "before": str(result.before),
            "after": str(result.after),
            "shop_said": result.message,
        }
        if not result.accepted:
            self._find(
                "coupon_rejected",
                Severity.ERROR,
                cart,
                f"The coupon {c.code} does not apply in the cart: {result.describe()}. Customers of the "
                "campaign will not get the promised discount.",
                **ev,
            )
            return
        assert result.before is not None and result.after is not None
        want = None
        if c.expected_total:
            want = parse_amount(c.expected_total)
        elif c.expected_discount:
            want = expected_after(result.before, c.expected_discount)
        if want is not None and abs(result.after - want) > parse_amount("0.01"):  # type: ignore[operator]
            self._find(
                "price_mismatch",
                Severity.ERROR,
                cart,
                f"With the coupon {c.code} the cart total is {result.after}, not the promised {want} "
                f"(before: {result.before}).",
                key="coupon",
                expected=str(want),
                **ev,
            )

    # --- email ---------------------------------------------------------------------------

    async def email(self, path: Path) -> None:
        name = path.name
        try:
            msg = mailfile.load(path)
        except OSError as e:
            self._find(
                "email_unreadable",
                Severity.ERROR,
                self.base,
                f"The campaign email {path} cannot be read: {e.strerror or e}.",
                key=name,
            )
            return
        why = mailfile.unreadable(msg)
        if why:
            self._find(
                "email_unreadable",
                Severity.ERROR,
                self.base,
                f"The campaign email {path} holds no email: {why}.",
                key=name,
            )
            return
        msg = self._rebased(msg)
        for f in merge_tag_findings(name, [msg], self.base):
            self.emit(f)
        checked = await check_links(
            self.ctx,
            {name: [msg]},
            LinkOptions(check_links=self.opts.check_links, ignore_links=self.opts.ignore_links),
        )
        self.stats["email_links"] = len(checked)
        for f in link_findings(checked):
            self.emit(f)
        for c in checked:
            v = c.verdict
            expected = tracking(c.link.url, self.opts.tracking_params)
            if v is None or v.broken or not expected:
                continue
            gone = lost(expected, v.final_url)
            if gone:
                self._find(
                    "tracking_params_lost",
                    Severity.ERROR,
                    c.link.url,
                    f"The {name} email's link {c.link.url} ends on {v.final_url} without "
                    f"{', '.join(sorted(gone))}: the campaign's visits will not be counted.",
                    key=f"email\x1f{name}",
                    lost=sorted(gone),
                    final_url=v.final_url,
                )
        await self._unsubscribe(name, msg, checked)
        if self.opts.spelling:
            words = list(self.opts.words)
            if self.opts.words_file:
                words += spelling.read_words(str(Path(self.ctx.config_dir) / self.opts.words_file))
            for m in spelling.misspellings(visible_text(msg), language=self.opts.language, words=words):
                hint = f" (did you mean {m.suggestion!r}?)" if m.suggestion else ""
                self._find(
                    "email_spelling",
                    Severity.WARNING,
                    self.base,
                    f"The {name} email misspells {m.word!r}{hint}: {m.context!r}. Add it to `words` if it "
                    "is the shop's own word.",
                    key=f"{name}\x1f{m.word.lower()}",
                    word=m.word,
                    suggestion=m.suggestion,
                    context=m.context,
                )

    def _rebased(self, msg: Message) -> Message:
        origin = (self.opts.email_origin or "").rstrip("/")
        if not origin:
            return msg
        base = self.base.rstrip("/")
        from dataclasses import replace

        return replace(msg, html=msg.html.replace(origin, base), text=msg.text.replace(origin, base))

    async def _unsubscribe(self, name: str, msg: Message, checked: Sequence[Any]) -> None:
        body = [
            c
            for c in checked
            if c.link.kind == "link" and (_UNSUBSCRIBE.search(c.link.text) or _UNSUBSCRIBE.search(c.link.url))
        ]
        if not body:
            self._find(
                "email_unsubscribe_missing",
                Severity.ERROR,
                self.base,
                f"The {name} email has no unsubscribe link in its body: the law (CAN-SPAM, GDPR) and "
                "mailbox providers require one.",
                key=f"{name}\x1fbody",
            )
        if msg.headers:  # an .eml: its headers are what the mailbox provider reads
            urls, present = mailfile.list_unsubscribe(msg)
            if not present:
                self._find(
                    "email_unsubscribe_missing",
                    Severity.WARNING,
                    self.base,
                    f"The {name} email has no List-Unsubscribe header: Gmail and Yahoo require it of bulk "
                    "senders.",
                    key=f"{name}\x1fheader",
                )
            elif urls:
                base = self.base.rstrip("/")
                origin = (self.opts.email_origin or "").rstrip("/")
                urls = [u.replace(origin, base) if origin else u for u in urls]
                verdicts = await check_urls(urls, site=self.ctx.site, method="GET")
                for url, v in verdicts.items():
                    if v.broken:
                        self._find(
                            "email_unsubscribe_broken",
                            Severity.ERROR,
                            url,
                            f"The {name} email's List-Unsubscribe URL {url} is dead: {v.describe()}.",
                            key=name,
                            **v.evidence(),
                        )


def _html_links(body: bytes, page_url: str) -> list[tuple[str, str]]:
    tree = LexborHTMLParser(body)
    out: list[tuple[str, str]] = []
    for sel, attr, el in (("a[href]", "href", "a[href]"), ("img[src]", "src", "img[src]")):
        for node in tree.css(sel):
            try:
                out.append((urljoin(page_url, node.attributes.get(attr) or ""), el))
            except ValueError:
                continue
    return out


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
