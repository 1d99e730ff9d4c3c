"""The run database served from a process of its own, started before a crawl's imports.

`auditor crawl` spends about a third of its start-up importing SQLAlchemy, the ORM and the store's
models, one after the other with everything else on one core. Started first thing
(`auditor._entry`), `python -m auditor.store.remote` does those imports on the other core while
the command imports its checks and builds its settings; the command then opens the database
through it and records the run over a pipe (pickles, one request at a time, one answer each).

Only for `auditor crawl`: a `RemoteStore` is the runner's recorder and the reports' history
source, nothing more. It keeps no payment marks (a crawl never pays) and processes no incidents
(a crawl never alerts), so every other command opens its `Store` in its own process.

A process that cannot start, or ends before it opened the database, costs nothing but the time:
the command opens the database itself, as it would have without it. One that ends later is a
`StoreError` for the write it was asked to do, which the runner notes and survives as it does any
database failure. The database URL (which may hold a password) goes over the pipe, never on a
command line. The process ignores Ctrl-C (its command records the interruption through it) and
ends when its pipe closes, so it never outlives its command.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING, Any

from auditor.errors import StoreError

if TYPE_CHECKING:
    from auditor.results import CheckResult, Finding, RunResult
    from auditor.store.history import History

log = logging.getLogger("auditor.store")

_prewarmed: StoreProcess | None = None


def prewarm() -> None:
    """Start the store's process now, for `open_store` to take later (`take_prewarmed`)."""
    global _prewarmed
    if _prewarmed is None:
        _prewarmed = StoreProcess.start()


def take_prewarmed() -> StoreProcess | None:
    """The process `prewarm` started, once (a second open gets None and opens its own store)."""
    global _prewarmed
    taken, _prewarmed = _prewarmed, None
    return taken


def discard_prewarmed() -> None:
    """Stop a prewarmed process nobody took (the command failed before it opened the database)."""
    taken = take_prewarmed()
    if taken is not None:
        taken.discard()


class _Gone(Exception):
    """The store's process is not there to answer (it ended, or its pipe broke)."""


class StoreProcess:
    """A `python -m auditor.store.remote` child, with the two ends of its pipe."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self._to: IO[bytes] = proc.stdin
        self._from: IO[bytes] = proc.stdout
        self._lock = threading.Lock()
        # The URL of an "open" sent by `request_open` whose answer `open` has not read yet.
        self._open_sent: str | None = None

    @classmethod
    def start(cls) -> StoreProcess | None:
        """Start the process; None when it cannot be started (the caller opens its own store)."""
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "auditor.store.remote"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
        except OSError as e:
            log.debug("the store's process could not start (%s): the database opens in-process", e)
            return None
        return cls(proc)

    def request_open(self, url: str) -> None:
        """Ask the process to open the database at `url`, without waiting for the answer: it opens
        it as soon as its own imports are done, while this process does something else. `open(url)`
        then reads the answer. A process that is gone already is found out by `open`."""
        with self._lock:
            try:
                self._send(("open", url, os.getpid()))
            except (OSError, ValueError):
                return  # gone: `open` asks again, finds the broken pipe and says so
            self._open_sent = url

    def open(self, url: str) -> RemoteStore | None:
        """Open the database at `url` in the process, migrated, with the runs of processes that are
        gone marked interrupted (`RemoteStore.mark_interrupted` lists them). None when the process
        is gone before it could try; a StoreError when it tried and the database could not be opened.
        After `request_open(url)`, only its answer is read."""
        try:
            if self._open_sent == url:
                self._open_sent = None
                with self._lock:
                    interrupted = self._receive()
            else:
                interrupted = self.ask("open", url, os.getpid())
        except _Gone as e:
            log.debug("the store's process is gone (%s): the database opens in-process", e)
            self.stop()
            return None
        except BaseException:
            self.stop()
            raise
        return RemoteStore(self, url, list(interrupted))

    def ask(self, op: str, *args: Any) -> Any:
        """Send one request and return its answer; raise what the process raised."""
        if self._open_sent is not None:
            raise RuntimeError("an open was requested: open() reads its answer before any other request")
        with self._lock:
            try:
                self._send((op, *args))
            except (OSError, ValueError) as e:
                raise _Gone(_how_it_ended(self.proc, e)) from e
            return self._receive()

    def _send(self, request: tuple[Any, ...]) -> None:
        pickle.dump(request, self._to, protocol=pickle.HIGHEST_PROTOCOL)
        self._to.flush()

    def _receive(self) -> Any:
        """The next answer (the lock held): its value, or what the process raised, raised here."""
        try:
            status, value = pickle.load(self._from)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
            raise _Gone(_how_it_ended(self.proc, e)) from e
        if status == "error":
            raise value
        return value

    def discard(self) -> None:
        """Kill and reap a process that opened nothing: no need to let it finish its imports (a
        usage error, or a run that opens its own store, would wait about 0.3 s for them)."""
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.stop()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the pipe (the process ends on it) and reap the process."""
        for end in (self._to, self._from):
            with contextlib.suppress(OSError):
                end.close()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _how_it_ended(proc: subprocess.Popen[bytes], error: BaseException) -> str:
    try:
        code = proc.wait(1)  # a pipe that broke: the process is ending, or has
    except subprocess.TimeoutExpired:
        return f"its pipe failed: {type(error).__name__}: {error}"
    if code < 0:
        import signal

        try:
            return f"it was stopped by {signal.Signals(-code).name}"
        except ValueError:
            return f"it was stopped by signal {-code}"
    return f"it ended with exit code {code}"


class RemoteStore:
    """The recorder and history source of one crawl, its `Store` in a `StoreProcess`."""

    def __init__(self, process: StoreProcess, url: str, interrupted: list[str]) -> None:
        self.process = process
        self.url = url
        self.interrupted = interrupted

    def _call(self, op: str, *args: Any) -> Any:
        try:
            return self.process.ask(op, *args)
        except _Gone as e:
            raise StoreError(f"the database process for {_safe_url(self.url)} is gone ({e})") from None

    def mark_interrupted(self) -> list[str]:
        """The runs the process marked interrupted when it opened the database (it does that once)."""
        marked, self.interrupted = self.interrupted, []
        return marked

    def start_run(self, run: RunResult) -> None:
        self._call("start_run", run)

    def record_findings(self, run_id: str, findings: list[Finding]) -> None:
        self._call("record_findings", run_id, findings)

    def finish_check(self, run_id: str, result: CheckResult) -> None:
        self._call("finish_check", run_id, result)

    def finish_run(self, run: RunResult) -> None:
        self._call("finish_run", run)

    def history_for(self, run: RunResult) -> History:
        history: History = self._call("history_for", run)
        return history

    def close(self) -> None:
        """Close the database in the process and let it end."""
        with contextlib.suppress(_Gone, StoreError, OSError):
            self.process.ask("close")
        self.process.stop()


def _safe_url(url: str) -> str:
    from auditor.store.migrate import safe_url  # SQLAlchemy, in this process only when it failed

    return safe_url(url)


# -------------------------------------------------------------------------------- the process


def _answerable(exc: BaseException) -> BaseException:
    """`exc` if it survives a pickle round trip (a StoreError, RunIdTaken), else a StoreError
    that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return StoreError(f"{type(exc).__name__}: {exc}")


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer requests until the pipe closes: ("open", url, owner_pid) first, then Store methods."""
    # What opening and writing need, imported before the first request (the point of the process).
    import auditor.store.history
    import auditor.store.migrate  # noqa: F401
    from auditor.store.store import Store

    store: Store | None = None
    while True:
        try:
            op, *args = pickle.load(requests)
        except EOFError:
            break
        try:
            if op == "open":
                url, owner = args
                store = Store.open(url)
                store.owner_pid = owner
                value: Any = store.mark_interrupted()
            elif store is None:
                raise StoreError(f"the database is not open (asked to {op})")
            elif op == "close":
                store.close()
                store, value = None, None
            else:
                value = getattr(store, op)(*args)
            answer: tuple[str, Any] = ("ok", value)
        except Exception as e:
            answer = ("error", _answerable(e))
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()
        if op == "close":
            break
    if store is not None:
        store.close()


def main() -> None:
    import signal

    # Ctrl-C reaches the whole process group: the command records the interruption through us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Nothing else may write to the answers: stray output (a library's print) goes to stderr.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, answers)
    # The database is closed and every answer sent: the interpreter's own teardown (its modules,
    # SQLAlchemy's among them) would keep the command waiting about 0.1 s for nothing.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
