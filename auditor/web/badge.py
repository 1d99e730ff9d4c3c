"""An SVG status badge per site (`/badge/SITE.svg`), for a README or an intranet page.

Readable without login only for a site marked `public = true` in the configuration; for anyone else
it takes a login or token that may see the site, and is a 404 otherwise (so a badge URL does not
tell whether a private site exists).
"""

from __future__ import annotations

import re
from html import escape

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from auditor.web import queries

# What the right half says, and its colour (shields.io's palette), by site status.
LOOKS = {
    "pass": ("passing", "#4c1"),
    "warn": ("degraded", "#dfb317"),
    "fail": ("failing", "#e05d44"),
    "error": ("error", "#fe7d37"),
    "interrupted": ("interrupted", "#9f9f9f"),
    "unknown": ("unknown", "#9f9f9f"),
}
LABEL = "audit"
# Rough widths in pixels of Verdana 11px, enough to size the boxes around the text.
_NARROW = set("fijlrtI.,:;!'| ()[]")
_WIDE = set("mwMW@%")


# What XML 1.0 cannot hold even escaped (a site name in TOML may hold any of it).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def text_width(text: str) -> int:
    return sum(4 if c in _NARROW else 10 if c in _WIDE else 7 for c in text)


def render(status: str, label: str = LABEL, title: str | None = None) -> str:
    """The badge's SVG for a site `status` (pass, warn, fail, error, interrupted, unknown)."""
    message, colour = LOOKS.get(status, LOOKS["unknown"])
    left, right = text_width(label) + 10, text_width(message) + 10
    width = left + right
    title = _xml(title or f"{label}: {message}")
    label, message = _xml(label), _xml(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        f'<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="11">'
        f'<text x="{left / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{label}</text>'
        f'<text x="{left / 2:.1f}" y="14">{label}</text>'
        f'<text x="{left + right / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{message}</text>'
        f'<text x="{left + right / 2:.1f}" y="14">{message}</text></g></svg>'
    )


async def badge(request: Request) -> Response:
    """GET /badge/{site}.svg"""
    from auditor.web.api import optional_user

    settings = request.app.state.settings
    name = request.path_params["site"]
    cfg = settings.sites.get(name)
    meta = queries.site_meta(name, cfg)
    user = optional_user(request)
    allowed = (cfg is not None and meta.public) or (user is not None and user.can_see_site(name, settings))
    if not allowed or "\x00" in name:
        return PlainTextResponse("no such site", status_code=404)
    with Session(request.app.state.store.engine) as s:
        detail = queries.overview_row(s, meta)
    svg = render(detail.status, title=f"{name}: {LOOKS.get(detail.status, LOOKS['unknown'])[0]}")
    return Response(
        svg,
        media_type="image/svg+xml",
        # Image proxies (GitHub's camo) would otherwise keep yesterday's status.
        headers={"Cache-Control": "no-cache, max-age=0", "X-Content-Type-Options": "nosniff"},
    )


__all__ = ["badge", "render"]
