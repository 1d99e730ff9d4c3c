"""Bytecode for auditor's own modules, as an installed copy has it, before anything is timed.

`pip install` compiles a package's modules when it installs them; an editable checkout gets its
`__pycache__` from the first run, unless the environment sets PYTHONDONTWRITEBYTECODE (some
images do), and then every timed run compiles each module it imports again (about 0.1 s of an
`auditor crawl`'s start-up). So the benchmarks compile the package first, that variable unset.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def compile_auditor(python: Path) -> None:
    """Write the bytecode of every module of auditor with `python` (nothing when it is current)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([str(python), "-m", "compileall", "-q", str(REPO / "auditor")], check=True, env=env)
