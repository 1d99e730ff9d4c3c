"""The frontier's rules, one by one: de-duplication, scope, and bounds that apply to pages only."""

from __future__ import annotations

import re

from auditor.crawl.frontier import NOT_VISITED, Frontier, path_of, scope_prefix

HOME = "https://shop.example/"


def frontier(**kw: object) -> tuple[Frontier, dict[str, int | float]]:
    stats: dict[str, int | float] = dict.fromkeys(
        ["external", "excluded", "trap_skipped", "page_limit_skipped", "depth_skipped"], 0
    )
    args: dict[str, object] = {
        "include": [],
        "exclude": [],
        "external": True,
        "max_urls_per_path": 50,
        "max_pages": 100,
        "stats": stats,
    }
    args.update(kw)
    return Frontier("shop.example", **args), stats  # type: ignore[arg-type]


def test_a_url_is_queued_once_and_remembers_every_page_linking_to_it() -> None:
    f, stats = frontier()
    first = f.offer("https://shop.example/a", "a[href]", HOME, 1)
    again = f.offer("https://shop.example/a", "a[href]", "https://shop.example/b", 1)
    assert first is again is not None
    assert first.sources == [HOME, "https://shop.example/b"]
    assert first.total == 2
    assert f.queue.qsize() == 1
    assert first.crawl is True and first.internal is True
    assert stats["external"] == 0


def test_other_hosts_are_checked_not_crawled_and_skipped_silently_when_external_is_off() -> None:
    f, stats = frontier()
    t = f.offer("https://cdn.example/x", "a[href]", HOME, 1)
    assert t is not None and t.internal is False and t.crawl is False
    assert stats["external"] == 1
    off, off_stats = frontier(external=False)
    assert off.offer("https://cdn.example/x", "a[href]", HOME, 1) is None
    assert off.skipped("https://cdn.example/x")
    assert sum(off_stats.values()) == 0


def test_a_start_url_is_internal_whatever_its_host() -> None:
    f, _ = frontier(max_pages=1, max_depth=0)
    t = f.offer("https://www.shop.example/", "start", None, 0)
    assert t is not None and t.internal is True and t.crawl is True


def test_images_and_assets_are_never_bound_by_the_per_path_pages_or_depth_limits() -> None:
    f, stats = frontier(max_urls_per_path=2, max_pages=1, max_depth=1)
    f.offer(HOME, "start", None, 0)
    for w in range(10):
        assert f.offer(f"https://shop.example/images?src=a.jpg&w={w}", "img[src]", HOME, 5) is not None
    assert sum(stats.values()) == 0


def test_pages_beyond_the_per_path_bound_are_skipped_and_counted_once() -> None:
    f, stats = frontier(max_urls_per_path=2)
    kept = [f.offer(f"https://shop.example/cal?m={m}", "a[href]", HOME, 1) for m in range(4)]
    assert [t is not None for t in kept] == [True, True, False, False]
    f.offer("https://shop.example/cal?m=3", "a[href]", "https://shop.example/other", 1)
    assert stats["trap_skipped"] == 2
    assert f.offer("https://shop.example/cal", "a[href]", HOME, 1) is not None  # no query: no bound


def test_max_pages_counts_pages_queued_for_parsing() -> None:
    f, stats = frontier(max_pages=2)
    assert f.offer(HOME, "start", None, 0) is not None
    assert f.offer("https://shop.example/a", "a[href]", HOME, 1) is not None
    assert f.offer("https://shop.example/b", "a[href]", HOME, 1) is None
    assert f.offer("https://shop.example/c", "a[href]", HOME, 1) is None
    assert stats["page_limit_skipped"] == 2


def test_a_page_too_deep_is_counted_until_a_shorter_path_reaches_it() -> None:
    f, stats = frontier(max_depth=2)
    assert f.offer("https://shop.example/deep", "a[href]", HOME, 2) is not None
    assert f.offer("https://shop.example/far", "a[href]", HOME, 3) is None
    assert f.offer("https://shop.example/far", "a[href]", HOME, 4) is None
    assert stats["depth_skipped"] == 1
    assert f.skipped("https://shop.example/far")
    assert f.offer("https://shop.example/far", "a[href]", HOME, 2) is not None
    assert stats["depth_skipped"] == 0
    assert f.offer("https://shop.example/gone", "a[href]", HOME, 3) is None
    assert f.claim("https://shop.example/gone", 2) is True
    assert stats["depth_skipped"] == 0


def test_a_redirect_target_is_claimed_once() -> None:
    f, _ = frontier()
    assert f.claim("https://shop.example/new", 1) is True
    assert f.claim("https://shop.example/new", 1) is False
    t = f.targets["https://shop.example/new"]
    assert t.done and t.crawl and t.internal
    assert f.queue.qsize() == 0


def test_include_and_exclude_patterns_decide_what_is_crawled() -> None:
    f, stats = frontier(include=[re.compile("/shop/")], exclude=[re.compile("/cart")])
    assert f.excluded("https://shop.example/blog/") is True
    assert f.excluded("https://shop.example/shop/a") is False
    assert f.excluded("https://shop.example/shop/cart") is True
    assert f.excluded("https://cdn.example/blog/") is False  # include is for the site's own URLs
    assert f.offer("https://shop.example/shop/cart", "a[href]", HOME, 1) is None
    assert stats["excluded"] == 1


def test_scope_path_crawls_only_under_the_start_folder_and_checks_the_rest() -> None:
    f, stats = frontier(scope={"https://shop.example/landing/sale": "/landing/"})
    inside = f.offer("https://shop.example/landing/terms", "a[href]", HOME, 1)
    outside = f.offer("https://shop.example/about", "a[href]", HOME, 1)
    assert inside is not None and inside.crawl is True
    assert outside is not None and outside.crawl is False and outside.internal is True
    assert f.in_scope("https://shop.example/landing") is False
    assert sum(stats.values()) == 0


def test_the_scope_folder_is_the_path_up_to_its_last_slash() -> None:
    assert scope_prefix("https://shop.example/landing/spring-sale") == "/landing/"
    assert scope_prefix("https://shop.example/shop/sale/") == "/shop/sale/"
    assert scope_prefix("https://shop.example/docs/a?x=/b/c") == "/docs/"
    assert scope_prefix("https://shop.example") == "/"
    assert path_of("https://shop.example") == "/"
    assert path_of("https://shop.example/a/b?q=1") == "/a/b?q=1"


def test_every_not_visited_reason_names_the_limit_a_user_configures() -> None:
    assert NOT_VISITED == {
        "page_limit_skipped": "max_pages",
        "depth_skipped": "max_depth",
        "trap_skipped": "max_urls_per_path",
    }


def test_scope_and_paths_read_the_url_as_written_whatever_its_query_or_fragment_holds() -> None:
    assert scope_prefix("https://shop.example/docs/a?x=/b?c/d") == "/docs/"
    assert scope_prefix("https://shop.example/a/b#c/d#e") == "/a/"
    assert scope_prefix("https://shop.example/a b/c") == "/a b/"
    assert path_of("https://shop.example/to?u=http://x/y") == "/to?u=http://x/y"
    assert path_of("shop.example/a") == "/a"


def test_a_working_url_stops_collecting_sources_and_a_broken_one_keeps_up_to_the_cap() -> None:
    f, _ = frontier()
    ok = f.offer("https://shop.example/ok", "a[href]", HOME, 1)
    assert ok is not None
    ok.verdict = "ok"
    assert ok.add_source("https://shop.example/p2") is False
    assert ok.sources == [HOME] and ok.total == 2
    dead = f.offer("https://shop.example/dead", "a[href]", HOME, 1)
    assert dead is not None
    dead.verdict = "broken"
    dead.findings.append(object())  # type: ignore[arg-type]
    assert dead.add_source("https://shop.example/p2") is True
    assert dead.add_source("https://shop.example/p2") is False
    for i in range(200):
        dead.add_source(f"https://shop.example/p{i + 3}")
    assert len(dead.sources) == 100
    assert dead.total == 203


def test_a_start_url_is_never_skipped_by_patterns_or_bounds() -> None:
    f, stats = frontier(include=[re.compile("/shop/")], max_pages=1)
    assert f.offer("https://shop.example/", "start", None, 0) is not None
    assert f.offer("https://shop.example/landing", "start", None, 0) is not None
    assert sum(stats.values()) == 0


def test_counts_add_up_over_many_urls() -> None:
    f, stats = frontier(max_depth=1)
    f.offer("https://cdn.example/a", "img[src]", HOME, 1)
    f.offer("https://cdn.example/b", "img[src]", HOME, 1)
    f.offer("https://shop.example/x", "a[href]", HOME, 2)
    f.offer("https://shop.example/y", "a[href]", HOME, 2)
    assert stats["external"] == 2
    assert stats["depth_skipped"] == 2


def test_a_url_reached_at_last_is_no_longer_counted_as_skipped() -> None:
    f, _ = frontier(max_depth=1)
    f.offer("https://shop.example/x", "a[href]", HOME, 2)
    f.offer("https://shop.example/x", "a[href]", HOME, 1)
    assert not f.skipped("https://shop.example/x")
    f.offer("https://shop.example/y", "a[href]", HOME, 2)
    f.claim("https://shop.example/y", 1)
    assert not f.skipped("https://shop.example/y")


def test_a_target_records_how_it_was_reached_and_is_queued_itself() -> None:
    f, _ = frontier()
    t = f.offer("https://shop.example/a", "img[src]", HOME, 3)
    assert t is not None
    assert (t.url, t.depth, t.element) == ("https://shop.example/a", 3, "img[src]")
    assert f.queue.get_nowait() is t
    f.claim("https://shop.example/b", 4)
    c = f.targets["https://shop.example/b"]
    assert (c.url, c.depth, c.element) == ("https://shop.example/b", 4, "a[href]")


def test_the_per_path_bound_counts_each_path_on_its_own() -> None:
    f, stats = frontier(max_urls_per_path=1)
    assert f.offer("https://shop.example/a?x=1", "a[href]", HOME, 1) is not None
    assert f.offer("https://shop.example/b?x=1", "a[href]", HOME, 1) is not None
    assert f.offer("https://shop.example/s?a=1?b", "a[href]", HOME, 1) is not None
    assert f.offer("https://shop.example/s?a=2?b", "a[href]", HOME, 1) is None
    assert stats["trap_skipped"] == 1
