"""Benchmark auditor's crawler against linkinator and LinkChecker on a generated static site.

Generates seeded sites (see generate.py), serves each with nginx on 127.0.0.1, crawls it
internal-only with each tool and prints wall time, pages/s, peak RSS and how many of the
planted dead links and missing fragments each tool found, then auditor's start-up cost and its
speed ratios against the targets; auditor also runs with `--no-database` (recording nothing, as
the reference tools do), so the cost of recording shows beside it. Every measurement is run
``--repeat`` times (tools interleaved, so a change in the machine's load hits them alike) and the
median is shown. Reference tools are
installed on first use into bench/.cache (npm and a separate venv), never by ``make test``.

Usage: python bench/crawl/run.py [--sizes 1000,10000] [--linkchecker-pages 1000] [--repeat 3]
       [--skip-linkchecker] [--skip-linkinator] [--keep] [--memory-sizes 10000,50000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compiled import compile_auditor
from generate import generate

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = HERE.parent / ".cache"
NGINX = Path("/usr/sbin/nginx")
# The same crawl recording nothing (`auditor crawl --no-database`): what the database costs.
NO_DB = "auditor --no-database"
NGINX_CONF = HERE / "nginx.conf.template"
LINKINATOR = CACHE / "node_modules" / ".bin" / "linkinator"
LINKCHECKER_VENV = CACHE / "venv-linkchecker"
AUDITOR = REPO / ".venv" / "bin" / "auditor"
DEAD_KINDS = {"broken_link", "broken_image", "broken_resource"}
# Issue 11's targets: how many times faster than each tool, and the start-up cost.
LINKINATOR_TARGET = 2.0
LINKCHECKER_TARGET = 20.0
STARTUP_TARGET_S = 0.3
FRAGMENT_KINDS = {"missing_fragment"}


@dataclass
class Score:
    """What one tool reported, compared with the planted faults."""

    dead_found: int = 0
    dead_expected: int = 0
    fragments_found: int = 0
    fragments_expected: int = 0
    false_positives: list[str] = field(default_factory=list)


@dataclass
class Measurement:
    """One tool's run on one site size."""

    tool: str
    pages: int
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    exit_code: int | None = None
    score: Score | None = None
    error: str = ""
    # Every run's wall time when the measurement is the median of several.
    walls: list[float] = field(default_factory=list)

    @property
    def pages_per_s(self) -> float:
        """Pages crawled per second of wall time."""
        return self.pages / self.wall_s if self.wall_s else 0.0


# ---------------------------------------------------------------- processes and memory


def _tree_rss_kb(root: int) -> int:
    """Sum VmRSS over ``root`` and all its descendants (read from /proc, no psutil needed)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as f:
                ppid = kb = 0
                for line in f:
                    if line.startswith("PPid:"):
                        ppid = int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        pid = int(entry.name)
        rss[pid] = kb
        children.setdefault(ppid, []).append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(
    tool: str, pages: int, argv: list[str], log: Path, env: dict[str, str] | None = None
) -> Measurement:
    """Run ``argv`` to completion, sampling the RSS of its process tree every 50 ms."""
    result = Measurement(tool, pages)
    peak = 0
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.05)
    result.wall_s = time.perf_counter() - started
    result.peak_rss_mb = peak / 1024
    result.exit_code = proc.returncode
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def nginx(root: Path, workdir: Path) -> Iterator[str]:
    """Serve ``root`` with a foreground nginx on a free loopback port; yield the base URL."""
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(
        NGINX_CONF.read_text()
        .format(port=port, root=root, workdir=workdir, user="root" if os.geteuid() == 0 else "")
        .replace("user ;\n", "")
    )
    proc = subprocess.Popen([str(NGINX), "-c", str(conf), "-p", str(workdir)])
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"nginx exited with {proc.returncode}; see {workdir}") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- scoring


def _path(url: str) -> str:
    """The comparable form of a URL: path plus fragment, host dropped."""
    parts = urlsplit(url)
    return parts.path + (f"#{parts.fragment}" if parts.fragment else "")


def score(expected: list[dict[str, object]], dead: set[str], fragments: set[str]) -> Score:
    """Compare the reported dead URLs and missing fragments (as paths) with the planted ones."""
    want_dead = {str(e["url"]) for e in expected if e["kind"] in DEAD_KINDS}
    want_frag = {str(e["url"]) for e in expected if e["kind"] in FRAGMENT_KINDS}
    return Score(
        dead_found=len(dead & want_dead),
        dead_expected=len(want_dead),
        fragments_found=len(fragments & want_frag),
        fragments_expected=len(want_frag),
        false_positives=sorted((dead - want_dead) | (fragments - want_frag)),
    )


def parse_auditor(report: Path) -> tuple[set[str], set[str], list[str]]:
    """Dead URLs, missing fragments and other finding kinds from auditor's report.json."""
    data = json.loads(report.read_text())
    dead: set[str] = set()
    frags: set[str] = set()
    other: list[str] = []
    for f in data.get("findings", []):
        if f["kind"] in DEAD_KINDS:
            dead.add(_path(f["url"]))
        elif f["kind"] in FRAGMENT_KINDS:
            frags.add(_path(f["url"]))
        else:
            other.append(f"{f['kind']} {f.get('url')}")
    return dead, frags, other


def parse_linkinator(output: Path) -> tuple[set[str], set[str], list[str]]:
    """Broken URLs from linkinator's JSON; it marks a missing fragment as a broken link."""
    text = output.read_text()
    data = json.loads(text[text.index("{") :])
    dead: set[str] = set()
    frags: set[str] = set()
    for link in data.get("links", []):
        if link.get("state") != "BROKEN":
            continue
        path = _path(link["url"])
        (frags if "#" in path else dead).add(path)
    return dead, frags, []


def parse_linkchecker(output: Path) -> tuple[set[str], set[str], list[str]]:
    """Invalid URLs and anchor warnings from LinkChecker's ``-F csv`` output."""
    lines = [ln for ln in output.read_text().splitlines() if ln and not ln.startswith("#")]
    dead: set[str] = set()
    frags: set[str] = set()
    for row in csv.DictReader(lines, delimiter=";"):
        url = row.get("url") or row.get("urlname") or ""
        if row.get("valid") == "False":
            dead.add(_path(url))
        elif "Anchor" in (row.get("warningstring") or "") and "not found" in (row.get("warningstring") or ""):
            frags.add(_path(url))
    return dead, frags, []


# ---------------------------------------------------------------- tools


def ensure_linkinator() -> None:
    """Install linkinator into bench/.cache/node_modules once."""
    if not LINKINATOR.exists():
        subprocess.run(["npm", "install", "--prefix", str(CACHE), "linkinator@7"], check=True)


def ensure_linkchecker() -> None:
    """Install LinkChecker into its own venv under bench/.cache once."""
    exe = LINKCHECKER_VENV / "bin" / "linkchecker"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LINKCHECKER_VENV)], check=True)
        subprocess.run([str(LINKCHECKER_VENV / "bin" / "pip"), "install", "-q", "linkchecker"], check=True)


def run_auditor(url: str, pages: int, work: Path, concurrency: int, *, record: bool = True) -> Measurement:
    """Crawl with auditor and score its report.json; `record` False: with `--no-database`."""
    out = work / ("auditor" if record else "auditor-no-db")
    tool = "auditor" if record else NO_DB
    m = _auditor(url, out, ["--max-pages", str(pages * 2)], concurrency, tool, pages, record=record)
    if m.error:
        return m
    report = out / "report.json"
    dead, frags, other = parse_auditor(report)
    m.score = score(_expected(work), dead, frags)
    m.score.false_positives += other
    return m


def _auditor(
    url: str, out: Path, extra: list[str], concurrency: int, tool: str, pages: int, *, record: bool = True
) -> Measurement:
    """One `auditor crawl` in a fresh process, with a new database (or none) and report folder."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    store = ["--database-url", f"sqlite:///{out}/bench.db"] if record else ["--no-database"]
    argv = [
        str(AUDITOR), "crawl", url, "--no-external", "--ignore-robots", "--quiet",
        "--report-dir", str(out), *store,
        "--concurrency", str(concurrency), "--per-host", str(concurrency), *extra,
    ]  # fmt: skip
    m = measure(tool, pages, argv, out / "log.txt")
    if not (out / "report.json").exists():
        m.error = f"no report.json (exit {m.exit_code}); see {out / 'log.txt'}"
    return m


def run_startup(url: str, work: Path, concurrency: int) -> Measurement:
    """auditor's fixed cost: a crawl of the start page alone (its links to other pages are not
    followed; its stylesheet, script and images are checked), with interpreter start, imports,
    a new database and every report, as a user meets it."""
    return _auditor(url, work / "auditor-startup", ["--max-depth", "0"], concurrency, "start-up", 1)


def run_linkinator(url: str, pages: int, work: Path, concurrency: int) -> Measurement:
    """Crawl with linkinator (recursive, fragments checked) and score its JSON."""
    ensure_linkinator()
    out = work / "linkinator.json"
    argv = [
        str(LINKINATOR), url, "--recurse", "--check-fragments", "--format", "json",
        "--concurrency", str(concurrency), "--timeout", "20000",
    ]  # fmt: skip
    m = measure("linkinator", pages, argv, out)
    try:
        dead, frags, _other = parse_linkinator(out)
    except (ValueError, KeyError) as exc:
        m.error = f"unreadable output ({exc}); see {out}"
        return m
    m.score = score(_expected(work), dead, frags)
    return m


def run_linkchecker(url: str, pages: int, work: Path) -> Measurement:
    """Crawl with LinkChecker (AnchorCheck plugin on) and score its CSV output."""
    ensure_linkchecker()
    out = work / "linkchecker"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    out.chmod(0o777)  # LinkChecker drops root to nobody before it writes its output.
    rc = out / "linkcheckerrc"
    # LinkChecker caps each host at 10 requests/s by default; lift the cap so it is timed, not throttled.
    rc.write_text("[checking]\nmaxrequestspersecond=1000\n\n[AnchorCheck]\n")
    csv_out = out / "out.csv"
    argv = [
        str(LINKCHECKER_VENV / "bin" / "linkchecker"), "--config", str(rc), "--no-status",
        "-o", "none", "-F", f"csv/utf-8/{csv_out}", "--threads", "20", url,
    ]  # fmt: skip
    m = measure("LinkChecker", pages, argv, out / "log.txt")
    if not csv_out.exists():
        m.error = f"no CSV output (exit {m.exit_code}); see {out / 'log.txt'}"
        return m
    dead, frags, _other = parse_linkchecker(csv_out)
    m.score = score(_expected(work), dead, frags)
    return m


def _expected(work: Path) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads((work / "expected.json").read_text())["expected"]
    return data


# ---------------------------------------------------------------- report


def median(runs: list[Measurement]) -> Measurement:
    """The run with the median wall time, carrying every run's wall time and the highest peak."""
    ok = [m for m in runs if not m.error] or runs
    ordered = sorted(ok, key=lambda m: m.wall_s)
    mid = ordered[(len(ordered) - 1) // 2]
    mid.walls = [m.wall_s for m in runs]
    mid.peak_rss_mb = max(m.peak_rss_mb for m in runs)
    failed = [m.error for m in runs if m.error]
    if failed and not mid.error:
        mid.error = f"{len(failed)} of {len(runs)} runs failed: {failed[0]}"
    # A fault missed in any run is shown: the worst score, not the median one.
    scored = [m.score for m in runs if m.score]
    if scored:
        mid.score = min(scored, key=lambda s: (s.dead_found + s.fragments_found, -len(s.false_positives)))
    return mid


def print_table(rows: list[Measurement]) -> None:
    """Print one line per tool and size."""
    row = "{:<22}{:>7}{:>9}{:>9}{:>9}{:>10}{:>9}{:>9}  {}"
    head = row.format("tool", "pages", "wall s", "pages/s", "peak MB", "dead", "frags", "false +", "note")
    print(head)
    print("-" * len(head))
    for m in rows:
        s = m.score
        dead = f"{s.dead_found}/{s.dead_expected}" if s else "-"
        frags = f"{s.fragments_found}/{s.fragments_expected}" if s else "-"
        fp = str(len(s.false_positives)) if s else "-"
        note = m.error or (f"exit {m.exit_code}" if m.exit_code not in (0, 1) else "")
        if s and s.false_positives:
            note += f" e.g. {', '.join(s.false_positives[:3])}"
        if len(m.walls) > 1:
            note = f"runs {' '.join(f'{w:.2f}' for w in m.walls)}  {note}".rstrip()
        wall, rate, rss = f"{m.wall_s:.2f}", f"{m.pages_per_s:.0f}", f"{m.peak_rss_mb:.0f}"
        print(row.format(m.tool, m.pages, wall, rate, rss, dead, frags, fp, note))


def find(rows: list[Measurement], tool: str, pages: int) -> Measurement | None:
    """The successful measurement of `tool` at `pages`, if any."""
    return next((m for m in rows if m.tool == tool and m.pages == pages and not m.error), None)


def ratio(rows: list[Measurement], pages: int, other: str, mine_tool: str = "auditor") -> float | None:
    """How many times faster auditor was than ``other`` at ``pages`` (None: not measured)."""
    mine, theirs = find(rows, mine_tool, pages), find(rows, other, pages)
    if not mine or not theirs:
        return None
    return theirs.wall_s / mine.wall_s


def print_targets(
    rows: list[Measurement], checks: list[tuple[str, int, float]], startup: Measurement | None
) -> None:
    """auditor's ratios and start-up against the issue's targets, one line each."""
    print()
    for other, pages, target in checks:
        r = ratio(rows, pages, other)
        shown = f"{r:.1f}x" if r is not None else "n/a"
        verdict = "" if r is None else ("met" if r >= target else "NOT met")
        print(
            f"auditor vs {other:<11} at {pages - 1:>6} pages: {shown:>6} faster "
            f"(target {target:g}x) {verdict}"
        )
        plain = ratio(rows, pages, other, NO_DB)
        if plain is not None:
            print(f"  ({NO_DB}, recording nothing: {plain:.1f}x)")
    if startup is not None and not startup.error:
        verdict = "met" if startup.wall_s <= STARTUP_TARGET_S else "NOT met"
        print(
            f"auditor start-up (one page, new database, reports): {startup.wall_s:.2f} s "
            f"(target {STARTUP_TARGET_S:g} s) {verdict}"
        )


def print_summary(rows: list[Measurement], startup: Measurement | None, loads: str) -> None:
    """The one table to quote: per size, each tool's median wall time, auditor's ratios and memory."""
    sizes = sorted({m.pages for m in rows})

    def wall(tool: str, pages: int) -> str:
        m = find(rows, tool, pages)
        return f"{m.wall_s:.2f}" if m else "-"

    def times(other: str, pages: int) -> str:
        r = ratio(rows, pages, other)
        return f"{r:.1f}x" if r is not None else "-"

    up = f"{startup.wall_s:.2f}" if startup and not startup.error else "-"
    row = "| {:>6} | {:>10} | {:>12} | {:>13} | {:>13} | {:>14} | {:>14} | {:>10} |"
    print()
    print(
        row.format(
            "pages",
            "auditor s",
            "linkinator s",
            "LinkChecker s",
            "vs linkinator",
            "vs LinkChecker",
            "auditor peak MB",
            "start-up s",
        )
    )
    print("|" + "|".join("-" * (w + 2) for w in (6, 10, 12, 13, 13, 14, 14, 10)) + "|")
    for pages in sizes:
        mine = find(rows, "auditor", pages)
        print(
            row.format(
                pages - 1,
                wall("auditor", pages),
                wall("linkinator", pages),
                wall("LinkChecker", pages),
                times("linkinator", pages),
                times("LinkChecker", pages),
                f"{mine.peak_rss_mb:.0f}" if mine else "-",
                up,
            )
        )
    print(f"load average (1, 5, 15 min): {loads}")


def load() -> str:
    """The 1, 5 and 15 minute load averages, for the record."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def site(work_root: Path, pages: int) -> Path:
    """Generate (or reuse, when already generated with the same size) the site for ``pages``."""
    work = work_root / f"site-{pages}"
    expected = work / "expected.json"
    if not (expected.exists() and json.loads(expected.read_text())["pages"] == pages + 1):
        summary = generate(work, pages)
        took = summary["generated_in_s"]
        print(f"generated {summary['pages']} pages, {summary['links']} links in {took} s")
    return work


def main() -> int:
    """Run the benchmark and print its table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000", help="comma-separated page counts (default 1000,10000)")
    p.add_argument("--pages", type=int, help="one size only (same as --sizes N)")
    p.add_argument("--linkchecker-pages", type=int, default=1_000)
    p.add_argument("--repeat", type=int, default=3, help="runs per tool and size; the median is shown")
    p.add_argument("--skip-linkchecker", action="store_true")
    p.add_argument("--skip-linkinator", action="store_true")
    p.add_argument("--skip-auditor", action="store_true", help="time only the reference tools")
    p.add_argument("--skip-startup", action="store_true", help="do not time auditor's start-up")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--memory-sizes", help="comma-separated page counts: auditor only, peak RSS per size")
    p.add_argument(
        "--keep", action="store_true", help="keep generated sites and outputs in bench/.cache/work"
    )
    args = p.parse_args()
    sizes = [args.pages] if args.pages else [int(x) for x in args.sizes.split(",")]
    repeat = max(1, args.repeat)

    work_root = CACHE / "work" if args.keep else Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    # mkdtemp makes the folder 0700, and LinkChecker, run as root, drops to `nobody` before it
    # writes its CSV: it must be able to reach its output folder.
    work_root.mkdir(parents=True, exist_ok=True)
    work_root.chmod(0o755)
    rows: list[Measurement] = []
    startup: Measurement | None = None
    compile_auditor(REPO / ".venv" / "bin" / "python")
    started_load = load()
    print(f"load average at start: {started_load}  (repeat {repeat}, median shown)", flush=True)
    try:
        if args.memory_sizes:
            for pages in (int(x) for x in args.memory_sizes.split(",")):
                work = site(work_root, pages)
                with nginx(work / "site", work / "nginx") as url:
                    runs = [run_auditor(url, pages + 1, work, args.concurrency) for _ in range(repeat)]
                    rows.append(median(runs))
            print_table(rows)
            print_summary(rows, None, f"{started_load} at start, {load()} at end")
            return 0
        checks: list[tuple[str, int, float]] = []
        all_sizes = list(
            dict.fromkeys([*sizes, *([] if args.skip_linkchecker else [args.linkchecker_pages])])
        )
        for pages in all_sizes:
            work = site(work_root, pages)
            tools: list[tuple[str, Any]] = []
            if not args.skip_auditor:
                tools.append(
                    ("auditor", lambda u, w=work, n=pages: run_auditor(u, n + 1, w, args.concurrency))
                )
                tools.append(
                    (
                        NO_DB,
                        lambda u, w=work, n=pages: run_auditor(u, n + 1, w, args.concurrency, record=False),
                    )
                )
            if not args.skip_linkinator and pages in sizes:
                tools.append(
                    ("linkinator", lambda u, w=work, n=pages: run_linkinator(u, n + 1, w, args.concurrency))
                )
                checks.append(("linkinator", pages + 1, LINKINATOR_TARGET))
            if not args.skip_linkchecker and pages == args.linkchecker_pages:
                tools.append(("LinkChecker", lambda u, w=work, n=pages: run_linkchecker(u, n + 1, w)))
                checks.append(("LinkChecker", pages + 1, LINKCHECKER_TARGET))
            runs: dict[str, list[Measurement]] = {name: [] for name, _ in tools}
            with nginx(work / "site", work / "nginx") as url:
                for _ in range(repeat):
                    # Interleaved, never concurrent: the machine is small, and its load changes.
                    for name, run in tools:
                        runs[name].append(run(url))
                        print(f"  {name} {pages}: {runs[name][-1].wall_s:.2f} s", flush=True)
                if startup is None and not args.skip_auditor and not args.skip_startup:
                    startup = median([run_startup(url, work, args.concurrency) for _ in range(repeat)])
            rows.extend(median(r) for r in runs.values())
        print()
        print_table(rows + ([startup] if startup else []))
        print_targets(rows, checks, startup)
        print_summary(rows, startup, f"{started_load} at start, {load()} at end")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
        else:
            print(f"outputs kept in {work_root}")


if __name__ == "__main__":
    sys.exit(main())
