"""The application layer every front door calls: real configs, real SQLite, no stand-ins."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor import app, config
from auditor.errors import NothingMatched, UsageError
from auditor.results import RunResult, RunStatus
from auditor.runner import plan
from auditor.store import Store

PACKAGE = Path(__file__).parent.parent / "auditor"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_but_the_entry_point_imports_the_cli() -> None:
    entry = PACKAGE / "_entry.py"  # the console script's, and `python -m auditor`'s through __main__
    modules = [path for path in sorted(PACKAGE.rglob("*.py")) if path != entry]
    assert len(modules) > 50
    offenders = [
        str(path.relative_to(PACKAGE.parent)) for path in modules if "auditor.cli" in imports_of(path)
    ]
    assert offenders == []
    assert "auditor.cli" in imports_of(entry)  # the walk sees an import where there is one
    assert "auditor._entry" in imports_of(PACKAGE / "__main__.py")
    scripts = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"auditor": "auditor._entry:main"}


def settings_with(audits: dict[str, list[str]]) -> config.Settings:
    return config.from_dict(
        {
            "sites": {"shop": {"base_url": "http://127.0.0.1:9/"}},
            "checks": {
                "purchase": {"kind": "crawl"},
                "email": {"kind": "crawl", "needs": ["purchase"]},
                "links": {"kind": "crawl"},
            },
            "audits": {name: {"checks": checks} for name, checks in audits.items()},
        },
        environ={},
    )


def test_selecting_a_check_keeps_what_it_needs_and_leaves_the_config_as_it_was() -> None:
    settings = settings_with({"nightly": ["email", "links"]})
    narrowed = app.select_checks(settings, "nightly", ("email",))
    assert [s.name for s in plan(narrowed, "nightly")] == ["purchase", "email"]
    assert [s.name for s in plan(settings, "nightly")] == ["purchase", "email", "links"]


def test_selecting_a_check_the_audit_lacks_names_the_ones_it_has() -> None:
    settings = settings_with({"nightly": ["email"], "other": ["links"]})
    with pytest.raises(UsageError, match=r"no check 'links'; its checks: purchase, email"):
        app.select_checks(settings, "nightly", ("links",))


def test_the_only_audit_is_picked_and_several_are_listed() -> None:
    assert app.only_audit(settings_with({"nightly": ["links"]})) == "nightly"
    with pytest.raises(UsageError, match="2 audits; name the one to run:\n  a\n  b"):
        app.only_audit(settings_with({"a": ["links"], "b": ["links"]}))


def record(store: Store, run_id: str, started: datetime) -> None:
    run = RunResult(
        id=run_id,
        audit="nightly",
        site="shop",
        base_url="http://127.0.0.1:9",
        trigger="manual",
        started_at=started,
    )
    store.start_run(run)
    run.status, run.finished_at = RunStatus.PASS, started
    store.finish_run(run)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    now = datetime.now(UTC)
    record(s, "20260101-010000-aaaa", now - timedelta(days=2))
    record(s, "20260101-020000-bbbb", now - timedelta(days=1))
    record(s, "20260102-030000-cccc", now)
    yield s
    s.close()


def test_a_run_is_found_by_latest_by_id_and_by_a_unique_prefix(store: Store) -> None:
    assert app.find_run(store, "latest").id == "20260102-030000-cccc"
    assert app.find_run(store, "20260101-010000-aaaa").id == "20260101-010000-aaaa"
    assert app.find_run(store, "20260101-02").id == "20260101-020000-bbbb"


def test_an_ambiguous_prefix_lists_the_matches_newest_first(store: Store) -> None:
    with pytest.raises(UsageError) as e:
        app.find_run(store, "20260101")
    assert "20260101-020000-bbbb\n  20260101-010000-aaaa" in str(e.value)


@pytest.mark.parametrize("ref", ["1999", "", "2026%", "2026_"])
def test_a_reference_that_matches_nothing_is_nothing_matched(store: Store, ref: str) -> None:
    with pytest.raises(NothingMatched, match="`auditor runs` lists the recorded runs"):
        app.find_run(store, ref)


def test_latest_in_an_empty_database_says_how_to_record_a_run(tmp_path: Path) -> None:
    s = Store.open(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(NothingMatched, match="no runs recorded yet"):
            app.find_run(s, "latest")
    finally:
        s.close()


def test_redaction_is_installed_once_per_handler_however_many_runs() -> None:
    import logging

    settings = config.single_check(
        "http://127.0.0.1:9/", "crawl", {}, check_name="links", site={"headers": {"X-Key": "hunter2-key"}}
    )
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        for _ in range(3):
            app.redact_logs(settings)
        assert sum(isinstance(f, app.RedactingFilter) for f in handler.filters) == 1
    finally:
        logging.getLogger().removeHandler(handler)
