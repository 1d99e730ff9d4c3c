"""The text of `auditor incidents`, `auditor runs` and `auditor show RUN_ID`, from a real database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from auditor.alerts import AlertsConfig, format_incidents, format_run, format_runs, process_run
from auditor.alerts.message import duration
from auditor.store import Store
from tests.alerts.receivers import closed_port
from tests.alerts.runs import BASE, HOUR, T0, a_run, broken_link, check, recorded, scenario_failed, warning


def test_incidents_list_what_fails_since_when_last_seen_and_how_many_runs(store: Store) -> None:
    for n in (0, 1):
        run = a_run(n, check("links", broken_link()), check("checkout", scenario_failed(), kind="scenario"))
        process_run(store, run, AlertsConfig(), now=run.started_at)
    text = format_incidents(store.list_incidents(), now=T0 + 27 * HOUR)
    lines = text.splitlines()
    assert lines[0].split() == [
        "ID", "STATUS", "AUDIT", "CHECK", "KIND", "SINCE", "(UTC)", "FOR", "LAST", "SEEN", "(UTC)",
        "LAST", "RUN", "FAILS", "WHERE",
    ]  # fmt: skip
    assert lines[1].split()[1:] == [
        "open", "nightly", "links", "broken_link", "2026-11-23", "02:00", "1", "d", "3", "h",
        "2026-11-23", "03:00", "run-001", "2", f"{BASE}/gone",
    ]  # fmt: skip
    assert lines[2].endswith(f"{BASE}/checkout (step pay)")
    assert lines[-1] == "2 incidents; `auditor show RUN_ID` shows the run that last saw one."


def test_no_open_incident_says_so(store: Store) -> None:
    assert format_incidents(store.list_incidents(), now=T0) == "No open incidents."


def test_runs_list_newest_first_with_status_duration_and_counts(store: Store) -> None:
    recorded(store, a_run(0, check("links", broken_link(), warning())))
    recorded(store, a_run(1, check("links")))
    lines = format_runs(store.recent_runs()).splitlines()
    assert [line.split() for line in lines] == [
        ["RUN", "AUDIT", "SITE", "STATUS", "STARTED", "(UTC)", "TOOK", "ERRORS", "WARNINGS"],
        ["run-001", "nightly", "demo", "pass", "2026-11-23", "03:00", "5", "min", "0", "0"],
        ["run-000", "nightly", "demo", "fail", "2026-11-23", "02:00", "5", "min", "1", "1"],
    ]
    assert format_runs([]) == "No runs recorded yet; `auditor run AUDIT` records one."


def test_show_prints_a_run_with_its_checks_findings_and_alert_attempts(store: Store, tmp_path: Path) -> None:
    shot = tmp_path / "checkout" / "screenshot.png"
    run = a_run(
        0,
        check("links", broken_link(), warning()),
        check("checkout", scenario_failed(), kind="scenario", artifacts=[shot]),
    )
    run.report_dir = tmp_path
    recorded(store, run)
    cfg = AlertsConfig.model_validate({"channels": {"ops": {"url": f"json://127.0.0.1:{closed_port()}/x"}}})
    process_run(store, run, cfg, now=T0 + timedelta(minutes=6))
    loaded = store.load_run(run.id)
    assert loaded is not None
    text = format_run(loaded, store.notifications(run_id=run.id))
    assert text.splitlines()[:4] == [
        "Run run-000: fail",
        f"  audit 'nightly' on demo ({BASE}), schedule",
        "  started 2026-11-23 02:00 UTC, took 5 min",
        f"  report {tmp_path / 'report.html'}",
    ]
    assert "  links     crawl     fail    0.0 s  2" in text
    assert f"Evidence:\n  checkout: {shot}\n" in text  # kept in the database with the run
    assert "Findings (3):\n  error: checkout: scenario_failed:" in text
    assert "  warning: links: redirect_chain: " in text.split("error: links: broken_link")[1]
    assert (
        "Alerts sent:\n  2026-11-23 02:06 UTC  ops  new: [auditor] nightly: 2 new failures on demo  (FAILED: "
        in text
    )


def test_durations_are_given_to_the_unit_that_matters() -> None:
    td = timedelta
    assert [duration(d) for d in (td(seconds=42), td(minutes=5, seconds=9), td(hours=2, minutes=10))] == [
        "42 s",
        "5 min",
        "2 h 10 min",
    ]
    assert [duration(d) for d in (td(hours=3), td(days=1), td(days=3, hours=4, minutes=59))] == [
        "3 h",
        "1 d",
        "3 d 4 h",
    ]
