"""From a response to a verdict, and from a verdict to a finding kind, severity and message.

Verdicts: `ok`, `redirect` (reached, but through a chain worth fixing), `broken` (404/410, 5xx
after retries, DNS/TLS/refused/reset/timeout that persist; 401/403 on the site's own host),
`blocked` (401/403/999 or a bot challenge on an external host: a human should look, it is not a
dead link), `rate_limited` (still 429 after retries), `loop` (a redirect loop), `excluded`.
As a browser sees it: a 3xx without a Location shows its body, so it is dead only when the body is
empty; a 1xx as the final answer, or a redirect to ftp:/file: or to a malformed Location, is dead.

Severities, and why:
- broken_link/broken_image/broken_resource, redirect_loop, sitemap_dead_url: error, a customer
  (or a search engine) hits a dead end.
- blocked_link, rate_limited: warning, the link probably works for a browser; bot protection is
  the most common false positive of link checkers.
- redirect_chain, malformed_link: warning, it works but is slow or fragile.
- broken_share_image: warning, a dead og:image/twitter:image shows only where the page is shared.
- missing_fragment: warning, the page exists, only the scroll target is gone (common practice).
- sitemap_orphan_page, sitemap_missing_page: warning, an SEO problem, not a customer-facing one.
- crawl_incomplete: warning, a limit (pages, time, depth, a trap bound) left URLs unchecked: the
  result is true of what was checked, and says how much was not.
"""

from __future__ import annotations

from typing import Any

from auditor.crawl.fetch import Outcome
from auditor.crawl.limits import CHAIN_HOPS
from auditor.results import Finding, Severity

_IMAGES = frozenset(
    {
        "img[src]", "img[srcset]", "source[srcset]", "link[rel=icon]", "video[poster]", "input[type=image]",
        "css url()", "style url()", "[style] url()",
    }
)  # fmt: skip
_LINKS = frozenset(
    {"a[href]", "link[rel=canonical]", "meta[http-equiv=refresh]", "header:Refresh", "sitemap", "start"}
)
# Images shown only when the page is shared (Open Graph, Twitter cards): a warning when dead.
_SHARE_IMAGES = frozenset({"meta[property=og:image]", "meta[name=twitter:image]"})
_PERMANENT = frozenset({301, 308})
_BLOCKED = frozenset({401, 403, 999})
MAX_SOURCES = 100

SEVERITY: dict[str, Severity] = {
    "broken_link": Severity.ERROR,
    "broken_image": Severity.ERROR,
    "broken_resource": Severity.ERROR,
    "redirect_loop": Severity.ERROR,
    "sitemap_dead_url": Severity.ERROR,
    "blocked_link": Severity.WARNING,
    "rate_limited": Severity.WARNING,
    "redirect_chain": Severity.WARNING,
    "malformed_link": Severity.WARNING,
    "broken_share_image": Severity.WARNING,
    "missing_fragment": Severity.WARNING,
    "sitemap_orphan_page": Severity.WARNING,
    "sitemap_missing_page": Severity.WARNING,
    "crawl_incomplete": Severity.WARNING,
}


def verdict(out: Outcome, *, internal: bool, chain_hops: int = CHAIN_HOPS) -> str:
    """The verdict on one fetched URL; `chain_hops` redirects or more make a `redirect` (as does
    any permanent one)."""
    if out.loop:
        return "loop"
    status = out.status
    if status is None:
        return "broken"
    if status == 429:
        return "rate_limited"
    if not internal and (status in _BLOCKED or out.headers.get("cf-mitigated", "").lower() == "challenge"):
        return "blocked"
    if status >= 400 or status < 200 or out.error:
        # An error here is a redirect a browser cannot follow (bad Location, ftp:, file:).
        return "broken"
    if status >= 300 and not out.body_size:
        # A 3xx left over here has no Location: a browser shows its body, and there is none.
        return "broken"
    if len(out.chain) >= chain_hops or any(s in _PERMANENT for _, s in out.chain):
        return "redirect"
    return "ok"


def broken_kind(element: str) -> str:
    """The finding kind for a dead URL loaded by `element`."""
    if element in _IMAGES:
        return "broken_image"
    if element in _SHARE_IMAGES:
        return "broken_share_image"
    if element in _LINKS:
        return "broken_link"
    return "broken_resource"


def kind_for(verdict_: str, element: str) -> str | None:
    """The finding kind for a verdict (None for ok/excluded)."""
    return {
        "broken": broken_kind(element),
        "blocked": "blocked_link",
        "rate_limited": "rate_limited",
        "redirect": "redirect_chain",
        "loop": "redirect_loop",
    }.get(verdict_) or None


def message(kind: str, url: str, out: Outcome | None = None, source: str | None = None) -> str:
    """What happened, where, and what to do, in one or two sentences a shop owner can act on."""
    where = f" (linked from {source})" if source else ""
    what = _what(out)
    if kind in ("broken_link", "broken_image", "broken_resource"):
        noun = {"broken_link": "Link", "broken_image": "Image", "broken_resource": "Resource"}[kind]
        return f"{noun} {url}{where} is dead: {what}. Fix the target or remove the reference."
    if kind == "broken_share_image":
        return (
            f"Share image {url}{where} is dead: {what}. A link to the page shared on social media or in "
            "a chat shows no picture; fix the image or the og:image/twitter:image tag."
        )
    if kind == "blocked_link":
        return (
            f"{url}{where} refused the crawler ({what}); probably bot protection. "
            "Open it in a browser to confirm it works."
        )
    if kind == "rate_limited":
        return f"{url}{where} kept answering 429 Too Many Requests; it could not be checked. Re-run later."
    if kind == "redirect_chain":
        final = out.final_url if out else url
        hops = len(out.chain) if out else 0
        return f"{url}{where} redirects ({hops} hop(s), {what}) to {final}; link to {final} directly."
    if kind == "redirect_loop":
        return f"{url}{where} redirects in a loop and never loads a page. Fix the redirect rules."
    raise ValueError(f"no message for {kind}")


def _what(out: Outcome | None) -> str:
    if out is None:
        return "not checked"
    if out.loop:
        return "redirect loop"
    hops = " -> ".join(str(s) for _, s in out.chain)
    if out.status is None:
        what = out.error or "no response"
        return f"HTTP {hops}, then {what}" if hops else what
    status = f"HTTP {hops} -> {out.status}" if hops else f"HTTP {out.status}"
    if out.error:
        return f"{status}: {out.error}"
    if out.status < 200:
        return f"{status}, an interim answer that is not a page"
    if 300 <= out.status < 400 and not out.body_size:
        return f"{status} without a Location header and with an empty body, so a browser shows a blank page"
    return status


def new_finding(
    kind: str, url: str, element: str, evidence: dict[str, Any], msg: str, key: str = ""
) -> Finding:
    """A Finding with the fixed severity of its kind."""
    return Finding(
        kind=kind, severity=SEVERITY[kind], url=url, message=msg, element=element, evidence=evidence, key=key
    )
