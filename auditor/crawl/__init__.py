"""The dead-link crawler: URL normalisation, link extraction, fetching, robots, sitemaps, verdicts.

`engine.Crawl` runs one crawl; the `crawl` check kind (auditor/checks/crawl.py) is a thin shell
around it.
"""
