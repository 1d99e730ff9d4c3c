"""`auditor gate` as CI runs it: a real process against the real demo shop, with its mail sink."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from auditor.demo import DemoShop, parse_faults
from auditor.gate import toml

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gate_config(smtp_port: int, **extra_checks: dict[str, Any]) -> dict[str, Any]:
    """The gate audit the issue describes: internal links, the guest checkout, its email."""
    checks: dict[str, Any] = {
        # external = true on purpose: the gate must turn it off by itself.
        "links": {"kind": "crawl", "external": True, "timeout_s": 60},
        "checkout": {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"], "timeout_s": 60},
    }
    checks["confirmation-email"] = {
        "kind": "email",
        "needs": ["checkout"],
        "deadline_s": 6,
        "soft_limit_s": 5,
        "hard_limit_s": 6,
        "settle_s": 0.5,
        "timeout_s": 60,
    }
    checks.update(extra_checks)
    return {
        "sites": {
            "demo": {
                "base_url": "http://127.0.0.1:9",  # replaced by --base-url, as in CI
                "allow_orders": True,
                "mailbox": {"kind": "sink", "port": smtp_port},
            }
        },
        "checks": checks,
        "audits": {
            "gate": {"site": "demo", "checks": list(checks)},
            "nightly": {"site": "demo", "checks": ["links"]},
        },
    }


def write_config(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "auditor.toml"
    path.write_text(toml.dumps(data), encoding="utf-8")
    return path


def gate(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`auditor gate ...` in a subprocess, with a CI-like environment (no terminal, no GitHub)."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CI": "true", "HOME": str(cwd)}
    return subprocess.run(
        [str(PYTHON), "-m", "auditor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**base, **(env or {})},
    )


@contextmanager
def shop(*faults: str, smtp_port: int) -> Iterator[DemoShop]:
    with DemoShop(faults=parse_faults(list(faults), environ={}), smtp_port=smtp_port) as s:
        yield s


def junit_cases(report_dir: Path) -> dict[str, ET.Element]:
    root = ET.parse(report_dir / "junit.xml").getroot()
    return {c.get("name", ""): c for c in root.iter("testcase")}


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
