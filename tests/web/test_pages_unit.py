"""The dashboard's pure helpers on hostile input: where a login may send the browser next, which
files of a run's folder may be served, and the charts of any history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.web import charts
from auditor.web.pages import _relative, _safe_next
from auditor.web.queries import RunBrief, RunPoint

ORIGIN = "http://127.0.0.1:8080/login"


@settings(max_examples=300)
@given(
    st.text(max_size=80)
    | st.sampled_from(["//evil.example/", "/\\evil.example", "https://evil.example/", "/ok?x=1"])
)
def test_after_login_the_browser_never_leaves_the_dashboard(value: str) -> None:
    target = _safe_next(value)
    assert target.startswith("/")
    assert urlsplit(urljoin(ORIGIN, target)).netloc == "127.0.0.1:8080"


def test_a_path_of_the_dashboard_is_kept_after_login() -> None:
    assert _safe_next("/sites/demo?x=1") == "/sites/demo?x=1"


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["..", ".", "a", "b.png", "", "/", "%2e%2e", "..\\x"]), max_size=6))
def test_an_artifact_path_outside_the_runs_folder_is_never_linked(parts: list[str]) -> None:
    base = Path("/srv/reports/run-1")
    rel = _relative("/".join(parts), base)
    if rel is not None:
        assert (base / rel).resolve().is_relative_to(base)


@settings(max_examples=50)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pass", "fail", "warn", "error", "interrupted", "running", "<script>"]),
            st.none() | st.floats(min_value=0, max_value=1e6),
            st.dictionaries(st.text(max_size=10), st.integers(min_value=0, max_value=10_000), max_size=8),
        ),
        max_size=40,
    )
)
def test_the_charts_of_any_history_are_one_svg_each_with_text_escaped(
    runs: list[tuple[str, float | None, dict[str, int]]],
) -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    points = [
        RunPoint(
            RunBrief(f"r{i}", "a", "s", status, t0, None if d is None else t0 + timedelta(seconds=d)),
            findings,
        )
        for i, (status, d, findings) in enumerate(runs)
    ]
    findings_svg, legend = charts.findings_chart(points)
    for svg in (charts.status_chart(points), charts.duration_chart(points), findings_svg):
        assert svg.count("<svg") == 1 and svg.endswith("</svg>")
        assert "<script" not in svg
    assert len(legend) <= len(charts.KIND_COLOURS)
