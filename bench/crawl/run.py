"""Benchmark auditor's crawler against linkinator and LinkChecker on a generated static site.

Generates a seeded site (see generate.py), serves it with nginx on 127.0.0.1, crawls it
internal-only with each tool and prints wall time, pages/s, peak RSS and how many of the
planted dead links and missing fragments each tool found. Reference tools are installed on
first use into bench/.cache (npm and a separate venv), never by ``make test``.

Usage: python bench/crawl/run.py [--pages 10000] [--linkchecker-pages 1000]
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
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = HERE.parent / ".cache"
NGINX = Path("/usr/sbin/nginx")
NGINX_CONF = HERE / "nginx.conf.template"
LINKINATOR = CACHE / "node_modules" / ".bin" / "linkinator"
LINKCHECKER_VENV = CACHE / "venv-linkchecker"
AUDITOR = REPO / ".venv" / "bin" / "auditor"
DEAD_KINDS = {"broken_link", "broken_image", "broken_resource"}
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


def run_auditor(url: str, pages: int, work: Path, concurrency: int) -> Measurement:
    """Crawl with auditor and score its report.json."""
    out = work / "auditor"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    argv = [
        str(AUDITOR), "crawl", url, "--no-external", "--ignore-robots",
        "--report-dir", str(out), "--database-url", f"sqlite:///{out}/bench.db",
        "--concurrency", str(concurrency), "--per-host", str(concurrency),
        "--max-pages", str(pages * 2),
    ]  # fmt: skip
    m = measure("auditor", pages, argv, out / "log.txt")
    report = out / "report.json"
    if not report.exists():
        m.error = f"no report.json (exit {m.exit_code}); see {out / 'log.txt'}"
        return m
    dead, frags, other = parse_auditor(report)
    m.score = score(_expected(work), dead, frags)
    m.score.false_positives += other
    return m


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


def print_table(rows: list[Measurement]) -> None:
    """Print one line per tool and size."""
    row = "{:<12}{:>7}{:>9}{:>9}{:>9}{:>10}{:>9}{:>9}  {}"
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
        wall, rate, rss = f"{m.wall_s:.1f}", f"{m.pages_per_s:.0f}", f"{m.peak_rss_mb:.0f}"
        print(row.format(m.tool, m.pages, wall, rate, rss, dead, frags, fp, note))


def ratio(rows: list[Measurement], pages: int, other: str) -> str:
    """auditor's speed relative to ``other`` at ``pages``, as 'N.Nx'."""
    mine = next((m for m in rows if m.tool == "auditor" and m.pages == pages and not m.error), None)
    theirs = next((m for m in rows if m.tool == other and m.pages == pages and not m.error), None)
    if not mine or not theirs:
        return "n/a"
    return f"{theirs.wall_s / mine.wall_s:.1f}x"


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
    p.add_argument("--pages", type=int, default=10_000)
    p.add_argument("--linkchecker-pages", type=int, default=1_000)
    p.add_argument("--skip-linkchecker", action="store_true")
    p.add_argument("--skip-linkinator", action="store_true")
    p.add_argument("--skip-auditor", action="store_true", help="time only the reference tools")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--memory-sizes", help="comma-separated page counts: auditor only, peak RSS per size")
    p.add_argument(
        "--keep", action="store_true", help="keep generated sites and outputs in bench/.cache/work"
    )
    args = p.parse_args()

    work_root = CACHE / "work" if args.keep else Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    # mkdtemp makes the folder 0700, and LinkChecker, run as root, drops to `nobody` before it
    # writes its CSV: it must be able to reach its output folder.
    work_root.chmod(0o755)
    work_root.mkdir(parents=True, exist_ok=True)
    rows: list[Measurement] = []
    try:
        if args.memory_sizes:
            for pages in (int(x) for x in args.memory_sizes.split(",")):
                work = site(work_root, pages)
                with nginx(work / "site", work / "nginx") as url:
                    rows.append(run_auditor(url, pages + 1, work, args.concurrency))
            print_table(rows)
            return 0
        work = site(work_root, args.pages)
        with nginx(work / "site", work / "nginx") as url:
            if not args.skip_auditor:
                rows.append(run_auditor(url, args.pages + 1, work, args.concurrency))
            if not args.skip_linkinator:
                rows.append(run_linkinator(url, args.pages + 1, work, args.concurrency))
        if not args.skip_linkchecker:
            small = site(work_root, args.linkchecker_pages)
            with nginx(small / "site", small / "nginx") as url:
                # Same size as the main site: auditor was just timed on it.
                if not args.skip_auditor and args.linkchecker_pages != args.pages:
                    rows.append(run_auditor(url, args.linkchecker_pages + 1, small, args.concurrency))
                rows.append(run_linkchecker(url, args.linkchecker_pages + 1, small))
        print_table(rows)
        speedup = ratio(rows, args.pages + 1, "linkinator")
        print(f"\nauditor vs linkinator at {args.pages} pages: {speedup} faster (target 2x)")
        if not args.skip_linkchecker:
            speedup = ratio(rows, args.linkchecker_pages + 1, "LinkChecker")
            print(f"auditor vs LinkChecker at {args.linkchecker_pages} pages: {speedup} faster (target 20x)")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
        else:
            print(f"outputs kept in {work_root}")


if __name__ == "__main__":
    sys.exit(main())
