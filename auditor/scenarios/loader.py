"""Loading scenario files from folders: every `*.py` not starting with `_`, each `@scenario` in it.

A file is executed once per change (cached by path, size and modification time), under a module
name of its own, so two folders may both have a `checkout.py`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

import auditor
from auditor.scenarios.spec import ScenarioLoadError, ScenarioSpec

BUNDLED = "bundled"

_cache: dict[Path, tuple[tuple[int, int], list[ScenarioSpec]]] = {}


def bundled_dir() -> Path:
    """The example scenarios that ship with auditor: inside the wheel, or the repo's `scenarios/`."""
    package = Path(auditor.__file__).parent
    inside = package / "_scenarios"
    return inside if inside.is_dir() else package.parent / "scenarios"


def resolve_dirs(paths: Iterable[str], base: Path) -> list[Path]:
    """`paths` as absolute folders: relative ones start at `base`, "bundled" is `bundled_dir()`.

    The same folder named twice is loaded once.
    """
    out: list[Path] = []
    for p in paths:
        d = bundled_dir() if p == BUNDLED else (base / Path(p).expanduser())
        d = d.resolve()
        if d not in out:
            out.append(d)
    return out


def load_dirs(dirs: Iterable[Path]) -> dict[str, ScenarioSpec]:
    """Every scenario in `dirs` by name. Raises ScenarioLoadError for a missing folder, a file that
    does not load (with its file and line), or a name defined twice."""
    found: dict[str, ScenarioSpec] = {}
    for d in dirs:
        if not d.is_dir():
            raise ScenarioLoadError(f"scenario folder {d} does not exist")
        for file in sorted(d.glob("*.py")):
            if file.name.startswith("_"):
                continue
            for spec in load_file(file):
                if spec.name in found:
                    raise ScenarioLoadError(
                        f"scenario {spec.name!r} is defined twice: at {found[spec.name].where} "
                        f"and at {spec.where}; rename one"
                    )
                found[spec.name] = spec
    return found


def find(name: str, paths: Iterable[str], base: Path) -> ScenarioSpec:
    """The scenario `name` from the folders `paths` (relative to `base`; "bundled" allowed).

    Raises ScenarioLoadError naming the known scenarios when there is none by that name.
    """
    paths = list(paths)
    found = load_dirs(resolve_dirs(paths, base))
    spec = found.get(name)
    if spec is None:
        known = ", ".join(sorted(found)) or "none were found"
        raise ScenarioLoadError(f"no scenario named {name!r} in {', '.join(paths)} (known: {known})")
    return spec


def load_file(file: Path) -> list[ScenarioSpec]:
    """The scenarios defined in one file, in the order they appear."""
    file = file.resolve()
    st = file.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _cache.get(file)
    if cached and cached[0] == stamp:
        return cached[1]
    module = _execute(file)
    specs = [
        v
        for v in vars(module).values()
        if isinstance(v, ScenarioSpec) and v.file is not None and v.file.resolve() == file
    ]
    specs.sort(key=lambda s: s.line)
    _cache[file] = (stamp, specs)
    return specs


def _execute(file: Path) -> object:
    digest = hashlib.sha1(str(file).encode()).hexdigest()[:10]
    name = f"auditor_scenario_{file.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ScenarioLoadError(f"cannot load {file} as Python")
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs, so dataclasses and typing in the file can find their module.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ScenarioLoadError:
        raise
    except SyntaxError as e:
        raise ScenarioLoadError(f"{e.filename or file}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:
        raise ScenarioLoadError(
            f"{_line_in(file, e)}: loading the scenario file failed: {_first(e)}"
        ) from None
    finally:
        sys.modules.pop(name, None)
    return module


def _line_in(file: Path, e: BaseException) -> str:
    """`file:line` of the deepest frame of `e` in `file` (the line that raised while loading)."""
    line = 0
    for frame in traceback.extract_tb(e.__traceback__):
        if Path(frame.filename).resolve() == file:
            line = frame.lineno or 0
    return f"{file}:{line}" if line else str(file)


def _first(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__
