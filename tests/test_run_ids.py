"""Run ids are a second plus 16 random bits: runs started within one second can draw the same one.
A drawn id that is already recorded is drawn again (the run goes on under the new id, in its own
report folder); an id the caller gave is used once, and a second run with it is an error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import auditor.runner
from auditor import config as config_mod
from auditor.errors import RunIdTaken
from auditor.runner import RunOptions, run_audit
from auditor.store import Store


def settings_for(tmp_path: Path) -> config_mod.Settings:
    # A crawl of a port nothing listens on: the run ends quickly (error: could not check).
    return config_mod.ad_hoc(
        "http://127.0.0.1:9/",
        {"links": {"kind": "crawl", "external": False, "retries": 0}},
        audit="links",
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        report_dir=str(tmp_path / "reports"),
    )


def test_a_taken_drawn_id_is_drawn_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(tmp_path)
    store = Store.open(settings.database_url())
    try:
        first = asyncio.run(run_audit(settings, "links", RunOptions(recorder=store)))
        draws = iter([first.id, "20261203-031500-beef"])
        monkeypatch.setattr(auditor.runner, "new_run_id", lambda now=None: next(draws))
        second = asyncio.run(run_audit(settings, "links", RunOptions(recorder=store)))
        assert second.id == "20261203-031500-beef"
        assert second.report_dir == tmp_path / "reports" / second.id
        assert (second.report_dir / "report.json").exists()
        assert {r.id for r in store.recent_runs()} == {first.id, second.id}
        with pytest.raises(RunIdTaken):
            asyncio.run(run_audit(settings, "links", RunOptions(recorder=store, run_id=first.id)))
    finally:
        store.close()
