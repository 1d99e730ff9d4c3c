"""`auditor demo --fault double-submit`, N times in a row while every core is busy: is it caught each time?

    python bench/demo/under_load.py              # 10 runs, one CPU burner per core
    python bench/demo/under_load.py --runs 3 --fault checkout-error

It starts its own CPU burners (plain busy loops, one process per core, each stopping by itself
after --max-minutes even if this script is killed), runs the demo with the fault switched on
--runs times, stops the burners, and prints "N/10 caught". It exits 1 unless every run caught
the fault, so a demo that is right only on an idle machine fails here. Nothing is timed: a run
counts when the demo said "caught" for the fault and exited 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def burn(deadline: float) -> None:
    """Keep one core busy until `deadline` (time.monotonic()): bounded even if nobody stops it."""
    x = 0
    while time.monotonic() < deadline:
        x = (x * 31 + 7) % 1_000_003


def run_demo(fault: str, workdir: Path) -> tuple[bool, str]:
    """One `auditor demo --fault FAULT` in `workdir`: (caught, the demo's output)."""
    result = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "-q", "--fault", fault, "--report-dir", "out"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    caught = result.returncode == 0 and any(
        line.split() == ["caught", fault] for line in result.stdout.splitlines()
    )
    return caught, result.stdout + result.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--fault", default="double-submit")
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2, help="default: one per core")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="the burners stop by then anyway")
    args = parser.parse_args()

    deadline = time.monotonic() + args.max_minutes * 60
    burners = [
        multiprocessing.Process(target=burn, args=(deadline,), daemon=True) for _ in range(args.burners)
    ]
    for b in burners:
        b.start()
    caught = 0
    try:
        time.sleep(5)  # let the load average climb before the first run
        print(f"load average at the start: {os.getloadavg()[0]:.1f} ({args.burners} burner(s) running)")
        for n in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="demo-under-load-") as tmp:
                ok, output = run_demo(args.fault, Path(tmp))
            caught += ok
            print(
                f"run {n}: {'caught' if ok else 'MISSED'} (load average {os.getloadavg()[0]:.1f})", flush=True
            )
            if not ok:
                print("  " + "\n  ".join(output.strip().splitlines()[-25:]))
    finally:
        for b in burners:
            b.terminate()
        for b in burners:
            b.join(5)
    print(f"{caught}/{args.runs} caught: {args.fault}")
    return 0 if caught == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
