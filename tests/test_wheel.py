"""A built wheel holds everything auditor needs: installed into a fresh venv outside the repository,
`auditor demo --no-faults` runs the whole nightly audit from it (migrations, bundled scenarios,
report templates and the demo shop all come from the wheel)."""

from __future__ import annotations

import json
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
        # The build backend from this venv (the test extra has hatchling): a build-isolated build
        # would set up a fresh environment and fetch hatchling from the index each time.
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(REPO),
        ],
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


def _norm(requirement: str) -> str:
    from packaging.requirements import Requirement

    return str(Requirement(requirement))


def test_the_wheel_asks_for_every_dependency_pyproject_names(wheel: Path) -> None:
    # The fresh venv below borrows this venv's libraries, so what pip would install from the wheel
    # is pinned here: its metadata lists exactly pyproject's dependencies and extras.
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    with zipfile.ZipFile(wheel) as z:
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        lines = z.read(meta).decode().splitlines()
    requires = {line.split(":", 1)[1].strip() for line in lines if line.startswith("Requires-Dist:")}
    plain = {_norm(r) for r in requires if "extra ==" not in r}
    assert plain == {_norm(d) for d in project["dependencies"]}
    extras = {line.split(":", 1)[1].strip() for line in lines if line.startswith("Provides-Extra:")}
    assert extras == set(project["optional-dependencies"])


def test_auditor_demo_runs_from_the_wheel_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    """The healthy demo shop, audited by the installed wheel from a folder outside the repository:
    exit 0, no finding, a database and the reports where the user ran it."""
    reason = _no_browser()
    if reason:
        pytest.skip(f"no Chromium for the demo's browser checks: {reason}")
    env_dir = tmp_path / "venv"
    # No pip and no download in the new venv: the wheel goes in with this venv's pip (--python), and
    # its dependencies are this venv's, made visible by a .pth path line (which, unlike a site dir,
    # runs no .pth of that folder, so the checkout's editable install stays out).
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site_dir = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    ours = Path(
        subprocess.check_output(
            [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site_dir / "zz_borrowed_dependencies.pth").write_text(f"{ours}\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = "true"
    chromium = shutil.which("chromium")
    if chromium:
        env["AUDITOR_CHROMIUM"] = chromium
    where = subprocess.run(
        [str(py), "-c", "import auditor; print(auditor.__file__)"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(site_dir)), where.stdout + where.stderr
    demo = subprocess.run(
        [str(env_dir / "bin" / "auditor"), "demo", "-q", "--no-faults", "--report-dir", "out"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    # It ran from the wheel, not from this checkout.
    assert str(REPO / "auditor") not in demo.stdout + demo.stderr
    assert "pass  checkout (scenario" in demo.stdout
    # Nothing left pending by a route handler (it showed as an asyncio error in 2 demos of 5).
    assert "Task was destroyed" not in demo.stderr, demo.stderr[-3000:]
    assert json.loads((work / "out" / "report.json").read_text())["findings"] == []
    assert (work / "auditor.db").exists()
    assert list(work.rglob("report.html"))
