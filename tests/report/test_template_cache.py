"""Compiled report templates are kept in the user's cache folder and reused, never trusted blindly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jinja2 import DictLoader, Environment, select_autoescape

from auditor import template_cache
from auditor.cache import user_cache_dir
from auditor.template_cache import bytecode_cache

TEMPLATES = {"page.j2": "{% for x in items %}\n<{{ x }}>\n{% endfor %}\ndone"}
OPTIONS: dict[str, Any] = {
    "autoescape": select_autoescape(["j2"], default=True),
    "trim_blocks": True,
    "lstrip_blocks": True,
}


def _env(folder: Path, **options: Any) -> Environment:
    opts = {**OPTIONS, **options}
    return Environment(
        loader=DictLoader(TEMPLATES), bytecode_cache=bytecode_cache("test", opts, folder), **opts
    )


def _never_compiles(env: Environment) -> Environment:
    def compile(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled although its bytecode was cached")

    env.compile = compile  # type: ignore[method-assign]
    return env


def test_a_template_compiled_once_is_loaded_from_the_cache_and_renders_the_same(tmp_path: Path) -> None:
    plain = Environment(loader=DictLoader(TEMPLATES), **OPTIONS).get_template("page.j2").render(items=["&"])
    first = _env(tmp_path).get_template("page.j2").render(items=["&"])
    assert len(list(tmp_path.glob("test-*.cache"))) == 1
    again = _never_compiles(_env(tmp_path)).get_template("page.j2").render(items=["&"])
    assert first == again == plain == "<&amp;>\ndone"


def test_other_options_or_another_source_are_compiled_again(tmp_path: Path) -> None:
    _env(tmp_path).get_template("page.j2").render(items=[])
    # trim_blocks changes the compiled code but not Jinja's key: the file name tells them apart.
    untrimmed = _env(tmp_path, trim_blocks=False).get_template("page.j2").render(items=["a"])
    assert untrimmed == "\n<a>\n\ndone"
    assert len(list(tmp_path.glob("test-*.cache"))) == 2
    changed = {"page.j2": "new {{ items | length }}"}
    env = Environment(loader=DictLoader(changed), bytecode_cache=bytecode_cache("test", OPTIONS, tmp_path))
    assert env.get_template("page.j2").render(items=[1, 2]) == "new 2"


def test_a_garbled_cache_file_is_compiled_again(tmp_path: Path) -> None:
    _env(tmp_path).get_template("page.j2").render(items=[])
    (cached,) = tmp_path.glob("test-*.cache")
    cached.write_bytes(cached.read_bytes()[:12])
    assert _env(tmp_path).get_template("page.j2").render(items=["x"]) == "<x>\ndone"


def test_a_folder_that_cannot_be_used_means_no_cache_silently(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert bytecode_cache("test", OPTIONS, blocked) is None
    assert bytecode_cache("test", OPTIONS, blocked / "below") is None
    if sys.platform != "win32":
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o777)  # anyone may plant bytecode here: never load from it
        assert bytecode_cache("test", OPTIONS, shared) is None
    made = tmp_path / "new" / "jinja"
    assert bytecode_cache("test", OPTIONS, made) is not None
    if sys.platform != "win32":
        assert made.stat().st_mode & 0o777 == 0o700


def test_a_cache_that_fails_to_write_still_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(tmp_path)

    def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(template_cache.FileSystemBytecodeCache, "dump_bytecode", full_disk)
    assert env.get_template("page.j2").render(items=["x"]) == "<x>\ndone"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG folders are Linux and BSD's")
def test_the_cache_folder_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert user_cache_dir() == tmp_path / "auditor"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid by the spec: ignored
    assert user_cache_dir() == Path.home() / ".cache" / "auditor"


def test_report_html_is_the_same_rendered_from_the_cache(tmp_path: Path) -> None:
    """Fresh processes render one report: without a cache, then compiling and storing, then loading."""
    code = (
        "import sys\n"
        "from auditor.report import render_html\n"
        "from auditor.report.html import _env\n"
        "from auditor.results import CheckResult, Status\n"
        "from tests.report.runs import broken_link, make_run\n"
        "dead = broken_link('http://127.0.0.1:8000/gone', ['http://127.0.0.1:8000/'])\n"
        "run = make_run([CheckResult(name='links', kind='crawl', status=Status.FAIL, findings=[dead])])\n"
        "sys.stdout.write(repr(_env.bytecode_cache is not None) + '\\n' + render_html(run))\n"
    )
    root = Path(__file__).parents[2]

    def render(cache_home: Path) -> str:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
        args = [sys.executable, "-c", code]
        return subprocess.run(args, env=env, cwd=root, capture_output=True, text=True, check=True).stdout

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    uncached, compiled, loaded = render(blocked), render(tmp_path), render(tmp_path)
    assert list((tmp_path / "auditor" / "jinja").glob("report-*.cache"))
    assert uncached.startswith("False\n") and compiled.startswith("True\n")
    assert uncached.split("\n", 1)[1] == compiled.split("\n", 1)[1] == loaded.split("\n", 1)[1]
    assert "/gone" in loaded
