"""run_audit(): the one place that knows the whole flow of a run.

Checks run concurrently as far as `needs` allows, each under its own time limit. A check whose
needs did not pass is `skip`; an exception in a check is `error`, never a crash of the run.
Findings are recorded as they are emitted (a killed run keeps them); then the run is finished in
the store and the reports are written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from auditor import registry
from auditor.browser.launch import SharedBrowser
from auditor.check import CheckContext
from auditor.config import CheckSpec, Settings, SiteConfig
from auditor.errors import InfrastructureError, NothingMatched
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity, Status, worst
from auditor.scrub import Keyring

log = logging.getLogger("auditor.runner")

FLUSH_EVERY_S = 1.0


class Progress(Protocol):
    """What the runner tells whoever watches a run (a terminal display, plain log lines)."""

    def run_started(self, run: RunResult, checks: list[str]) -> None: ...
    def check_started(self, name: str, kind: str) -> None: ...
    def check_progress(self, name: str, counters: dict[str, Any]) -> None: ...
    def check_finished(self, result: CheckResult) -> None: ...
    def run_finished(self, run: RunResult) -> None: ...


class Recorder(Protocol):
    """The store, as the runner uses it (auditor.store.Store implements it)."""

    def start_run(self, run: RunResult) -> None: ...
    def record_findings(self, run_id: str, findings: list[Finding]) -> None: ...
    def finish_check(self, run_id: str, result: CheckResult) -> None: ...
    def finish_run(self, run: RunResult) -> None: ...


@dataclass
class RunOptions:
    """How to run an audit, beyond what the config says."""

    trigger: str = "manual"
    base_url: str | None = None
    report_dir: Path | None = None
    progress: Progress | None = None
    recorder: Recorder | None = None
    write_reports: bool = True
    run_id: str | None = None
    # Give a check that failed or errored one more try (the gate): passing then makes it `flaky`
    # (a warning), never a silent pass. Never for a check that may have placed an order or paid,
    # nor for one that needs such a check (see `_Execution._may_rerun`).
    rerun_failed: bool = False
    # A cap on the whole run in seconds (the gate's --time-budget); None: each check's timeout only.
    time_budget_s: float | None = None


class RunResources:
    """What the checks of one run share, opened on first use and closed when the run ends.

    `CheckContext.resources` is this object: `await ctx.resources.browser()`,
    `await ctx.resources.mailbox()`. `sessions` holds logged-in browser sessions (storage states)
    that one check hands to another in memory only: they are credentials, never written anywhere.
    """

    def __init__(self, settings: Settings, site: SiteConfig | None = None, store: Any = None) -> None:
        self._browser = SharedBrowser(settings.model.browser)
        self._site = site
        self._store = store
        self._own_store: Any = None
        self._own_dir: tempfile.TemporaryDirectory[str] | None = None
        self._mailbox: Any = None
        self._mail_lock = asyncio.Lock()
        self.sessions: dict[str, Any] = {}
        # Secrets this run knows (configured ones, its customers' passwords): for scrubbing evidence,
        # and for the login check, which needs the password the purchase typed (outputs hold a mask).
        self.keyring = Keyring(settings.secrets)

    async def browser(self) -> Any:
        """The run's Chromium (a playwright Browser), launched by the first caller."""
        return await self._browser.get()

    @property
    def browser_launches(self) -> int:
        return self._browser.launches

    async def mailbox(self) -> Any:
        """The site's mailbox (an `auditor.mail.Mailbox`), opened by the first caller; None if the
        site configures none. The built-in sink keeps mail in the run's database; a run without
        one (tests, a gate with no database) gets a throwaway SQLite file for the run's length."""
        if self._site is None or self._site.mailbox is None:
            return None
        async with self._mail_lock:
            if self._mailbox is None:
                from auditor.mail.config import open_mailbox
                from auditor.store import Store

                store = self._store if isinstance(self._store, Store) else None
                if store is None:
                    self._own_dir = tempfile.TemporaryDirectory(prefix="auditor-mail-")
                    url = f"sqlite:///{Path(self._own_dir.name) / 'mail.db'}"
                    store = self._own_store = await asyncio.to_thread(Store.open, url)
                self._mailbox = await asyncio.to_thread(open_mailbox, self._site.mailbox, store)
        return self._mailbox

    async def close(self) -> None:
        """Close the mailbox, then the browser; each is tried even if the other fails."""
        try:
            if self._mailbox is not None:
                await self._mailbox.close()
                self._mailbox = None
        finally:
            try:
                await self._browser.close()
            finally:
                if self._own_store is not None:
                    self._own_store.close()
                    self._own_store = None
                if self._own_dir is not None:
                    self._own_dir.cleanup()
                    self._own_dir = None


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: 20261123-094500-3f2a."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def plan(settings: Settings, audit: str) -> list[CheckSpec]:
    """The audit's checks plus everything they need, dependencies first."""
    if audit not in settings.audits:
        known = ", ".join(sorted(settings.audits)) or "none are configured"
        raise NothingMatched(f"no audit named {audit!r} (known: {known})")
    ordered: list[CheckSpec] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        spec = settings.checks[name]
        for need in spec.needs:
            add(need)
        ordered.append(spec)

    for name in settings.audits[audit].checks:
        add(name)
    return ordered


async def run_audit(settings: Settings, audit: str, opts: RunOptions | None = None) -> RunResult:
    """Run one audit end to end and return its result (also stored and reported)."""
    opts = opts or RunOptions()
    specs = plan(settings, audit)
    site_name, site = settings.site_for(audit)
    if opts.base_url:
        site = site.model_copy(update={"base_url": opts.base_url})
    started = datetime.now(UTC)
    run = RunResult(
        id=opts.run_id or new_run_id(started),
        audit=audit,
        site=site_name,
        base_url=site.base_url,
        trigger=opts.trigger,
        started_at=started,
    )
    run.report_dir = opts.report_dir or settings.report_root() / run.id
    run.report_dir.mkdir(parents=True, exist_ok=True)
    execution = _Execution(settings, run, site, site_name, opts, RunResources(settings, site, opts.recorder))
    if opts.recorder:
        await asyncio.to_thread(opts.recorder.start_run, run)
    if opts.progress:
        opts.progress.run_started(run, [s.name for s in specs])
    try:
        await execution.run_all(specs)
        order = {s.name: i for i, s in enumerate(specs)}
        run.checks.sort(key=lambda c: order[c.name])
        overall = worst([c.derived_status() for c in run.checks])
        # A run whose every check was skipped found nothing wrong (RunStatus has no `skip`).
        run.status = RunStatus.PASS if overall == Status.SKIP else RunStatus(overall.value)
    except asyncio.CancelledError:
        run.status = RunStatus.INTERRUPTED
        raise
    finally:
        run.finished_at = datetime.now(UTC)
        try:
            await execution.resources.close()
        except Exception:
            log.warning("closing the run's resources failed:\n%s", traceback.format_exc())
        await execution.finish()
        if opts.write_reports:
            from auditor.report import write_reports

            write_reports(run, run.report_dir)
        if opts.progress:
            opts.progress.run_finished(run)
    return run


def _tolerant(kind: str) -> bool:
    cls = registry.get(kind)
    return bool(cls and cls.tolerates_failed_needs)


def _satisfies(need: CheckResult, tolerant: bool) -> bool:
    """Whether a finished need lets a check run: it passed, or (for a tolerant check) it failed
    after leaving outputs to inspect. A need that errored or was skipped never does."""
    status = need.derived_status()
    if status in (Status.PASS, Status.WARN):
        return True
    return tolerant and status == Status.FAIL and bool(need.outputs)


def places_order(spec: CheckSpec, config_dir: Path) -> bool:
    """Whether running `spec` may place an order: its kind says so, or it runs a scenario that does."""
    cls = registry.get(spec.kind)
    return cls is not None and cls.places_order_for(spec.options, config_dir)


def _paid(result: CheckResult) -> bool:
    return bool(result.stats.get("payment_submitted", 0))


def _worth_rerunning(result: CheckResult) -> bool:
    """A failure or error that a second try might not repeat: not one after a payment was submitted,
    and not a cut by the run's time budget (a second try would only be cut sooner)."""
    failed = result.derived_status() in (Status.FAIL, Status.ERROR)
    return failed and not _paid(result) and not result.stats.get("time_budget_exceeded")


def _first_failure(result: CheckResult) -> str:
    """One line saying how a check failed, for the `flaky_check` finding."""
    errors = [f for f in result.findings if f.severity == Severity.ERROR]
    if errors:
        f = errors[0]
        return f"{f.kind} at {f.url}: {f.message}".splitlines()[0]
    return f"{result.derived_status()}: {result.message or 'no message'}".splitlines()[0]


def flaky(first: CheckResult, second: CheckResult, base_url: str) -> CheckResult:
    """The re-run's result, marked flaky: a `flaky_check` warning naming the first failure."""
    what = _first_failure(first)
    second.findings.append(
        Finding(
            "flaky_check",
            Severity.WARNING,
            base_url,
            f"{first.name} failed, then passed on its one re-run; the first failure: {what}",
            evidence={
                "first_status": str(first.derived_status()),
                "first_message": first.message,
                "first_findings": [f.to_dict() for f in first.findings[:20]],
            },
        )
    )
    second.status = Status.WARN
    second.message = f"flaky: failed, then passed on its re-run (first: {what})"
    second.stats = {**second.stats, "flaky": 1, "reruns": 1}
    return second


@dataclass
class _Execution:
    settings: Settings
    run: RunResult
    site: SiteConfig
    site_name: str
    opts: RunOptions
    resources: RunResources
    pending: list[Finding] = field(default_factory=list)
    results: dict[str, asyncio.Future[CheckResult]] = field(default_factory=dict)
    flusher: asyncio.Task[None] | None = None
    # monotonic() when the run's time budget ends (None: no budget).
    deadline: float | None = None
    # Checks that placed an order or paid, or need one that did: never re-run.
    ordered: set[str] = field(default_factory=set)

    async def run_all(self, specs: list[CheckSpec]) -> None:
        loop = asyncio.get_running_loop()
        if self.opts.time_budget_s is not None:
            self.deadline = time.monotonic() + self.opts.time_budget_s
        self.results = {s.name: loop.create_future() for s in specs}
        if self.opts.recorder:
            self.flusher = asyncio.create_task(self._flush_periodically())
        tasks = [asyncio.create_task(self._run_one(s), name=f"check:{s.name}") for s in specs]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _run_one(self, spec: CheckSpec) -> None:
        needed = [await self.results[n] for n in spec.needs]
        failed = [r.name for r in needed if not _satisfies(r, _tolerant(spec.kind))]
        # Only a run that re-runs checks needs to know (it may load the scenario files to find out).
        orders = self.opts.rerun_failed and (
            places_order(spec, self.settings.base_dir) or any(n in self.ordered for n in spec.needs)
        )
        if failed:
            result = CheckResult(status=Status.SKIP, message=f"skipped: {', '.join(failed)} did not pass")
            result.name, result.kind = spec.name, spec.kind
            result.started_at = result.finished_at = datetime.now(UTC)
        else:
            outputs = {r.name: r.outputs for r in needed}
            rerun = self._may_rerun(orders, needed)
            # Findings of an attempt that may be re-run are held back: only the final one is recorded.
            result = await self._execute(spec, outputs, hold=rerun)
            if rerun and _worth_rerunning(result):
                log.info("check %s %s; re-running it once", spec.name, result.derived_status())
                second = await self._execute(spec, outputs, hold=True)
                if second.derived_status() in (Status.PASS, Status.WARN):
                    second = flaky(result, second, self.run.base_url)
                    second.findings = [self._finalized(spec.name, f) for f in second.findings]
                else:
                    second.stats = {**second.stats, "reruns": 1}
                second.duration_s += result.duration_s
                second.started_at = result.started_at
                result = second
            if rerun:
                self.pending.extend(result.findings)
        if orders or _paid(result):
            self.ordered.add(spec.name)
        self.run.checks.append(result)
        if self.opts.recorder:
            await self._flush()
            await asyncio.to_thread(self.opts.recorder.finish_check, self.run.id, result)
        if self.opts.progress:
            self.opts.progress.check_finished(result)
        self.results[spec.name].set_result(result)

    def _may_rerun(self, orders: bool, needed: list[CheckResult]) -> bool:
        """Re-run only what is safe and meaningful to repeat: no order or payment in it or before it,
        and every need passed (re-running a check against a need's broken outputs proves nothing)."""
        if not self.opts.rerun_failed or orders:
            return False
        return all(r.derived_status() in (Status.PASS, Status.WARN) for r in needed)

    def _limit(self, spec: CheckSpec) -> tuple[float, bool]:
        """The check's time limit now, and whether it is the run's time budget that sets it."""
        if self.deadline is None:
            return spec.timeout_s, False
        remaining = self.deadline - time.monotonic()
        return (remaining, True) if remaining < spec.timeout_s else (spec.timeout_s, False)

    def _finalized(self, check: str, f: Finding) -> Finding:
        return self._clean(replace(f).finalize(check, self.run.base_url, self.run.volatile_values()))

    async def _execute(self, spec: CheckSpec, outputs: dict[str, Any], *, hold: bool = False) -> CheckResult:
        cls = registry.get(spec.kind)
        assert cls is not None, f"config validation let an unknown kind through: {spec.kind}"
        emitted: dict[str, Finding] = {}

        def emit(f: Finding) -> None:
            f = self._finalized(spec.name, f)
            emitted[f.fingerprint] = f
            if not hold:
                self.pending.append(f)

        progress = self.opts.progress

        def report_progress(**counters: Any) -> None:
            if progress:
                progress.check_progress(spec.name, counters)

        ctx = CheckContext(
            run_id=self.run.id,
            name=spec.name,
            site=self.site,
            base_url=self.site.base_url,
            report_dir=self.run.report_dir or Path(),
            outputs=outputs,
            emit=emit,
            progress=report_progress,
            resources=self.resources,
            site_name=self.site_name,
            config_dir=self.settings.base_dir,
        )
        if progress:
            progress.check_started(spec.name, spec.kind)
        started, t0 = datetime.now(UTC), time.monotonic()
        limit, by_budget = self._limit(spec)
        budget = f"the run's time budget of {self.opts.time_budget_s or 0:g} s (--time-budget)"
        try:
            if limit <= 0:
                raise TimeoutError
            async with asyncio.timeout(limit):
                result = await cls(spec.name, spec.options).run(ctx)
        except TimeoutError:
            if by_budget:
                what = f"was cut by {budget}" if limit > 0 else f"did not start: {budget} was used up"
                result = CheckResult(message=f"time budget exceeded: {spec.name} {what}")
                result.stats["time_budget_exceeded"] = 1
            else:
                result = CheckResult(message=f"did not finish within its time limit of {spec.timeout_s:g} s")
            result.status = Status.ERROR
        except InfrastructureError as e:
            result = CheckResult(status=Status.ERROR, message=str(e))
        except Exception as e:
            log.error("check %s crashed:\n%s", spec.name, traceback.format_exc())
            result = CheckResult(status=Status.ERROR, message=f"internal error: {type(e).__name__}: {e}")
        for f in result.findings:
            emit(f)
        result.findings = list(emitted.values())
        if result.status == Status.ERROR and any(f.severity == Severity.ERROR for f in result.findings):
            # What was found before the check broke is still a real failure of the site.
            result.status = Status.FAIL
        result.name, result.kind = spec.name, spec.kind
        result.started_at, result.finished_at = started, datetime.now(UTC)
        result.duration_s = time.monotonic() - t0
        if result.message:
            result.message = self.settings.redact(result.message)
        result.outputs = self._clean_data(result.outputs)
        return result

    def _clean(self, f: Finding) -> Finding:
        """The finding with every configured secret redacted (URLs, messages, evidence)."""
        if not self.settings.secrets:
            return f
        # A copy: a check may emit the same object again (the crawler does, with more sources), and
        # finalizing a redacted URL again gave it a second fingerprint, so it was listed twice.
        f = replace(f)
        r = self.settings.redact
        f.url, f.message = r(f.url), r(f.message)
        f.source = r(f.source) if f.source else f.source
        f.sources = [r(s) for s in f.sources]
        f.evidence = self._clean_data(f.evidence)
        return f

    def _clean_data(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.settings.secrets or not data:
            return data
        cleaned: dict[str, Any] = json.loads(self.settings.redact(json.dumps(data, default=str)))
        return cleaned

    async def _flush(self) -> None:
        if not self.pending or not self.opts.recorder:
            return
        batch, self.pending = self.pending, []
        await asyncio.to_thread(self.opts.recorder.record_findings, self.run.id, batch)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self._flush()

    async def finish(self) -> None:
        if self.flusher:
            self.flusher.cancel()
            await asyncio.gather(self.flusher, return_exceptions=True)
        if self.opts.recorder:
            await self._flush()
            await asyncio.to_thread(self.opts.recorder.finish_run, self.run)
