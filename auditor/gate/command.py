"""The gate's flow: pick the audit, internal links only, preflight, a database, run, decide, report.

`auditor gate` and `auditor baseline update` share it. Nothing here sends alerts: the gate's only
outputs are its exit code, its console lines, its reports and (on GitHub) annotations.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from auditor import app
from auditor import config as config_mod
from auditor.config import Settings, SiteConfig
from auditor.errors import AuditorError, NothingMatched, SiteUnreachable, UsageError
from auditor.gate import baseline as baseline_mod
from auditor.gate.ci import print_console, publish, publish_stop
from auditor.gate.verdict import decide
from auditor.report import Gating, write_reports
from auditor.results import RunResult, Severity, Status

GATE_AUDIT = "gate"
PREFLIGHT_TIMEOUT_S = 20.0


def pick_audit(settings: Settings, name: str | None) -> str:
    """`--audit NAME`, else the audit named `gate`, else the only audit; otherwise nothing matched."""
    known = ", ".join(sorted(settings.audits)) or "none are configured"
    if name is not None:
        if name not in settings.audits:
            raise NothingMatched(f"no audit named {name!r} (known: {known})")
        return name
    if GATE_AUDIT in settings.audits:
        return GATE_AUDIT
    if len(settings.audits) == 1:
        return next(iter(settings.audits))
    raise NothingMatched(f"no audit named {GATE_AUDIT!r} to gate with; pass --audit NAME (known: {known})")


def internal_only(settings: Settings) -> Settings:
    """The settings with every check option named `external` turned off: a gate checks the deploy,
    not the rest of the internet (an outage elsewhere must not block it)."""
    checks = {}
    for name, spec in settings.checks.items():
        field = type(spec.options).model_fields.get("external")
        if field is not None and field.annotation in (bool, "bool"):
            spec = dataclasses.replace(spec, options=spec.options.model_copy(update={"external": False}))
        checks[name] = spec
    return dataclasses.replace(settings, checks=checks)


def preflight(site: SiteConfig) -> None:
    """GET the base URL once: a deploy that cannot be reached at all (refused, DNS, TLS, no answer)
    is exit 3 with one line, before any check starts a browser. Any HTTP status is an answer."""
    import httpx

    from auditor.http import build_client

    async def get() -> None:
        async with build_client(site) as client:
            await client.get(site.base_url, follow_redirects=True, timeout=PREFLIGHT_TIMEOUT_S)

    try:
        asyncio.run(get())
    except httpx.TransportError as e:
        reason = (str(e).strip().splitlines() or [""])[0] or type(e).__name__
        raise SiteUnreachable(f"could not reach {site.base_url}: {reason}") from None


def _configured_database(settings: Settings, override: str | None) -> bool:
    """Whether runs have a home: --database-url, $AUDITOR_DATABASE_URL or `database_url` in the config."""
    return bool(
        override
        or os.environ.get("AUDITOR_DATABASE_URL")
        or "database_url" in settings.model.model_fields_set
    )


def execute_gate(settings: Settings, audit: str, args: argparse.Namespace, trigger: str) -> RunResult:
    """Run `audit` as the gate does: preflight, re-run of failed checks, time budget, no alerts.

    The run is recorded when a database is configured; otherwise it uses a throwaway SQLite."""

    from auditor import progress
    from auditor.store import Store

    site = settings.sites[settings.site_for(audit)[0]].model_copy(update={"base_url": args.base_url})
    preflight(site)
    app.redact_logs(settings)
    with tempfile.TemporaryDirectory(prefix="auditor-gate-") as tmp:
        if _configured_database(settings, args.database_url):
            store = app.open_store(settings, args.database_url)
        else:
            store = Store.open(f"sqlite:///{Path(tmp) / 'gate.db'}")
        try:
            # The gate writes its reports itself, with the verdict (see _gate).
            overrides = app.Overrides(
                base_url=args.base_url,
                report_dir=args.report_dir,
                write_reports=False,
                rerun_failed=True,
                time_budget_s=args.time_budget,
            )
            run, _ = app.run_audit_now(
                settings,
                audit,
                trigger=trigger,
                overrides=overrides,
                progress=None if args.quiet else progress.for_stream(),
                store=store,
            )
            return run
        finally:
            store.close()


def _load_settings(args: argparse.Namespace) -> tuple[Settings, str]:
    settings = config_mod.load(args.config)
    audit = pick_audit(settings, args.audit)
    return (settings if args.external else internal_only(settings)), audit


def cmd_gate(args: argparse.Namespace) -> int:
    """`auditor gate`: exit 0 pass, 1 failures, 2 usage/config, 3 could not check, 4 no such audit.

    A gate that stops before it has a verdict still says why on GitHub (an annotation and the step
    summary), not only in the log: a red check with an empty summary sends people digging.
    """
    try:
        return _gate(args)
    except AuditorError as e:
        publish_stop(app.describe_error(e), int(app.error_exit_code(e)), sys.stdout)
        raise


def _gate(args: argparse.Namespace) -> int:
    if args.time_budget is not None and args.time_budget <= 0:
        raise UsageError(f"--time-budget must be a positive number of seconds, got {args.time_budget:g}")
    settings, audit = _load_settings(args)
    known = baseline_mod.load(Path(args.baseline)) if args.baseline else None
    gating = Gating(known.fingerprints if known else frozenset(), Severity(args.fail_on))
    run = execute_gate(settings, audit, args, trigger="gate")
    verdict = decide(run, gating)
    assert run.report_dir is not None
    paths = write_reports(run, run.report_dir, gating, verdict.line())
    print_console(run, verdict, sys.stdout)
    publish(paths["markdown"].read_text(encoding="utf-8"), verdict, sys.stdout)
    return verdict.code


def cmd_baseline_update(args: argparse.Namespace) -> int:
    """`auditor baseline update`: write the findings of a gate run (or a recorded run) as the baseline."""
    output = Path(args.output)
    if args.run:
        run = _recorded_run(args)
    else:
        if not args.base_url:
            raise UsageError(
                "give --base-url URL to run the gate's audit, or --run RUN_ID to use a recorded run"
            )
        settings, audit = _load_settings(args)
        run = execute_gate(settings, audit, args, trigger="baseline")
        assert run.report_dir is not None
        write_reports(run, run.report_dir)
    errored = [c.name for c in run.checks if c.derived_status() == Status.ERROR]
    new = baseline_mod.Baseline.from_run(run)
    new.write(output, run.audit)
    print(f"wrote {output}: {len(new.entries)} finding(s) of run {run.id} ({run.audit} on {run.base_url})")
    if errored:
        print(
            f"auditor: {', '.join(errored)} could not run, so their findings are missing from the baseline",
            file=sys.stderr,
        )
        return 3
    return 0


def _recorded_run(args: argparse.Namespace) -> RunResult:
    from auditor.store import Store

    store = Store.open(app.database_url_for(args.config, args.database_url))
    try:
        return app.find_run(store, args.run)
    finally:
        store.close()
