"""`auditor --version` prints the one version, pyproject.toml's."""

from __future__ import annotations

import importlib.metadata
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


def test_it_is_what_importlib_metadata_reads_and_costs_no_import_of_it() -> None:
    # Read from the installed METADATA directly (importlib.metadata and the email parser are
    # ~40 ms of start-up), it must still be the version importlib.metadata reports.
    assert auditor.__version__ == importlib.metadata.version("auditor")
    probe = "import sys, auditor\nv = auditor.__version__\nprint(v, 'importlib.metadata' in sys.modules)"
    args = [sys.executable, "-c", probe]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == [auditor.__version__, "False"]


def test_auditor_version_alone_loads_neither_the_cli_nor_pydantic() -> None:
    probe = "import sys\nsys.argv = ['auditor', '--version']\nfrom auditor._entry import main\n"
    probe += "code = main()\nprint(code, 'auditor.cli' in sys.modules, 'pydantic' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["auditor", auditor.__version__, "0", "False", "False"]


def test_auditor_version_with_other_options_is_argparses_answer() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "-v", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"auditor {auditor.__version__}"
