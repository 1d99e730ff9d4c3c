"""The `auditor` command: parses flags, calls the runner, maps results to exit codes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import IntEnum
from importlib import resources
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor import config as config_mod
from auditor.config import DEFAULT_CONFIG, Settings
from auditor.errors import AuditorError, ConfigError, NothingMatched, UsageError
from auditor.results import RunResult, Severity, Status


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


# ---------------------------------------------------------------------------------------------
# Running an audit


def _open_store(settings: Settings, database_url: str | None) -> Any:
    from auditor.store import Store

    store = Store.open(settings.database_url(database_url))
    for run_id in store.mark_interrupted():
        print(
            f"auditor: run {run_id} was left running by a process that is gone; marked interrupted",
            file=sys.stderr,
        )
    return store


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


def execute(
    settings: Settings,
    audit: str,
    *,
    base_url: str | None = None,
    report_dir: str | None = None,
    database_url: str | None = None,
    trigger: str = "manual",
    quiet: bool = False,
    alerts: bool = False,
) -> tuple[RunResult, ExitCode]:
    """Run `audit` with a store, a progress display and reports; print the summary.

    `alerts`: process the run's incidents and notify the config's channels (`auditor run` only:
    never a crawl, an ad-hoc scenario run, the demo or a gate)."""
    from auditor import progress
    from auditor.runner import RunOptions, run_audit

    redactor = RedactingFilter(settings)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    store = _open_store(settings, database_url)
    try:
        opts = RunOptions(
            trigger=trigger,
            base_url=base_url,
            report_dir=Path(report_dir) if report_dir else None,
            progress=None if quiet else progress.for_stream(),
            recorder=store,
        )
        run = asyncio.run(run_audit(settings, audit, opts))
        if alerts:
            _alert(store, run, settings)
    finally:
        store.close()
    print_summary(run)
    return run, exit_code_for(run)


def _alert(store: Any, run: RunResult, settings: Settings) -> None:
    """Notify the alert channels about `run`. A channel that could not send, or alerting that
    failed, is an internal error: the run ends as `error` (exit 3), stored and reported so."""
    from auditor.alerts.process import process_run
    from auditor.runner import finish_again, internal_error

    config = settings.model.alerts
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


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_run(args: argparse.Namespace) -> int:
    settings = config_mod.load(args.config)
    _, code = execute(
        settings,
        args.audit,
        base_url=args.base_url,
        report_dir=args.report_dir,
        database_url=args.database_url,
        quiet=args.quiet,
        alerts=True,
    )
    return code


def crawl_options(args: argparse.Namespace) -> dict[str, Any]:
    """CrawlOptions from `auditor crawl` flags (only the ones given, so site limits still apply)."""
    opts: dict[str, Any] = {
        "external": args.external,
        "fragments": args.fragments,
        "sitemap": args.sitemap,
        "include": args.include,
        "exclude": args.exclude,
        "scope": args.scope,
    }
    check_limit = config_mod.CheckConfig.model_fields["timeout_s"].default
    if args.max_time is not None and args.max_time + 60 > check_limit:
        # The check's own time limit must not cut a crawl the user asked to run this long.
        opts["timeout_s"] = args.max_time + 60
    for flag, key in [
        ("max_pages", "max_pages"),
        ("max_depth", "max_depth"),
        ("max_time", "max_duration_s"),
        ("concurrency", "concurrency"),
        ("per_host", "per_host_concurrency"),
        ("delay", "delay_s"),
        ("timeout", "request_timeout_s"),
    ]:
        if getattr(args, flag) is not None:
            opts[key] = getattr(args, flag)
    if args.ignore_robots:
        opts["respect_robots"] = False
    return opts


def _pairs(values: list[str], sep: str, what: str) -> dict[str, str]:
    out = {}
    for v in values:
        k, s, val = v.partition(sep)
        if not s or not k.strip():
            raise UsageError(f"{what} must look like NAME{sep}VALUE, got {v!r}")
        out[k.strip()] = val.strip()
    return out


def cmd_crawl(args: argparse.Namespace) -> int:
    site: dict[str, Any] = {
        "headers": _pairs(args.header, ":", "--header"),
        "cookies": _pairs(args.cookie, "=", "--cookie"),
    }
    if args.user_agent:
        site["user_agent"] = args.user_agent
    settings = config_mod.single_check(
        args.url,
        "crawl",
        crawl_options(args),
        check_name="links",
        site=site,
        database_url=args.database_url,
    )
    _, code = execute(
        settings, "links", report_dir=args.report_dir, database_url=args.database_url, quiet=args.quiet
    )
    return code


def scenario_paths(given: list[str]) -> list[str]:
    """`--scenarios` folders; without any, ./scenarios if it exists, else the bundled examples."""
    if given:
        return given
    from auditor.scenarios import BUNDLED

    return ["scenarios"] if Path("scenarios").is_dir() else [BUNDLED]


def cmd_scenario_list(args: argparse.Namespace) -> int:
    from auditor.scenarios import load_dirs, resolve_dirs

    found = load_dirs(resolve_dirs(scenario_paths(args.scenarios), Path.cwd()))
    if not found:
        print("no scenarios found (scenarios are *.py files with @scenario functions)")
        return ExitCode.OK
    rows = [("NAME", "TAGS", "PLACES ORDER", "FILE")]
    for spec in sorted(found.values(), key=lambda s: s.name):
        rows.append((spec.name, ",".join(spec.tags) or "-", "yes" if spec.places_order else "no", spec.where))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3])
    return ExitCode.OK


def cmd_scenario_run(args: argparse.Namespace) -> int:
    from auditor.scenarios import find

    paths = scenario_paths(args.scenarios)
    for name in args.names:
        find(name, paths, Path.cwd())  # an unknown name is a usage error before anything runs
    names = list(dict.fromkeys(args.names))
    settings = config_mod.ad_hoc(
        args.base_url,
        {n: {"kind": "scenario", "scenario": n, "paths": paths} for n in names},
        audit=names[0] if len(names) == 1 else "scenarios",
        site={"allow_orders": args.allow_orders},
        database_url=args.database_url,
    )
    _, code = execute(
        settings,
        next(iter(settings.audits)),
        report_dir=args.report_dir,
        database_url=args.database_url,
        quiet=args.quiet,
    )
    return code


def cmd_validate(args: argparse.Namespace) -> int:
    settings = config_mod.load(args.config)
    print(
        f"{args.config}: valid ({len(settings.sites)} site(s), {len(settings.checks)} check(s), "
        f"{len(settings.audits)} audit(s))"
    )
    warnings = settings.warnings()
    for w in warnings:
        print(f"  warning: {w}")
    if warnings:
        print(f"{len(warnings)} warning(s): the config works as it is; fix them if not what you meant")
    return ExitCode.OK


def starter_config() -> str:
    return resources.files("auditor").joinpath("starter.toml").read_text(encoding="utf-8")


DEMO_BASE_URL = "http://127.0.0.1:8000"

_DEMO_COMMENTS = {
    "": (
        "auditor.toml for the bundled demo shop: the config `auditor demo` runs with.\n"
        "Try the CI gate on it:\n"
        "  auditor demo-shop --port 8000 [--fault dead-link]          # in one terminal\n"
        "  auditor gate --config auditor.toml --base-url http://127.0.0.1:8000\n"
        "Exit 0: pass; 1: something customers would hit is broken; see the README."
    ),
    "sites": "The shop to audit; --base-url replaces base_url (a preview deploy).",
    "checks": "Checks: `kind`, optional `needs` and `timeout_s`; every other key is the kind's option.",
    "audits": "Audits: named sets of checks. `auditor gate` runs the one named `gate` (or --audit NAME).",
}


def demo_config_toml(base_url: str = DEMO_BASE_URL) -> str:
    """The demo's config (`auditor.demo.audit.demo_config`) as commented TOML."""
    from auditor.demo.audit import demo_config
    from auditor.gate import toml

    return toml.dumps(demo_config(base_url=base_url), _DEMO_COMMENTS)


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    path.write_text(demo_config_toml() if args.demo else starter_config(), encoding="utf-8")
    if args.demo:
        print(
            f"wrote {path}; start the shop with `auditor demo-shop --port 8000`, then "
            f"`auditor gate --config {path} --base-url {DEMO_BASE_URL}`"
        )
    else:
        print(f"wrote {path}; edit it, then `auditor validate --config {path}`")
    return ExitCode.OK


def cmd_gate(args: argparse.Namespace) -> int:
    from auditor.gate.command import cmd_gate as gate

    return gate(args)


def cmd_baseline_update(args: argparse.Namespace) -> int:
    from auditor.gate.command import cmd_baseline_update as update

    return update(args)


def cmd_db(args: argparse.Namespace) -> int:
    from auditor import store

    url = _database_url(args)
    if args.db_command == "prune":
        return _prune(url, args.older_than, args.keep_reports)
    if args.db_command == "upgrade":
        store.upgrade(url, args.revision)
    elif args.db_command == "downgrade":
        store.downgrade(url, args.revision)
    print(f"database at revision {store.current(url) or 'base (empty)'}")
    return ExitCode.OK


def _prune(url: str, days: float, keep_reports: bool) -> int:
    from datetime import timedelta

    from auditor.report import remove_run_reports
    from auditor.store import Store

    if days <= 0:
        raise UsageError(f"--older-than must be a positive number of days, got {days:g}")
    before = datetime.now(UTC) - timedelta(days=days)
    store = Store.open(url)
    try:
        pruned = store.prune(before)
    finally:
        store.close()
    done = ", ".join(f"{n} {what}" for what, n in pruned.counts.items())
    print(f"deleted what was older than {before:%Y-%m-%d %H:%M} UTC: {done}")
    if keep_reports:
        print(f"kept the report folders of the {len(pruned.reports)} deleted run(s) (--keep-reports)")
        return ExitCode.OK
    removed, kept = remove_run_reports(pruned.reports)
    print(f"removed {removed} report folder(s) of the deleted runs")
    for reason in kept:
        print(f"kept {reason}")
    return ExitCode.OK


def _database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return config_mod.resolve_sqlite_path(args.database_url, Path.cwd())
    if Path(args.config).exists():
        return config_mod.load(args.config).database_url()
    return config_mod.resolve_sqlite_path(
        os.environ.get("AUDITOR_DATABASE_URL", config_mod.DEFAULT_DATABASE_URL), Path.cwd()
    )


def cmd_schedule(args: argparse.Namespace) -> int:
    from auditor.scheduler.service import serve as serve_schedule

    settings = config_mod.load(args.config)
    return serve_schedule(
        settings,
        scheduler_config=settings.model.scheduler,
        database_url=args.database_url,
        report_dir=args.report_dir,
    )


def cmd_mail_sink(args: argparse.Namespace) -> int:
    from auditor.mail.sink import serve_sink

    serve_sink(_database_url(args), args.host, args.port)  # returns on Ctrl-C
    return ExitCode.OK


def cmd_runs(args: argparse.Namespace) -> int:
    from auditor.alerts.views import format_runs
    from auditor.store import Store

    store = Store.open(_database_url(args))
    try:
        print(format_runs(store.recent_runs(limit=args.limit, audit=args.audit)))
    finally:
        store.close()
    return ExitCode.OK


def cmd_show(args: argparse.Namespace) -> int:
    from auditor.alerts.views import format_run
    from auditor.store import Store

    store = Store.open(_database_url(args))
    try:
        run = store.load_run(args.run_id)
        if run is None:
            raise NothingMatched(
                f"no run {args.run_id!r} in the database; `auditor runs` lists the recorded runs"
            )
        print(format_run(run, store.notifications(run_id=run.id)))
    finally:
        store.close()
    return ExitCode.OK


def cmd_incidents(args: argparse.Namespace) -> int:
    from auditor.alerts.views import format_incidents
    from auditor.store import IncidentStatus, Store

    statuses = [IncidentStatus.OPEN, IncidentStatus.PENDING] if args.pending else [IncidentStatus.OPEN]
    store = Store.open(_database_url(args))
    try:
        incidents = store.list_incidents(audit=args.audit, statuses=statuses)
        print(format_incidents(incidents, now=datetime.now(UTC)))
    finally:
        store.close()
    return ExitCode.OK


def cmd_demo_shop(args: argparse.Namespace) -> int:
    from auditor.demo import serve

    serve(args.port, args.smtp_host, args.smtp_port, demo_faults(args.fault + args.behave))
    return ExitCode.OK


def demo_faults(values: list[str]) -> Any:
    """The demo shop's faults from `--fault` values; an unknown name is a usage error."""
    from auditor.demo import parse_faults

    try:
        return parse_faults(values)
    except ValueError as e:
        raise UsageError(str(e)) from None


def cmd_demo(args: argparse.Namespace) -> int:
    from auditor.demo.audit import run_demo

    return run_demo(args)


# ---------------------------------------------------------------------------------------------
# Parser


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report-dir", help="write the reports here (default: reports/<run-id>/)")
    p.add_argument(
        "--database-url",
        help="where runs are recorded (default: sqlite:///auditor.db, or $AUDITOR_DATABASE_URL)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display, just the summary")


def _add_gate_flags(p: argparse.ArgumentParser, *, base_url_required: bool = True) -> None:
    # Also after the command (`auditor gate --config auditor.toml`), as CI jobs are usually written.
    p.add_argument("--config", default=argparse.SUPPRESS, help="the config file (as the global --config)")
    p.add_argument("--audit", help="the audit to run (default: the one named `gate`, else the only one)")
    p.add_argument(
        "--base-url", required=base_url_required, help="the deploy to check (a preview or staging URL)"
    )
    p.add_argument(
        "--external",
        action="store_true",
        help="check links to other hosts too (a gate checks internal links only)",
    )
    _add_run_flags(p)


def _add_scenarios_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenarios",
        action="append",
        default=[],
        metavar="DIR",
        help="load scenarios from this folder (repeatable; 'bundled' = the examples; "
        "default ./scenarios, else the bundled ones)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auditor",
        description="Audit an online shop the way a customer meets it, and say what broke first.",
    )
    parser.add_argument(
        "--config",
        default=os.environ.get("AUDITOR_CONFIG", DEFAULT_CONFIG),
        help="the config file (default: auditor.toml, or $AUDITOR_CONFIG)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens in detail")
    parser.add_argument("--version", action="version", version=f"auditor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run an audit from the config now (e.g. before a campaign launch)")
    p.add_argument("audit", help="the audit's name in the config")
    p.add_argument("--base-url", help="audit this URL instead of the site's base_url (a preview deploy)")
    _add_run_flags(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("crawl", help="crawl a site for dead links, no config needed")
    p.add_argument("url", help="the start URL: the crawl starts there and covers its host (see --scope)")
    p.add_argument(
        "--scope",
        choices=["host", "path"],
        default="host",
        help="host: every page on the URL's host (default); path: only pages under the URL's folder",
    )
    on_off = argparse.BooleanOptionalAction
    p.add_argument("--external", action=on_off, default=True, help="check links to other hosts (default on)")
    p.add_argument("--fragments", action=on_off, default=True, help="check #fragments (default on)")
    p.add_argument("--sitemap", action=on_off, default=True, help="read the sitemaps (default on)")
    p.add_argument("--ignore-robots", action="store_true", help="ignore robots.txt (your own site only)")
    p.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="REGEX",
        help="crawl only internal URLs matching this (repeatable)",
    )
    p.add_argument(
        "--exclude", action="append", default=[], metavar="REGEX", help="skip URLs matching this (repeatable)"
    )
    p.add_argument("--max-pages", type=int, help="pages fetched at most (default 10000)")
    p.add_argument("--max-depth", type=int, help="clicks from the start page at most (default 25)")
    p.add_argument("--max-time", type=float, metavar="SECONDS", help="stop crawling after this long")
    p.add_argument("--concurrency", type=int, help="requests in flight at once (default 16)")
    p.add_argument("--per-host", type=int, help="requests in flight at once to one host (default 8)")
    p.add_argument("--delay", type=float, metavar="SECONDS", help="pause between requests to one host")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="one request's time limit (default 20)")
    p.add_argument("--user-agent", help="the User-Agent header to send")
    p.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header sent to the site's own host only (repeatable)",
    )
    p.add_argument(
        "--cookie",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a cookie sent to the site's own host only (repeatable)",
    )
    _add_run_flags(p)
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("scenario", help="list scenarios, or run some against a URL with no config")
    scs = p.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    s = scs.add_parser("list", help="list the scenarios: name, tags, whether it places an order, file")
    _add_scenarios_flag(s)
    s.set_defaults(func=cmd_scenario_list)
    s = scs.add_parser("run", help="run scenarios by name against a URL, as one audit")
    s.add_argument("names", nargs="+", metavar="NAME", help="the scenarios to run")
    s.add_argument("--base-url", required=True, help="the shop to run them against")
    s.add_argument(
        "--allow-orders", action="store_true", help="let scenarios that place an order run (test shops only)"
    )
    _add_scenarios_flag(s)
    _add_run_flags(s)
    s.set_defaults(func=cmd_scenario_run)

    p = sub.add_parser("schedule", help="run the config's audits on their cron schedules until SIGTERM")
    p.add_argument(
        "--report-dir", help="make each run's report folder in DIR (default: the config's report_dir)"
    )
    p.add_argument(
        "--database-url",
        help="where runs are recorded (default: the config's, $AUDITOR_DATABASE_URL, or sqlite:///auditor.db)",
    )
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser(
        "mail-sink", help="receive a staging shop's email over SMTP and keep it for the email checks"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8025, help="SMTP port to listen on (default 8025)")
    p.add_argument(
        "--database-url",
        help="where mail is kept: default the config's, $AUDITOR_DATABASE_URL, or sqlite:///auditor.db",
    )
    p.set_defaults(func=cmd_mail_sink)

    database_help = "default: the config's, $AUDITOR_DATABASE_URL, or sqlite:///auditor.db"
    p = sub.add_parser("runs", help="list recent runs, newest first")
    p.add_argument("--audit", help="only this audit's runs")
    p.add_argument("--limit", type=int, default=20, help="how many runs to list (default 20)")
    p.add_argument("--database-url", help=database_help)
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("show", help="print one run: its checks, findings and the alerts it sent")
    p.add_argument("run_id", metavar="RUN_ID", help="the run's id, as `auditor runs` lists it")
    p.add_argument("--database-url", help=database_help)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("incidents", help="list the open incidents, longest-standing first")
    p.add_argument("--audit", help="only this audit's incidents")
    p.add_argument("--pending", action="store_true", help="also incidents failing but not announced yet")
    p.add_argument("--database-url", help=database_help)
    p.set_defaults(func=cmd_incidents)

    p = sub.add_parser("validate", help="check the config and list every problem")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("init", help="write a commented starter auditor.toml")
    p.add_argument("path", nargs="?", default=DEFAULT_CONFIG)
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument(
        "--demo", action="store_true", help="write the demo shop's config (the one `auditor demo` uses)"
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "gate", help="gate a deploy in CI: run the gating audit, exit 1 if customers would hit a break"
    )
    _add_gate_flags(p)
    p.add_argument(
        "--baseline", metavar="FILE", help="findings in this file are known: they do not fail the gate"
    )
    p.add_argument(
        "--fail-on",
        choices=["error", "warning"],
        default="error",
        help="the lowest severity that fails the gate (default: error)",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="cap the whole gate; checks still running then end in error and the gate exits 3",
    )
    p.set_defaults(func=cmd_gate)

    p = sub.add_parser("baseline", help="manage the gate's baseline of known findings")
    bls = p.add_subparsers(dest="baseline_command", required=True, metavar="ACTION")
    b = bls.add_parser("update", help="write the current findings' fingerprints to a baseline file")
    _add_gate_flags(b, base_url_required=False)
    b.add_argument("--output", required=True, metavar="FILE", help="the baseline file to write (commit it)")
    b.add_argument(
        "--run", metavar="RUN_ID", help="use this recorded run's findings instead of running the audit"
    )
    b.set_defaults(func=cmd_baseline_update, time_budget=None)

    p = sub.add_parser("db", help="manage the database schema")
    dbs = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    d = dbs.add_parser("upgrade", help="migrate to the newest schema (runs also do this by themselves)")
    d.add_argument("revision", nargs="?", default="head")
    d = dbs.add_parser("downgrade", help="migrate back to REVISION ('base' empties it)")
    d.add_argument("revision")
    dbs.add_parser("current", help="print the schema revision")
    d = dbs.add_parser(
        "prune", help="delete runs (with their report folders), mail and resolved incidents older than DAYS"
    )
    d.add_argument(
        "--older-than", type=float, required=True, metavar="DAYS", help="keep what is newer (e.g. 90)"
    )
    d.add_argument(
        "--keep-reports",
        action="store_true",
        help="leave the deleted runs' report folders on disk (by default they are removed too)",
    )
    for d in dbs.choices.values():
        d.add_argument(
            "--database-url", help="default: the config's, $AUDITOR_DATABASE_URL, or sqlite:///auditor.db"
        )
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("demo", help="audit the bundled demo shop with some faults switched on")
    p.add_argument(
        "--fault",
        action="append",
        default=None,
        metavar="NAME[=VALUE]",
        help="switch a fault on (repeatable; default: a few)",
    )
    p.add_argument("--no-faults", action="store_true", help="a healthy shop: expect no findings")
    _add_run_flags(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("demo-shop", help="serve the bundled demo shop until Ctrl-C")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--smtp-host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, default=8025)
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="switch a fault on (repeatable; also $AUDITOR_DEMO_FAULTS)",
    )
    p.add_argument(
        "--behave",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="switch a behaviour on, e.g. ledger=decimal (repeatable; not a fault)",
    )
    p.set_defaults(func=cmd_demo_shop)
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `auditor` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except AuditorError as e:
        print(f"auditor: {describe_error(e)}", file=sys.stderr)
        return error_exit_code(e)
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return 130
