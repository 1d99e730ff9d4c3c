"""`auditor --version` prints the one version, pyproject.toml's."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import auditor

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def test_the_package_version_is_pyprojects() -> None:
    assert auditor.__version__ == tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def test_auditor_version_prints_it_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"auditor {auditor.__version__}"
