"""Benchmark `auditor gate` against the bundled demo shop: the issue's target is under 60 s.

Starts the demo shop (healthy, or with --fault NAME ...) in this process on a free port, writes
the demo's config (`auditor init --demo`, i.e. `auditor.demo.audit.demo_config`) with its SMTP
sink on a free port, and times `auditor gate --config auditor.toml --base-url URL` as a CI job
runs it: a fresh process, so interpreter start-up, imports, Chromium, the database and the
reports are all in the figure. Prints each run's wall time and exit code, then the median, the
60 s target and their ratio.

If the demo config has no `gate` audit yet, the gate runs the audit the issue describes: the
internal links, the guest checkout and (when the kind exists) its confirmation email, with
default options.

Usage: python bench/gate/run.py [--runs 3] [--fault NAME ...] [--keep]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"
TARGET_S = 60.0

sys.path.insert(0, str(REPO))
from auditor import registry  # noqa: E402
from auditor.demo import DemoShop, parse_faults  # noqa: E402
from auditor.demo.audit import demo_config  # noqa: E402
from auditor.gate import toml  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gate_config(smtp_port: int) -> dict[str, Any]:
    """The demo config, with its sink on `smtp_port` and a `gate` audit (the issue's, if it has none)."""
    data = demo_config(base_url="http://127.0.0.1:8000")
    site = next(iter(data["sites"].values()))
    site["mailbox"] = {**site.get("mailbox", {"kind": "sink"}), "port": smtp_port}
    if "gate" not in data["audits"]:
        checks = data["checks"]
        checks.setdefault(
            "checkout", {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"]}
        )
        gate = ["links", "checkout"]
        if "email" in registry.kinds():
            checks.setdefault("confirmation-email", {"kind": "email", "needs": ["checkout"]})
            gate.append("confirmation-email")
        data["audits"]["gate"] = {"site": next(iter(data["sites"])), "checks": gate}
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="gate runs to time (default 3)")
    parser.add_argument("--fault", action="append", default=[], help="a demo shop fault (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="auditor-bench-gate-"))
    smtp_port = free_port()
    (work / "auditor.toml").write_text(toml.dumps(gate_config(smtp_port)), encoding="utf-8")
    times: list[float] = []
    with DemoShop(faults=parse_faults(args.fault, environ={}), smtp_port=smtp_port) as shop:
        for i in range(args.runs):
            cmd = [
                str(PYTHON),
                "-m",
                "auditor",
                "gate",
                "--config",
                "auditor.toml",
                "--base-url",
                shop.base_url,
            ]
            cmd += ["--report-dir", f"run-{i}", "-q"]
            t0 = time.perf_counter()
            done = subprocess.run(
                cmd, cwd=work, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
            )
            times.append(time.perf_counter() - t0)
            verdict = next(
                (x for x in done.stdout.splitlines() if x.startswith("Gate ")), done.stderr.strip()
            )
            print(f"run {i + 1}: {times[-1]:.1f} s, exit {done.returncode}: {verdict}")
            for line in done.stdout.splitlines():
                if line.startswith("  ") and "(" in line and " s, " in line:
                    print(f"    {line.strip()}")
    median = statistics.median(times)
    print(
        f"\nauditor gate on the demo shop: median {median:.1f} s over {len(times)} run(s) "
        f"(min {min(times):.1f}, max {max(times):.1f}); target {TARGET_S:.0f} s; "
        f"ratio {median / TARGET_S:.2f} of the target"
    )
    if args.keep:
        print(f"work folder: {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
