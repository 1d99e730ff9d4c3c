"""robots.txt: fetched once per host per crawl, parsed with protego, asked before every fetch."""

from __future__ import annotations

import asyncio

from protego import Protego

from auditor.crawl.fetch import Fetcher
from auditor.crawl.urls import origin_of


class Robots:
    """The robots.txt rules of every host a crawl visits, fetched on first use."""

    def __init__(self, fetcher: Fetcher, user_agent: str) -> None:
        self._fetcher = fetcher
        self._agent = user_agent
        self._rules: dict[str, Protego | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, url: str) -> Protego | None:
        """The parsed robots.txt of `url`'s origin, or None when it has none (everything allowed)."""
        origin = origin_of(url)
        if origin in self._rules:
            return self._rules[origin]
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._rules:
                self._rules[origin] = await self._load(origin)
        return self._rules[origin]

    async def _load(self, origin: str) -> Protego | None:
        out = await self._fetcher.fetch(f"{origin}/robots.txt", "GET", read="any")
        if out.status != 200 or out.body is None:
            return None
        return Protego.parse(out.body.decode("utf-8", "replace"))

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch `url`."""
        rules = await self.rules(url)
        return rules is None or bool(rules.can_fetch(url, self._agent))

    async def sitemaps(self, url: str) -> list[str]:
        """The `Sitemap:` lines of `url`'s robots.txt."""
        rules = await self.rules(url)
        return list(rules.sitemaps) if rules is not None else []
