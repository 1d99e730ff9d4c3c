"""Any number of processes can start at once on a fresh database: the first migrates, the rest wait."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from auditor.store import current
from auditor.store.migrate import HEAD

# Each process imports everything first, then waits for the go file, so that all of them open the
# database in the same instant (imports alone would spread them over a second or more).
_OPENER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from auditor.store import Store

    url, go = sys.argv[1], Path(sys.argv[2])
    Path(sys.argv[3]).touch()
    while not go.exists():
        time.sleep(0.005)
    Store.open(url).close()
    print("opened")
    """
)


def start_together(url: str, processes: int, tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    go = tmp_path / "go"
    procs = []
    for i in range(processes):
        ready = tmp_path / f"ready-{i}"
        cmd = [sys.executable, "-c", _OPENER, url, str(go), str(ready)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{i}").exists() for i in range(processes)):
        assert time.monotonic() < deadline, "the processes did not start within 2 minutes"
        assert all(p.poll() is None for p in procs), "a process ended before it was told to open the store"
        time.sleep(0.02)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_it_lets_many_processes_start_at_once_on_a_fresh_database(db_url: str, tmp_path: Path) -> None:
    processes = 8 if db_url.startswith("sqlite") else 4
    results = start_together(db_url, processes, tmp_path)
    failed = [r.stderr.strip().splitlines()[-1:] for r in results if r.returncode != 0]
    assert failed == [], f"{len(failed)} of {processes} processes could not open the store: {failed}"
    assert all(r.stdout.strip() == "opened" for r in results)
    assert current(db_url) == HEAD
