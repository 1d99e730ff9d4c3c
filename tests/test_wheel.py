"""A built wheel holds everything auditor needs: installed into a fresh venv outside the repository,
`auditor demo --no-faults` runs the whole nightly audit from it (migrations, bundled scenarios,
report templates and the demo shop all come from the wheel)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from auditor.browser.locate import BrowserNotFound, find_chromium

REPO = Path(__file__).parent.parent


def _no_browser() -> str | None:
    try:
        find_chromium()
    except BrowserNotFound as e:
        return str(e)
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (whl,) = out.glob("auditor-*.whl")
    return whl


def test_the_wheel_contains_migrations_scenarios_templates_and_the_demo_shop(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert any(n.startswith("auditor/_migrations/versions/0001_") for n in names)
    assert "auditor/_scenarios/guest_checkout.py" in names
    assert any(n.startswith("auditor/report/templates/") for n in names)
    assert any(n.startswith("auditor/demo/templates/") for n in names)
    assert any(n.startswith("auditor/demo/static/") for n in names)
    assert "auditor/starter.toml" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_auditor_demo_runs_from_the_wheel_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    reason = _no_browser()
    if reason:
        pytest.skip(f"no Chromium for the demo's browser checks: {reason}")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    done = subprocess.run(
        [str(pip), "install", "--quiet", str(wheel)], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0 and "Could not find a version" in done.stderr + done.stdout:
        pytest.skip(f"the package index cannot be reached to install the wheel's dependencies: {done.stderr}")
    assert done.returncode == 0, done.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    chromium = shutil.which("chromium")
    if chromium:
        env["AUDITOR_CHROMIUM"] = chromium
    demo = subprocess.run(
        [str(env_dir / "bin" / "auditor"), "demo", "--no-faults"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    # It ran from the wheel, not from this checkout.
    assert str(REPO) not in demo.stdout + demo.stderr
    assert list(work.rglob("report.html"))
