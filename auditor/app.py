"""The application layer: run an audit end to end, and record, alert and report it.

Every front door calls this module: the CLI, the scheduler, the gate and the demo (and a worker
or a web dashboard next). A front door only turns its input into a call here and shows the result;
opening the store, keeping secrets out of logs, choosing the checks to run, alerting and mapping a
result to an exit code happen here once, so the doors cannot drift apart.

Nothing here prints to stdout: a worker has no terminal. `print_summary` is here because several
doors print the same summary; they choose where (`out`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.config import Settings
from auditor.errors import AuditorError, ConfigError, NothingMatched, UsageError
from auditor.results import RunResult, Severity, Status

if TYPE_CHECKING:
    from auditor.runner import Progress
    from auditor.store import Store
    from auditor.store.remote import RemoteStore

log = logging.getLogger("auditor.app")


class ExitCode(IntEnum):
    OK = 0
    FAILURES = 1
    USAGE = 2
    INFRASTRUCTURE = 3
    NOTHING_MATCHED = 4


def exit_code_for(run: RunResult) -> ExitCode:
    """3 when auditor itself failed during the run (its results may be incomplete); else 1 when the
    site is broken; else 3 when something could not be checked; else 0."""
    if run.internal_errors:
        return ExitCode.INFRASTRUCTURE
    statuses = {c.derived_status() for c in run.checks}
    if Status.FAIL in statuses:
        return ExitCode.FAILURES
    if Status.ERROR in statuses or run.status == "interrupted":
        return ExitCode.INFRASTRUCTURE
    return ExitCode.OK


def error_exit_code(e: AuditorError) -> ExitCode:
    """The exit code of a run that stopped on `e`: 2 usage or config, 4 nothing matched, else 3."""
    if isinstance(e, ConfigError | UsageError):
        return ExitCode.USAGE
    if isinstance(e, NothingMatched):
        return ExitCode.NOTHING_MATCHED
    return ExitCode.INFRASTRUCTURE


def describe_error(e: AuditorError) -> str:
    """The one-line reason for the console (a config error lists every problem)."""
    return f"invalid config: {e}" if isinstance(e, ConfigError) else str(e)


# ---------------------------------------------------------------------------------------------
# Secrets out of logs, and the store


class RedactingFilter(logging.Filter):
    """Replaces the config's secrets in every log record, whatever logged it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.settings.redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = self.settings.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def redact_logs(settings: Settings) -> RedactingFilter:
    """Keep `settings`' secrets out of every log handler. Idempotent: a process that runs many
    audits (the scheduler, a worker) replaces the filter instead of stacking one per run."""
    redactor = RedactingFilter(settings)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    return redactor


def _tell_stderr(line: str) -> None:
    print(f"auditor: {line}", file=sys.stderr)


def open_store(
    settings: Settings, database_url: str | None = None, *, notice: Callable[[str], None] = _tell_stderr
) -> Store:
    """The run database (migrated), with the runs of processes that are gone marked interrupted.

    `notice` hears one line per such run (stderr by default; the scheduler logs them)."""
    from auditor.store import Store

    store = Store.open(settings.database_url(database_url))
    for run_id in store.mark_interrupted():
        notice(f"run {run_id} was left running by a process that is gone; marked interrupted")
    return store


def _open_run_store(
    settings: Settings, audit: str, database_url: str | None, *, alerts: bool
) -> Store | RemoteStore:
    """The recorder of one run: through the database process `auditor crawl` started at its
    beginning (`auditor.store.remote`) when the run only crawls and alerts no one, else `open_store`.

    Only then: a `RemoteStore` keeps no payment marks and processes no incidents."""
    from auditor.store import remote

    prewarmed = remote.take_prewarmed()
    if prewarmed is None:
        return open_store(settings, database_url)
    kinds = {settings.checks[name].kind for name in settings.audits[audit].checks if name in settings.checks}
    if kinds != {"crawl"} or alerts:
        prewarmed.discard()
        return open_store(settings, database_url)
    # The process is still importing SQLAlchemy on the other core. Ask it to open the database as
    # soon as it can, and meanwhile import the crawler the run is about to need, rather than wait
    # for it with nothing to do.
    from auditor.checks.crawl import load_crawler

    url = settings.database_url(database_url)
    prewarmed.request_open(url)
    load_crawler()
    opened = prewarmed.open(url)
    if opened is None:  # the process was gone; `open` has reaped it
        return open_store(settings, database_url)
    for run_id in opened.mark_interrupted():
        _tell_stderr(f"run {run_id} was left running by a process that is gone; marked interrupted")
    return opened


# ---------------------------------------------------------------------------------------------
# Running an audit


@dataclass(frozen=True)
class Overrides:
    """What one run changes from the config: what a front door's flags or a queued job ask for."""

    # The site: audit this deploy (a preview URL) instead of the audit's site's base_url.
    base_url: str | None = None
    report_dir: str | Path | None = None
    database_url: str | None = None
    # Run only these checks of the audit, plus the checks they need (`auditor run --check`).
    checks: tuple[str, ...] = ()
    # Process incidents and notify the config's channels: scheduled and `auditor run` runs only,
    # never a crawl, an ad-hoc scenario run, the demo or a gate (a preview must not page anyone).
    alerts: bool = False
    write_reports: bool = True
    # Record the run in the database (`auditor crawl --no-database` turns it off: nothing is
    # recorded, the reports have no history, and SQLAlchemy is never imported).
    record: bool = True
    rerun_failed: bool = False
    time_budget_s: float | None = None


def select_checks(settings: Settings, audit: str, checks: tuple[str, ...] | list[str]) -> Settings:
    """`settings` with `audit` narrowed to `checks` (the runner adds what they need).

    A name that is not one of the audit's checks (or a check they need) is a usage error that
    lists the ones it has."""
    from auditor.runner import plan

    if not checks:
        return settings
    known = [spec.name for spec in plan(settings, audit)]
    unknown = [name for name in checks if name not in known]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise UsageError(
            f"audit {audit!r} has no check {names}; its checks: {', '.join(known)} "
            f"(pass one with --check NAME)"
        )
    narrowed = settings.audits[audit].model_copy(update={"checks": list(dict.fromkeys(checks))})
    model = settings.model.model_copy(update={"audits": {**settings.audits, audit: narrowed}})
    return dataclasses.replace(settings, model=model)


def for_site(settings: Settings, audit: str, site: str | None) -> Settings:
    """`settings` as the run of `audit` on `site` sees them (`Settings.for_target`: the site's check
    overrides applied). `site` None: the audit's one site (a template audit: its first site).

    An unknown audit, or a site that is not one of the audit's sites, is a usage error."""
    if audit not in settings.audits:
        return settings  # the runner says what is wrong, as before
    names = settings.site_names(audit)
    if site is None:
        if not names:
            return settings  # no site at all: the runner says so, as before
        site = names[0]
    elif not site:
        return settings
    elif site not in names:
        raise UsageError(f"site {site!r} is not one of audit {audit!r}'s sites: {', '.join(names) or 'none'}")
    return settings.for_target(audit, site)


def site_targets(
    settings: Settings, audit: str, sites: Sequence[str] = (), tags: Sequence[str] = ()
) -> list[str]:
    """The sites one `auditor run AUDIT [--site S] [--tag T]` runs, in config order (usage errors
    for an unknown audit or site; NothingMatched when the tags leave none)."""
    if audit not in settings.audits:
        return [""]  # the run says what is wrong (exit 4), as before
    try:
        targets = settings.targets(audit, sites=sites, tags=tags)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not targets:
        raise NothingMatched(
            f"audit {audit!r} has no site with the tags {', '.join(tags)}"
            if tags
            else f"audit {audit!r} matches no site"
        )
    return [t.site for t in targets]


def only_audit(settings: Settings) -> str:
    """The audit to run when none is named: the only one; otherwise a usage error listing them."""
    names = list(settings.audits)
    if len(names) == 1:
        return names[0]
    if not names:
        raise NothingMatched("the config has no audits: add an [audits.NAME] table with its checks")
    listed = "\n".join(
        f"  {name}" + (f"  {a.description}" if a.description else "") for name, a in settings.audits.items()
    )
    raise UsageError(f"the config has {len(names)} audits; name the one to run:\n{listed}")


async def run_audit_async(
    settings: Settings,
    audit: str,
    *,
    trigger: str = "manual",
    overrides: Overrides = Overrides(),
    run_id: str | None = None,
    progress: Progress | None = None,
    store: Store | None = None,
    site: str | None = None,
    browser: Any = None,
) -> RunResult:
    """Run `audit` end to end: record it, alert on it (`overrides.alerts`), write its reports.

    `run_id`: given by a caller who enqueued the run and already told someone its id.
    `store`: a caller's open store (the scheduler keeps one); otherwise one is opened from
    `overrides.database_url` or the config, and closed. Raises AuditorError for what stops a run
    before it starts (no such audit or check, a store that cannot be opened); anything after is
    in the returned run (`exit_code_for`). `browser`: a `SharedBrowser` the caller keeps open
    across runs (a queue worker's), used instead of launching one for this run."""
    from auditor.http import preload_tls

    preload_tls()  # the CA bundle loads on another core while the checks are imported
    from auditor.runner import RunOptions, run_audit

    settings = for_site(settings, audit, site)
    settings = select_checks(settings, audit, overrides.checks)
    if overrides.alerts and not overrides.record:
        # Alerts need the run's history (what is new, what resolved): a door that alerts records.
        raise UsageError("alerts need a recorded run: a run that records nothing cannot alert")
    redact_logs(settings)
    own = store is None
    recorder: Store | RemoteStore | None = store
    if recorder is None and overrides.record:
        recorder = await asyncio.to_thread(
            _open_run_store, settings, audit, overrides.database_url, alerts=overrides.alerts
        )
    try:
        opts = RunOptions(
            trigger=trigger,
            base_url=overrides.base_url,
            report_dir=Path(overrides.report_dir) if overrides.report_dir else None,
            progress=progress,
            recorder=recorder,
            write_reports=overrides.write_reports,
            run_id=run_id,
            rerun_failed=overrides.rerun_failed,
            time_budget_s=overrides.time_budget_s,
            browser=browser,
        )
        run = await run_audit(settings, audit, opts)
        if overrides.alerts and recorder is not None:
            from auditor.store.remote import RemoteStore

            assert not isinstance(recorder, RemoteStore), "a run that alerts opens its own Store"
            await asyncio.to_thread(alert, recorder, run, settings)
    finally:
        if own and recorder is not None:
            recorder.close()
    return run


def run_audit_now(
    settings: Settings,
    audit: str,
    *,
    trigger: str = "manual",
    overrides: Overrides = Overrides(),
    run_id: str | None = None,
    progress: Progress | None = None,
    store: Store | None = None,
    site: str | None = None,
) -> tuple[RunResult, ExitCode]:
    """`run_audit_async` for a caller without an event loop; returns the run and its exit code."""
    run = asyncio.run(
        run_audit_async(
            settings,
            audit,
            trigger=trigger,
            overrides=overrides,
            run_id=run_id,
            progress=progress,
            store=store,
            site=site,
        )
    )
    return run, exit_code_for(run)


def run_in_terminal(
    settings: Settings,
    audit: str,
    *,
    base_url: str | None = None,
    report_dir: str | Path | None = None,
    database_url: str | None = None,
    trigger: str = "manual",
    quiet: bool = False,
    alerts: bool = False,
    checks: Sequence[str] = (),
    summary_to: Any = None,
    site: str | None = None,
    record: bool = True,
) -> tuple[RunResult, ExitCode]:
    """A run for a door with a terminal (the CLI, the demo): the progress display on stderr (none
    when `quiet`), then the summary on stdout (or `summary_to`). `record` False: nothing is
    written to the database (`Overrides.record`)."""
    from auditor import progress

    run, code = run_audit_now(
        settings,
        audit,
        trigger=trigger,
        overrides=Overrides(
            base_url=base_url,
            report_dir=report_dir,
            database_url=database_url,
            checks=tuple(checks),
            alerts=alerts,
            record=record,
        ),
        progress=None if quiet else progress.for_stream(),
        site=site,
    )
    print_summary(run, summary_to)
    return run, code


def demo_faults(values: list[str]) -> Any:
    """The demo shop's faults from `--fault` values; an unknown name is a usage error."""
    from auditor.demo import parse_faults

    try:
        return parse_faults(values)
    except ValueError as e:
        raise UsageError(str(e)) from None


def database_url_for(config: str | Path, override: str | None = None) -> str:
    """The database of a command that reads recorded runs or mail: `override` (--database-url),
    else the config's (when the file exists), else $AUDITOR_DATABASE_URL, else sqlite:///auditor.db;
    a relative SQLite path is made absolute from the working folder."""
    from auditor import config as config_mod

    if override:
        return config_mod.resolve_sqlite_path(override, Path.cwd())
    if Path(config).exists():
        return config_mod.load(config).database_url()
    return config_mod.resolve_sqlite_path(
        os.environ.get("AUDITOR_DATABASE_URL", config_mod.DEFAULT_DATABASE_URL), Path.cwd()
    )


def routed_alerts(settings: Settings, site: str) -> Any:
    """The alert config a run on `site` notifies: only its client's channels, or the agency's
    (`Settings.channels_for`); every channel when the config has no [clients]."""
    config = settings.model.alerts
    allowed = settings.channels_for(site)
    if allowed is None:
        return config
    return config.model_copy(update={"channels": {n: c for n, c in config.channels.items() if n in allowed}})


def alert(store: Any, run: RunResult, settings: Settings) -> None:
    """Notify the alert channels about `run`. A channel that could not send, or alerting that
    failed, is an internal error: the run ends as `error` (exit 3), stored and reported so."""
    from auditor.alerts.process import process_run
    from auditor.runner import finish_again, internal_error

    config = routed_alerts(settings, run.site)
    report_url = config.report_url.replace("{run_id}", run.id) if config.report_url else None
    try:
        sent = process_run(store, run, config, report_url=report_url)
        problems = [
            f"alert channel {n.channel!r} could not send the {n.event} message: {n.error}"
            for n in sent
            if not n.ok
        ]
    except Exception as e:
        logging.getLogger("auditor.alerts").exception("alerts for run %s could not be processed", run.id)
        problems = [f"the alerts of this run could not be processed: {type(e).__name__}: {e}"]
    if problems:
        for problem in problems:
            internal_error(run, settings.redact(problem))
        finish_again(run, store)


# ---------------------------------------------------------------------------------------------
# Recorded runs


def find_run(store: Any, ref: str) -> RunResult:
    """The recorded run `ref` names: `latest`, a full run id, or a unique prefix of one.

    Nothing matching is NothingMatched (exit 4); an ambiguous prefix is a usage error that lists
    the matching runs (exit 2)."""
    if ref == "latest":
        newest = store.recent_runs(limit=1)
        if not newest:
            raise NothingMatched("no runs recorded yet; `auditor run` or `auditor crawl` records one")
        ref = newest[0].id
    run: RunResult | None = store.load_run(ref)
    if run is not None:
        return run
    matches: list[str] = store.run_ids_starting(ref, limit=11) if ref else []
    if len(matches) == 1:
        found: RunResult | None = store.load_run(matches[0])
        if found is not None:
            return found
    if len(matches) > 1:
        shown = "\n".join(f"  {m}" for m in matches[:10])
        more = "\n  ..." if len(matches) > 10 else ""
        raise UsageError(f"run id prefix {ref!r} matches several runs; give more of the id:\n{shown}{more}")
    raise NothingMatched(
        f"no run {ref!r} in the database; `auditor runs` lists the recorded runs (a prefix or `latest` works)"
    )


# ---------------------------------------------------------------------------------------------
# The summary every door prints


def print_summary(run: RunResult, out: Any = None, limit: int = 20) -> None:
    """What broke, where, and where the report is: the lines a person reads first."""
    from auditor.containment import safe_text
    from auditor.report.view import cut_short, internal_note

    out = out or sys.stdout
    stats = run.stats()
    print(f"\n{run.status.upper()}: audit {run.audit!r} on {run.base_url} (run {run.id})", file=out)
    if run.internal_errors:
        print(f"  {internal_note(run)}", file=out)
        for problem in run.internal_errors:
            print(f"  ! {safe_text(problem)}", file=out)
    for line in cut_short(run):
        print(f"  {safe_text(line)}", file=out)
    for c in run.checks:
        msg = f": {safe_text(c.message)}" if c.message else ""
        print(
            f"  {c.derived_status():<5} {c.name} ({c.kind}, {c.duration_s:.1f} s, "
            f"{len(c.findings)} finding(s)){msg}",
            file=out,
        )
    ordered = sorted(run.findings, key=lambda f: (f.severity != Severity.ERROR, f.check, f.kind, f.url))
    for f in ordered[:limit]:
        where = (
            f"  (on {f.source}" + (f" and {len(f.sources) - 1} more page(s))" if len(f.sources) > 1 else ")")
            if f.source
            else ""
        )
        print(safe_text(f"  - {f.severity}: {f.kind}: {f.url}{where}"), file=out)
    if len(ordered) > limit:
        print(f"  ... and {len(ordered) - limit} more finding(s) in the report", file=out)
    counts = ", ".join(f"{k} {v}" for k, v in stats.items())
    print(f"  {counts}", file=out)
    if run.report_dir:
        print(f"Report: {run.report_dir / 'report.html'}", file=out)
