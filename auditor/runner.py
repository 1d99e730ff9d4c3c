"""run_audit(): the one place that knows the whole flow of a run.

Checks run concurrently as far as `needs` allows, each under its own time limit. A check whose
needs did not pass is `skip`; an exception in a check is `error`, never a crash of the run.
Findings are recorded as they are emitted (a killed run keeps them); then the reports are written
and the run is finished in the store.

Whatever fails in auditor's own handling after a check (keeping a finding, the store, a report,
the progress display) is contained where it happened: the finding is kept in a degraded form, the
failed write is retried when the run ends, and the run ends as `error` with the reason in
`RunResult.internal_errors`. A run that was started in the store is always finished there, unless
the store itself is what failed (then the next run of an audit on this host marks it interrupted).
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
from auditor.containment import clean, degraded, safe_text
from auditor.errors import InfrastructureError, NothingMatched, RunIdTaken
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity, Status, worst
from auditor.scrub import Keyring
from auditor.store import marks as payment_marks

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
    # A browser the caller keeps across runs (a queue worker's one per process): the run uses it
    # and leaves it open. None: the run launches its own on first use and closes it at its end.
    browser: SharedBrowser | None = None


class RunResources:
    """What the checks of one run share, opened on first use and closed when the run ends.

    `CheckContext.resources` is this object: `await ctx.resources.browser()`,
    `await ctx.resources.mailbox()`. `sessions` holds logged-in browser sessions (storage states)
    that one check hands to another in memory only: they are credentials, never written anywhere.
    """

    def __init__(
        self,
        settings: Settings,
        site: SiteConfig | None = None,
        store: Any = None,
        browser: SharedBrowser | None = None,
    ) -> None:
        # A caller's browser outlives the run (it is not closed here); otherwise the run owns one.
        self._owns_browser = browser is None
        self._browser = browser if browser is not None else SharedBrowser(settings.model.browser)
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
                if self._owns_browser:
                    await self._browser.close()
            finally:
                if self._own_store is not None:
                    self._own_store.close()
                    self._own_store = None
                if self._own_dir is not None:
                    self._own_dir.cleanup()
                    self._own_dir = None


# Draws of a new run id when a drawn one is already recorded (ids are a second plus 16 random
# bits: a burst of runs in one second can collide; 5 draws all colliding is about 1 in 10^14 for a
# burst of 1,000 runs).
ID_ATTEMPTS = 5


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
    try:
        run.report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InfrastructureError(
            f"cannot create the report folder {run.report_dir}: {e.strerror or e}; "
            "make it writable, or choose another with --report-dir or `report_dir` in the config"
        ) from e
    if opts.recorder:
        # Before this, nothing is stored, so a failure here is a plain StoreError (exit 3).
        for attempt in range(ID_ATTEMPTS):
            try:
                await asyncio.to_thread(opts.recorder.start_run, run)
                break
            except RunIdTaken:
                # Runs started in one second can draw the same id; a drawn one is drawn again.
                if opts.run_id is not None or attempt == ID_ATTEMPTS - 1:
                    raise
                run.id = new_run_id(started)
                if opts.report_dir is None:  # the taken id's folder is the other run's: left alone
                    run.report_dir = settings.report_root() / run.id
                    run.report_dir.mkdir(parents=True, exist_ok=True)
    execution = _Execution(
        settings, run, site, site_name, opts, RunResources(settings, site, opts.recorder, opts.browser)
    )
    try:
        execution.tell("run_started", run, [s.name for s in specs])
        await execution.run_all(specs)
        order = {s.name: i for i, s in enumerate(specs)}
        run.checks.sort(key=lambda c: order.get(c.name, len(order)))
        overall = worst([c.derived_status() for c in run.checks])
        # A run whose every check was skipped found nothing wrong (RunStatus has no `skip`).
        run.status = RunStatus.PASS if overall == Status.SKIP else RunStatus(overall.value)
    except asyncio.CancelledError:
        run.status = RunStatus.INTERRUPTED
        raise
    except Exception as e:
        log.error("run %s stopped on an internal error:\n%s", run.id, traceback.format_exc())
        execution.internal(f"the run stopped early on an internal error: {type(e).__name__}: {e}")
    finally:
        await execution.conclude()
    return run


def internal_error(run: RunResult, what: str) -> None:
    """Note that something inside auditor failed during `run`: the run then ends as `error`
    (an interrupted run stays `interrupted`)."""
    run.internal_errors.append(safe_text(what))
    if run.status != RunStatus.INTERRUPTED:
        run.status = RunStatus.ERROR


def finish_again(run: RunResult, recorder: Recorder | None, *, write_reports: bool = True) -> None:
    """Store and report `run` again after a step that follows it (alerts) changed its status.
    Never raises: a failure is logged and noted in the run."""
    if recorder is not None:
        try:
            recorder.finish_run(run)
        except Exception as e:
            log.error("the database could not record the end of run %s:\n%s", run.id, traceback.format_exc())
            internal_error(
                run, f"the database could not record the end of run {run.id}: {type(e).__name__}: {e}"
            )
    if write_reports and run.report_dir is not None:
        from auditor.report import write_reports as write

        try:
            write(run, run.report_dir, store=recorder)
        except Exception as e:
            log.error("the reports of run %s could not be written:\n%s", run.id, traceback.format_exc())
            internal_error(
                run, f"the reports could not be written to {run.report_dir}: {type(e).__name__}: {e}"
            )


def _tolerant(kind: str) -> bool:
    cls = registry.get(kind)
    return bool(cls and cls.tolerates_failed_needs)


def _satisfies(need: CheckResult, tolerant: bool) -> bool:
    """Whether a finished need lets a check run: it passed, or (for a tolerant check) it failed
    after leaving outputs to inspect. A need that errored or was skipped never does."""
    status = need.derived_status()
    if status in (Status.PASS, Status.WARN):
        return True
    # A need that may have submitted a payment leaves a purchase to reconcile, however it ended.
    return tolerant and (_paid(need) or (status == Status.FAIL and bool(need.outputs)))


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
    # Findings and check results the store refused once: tried again when the run ends.
    unstored: list[Finding] = field(default_factory=list)
    unfinished: list[CheckResult] = field(default_factory=list)
    # The run's payment marks, durable in the recorder when it keeps them (the Store does).
    marks: payment_marks.RunMarks = field(init=False)

    def __post_init__(self) -> None:
        recorder = self.opts.recorder
        store = recorder if isinstance(recorder, payment_marks.MarkStore) else None
        self.marks = payment_marks.RunMarks(self.run.id, store)

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
        held: dict[str, Finding] = {}
        try:
            result = await self._outcome(spec, needed, held)
        except asyncio.CancelledError:
            # The run is being stopped (SIGTERM, Ctrl-C, a worker's stop limit): the check is kept,
            # marked as cut short, with what it found so far, then the stop goes on.
            await self._keep_interrupted(spec, held)
            raise
        except Exception as e:
            # Our bug in handling the check's result: the check still ends, with what it found.
            log.error("handling the result of check %s failed:\n%s", spec.name, traceback.format_exc())
            self.internal(f"handling the result of check {spec.name} failed: {type(e).__name__}: {e}")
            result = CheckResult(
                status=Status.ERROR,
                findings=list(held.values()),
                message=safe_text(f"internal error while handling its result: {type(e).__name__}: {e}"),
            )
            result.name, result.kind = spec.name, spec.kind
            result.started_at = result.finished_at = datetime.now(UTC)
            if any(f.severity == Severity.ERROR for f in result.findings):
                result.status = Status.FAIL
        self.run.checks.append(result)
        if self.opts.recorder:
            await self._flush()
            await self._store("record the result of check " + spec.name, self._finish_check, result)
        self.tell("check_finished", result)
        self.results[spec.name].set_result(result)

    async def _keep_interrupted(self, spec: CheckSpec, held: dict[str, Finding]) -> None:
        findings = list(held.values())
        result = CheckResult(
            status=Status.FAIL if any(f.severity == Severity.ERROR for f in findings) else Status.ERROR,
            findings=findings,
            message=(
                "interrupted: the run was stopped before this check finished "
                f"({len(findings)} finding(s) so far)"
            ),
        )
        result.name, result.kind = spec.name, spec.kind
        result.started_at = result.finished_at = datetime.now(UTC)
        result.stats["interrupted"] = 1
        self.run.checks.append(result)
        try:
            if self.opts.recorder:
                await self._store("record the result of check " + spec.name, self._finish_check, result)
            self.tell("check_finished", result)
        except Exception:
            log.warning(
                "check %s: its interrupted result could not be recorded:\n%s",
                spec.name,
                traceback.format_exc(),
            )

    async def _outcome(
        self, spec: CheckSpec, needed: list[CheckResult], held: dict[str, Finding]
    ) -> CheckResult:
        """Run `spec` (or skip it), with its one re-run when the run allows it; `held` collects the
        findings kept so far, so that a failure in handling them loses none."""
        failed = [r.name for r in needed if not _satisfies(r, _tolerant(spec.kind))]
        if _tolerant(spec.kind) and any(_paid(r) for r in needed):
            failed = []  # a payment to reconcile: the payment check runs whatever else broke
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
            result = await self._execute(spec, outputs, hold=rerun, emitted=held)
            if rerun and _worth_rerunning(result):
                log.info("check %s %s; re-running it once", spec.name, result.derived_status())
                held = {}
                second = await self._execute(spec, outputs, hold=True, emitted=held)
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
        return result

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
        """`f` ready to store and show; if that fails (our bug), a degraded copy that still says it."""
        try:
            # A copy: the check may keep and emit its object again (the crawler does), unmasked.
            final = replace(f).finalize(check, self.run.base_url, self.run.volatile_values())
            return clean(self._clean(final))
        except Exception as e:
            kind = safe_text(getattr(f, "kind", "?"))
            log.error(
                "check %s: finding %s could not be kept whole:\n%s", check, kind, traceback.format_exc()
            )
            self.internal(
                f"check {check}: one {kind} finding could not be kept whole ({type(e).__name__}: {e}); "
                "it is kept without its evidence"
            )
            return self._clean(degraded(f, check, self.run.base_url, e))

    async def _execute(
        self,
        spec: CheckSpec,
        outputs: dict[str, Any],
        *,
        hold: bool = False,
        emitted: dict[str, Finding] | None = None,
    ) -> CheckResult:
        cls = registry.get(spec.kind)
        assert cls is not None, f"config validation let an unknown kind through: {spec.kind}"
        emitted = {} if emitted is None else emitted

        def emit(f: Finding) -> None:
            f = self._finalized(spec.name, f)
            emitted[f.fingerprint] = f
            if not hold:
                self.pending.append(f)

        def report_progress(**counters: Any) -> None:
            self.tell("check_progress", spec.name, counters)

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
        self.tell("check_started", spec.name, spec.kind)
        started, t0 = datetime.now(UTC), time.monotonic()
        limit, by_budget = self._limit(spec)
        ctx.deadline = time.monotonic() + limit
        budget = f"the run's time budget of {self.opts.time_budget_s or 0:g} s (--time-budget)"
        try:
            if limit <= 0:
                raise TimeoutError
            async with asyncio.timeout(limit):
                check = cls(spec.name, spec.options)
                result = await payment_marks.guarded(self.marks, spec.name, check.run, ctx)
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
        if not isinstance(result, CheckResult):
            what = type(result).__name__
            log.error("check %s returned a %s, not a CheckResult", spec.name, what)
            result = CheckResult(status=Status.ERROR, message=f"internal error: the check returned a {what}")
        # Whatever ended the check, a payment step it reached is on record (auditor.store.marks).
        result = payment_marks.with_marks(result, self.marks.for_check(spec.name))
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
            result.message = safe_text(self.settings.redact(str(result.message)))
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

    def internal(self, what: str) -> None:
        internal_error(self.run, what)

    def tell(self, event: str, *args: Any) -> None:
        """Pass one event to the progress display; a display that fails is switched off, not fatal."""
        progress = self.opts.progress
        if progress is None:
            return
        try:
            getattr(progress, event)(*args)
        except Exception as e:
            log.error("the progress display failed on %s:\n%s", event, traceback.format_exc())
            self.opts.progress = None
            self.internal(f"the progress display failed ({type(e).__name__}: {e}) and was switched off")

    async def _store(self, what: str, write: Any, *args: Any) -> bool:
        """One write to the store; a failure is noted (the caller keeps what to retry), never raised."""
        try:
            await asyncio.to_thread(write, *args)
        except Exception as e:
            log.error("the database could not %s:\n%s", what, traceback.format_exc())
            self.internal(f"the database could not {what}: {type(e).__name__}: {e}")
            return False
        return True

    def _finish_check(self, result: CheckResult) -> None:
        assert self.opts.recorder is not None
        try:
            self.opts.recorder.finish_check(self.run.id, result)
        except Exception:
            self.unfinished.append(result)
            raise

    async def _flush(self) -> None:
        if not self.pending or not self.opts.recorder:
            return
        batch, self.pending = self.pending, []
        n = len(batch)
        if not await self._store(
            f"record {n} finding(s)", self.opts.recorder.record_findings, self.run.id, batch
        ):
            # Kept for one more try when the run ends (recording the same finding twice updates it).
            self.unstored.extend(batch)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self._flush()

    async def conclude(self) -> None:
        """End the run whatever happened: resources closed, findings stored, reports written, the
        run finished in the store. Each step is tried even if an earlier one failed."""
        run = self.run
        run.finished_at = datetime.now(UTC)
        if run.internal_errors and run.status != RunStatus.INTERRUPTED:
            run.status = RunStatus.ERROR
        try:
            await self.resources.close()
        except Exception:
            log.warning("closing the run's resources failed:\n%s", traceback.format_exc())
        if self.flusher:
            self.flusher.cancel()
            await asyncio.gather(self.flusher, return_exceptions=True)
        recorder = self.opts.recorder
        if recorder:
            await self._retry_unstored(recorder)
        written = self._write_reports()
        if recorder and not await self._store(f"record the end of run {run.id}", recorder.finish_run, run):
            run.internal_errors.append(
                f"run {run.id} may still show as running in the database; the next run of an audit on "
                "this host (auditor run, crawl, gate, schedule, a worker) marks it interrupted"
            )
            if written:
                self._write_reports()
        self.tell("run_finished", run)

    async def _retry_unstored(self, recorder: Recorder) -> None:
        await self._flush()
        if self.unstored:
            batch, self.unstored = self.unstored, []
            n = len(batch)
            what = f"record {n} finding(s) on a second try; they are in the reports only"
            await self._store(what, recorder.record_findings, self.run.id, batch)
        for result in self.unfinished[:]:
            self.unfinished.remove(result)
            await self._store(
                f"record the result of check {result.name} on a second try", self._finish_check, result
            )

    def _write_reports(self) -> bool:
        """Write the run's reports; a failure is noted in the run, never raised."""
        if not self.opts.write_reports or self.run.report_dir is None:
            return False
        from auditor.report import write_reports

        try:
            write_reports(self.run, self.run.report_dir, store=self.opts.recorder)
        except Exception as e:
            log.error("the reports of run %s could not be written:\n%s", self.run.id, traceback.format_exc())
            what = e.strerror if isinstance(e, OSError) and e.strerror else f"{type(e).__name__}: {e}"
            self.internal(f"the reports could not be written to {self.run.report_dir}: {what}")
            return False
        return True
