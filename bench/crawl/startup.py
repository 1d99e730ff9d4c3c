"""Time `auditor crawl` of a one-page loopback site: the fixed cost a user pays on every run.

The page has no links, so the figure is interpreter start, imports, a new SQLite database, the
crawl of one page and every report. Runs are sequential; the minimum and median are printed with
the load average (the machine may be shared). The same crawl with `--no-database` (nothing
recorded, SQLAlchemy never loaded) is timed too, interleaved with the default one, so the cost of
recording shows on its own. So is linkinator's crawl of the same page (the reference, installed
into bench/.cache as bench/crawl/run.py does): its fixed cost is Node's start and its own modules,
and the ratio to it says more than seconds on a shared machine, whose speed can halve within an
hour. Also prints the slowest imports of `auditor.cli` (minimum over the runs of
`python -X importtime`).

Usage: python bench/crawl/startup.py [--repeat 15] [--imports 0] [--skip-linkinator]
"""

from __future__ import annotations

import argparse
import http.server
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from compiled import compile_auditor  # noqa: E402

PYTHON = REPO / ".venv" / "bin" / "python"
AUDITOR = REPO / ".venv" / "bin" / "auditor"
PAGE = b"<!doctype html><html><head><title>One page</title></head><body><h1>Hello</h1></body></html>"
TARGET_S = 0.3


class _OnePage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = self.path.split("?")[0] == "/"
        body = PAGE if found else b"not found"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8" if found else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# CPU seconds (user + system) of each crawl per mode, less sensitive to a shared machine.
CPU: dict[str, list[float]] = {"database": [], "no-database": [], "linkinator": []}


def time_crawls(url: str, repeat: int, linkinator: Path | None) -> dict[str, list[float]]:
    """Wall times of `repeat` runs of `auditor crawl url` in each mode, interleaved: with a new
    SQLite database each time, and with `--no-database`; each with a new report folder. And of
    `linkinator url` between them, unless `linkinator` is None."""
    modes = [mode for mode in CPU if linkinator is not None or mode != "linkinator"]
    walls: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="auditor-startup-") as tmp:
        for i in range(repeat):
            for mode in modes:
                out = Path(tmp) / f"{mode}-{i}"
                store = ["--database-url", f"sqlite:///{out}.db"] if mode == "database" else ["--no-database"]
                argv = [str(AUDITOR), "crawl", url, "--quiet", "--report-dir", str(out), *store]
                if mode == "linkinator":
                    argv = [str(linkinator), url, "--format", "json"]
                started, cpu = time.perf_counter(), _children_cpu()
                proc = subprocess.run(argv, capture_output=True, cwd=tmp)
                walls[mode].append(time.perf_counter() - started)
                CPU[mode].append(_children_cpu() - cpu)
                if proc.returncode != 0:
                    sys.exit(f"{argv[0]} failed (exit {proc.returncode}):\n{proc.stderr.decode()}")
    return walls


def slowest_imports(statement: str, repeat: int, top: int = 25) -> list[tuple[float, str]]:
    """(ms, module) of the `top` slowest cumulative imports, minimum over `repeat` runs."""
    cumulative: dict[str, list[int]] = defaultdict(list)
    for _ in range(repeat):
        err = subprocess.run(
            [str(PYTHON), "-X", "importtime", "-c", statement], capture_output=True, text=True, cwd=REPO
        ).stderr
        for line in err.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                _, _self, cum, name = line.split("|")[0], *line.split("|")
                cumulative[name.strip()].append(int(cum))
    return sorted(((min(v) / 1000, k) for k, v in cumulative.items()), reverse=True)[:top]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--imports", type=int, default=0, help="also list the N slowest imports of auditor.cli")
    p.add_argument("--skip-linkinator", action="store_true", help="time auditor only")
    args = p.parse_args()
    compile_auditor(PYTHON)
    linkinator = None
    if not args.skip_linkinator:
        from run import LINKINATOR, ensure_linkinator

        ensure_linkinator()
        linkinator = LINKINATOR
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OnePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        walls = time_crawls(url, max(1, args.repeat), linkinator)
    finally:
        server.shutdown()
    reference = statistics.median(walls["linkinator"]) if "linkinator" in walls else None
    for mode, times in walls.items():
        med, best = statistics.median(times), min(times)
        if mode == "linkinator":
            print(f"linkinator (the reference), one page: median {med:.3f} s, min {best:.3f} s over "
                  f"{len(times)} runs")  # fmt: skip
        else:
            verdict = "met" if med <= TARGET_S else "NOT met"
            name = "auditor crawl" if mode == "database" else "auditor crawl --no-database"
            ratio = f"; {med / reference:.2f}x linkinator's median" if reference else ""
            print(f"{name}, one page: median {med:.3f} s, min {best:.3f} s over {len(times)} runs "
                  f"(target {TARGET_S} s: {verdict}{ratio}); load average {load}")  # fmt: skip
        cpu = CPU[mode]
        med_cpu, min_cpu = statistics.median(cpu), min(cpu)
        print(f"  CPU (user + system) of one crawl: median {med_cpu:.3f} s, min {min_cpu:.3f} s")
    base = min(time_crawls_python(args.repeat))
    print(f"bare interpreter (python -c pass): min {base:.3f} s")
    if args.imports:
        print(f"slowest imports of auditor.cli (min of {args.repeat} runs):")
        for ms, name in slowest_imports("import auditor.cli", args.repeat, args.imports):
            print(f"  {ms:7.1f} ms  {name}")
    return 0


def time_crawls_python(repeat: int) -> list[float]:
    """Wall time of the bare interpreter, for comparison."""
    walls = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        subprocess.run([str(PYTHON), "-c", "pass"], check=True)
        walls.append(time.perf_counter() - started)
    return walls


if __name__ == "__main__":
    sys.exit(main())
