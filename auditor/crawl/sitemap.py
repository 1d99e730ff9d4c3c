"""Sitemaps: /sitemap.xml, sitemap indexes, robots.txt `Sitemap:` lines, gzip-compressed or not.

The `<loc>` values are pulled out with a regular expression rather than an XML parser: sitemaps
are flat, often large, and sometimes slightly invalid, and a lenient scan reads them all.
"""

from __future__ import annotations

import gzip
import html
import re
import zlib
from dataclasses import dataclass, field

from auditor.crawl.fetch import Fetcher
from auditor.crawl.urls import MalformedURL, normalise, resolve

_LOC = re.compile(rb"<loc>\s*(.*?)\s*</loc>", re.IGNORECASE | re.DOTALL)
_INDEX = re.compile(rb"<sitemapindex[\s>]", re.IGNORECASE)
# An index of indexes of indexes is already unusual; this bound stops a self-referencing index.
_MAX_SITEMAPS = 200


@dataclass
class Sitemaps:
    """Every page URL listed in the site's sitemaps, with the sitemap that lists it."""

    # normalised page URL -> the sitemap URL that listed it first
    pages: dict[str, str] = field(default_factory=dict)
    # the sitemap files that were read successfully
    files: list[str] = field(default_factory=list)
    # sitemap files named by an index but not read (beyond `_MAX_SITEMAPS`)
    unread: int = 0

    @property
    def found(self) -> bool:
        return bool(self.files)


def parse(body: bytes) -> tuple[bool, list[str]]:
    """Whether `body` is a sitemap index, and the `<loc>` URLs it lists (gzip is undone first)."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            return False, []
    locs = [html.unescape(m.decode("utf-8", "replace")) for m in _LOC.findall(body)]
    return bool(_INDEX.search(body, 0, 2048)), locs


async def read(fetcher: Fetcher, roots: list[str]) -> Sitemaps:
    """Read the sitemaps at `roots` (and every sitemap an index names) into one `Sitemaps`."""
    result = Sitemaps()
    queue = list(dict.fromkeys(roots))
    seen = set(queue)
    while queue and len(result.files) < _MAX_SITEMAPS:
        url = queue.pop(0)
        out = await fetcher.fetch(url, "GET", read="any")
        if out.status != 200 or out.body is None:
            continue
        is_index, locs = parse(out.body)
        if not locs and b"<urlset" not in out.body[:2048] and not is_index:
            continue
        result.files.append(url)
        for loc in locs:
            try:
                target = normalise(resolve(url, loc))[0]
            except MalformedURL:
                continue
            if is_index:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
            else:
                result.pages.setdefault(target, url)
    result.unread = len(queue)
    return result
