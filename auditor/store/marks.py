"""Payment marks: the durable record that a check may have submitted a payment.

A scenario step declared with `submits_payment=True` writes a mark, and the write is committed,
before the step's first line runs (before the pay click). A check with a mark is never run again:
not by the gate's flaky re-run, not by a retry, not by a later process or worker given the same run
id. The mark survives what ends a check early (its `timeout_s`, a crash of the process, a cancelled
task), because it is in the database before anything that could be interrupted; and the payment
check reconciles the ledger for every purchase that has one, whatever became of the purchase.

    store.record_payment_mark(PaymentMark.now(run_id, check, scenario, step, email))
    store.marks_for_run(run_id)          # -> [PaymentMark, ...], oldest first

The runner holds a `RunMarks` per run and makes it, with the name of the check running, the
`CURRENT` context of each check (a context variable: every task the check starts sees it, and no
caller between the runner and a scenario's `step` has to pass it along, so none can forget to).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from auditor.errors import StoreError
from auditor.results import CheckResult, Status

if TYPE_CHECKING:  # SQLAlchemy is imported by the methods that use it: see auditor.store
    from sqlalchemy.orm import Session, sessionmaker

    from auditor.store.models import PaymentMarkRow


@dataclass(frozen=True)
class PaymentMark:
    """One check of one run reached a step that may submit a payment, at `marked_at`."""

    run_id: str
    check: str
    scenario: str
    step: str
    # The customer the payment was for: what the payment check finds the charges by.
    email: str
    marked_at: datetime
    hostname: str | None = None
    pid: int | None = None
    id: int | None = None

    @classmethod
    def now(cls, run_id: str, check: str, scenario: str, step: str, email: str) -> PaymentMark:
        """A mark made by this process, now."""
        return cls(
            run_id=run_id,
            check=check,
            scenario=scenario,
            step=step,
            email=email,
            marked_at=datetime.now(UTC),
            hostname=socket.gethostname(),
            pid=os.getpid(),
        )

    def outputs(self) -> dict[str, Any]:
        """What a check cut short after this mark still tells the payment check (its real outputs
        were lost with it): the scenario, its customer, and when the payment may have been submitted."""
        return {
            "scenario": self.scenario,
            "run_id": self.run_id,
            "customer": {"email": self.email},
            "payment_submitted_at": self.marked_at.isoformat(),
            "payment_step": self.step,
        }


class MarkStore:
    """The payment mark methods of `auditor.store.Store`."""

    _session: sessionmaker[Session]
    url: str

    def record_payment_mark(self, mark: PaymentMark) -> PaymentMark:
        """Write `mark` and commit it; returns it with its id. A failure is a `StoreError`: the
        caller must not submit the payment then (nothing would stop a second one)."""
        from sqlalchemy.exc import SQLAlchemyError

        from auditor.store.models import PaymentMarkRow

        row = PaymentMarkRow(
            run_id=mark.run_id,
            check=mark.check,
            scenario=mark.scenario,
            step=mark.step,
            email=mark.email,
            marked_at=mark.marked_at,
            hostname=mark.hostname,
            pid=mark.pid,
        )
        try:
            with self._session.begin() as s:
                s.add(row)
                s.flush()
                ident = row.id
        except SQLAlchemyError as e:
            raise StoreError(
                f"could not record that check {mark.check!r} of run {mark.run_id} is about to submit a "
                f"payment ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                "the payment was not submitted. Check that the database is reachable and writable"
            ) from e
        return PaymentMark(**{**mark.__dict__, "id": ident})

    def marks_for_run(self, run_id: str, check: str | None = None) -> list[PaymentMark]:
        """Every payment mark of run `run_id` (of one check, if given), oldest first."""
        from sqlalchemy import select

        from auditor.store.models import PaymentMarkRow

        q = select(PaymentMarkRow).where(PaymentMarkRow.run_id == run_id)
        if check is not None:
            q = q.where(PaymentMarkRow.check == check)
        with self._session() as s:
            return [_mark(r) for r in s.scalars(q.order_by(PaymentMarkRow.id))]


def _mark(row: PaymentMarkRow) -> PaymentMark:
    return PaymentMark(
        run_id=row.run_id,
        check=row.check,
        scenario=row.scenario,
        step=row.step,
        email=row.email,
        marked_at=row.marked_at,
        hostname=row.hostname,
        pid=row.pid,
        id=row.id,
    )


class MarkRecorder(Protocol):
    """Where marks are made durable (`auditor.store.Store`)."""

    def record_payment_mark(self, mark: PaymentMark) -> PaymentMark: ...
    def marks_for_run(self, run_id: str, check: str | None = None) -> list[PaymentMark]: ...


class RunMarks:
    """The payment marks of one run: written through to the store (when the run has one) before
    they count, and read back from it at the start, so a run id that another process already used
    (a retried job, a second worker) starts with that process's marks."""

    def __init__(self, run_id: str, store: MarkRecorder | None) -> None:
        self.run_id = run_id
        self._store = store
        self._lock = threading.Lock()
        self._marks: list[PaymentMark] = store.marks_for_run(run_id) if store is not None else []

    def record(self, check: str, scenario: str, step: str, email: str) -> PaymentMark:
        """Make the mark durable now (synchronously: the pay click must come after the commit)."""
        mark = PaymentMark.now(self.run_id, check, scenario, step, email)
        if self._store is not None:
            mark = self._store.record_payment_mark(mark)
        with self._lock:
            self._marks.append(mark)
        return mark

    def for_check(self, check: str) -> list[PaymentMark]:
        """The marks `check` made in this run, oldest first (also those of an earlier process)."""
        with self._lock:
            return [m for m in self._marks if m.check == check]


@dataclass(frozen=True)
class Marking:
    """What a check's scenarios mark with: the run's marks and the check's name."""

    marks: RunMarks
    check: str

    def record(self, scenario: str, step: str, email: str) -> PaymentMark:
        return self.marks.record(self.check, scenario, step, email)


# Set by the runner around each check; None outside a run (`auditor scenario run`, tests).
CURRENT: ContextVar[Marking | None] = ContextVar("auditor_payment_marking", default=None)


T = TypeVar("T")


async def guarded(
    marks: RunMarks, check: str, run: Callable[[T], Awaitable[CheckResult]], ctx: T
) -> CheckResult:
    """`await run(ctx)` with `check`'s marking as the context, unless `check` already has a mark in
    this run: then it is not run at all (a second run could charge the card twice)."""
    earlier = marks.for_check(check)
    if earlier:
        first = earlier[0]
        return CheckResult(
            status=Status.ERROR,
            message=(
                f"not run again: it reached the step {first.step!r}, which may submit a payment, at "
                f"{first.marked_at:%Y-%m-%d %H:%M:%S} UTC in this run (pid {first.pid} on "
                f"{first.hostname}); a second run could charge the card twice. Start a new run instead"
            ),
        )
    token = CURRENT.set(Marking(marks, check))
    try:
        return await run(ctx)
    finally:
        CURRENT.reset(token)


def with_marks(result: CheckResult, marks: list[PaymentMark]) -> CheckResult:
    """`result` as the runner keeps it once `marks` say its check may have submitted a payment:
    counted as paid (never re-run), with the mark's outputs under its own (a check cut short by its
    time limit or a crash has none left), and a message that says so when it did not finish."""
    if not marks:
        return result
    last = marks[-1]
    result.stats = {**result.stats, "payment_submitted": 1, "payment_marks": len(marks)}
    result.outputs = {**last.outputs(), **result.outputs}
    if result.status == Status.ERROR and result.message and "not run again" not in result.message:
        result.message += (
            f"; it had reached the step {last.step!r}, which may submit a payment, so it is not "
            "run again, and the payment check reads the ledger for it"
        )
    return result
