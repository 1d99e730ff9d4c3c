"""The crawl's fixed bounds, in a module of their own: the `crawl` check's options name them, and
validating a config must not import the crawler (aiohttp and the HTML and CSS parsers)."""

from __future__ import annotations

# Browsers follow at most 20 redirects; the 21st is an error page (Chromium's ERR_TOO_MANY_REDIRECTS).
MAX_HOPS = 20
# A redirect chain this long (or longer) is worth a warning: each hop costs a customer a round trip.
CHAIN_HOPS = 3
