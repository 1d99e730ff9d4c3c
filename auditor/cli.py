"""The `auditor` command: parses arguments, calls `auditor.app`, prints what it returns.

Running an audit end to end (store, alerts, reports, exit codes) is `auditor.app`'s, which every
front door shares; this module only turns flags into calls and results into lines. Imports stay
lazy: `auditor crawl` must start fast, so no browser, template, alerting or migration library is
imported here at module level.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from auditor import __version__, app
from auditor import config as config_mod
from auditor.app import (  # noqa: F401  (re-exported: tests and tools name them from here)
    ExitCode,
    RedactingFilter,
    describe_error,
    error_exit_code,
    exit_code_for,
    print_summary,
)
from auditor.config import DEFAULT_CONFIG
from auditor.errors import AuditorError, UsageError
from auditor.results import RunResult

# Front doors with their own commands (workers, the dashboard, campaigns): each module has
# `add_commands(sub, command)`, where `command(sub, name, summary, description, examples)` makes a
# subcommand parser as the ones below are made; each sets `func` on its parsers. Such a module
# imports nothing heavy at module level (`auditor crawl` must start fast).
COMMAND_MODULES: tuple[str, ...] = (
    "auditor.web.commands",
    "auditor.campaign.commands",
    "auditor.queue.ops_commands",
    "auditor.queue.commands",
)

# A run with the terminal's progress display and summary (`auditor.app`'s, shared with the demo).
execute = app.run_in_terminal


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_run(args: argparse.Namespace) -> int:
    settings = config_mod.load(args.config)
    audit = args.audit if args.audit is not None else app.only_audit(settings)
    # One run per site of the audit (a template runs for each of its sites, one after another),
    # each recorded, alerted and reported on its own; the exit code is the worst of them.
    sites = app.site_targets(settings, audit, args.site, args.tag)
    if args.base_url and len(sites) > 1:
        raise UsageError(
            f"--base-url names one deploy, but audit {audit!r} runs for {len(sites)} sites "
            f"({', '.join(sites)}): pick one with --site"
        )
    if args.wait and not args.queue:
        raise UsageError("--wait goes with --queue: a run here always waits for its end")
    if args.queue:
        return _enqueue_runs(settings, audit, sites, args)
    worst = 0
    for site in sites:
        if len(sites) > 1 and not args.quiet:
            print(f"auditor: {audit} on site {site}", file=sys.stderr)
        _, code = execute(
            settings,
            audit,
            base_url=args.base_url,
            report_dir=args.report_dir,
            database_url=args.database_url,
            quiet=args.quiet,
            alerts=True,
            checks=args.check,
            site=site or None,
        )
        worst = max(worst, int(code))
    return worst


def _enqueue_runs(
    settings: config_mod.Settings, audit: str, sites: list[str], args: argparse.Namespace
) -> int:
    """`auditor run AUDIT --queue`: one queued run per site, each id on its own line of stdout."""
    from auditor.queue.enqueue import enqueue, queue_config

    queue_config(settings)  # no [queue]: say what to add before anything else
    here_only = [flag for flag, given in (("--check", args.check), ("--base-url", args.base_url)) if given]
    if args.report_dir:
        here_only.append("--report-dir")
    if here_only:
        raise UsageError(
            f"{' and '.join(here_only)} change a run made here; a queued run is the audit as the "
            "workers' config has it. Leave out --queue to run it here with them"
        )
    store = app.open_store(settings, args.database_url)
    try:
        ids: list[str] = []
        for site in sites:
            run_id = enqueue(settings, store, audit=audit, site=site or None, trigger="manual")
            ids.append(run_id)
            print(run_id, flush=True)
            if not args.quiet:
                print(
                    f"auditor: queued audit {audit!r} for site {site or '-'} as run {run_id}", file=sys.stderr
                )
        if not args.wait:
            if not args.quiet:
                print(
                    "auditor: a worker (`auditor worker`) runs it; `auditor runs` shows its progress, "
                    "`auditor show RUN_ID` the result",
                    file=sys.stderr,
                )
            return ExitCode.OK
        return _wait_for_runs(store, ids, args.quiet)
    finally:
        store.close()


# `auditor run --queue --wait` looks at the store this often.
WAIT_POLL_S = 1.0


def _wait_for_runs(store: Any, ids: list[str], quiet: bool) -> int:
    """Wait until every run in `ids` has finished; the exit code of the worst, as a run here gives.

    Each poll reads only the statuses (a big crawl's findings are loaded once, when it ends)."""
    import time

    from auditor.results import RunStatus

    pending, worst = list(ids), 0
    said: dict[str, str] = {}
    while pending:
        statuses = store.run_statuses(pending)
        for run_id in pending[:]:
            status = statuses.get(run_id)
            shown = str(status) if status is not None else "gone"
            if not quiet and said.get(run_id) != shown:
                print(f"auditor: run {run_id}: {shown}", file=sys.stderr)
                said[run_id] = shown
            if status in (RunStatus.QUEUED, RunStatus.RUNNING):
                continue
            pending.remove(run_id)
            run = store.load_run(run_id) if status is not None else None
            if run is None:
                worst = max(worst, int(ExitCode.INFRASTRUCTURE))
                continue
            code = int(app.exit_code_for(run))
            if run.status in (RunStatus.ERROR, RunStatus.INTERRUPTED):
                # What went wrong inside auditor is in report.json, not in the store: a run that
                # ended `error` without a failing check is still "could not check" (3), never 0.
                code = max(code, int(ExitCode.INFRASTRUCTURE))
            worst = max(worst, code)
        if pending:
            time.sleep(WAIT_POLL_S)
    return worst


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
    if getattr(args, "render", False):
        opts["render"] = True
    return opts


def _pairs(values: list[str], sep: str, what: str) -> dict[str, str]:
    out = {}
    for v in values:
        k, s, val = v.partition(sep)
        if not s or not k.strip():
            raise UsageError(f"{what} must look like NAME{sep}VALUE, got {v!r}")
        out[k.strip()] = val.strip()
    return out


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def start_url(given: str) -> str:
    """A bare host or path (`shop.example.com`, `shop.example.com/blog/`) means https://."""
    given = given.strip()
    return given if _SCHEME.match(given) else f"https://{given}"


CSV_FIELDS = ["severity", "kind", "check", "url", "source", "pages", "message", "fingerprint"]


def findings_csv(run: RunResult) -> str:
    """One row per finding, for a spreadsheet or a script."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for f in run.findings:
        writer.writerow(
            [f.severity, f.kind, f.check, f.url, f.source or "", len(f.sources), f.message, f.fingerprint]
        )
    return out.getvalue()


def crawl_output(run: RunResult, fmt: str) -> str:
    """The run in `--format`: json = report.json's data, csv = the findings, markdown = summary.md,
    text = the printed summary."""
    if fmt == "text":
        out = io.StringIO()
        print_summary(run, out)
        return out.getvalue().lstrip("\n")
    if fmt == "csv":
        return findings_csv(run)
    name = {"json": "report.json", "markdown": "summary.md"}[fmt]
    written = run.report_dir / name if run.report_dir else None
    if written is not None and written.is_file():
        return written.read_text(encoding="utf-8")
    # The reports could not be written (the run says so): render the same data here.
    from auditor.report import render_json, render_markdown

    return render_json(run) if fmt == "json" else render_markdown(run)


def cmd_crawl(args: argparse.Namespace) -> int:
    if args.no_database and args.database_url:
        raise UsageError(
            "--no-database records nothing, so --database-url has nothing to do; give one of them"
        )
    site: dict[str, Any] = {
        "headers": _pairs(args.header, ":", "--header"),
        "cookies": _pairs(args.cookie, "=", "--cookie"),
    }
    if args.user_agent:
        site["user_agent"] = args.user_agent
    settings = config_mod.single_check(
        start_url(args.url),
        "crawl",
        crawl_options(args),
        check_name="links",
        site=site,
        database_url=args.database_url,
    )
    # Machine-readable output owns stdout; the summary then goes to stderr with the progress.
    to_stdout = args.format != "text" and not args.output
    run, code = execute(
        settings,
        "links",
        report_dir=args.report_dir,
        database_url=args.database_url,
        quiet=args.quiet,
        summary_to=sys.stderr if to_stdout else None,
        record=not args.no_database,
    )
    if args.output:
        path = Path(args.output)
        try:
            path.write_text(crawl_output(run, args.format), encoding="utf-8", errors="replace")
        except OSError as e:
            print(
                f"auditor: could not write --output {path}: {e.strerror or e}; the reports are in "
                f"{run.report_dir}",
                file=sys.stderr,
            )
            return ExitCode.INFRASTRUCTURE
        print(f"Wrote {args.format} to {path}")
    elif args.format != "text":
        sys.stdout.write(crawl_output(run, args.format))
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
        "Exit 0: pass; 1: something customers would hit is broken; see docs/ci-gate.md."
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
    return app.database_url_for(args.config, args.database_url)


def cmd_schedule(args: argparse.Namespace) -> int:
    from auditor.scheduler.service import serve as serve_schedule

    settings = config_mod.load(args.config)
    return serve_schedule(
        settings,
        scheduler_config=settings.model.scheduler,
        database_url=args.database_url,
        report_dir=args.report_dir,
        health_port=args.health_port,
    )


def cmd_mail_sink(args: argparse.Namespace) -> int:
    from auditor.mail.sink import serve_sink

    if not 0 < args.max_message_mb <= 2048:
        raise UsageError(f"--max-message-mb must be above 0 and at most 2048, got {args.max_message_mb:g}")
    # returns on Ctrl-C
    serve_sink(_database_url(args), args.host, args.port, max_message_mb=args.max_message_mb)
    return ExitCode.OK


def cmd_runs(args: argparse.Namespace) -> int:
    from auditor.alerts.views import format_runs
    from auditor.store import Store

    store = Store.open(_database_url(args))
    try:
        now = datetime.now(UTC)
        runs = store.recent_runs(limit=args.limit, audit=args.audit)
        print(format_runs(runs, now=now, missed=_missed_slots(store, args.audit, now)))
    finally:
        store.close()
    return ExitCode.OK


# `auditor runs` lists the schedule slots missed in this many recent days (a queue's scheduler).
MISSED_DAYS = 7
MISSED_SHOWN = 20


def _missed_slots(store: Any, audit: str | None, now: datetime) -> list[Any]:
    from auditor.queue.state import QueueState

    missed = QueueState(store).missed_slots(since=now - timedelta(days=MISSED_DAYS))
    return [m for m in missed if audit is None or m.audit == audit][:MISSED_SHOWN]


def cmd_show(args: argparse.Namespace) -> int:
    from auditor.alerts.views import format_run
    from auditor.store import Store

    store = Store.open(_database_url(args))
    try:
        run = app.find_run(store, args.run_id)
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


demo_faults = app.demo_faults


def cmd_demo(args: argparse.Namespace) -> int:
    from auditor.demo.audit import run_demo

    return run_demo(args)


# ---------------------------------------------------------------------------------------------
# Parser


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions and examples as written; each option's default shown unless its help already
    says it (or it has none worth showing: off, empty, or worked out at run time)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


DATABASE_HELP = (
    "where runs are recorded (default: the config's, $AUDITOR_DATABASE_URL, or sqlite:///auditor.db)"
)


def _globals(*, top: bool) -> argparse.ArgumentParser:
    """`--config` and `-v`: on the top-level parser with their defaults, and on every subcommand
    with SUPPRESS, so `auditor validate --config x.toml` sets them and omitting them there keeps
    what was given before the subcommand (or the default)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("AUDITOR_CONFIG", DEFAULT_CONFIG) if top else argparse.SUPPRESS,
        help="the config file (default: auditor.toml, or $AUDITOR_CONFIG)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="log what happens in detail (to stderr)",
    )
    return p


_SUB_GLOBALS = _globals(top=False)


def _command(
    sub: Any, name: str, summary: str, description: str, examples: Sequence[str]
) -> argparse.ArgumentParser:
    """A subcommand with a one-line help, a paragraph, examples, and the global options."""
    paragraph = textwrap.fill(" ".join(description.split()), 100)
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) if examples else None
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{paragraph}",
        epilog=epilog,
        formatter_class=HelpFormatter,
        parents=[_SUB_GLOBALS],
    )
    return p


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report-dir", metavar="DIR", help="write the reports here (default: reports/<run-id>/)")
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress display (on stderr), just the summary"
    )


def _add_gate_flags(p: argparse.ArgumentParser, *, base_url_required: bool = True) -> None:
    p.add_argument("--audit", help="the audit to run (default: the one named `gate`, else the only one)")
    p.add_argument(
        "--base-url",
        metavar="URL",
        required=base_url_required,
        help="the deploy to check (a preview or staging URL)",
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
        description="Audit an online shop the way a customer meets it, and say what broke first.\n\n"
        "Global options (--config, -v) work before or after the command.\n"
        "Exit codes: 0 nothing failed, 1 failures found, 2 usage or config error,\n"
        "3 could not check (or auditor failed), 4 nothing matched.",
        epilog="examples:\n  auditor demo\n  auditor crawl shop.example.com\n  auditor init && auditor "
        "validate\n  auditor run nightly --config auditor.toml\n  auditor COMMAND --help",
        formatter_class=HelpFormatter,
        parents=[_globals(top=True)],
    )
    parser.add_argument("--version", action="version", version=f"auditor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(
        sub,
        "run",
        "run an audit from the config now (e.g. before a campaign launch)",
        """Runs the audit's checks (concurrently, as far as `needs` allows), records the run in the
        database, sends the alerts its incidents call for, and writes report.html, report.json,
        junit.xml and summary.md. Without AUDIT, the config's only audit runs; with several, they
        are listed (exit 2). --check runs some of the audit's checks, with the checks they need.""",
        [
            "auditor run",
            "auditor run nightly --config auditor.toml",
            "auditor run nightly --check links --check checkout",
            "auditor run nightly --base-url https://preview-42.shop.example",
            "auditor run nightly --site shop-a --tag woocommerce",
            "auditor run nightly --tag woocommerce --queue",
            "auditor run nightly --site shop-a --queue --wait",
        ],
    )
    p.add_argument(
        "--site",
        action="append",
        default=[],
        metavar="NAME",
        help="run the audit for this site only (repeatable; default: every site of the audit)",
    )
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="run the audit for its sites with this tag (repeatable: any of them)",
    )
    p.add_argument(
        "audit", nargs="?", metavar="AUDIT", help="the audit's name in the config (default: the only one)"
    )
    p.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this check of the audit, plus what it needs (repeatable)",
    )
    p.add_argument(
        "--base-url", metavar="URL", help="audit this URL instead of the site's base_url (a preview deploy)"
    )
    p.add_argument(
        "--queue",
        action="store_true",
        help="put the run on the config's [queue] for a worker instead of running it here; prints its id",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="with --queue: wait until the workers have finished the runs (exit code: the worst run's)",
    )
    _add_run_flags(p)
    p.set_defaults(func=cmd_run)

    p = _command(
        sub,
        "crawl",
        "crawl a site for dead links, no config needed",
        """Crawls every page of the start URL's host (or only its folder, --scope path) and checks
        each link, image, stylesheet, script and sitemap URL, as one recorded run with reports. A
        bare host means https://. --format json|csv|markdown writes machine-readable output to
        stdout (or --output FILE); the progress display and the summary then go to stderr.""",
        [
            "auditor crawl shop.example.com",
            "auditor crawl https://shop.example.com/blog/ --scope path --max-pages 200",
            "auditor crawl shop.example.com --format json > links.json",
            "auditor crawl shop.example.com --format csv --output findings.csv",
        ],
    )
    p.add_argument(
        "url",
        metavar="URL",
        help="the start URL (a bare host means https://): the crawl starts there and covers its host",
    )
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
        "--render",
        action="store_true",
        help="also load every page in Chromium: check the links and images of the rendered DOM and "
        "report failed requests, script and console errors and mixed content",
    )
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
    p.add_argument("--max-pages", type=int, metavar="N", help="pages fetched at most (default 10000)")
    p.add_argument(
        "--max-depth", type=int, metavar="N", help="clicks from the start page at most (default 25)"
    )
    p.add_argument("--max-time", type=float, metavar="SECONDS", help="stop crawling after this long")
    p.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at once (default 16)")
    p.add_argument(
        "--per-host", type=int, metavar="N", help="requests in flight at once to one host (default 8)"
    )
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
    p.add_argument(
        "--format",
        choices=["text", "json", "csv", "markdown"],
        default="text",
        help="text: the summary; json: report.json's data; csv: one row per finding; markdown: "
        "summary.md (default: text)",
    )
    p.add_argument("--output", metavar="FILE", help="write the --format output to FILE instead of stdout")
    _add_run_flags(p)
    p.add_argument(
        "--no-database",
        action="store_true",
        help="record nothing: no database is opened or created, the reports have no history and "
        "`auditor show` cannot find the run (a one-off check, a CI job); starts faster",
    )
    p.set_defaults(func=cmd_crawl)

    p = _command(
        sub,
        "scenario",
        "list scenarios, or run some against a URL with no config",
        """Scenarios are Python functions that drive Chromium through a shop as a customer would
        (see `auditor scenario list`). `auditor scenario run` runs some by name as one audit,
        recorded and reported like any run.""",
        ["auditor scenario list", "auditor scenario run guest-checkout --base-url http://127.0.0.1:8000"],
    )
    scs = p.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    s = _command(
        scs,
        "list",
        "list the scenarios: name, tags, whether it places an order, file",
        """Loads the scenario files of --scenarios (./scenarios if it exists, else the bundled
        examples) and lists each scenario found.""",
        ["auditor scenario list", "auditor scenario list --scenarios bundled --scenarios my-scenarios"],
    )
    _add_scenarios_flag(s)
    s.set_defaults(func=cmd_scenario_list)
    s = _command(
        scs,
        "run",
        "run scenarios by name against a URL, as one audit",
        """Runs the named scenarios against --base-url in Chromium. A scenario that places an order
        runs only with --allow-orders: use it on test shops only.""",
        [
            "auditor scenario run guest-checkout --base-url http://127.0.0.1:8000 --allow-orders",
            "auditor scenario run contact-form newsletter-signup --base-url https://staging.shop.example",
        ],
    )
    s.add_argument("names", nargs="+", metavar="NAME", help="the scenarios to run")
    s.add_argument("--base-url", metavar="URL", required=True, help="the shop to run them against")
    s.add_argument(
        "--allow-orders", action="store_true", help="let scenarios that place an order run (test shops only)"
    )
    _add_scenarios_flag(s)
    _add_run_flags(s)
    s.set_defaults(func=cmd_scenario_run)

    p = _command(
        sub,
        "schedule",
        "run the config's audits on their cron schedules until SIGTERM",
        """Runs each audit that has a `schedule` at its times (in [scheduler] timezone), at most one
        run of an audit at a time, and catches up a run missed while it was down. Alerts and the
        heartbeat are sent as for `auditor run`. The first SIGTERM or Ctrl-C lets running audits
        finish; a second quits at once. With a [queue] in the config it puts each slot's runs on
        the queue for `auditor worker` processes instead (one slot is queued once, however many
        schedulers run), retries while the broker is down and records a slot it could not queue.
        --health-port serves /healthz and /metrics (Prometheus).""",
        [
            "auditor schedule",
            "auditor schedule --config /etc/auditor/auditor.toml",
            "auditor schedule --health-port 9100",
        ],
    )
    p.add_argument(
        "--health-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve /healthz (200 while it runs) and /metrics on 127.0.0.1:PORT (0: a free one)",
    )
    p.add_argument(
        "--report-dir",
        metavar="DIR",
        help="make each run's report folder in DIR (default: the config's report_dir)",
    )
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.set_defaults(func=cmd_schedule)

    p = _command(
        sub,
        "mail-sink",
        "receive a staging shop's email over SMTP and keep it for the email checks",
        """An SMTP server that accepts every message and stores it in the database, where the
        email, contact-form and newsletter checks read it. Point the staging shop's SMTP settings
        at it. Runs until Ctrl-C.""",
        ["auditor mail-sink", "auditor mail-sink --host 0.0.0.0 --port 2525"],
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8025, help="SMTP port to listen on (default 8025)")
    p.add_argument(
        "--max-message-mb",
        type=float,
        default=25,
        metavar="MB",
        help="refuse (and record as refused, reported as email_refused) messages bigger than this "
        "(default 25, as max_message_mb in [sites.NAME.mailbox])",
    )
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.set_defaults(func=cmd_mail_sink)

    p = _command(
        sub,
        "runs",
        "list recent runs, newest first",
        """One line per recorded run: its id, audit, site, status, when it started, how long it
        took (or has been waiting or running so far) and its error and warning counts; runs that
        went through a queue add how long they waited and the worker process that ran them. Schedule
        slots missed in the last 7 days (the broker was down) follow. `auditor show RUN_ID` shows
        one run.""",
        ["auditor runs", "auditor runs --audit nightly --limit 5"],
    )
    p.add_argument("--audit", help="only this audit's runs")
    p.add_argument("--limit", type=int, default=20, help="how many runs to list (default 20)")
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.set_defaults(func=cmd_runs)

    p = _command(
        sub,
        "show",
        "print one run: its checks, findings and the alerts it sent",
        """RUN_ID is a run id as `auditor runs` lists it, any unique start of one, or `latest` for
        the newest run. A start that matches several runs lists them (exit 2).""",
        ["auditor show latest", "auditor show 20261123-0230", "auditor show 20261123-023000-3f2a"],
    )
    p.add_argument("run_id", metavar="RUN_ID", help="the run's id (or a unique start of it), or `latest`")
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.set_defaults(func=cmd_show)

    p = _command(
        sub,
        "incidents",
        "list the open incidents, longest-standing first",
        """An incident is one problem (one finding fingerprint) failing across runs until it is
        resolved. Listed with when it started, how long it has been open and the run that last saw
        it.""",
        ["auditor incidents", "auditor incidents --audit nightly --pending"],
    )
    p.add_argument("--audit", help="only this audit's incidents")
    p.add_argument("--pending", action="store_true", help="also incidents failing but not announced yet")
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.set_defaults(func=cmd_incidents)

    p = _command(
        sub,
        "validate",
        "check the config and list every problem",
        """Reads the config, checks every key and value, and lists every problem with its key path
        (exit 2), or says it is valid with its sites, checks and audits. Warnings (valid, but
        probably not what was meant) are listed and do not fail.""",
        ["auditor validate", "auditor validate --config staging.toml"],
    )
    p.set_defaults(func=cmd_validate)

    p = _command(
        sub,
        "init",
        "write a commented starter auditor.toml",
        """Writes a starter config with every section explained, to edit for your shop; --demo
        writes the demo shop's config instead (with a `gate` audit to try `auditor gate` on).""",
        ["auditor init", "auditor init staging.toml", "auditor init --demo --force"],
    )
    p.add_argument("path", nargs="?", default=DEFAULT_CONFIG, metavar="PATH", help="the file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument(
        "--demo", action="store_true", help="write the demo shop's config (the one `auditor demo` uses)"
    )
    p.set_defaults(func=cmd_init)

    p = _command(
        sub,
        "gate",
        "gate a deploy in CI: run the gating audit, exit 1 if customers would hit a break",
        """Runs the audit named `gate` (or --audit) against --base-url, internal links only, with a
        second try for a check that failed without placing an order. Exit 0 pass, 1 a finding at
        --fail-on or worse that is not in --baseline, 3 could not check. Sends no alerts; on GitHub
        it adds annotations and a step summary.""",
        [
            "auditor gate --base-url https://preview-42.shop.example",
            "auditor gate --config auditor.toml --base-url $PREVIEW_URL --baseline baseline.json",
        ],
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

    p = _command(
        sub,
        "baseline",
        "manage the gate's baseline of known findings",
        """A baseline is a committed file of finding fingerprints the gate accepts as already
        broken, so that only new breakage blocks a deploy.""",
        ["auditor baseline update --base-url https://staging.shop.example --output baseline.json"],
    )
    bls = p.add_subparsers(dest="baseline_command", required=True, metavar="ACTION")
    b = _command(
        bls,
        "update",
        "write the current findings' fingerprints to a baseline file",
        """Runs the gate's audit against --base-url (or reads a recorded run, --run) and writes its
        findings' fingerprints to --output. Exit 3 when a check could not run: its findings would
        be missing from the baseline.""",
        [
            "auditor baseline update --base-url https://staging.shop.example --output baseline.json",
            "auditor baseline update --run latest --output baseline.json",
        ],
    )
    _add_gate_flags(b, base_url_required=False)
    b.add_argument("--output", required=True, metavar="FILE", help="the baseline file to write (commit it)")
    b.add_argument(
        "--run",
        metavar="RUN_ID",
        help="use this recorded run's findings (an id, a unique start of one, or `latest`) "
        "instead of running the audit",
    )
    b.set_defaults(func=cmd_baseline_update, time_budget=None)

    p = _command(
        sub,
        "db",
        "manage the database schema",
        """Runs record themselves in a SQLite or PostgreSQL database whose schema auditor migrates
        by itself; these commands migrate, show the revision, or prune old runs.""",
        ["auditor db current", "auditor db upgrade", "auditor db prune --older-than 90"],
    )
    dbs = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    d = _command(
        dbs,
        "upgrade",
        "migrate to the newest schema (runs also do this by themselves)",
        "Migrates the database to REVISION (the newest by default) and prints the revision.",
        ["auditor db upgrade", "auditor db upgrade --database-url postgresql+psycopg://auditor@db/auditor"],
    )
    d.add_argument("revision", nargs="?", default="head", metavar="REVISION", help="the revision to reach")
    d = _command(
        dbs,
        "downgrade",
        "migrate back to REVISION ('base' empties it)",
        "Migrates the database back to REVISION; `base` removes every table auditor made.",
        ["auditor db downgrade base"],
    )
    d.add_argument("revision", metavar="REVISION", help="the revision to go back to, or `base`")
    _command(
        dbs,
        "current",
        "print the schema revision",
        "Prints the database's schema revision, or `base (empty)` when auditor has made no table.",
        ["auditor db current"],
    )
    d = _command(
        dbs,
        "prune",
        "delete runs (with their report folders), mail and resolved incidents older than DAYS",
        """Deletes what is older than --older-than days: runs with their findings (and the report
        folders auditor made for them, unless --keep-reports), stored mail, and resolved
        incidents. Open incidents stay.""",
        ["auditor db prune --older-than 90", "auditor db prune --older-than 30 --keep-reports"],
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
        d.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.set_defaults(func=cmd_db)

    p = _command(
        sub,
        "demo",
        "audit the bundled demo shop with some faults switched on",
        """Starts the bundled demo shop (Harbor & Pine) on a free loopback port with some faults
        on, runs the full audit against it, and says whether each fault was caught. Exit 0 when
        every fault was caught and nothing else was reported; 1 otherwise; 3 when it could not
        check (no browser).""",
        ["auditor demo", "auditor demo --fault dead-link --fault double-submit", "auditor demo --no-faults"],
    )
    p.add_argument(
        "--fault",
        action="append",
        default=None,
        metavar="NAME[=VALUE]",
        help="switch a fault on (repeatable; default: a few)",
    )
    p.add_argument("--no-faults", action="store_true", help="a healthy shop: expect no findings")
    p.add_argument(
        "--audit",
        choices=["full", "campaign"],
        default="full",
        help="full: every check; campaign: the spring sale's campaign check (faults utm-stripped, "
        "coupon-expired, landing-noindex)",
    )
    _add_run_flags(p)
    p.set_defaults(func=cmd_demo)

    p = _command(
        sub,
        "demo-shop",
        "serve the bundled demo shop until Ctrl-C",
        """Serves the demo shop on 127.0.0.1:--port, sending its email to --smtp-host:--smtp-port
        (where `auditor mail-sink` listens), with the faults and behaviours given switched on.""",
        ["auditor demo-shop --port 8000", "auditor demo-shop --fault dead-link --behave ledger=decimal"],
    )
    p.add_argument("--port", type=int, default=8000, help="HTTP port to listen on")
    p.add_argument("--smtp-host", default="127.0.0.1", metavar="HOST", help="where the shop sends email")
    p.add_argument("--smtp-port", type=int, default=8025, metavar="PORT", help="the SMTP port it sends to")
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
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub, _command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `auditor` command; returns the exit code."""
    import logging

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
