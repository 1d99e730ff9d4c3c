"""What a reader does to see a finding for themselves: the shell command, the page, the trace.

Every command is copy-pasteable into a POSIX shell whatever the site put in its URLs: each value is
quoted with `shlex.quote`, so quotes, spaces, `$(...)` and newlines stay one literal argument.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.report.view import artifact_href
from auditor.results import Artifact, CheckResult, Finding, RunResult

# curl reads [] and {} in a URL as a glob pattern unless told not to.
_GLOB = frozenset("[]{}")


@dataclass(frozen=True)
class Step:
    """One line of "how to reproduce": a shell `command`, or a plain sentence when it is not one."""

    text: str
    command: bool = True


def real_url(f: Finding) -> str:
    """The URL as it was requested (`url` may show a per-run token masked as `{token}`)."""
    original = f.evidence.get("url")
    return original if isinstance(original, str) and original else f.url


def _web(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def curl(url: str, method: str = "HEAD") -> str:
    """The curl line that asks `url` what the check asked it: headers only, or a GET's status code."""
    glob = ["--globoff"] if _GLOB & set(url) else []
    if method.upper() == "GET":
        args = ["curl", "-sS", *glob, "-o", "/dev/null", "-w", "%{http_code}\\n", url]
    else:
        args = ["curl", "-sSI", *glob, url]
    return shlex.join(args)


def scenario_command(f: Finding, run: RunResult) -> str:
    """`auditor scenario run NAME --base-url URL` (with --allow-orders when the scenario places orders)."""
    ev = f.evidence
    args = ["auditor", "scenario", "run", str(ev["scenario"]), "--base-url", run.base_url]
    folder = _scenario_folder(ev.get("file"))
    if folder:
        args += ["--scenarios", folder]
    places = ev.get("places_order")
    if places is True or (places is None and ev.get("payment_submitted") is True):
        args.append("--allow-orders")
    return shlex.join(args)


def _scenario_folder(where: Any) -> str | None:
    """The folder of a scenario file given as `path/file.py:12` ("bundled" for the shipped ones)."""
    if not isinstance(where, str) or ".py" not in where:
        return None
    path = Path(where[: where.rindex(".py") + 3])
    if not path.is_absolute():
        return None
    from auditor.scenarios.loader import BUNDLED, bundled_dir

    try:
        if path.parent.resolve() == bundled_dir().resolve():
            return BUNDLED
    except OSError:
        pass
    return str(path.parent)


def steps(f: Finding, check: CheckResult | None, run: RunResult, directory: Path | None) -> list[Step]:
    """The lines that reproduce `f`, most direct first; [] when there is nothing to run."""
    ev = f.evidence
    out: list[Step] = []
    if isinstance(ev.get("scenario"), str) and ev["scenario"]:
        out.append(Step(scenario_command(f, run)))
        for trace in _traces(check):
            href = artifact_href(trace.path, directory or run.report_dir)
            out.append(Step(shlex.join(["playwright", "show-trace", href])))
            out.append(
                Step("(run it in this report's folder: it opens the recorded steps, page by page)", False)
            )
        return out
    url = real_url(f)
    if "verdict" in ev and _web(url):
        method = ev.get("method")
        out.append(Step(curl(url, method if isinstance(method, str) else "HEAD")))
        if (f.element or "").startswith("email ") and ev.get("message"):
            out.append(Step(f"It is a link in the {ev['message']} email (shown here)", False))
        elif f.source:
            out.append(
                Step(f"It is linked from {f.source}" + (f" ({f.element})" if f.element else ""), False)
            )
    return out


def _traces(check: CheckResult | None) -> list[Artifact]:
    return [a for a in (check.artifacts if check else []) if a.kind == "trace"]
