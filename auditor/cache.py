"""auditor's per-user cache folder, for what is kept between runs to make them start faster.

Two things live there: report templates compiled by Jinja (`auditor.template_cache`, folder
`jinja`) and the code Node.js compiled for Playwright's driver (`node`, see `for_drivers`). Both
are code that is loaded again, so a folder that cannot be made, is not the user's own or is
writable by others is never used: the run then compiles again, as it would without a cache, and
says nothing.

Where: `$XDG_CACHE_HOME/auditor` (else `~/.cache/auditor`; `%LOCALAPPDATA%\\auditor\\cache` on
Windows, `~/Library/Caches/auditor` on macOS). Deleting it is always safe.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Node.js (22.1 and newer) keeps the V8 code of the modules it loads in this folder and loads it
# instead of compiling them again: Playwright's driver then starts in about 0.33 s instead of
# 0.44 s, and about 0.1 CPU-s less, on every run that opens a browser.
NODE_CACHE_ENV = "NODE_COMPILE_CACHE"


def user_cache_dir() -> Path | None:
    """auditor's per-user cache folder (not created), or None when the platform names none."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "auditor" / "cache" if base else None
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "auditor"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "auditor"
    try:
        return Path.home() / ".cache" / "auditor"
    except RuntimeError:  # no home directory at all
        return None


def own_private_dir(path: Path) -> bool:
    """Make `path` (mode 0700) if missing; True when it is a folder of ours that only we may write."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if sys.platform != "win32" and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return False  # loading code others can write would run their code
    return os.access(path, os.R_OK | os.W_OK | os.X_OK)


def private_cache_dir(name: str) -> Path | None:
    """The folder `name` of `user_cache_dir()`, made if missing; None when there is no cache folder
    or this one is not private to us (`own_private_dir`)."""
    base = user_cache_dir()
    if base is None or not own_private_dir(base / name):
        return None
    return base / name


def driver_compile_cache(environ: os._Environ[str] | dict[str, str] = os.environ) -> Path | None:
    """Point Node.js's compile cache at `user_cache_dir()/node` for the Playwright drivers this
    process starts (they inherit `environ`), unless the user set `NODE_COMPILE_CACHE` (kept as it
    is) or no private folder can be had (nothing set). The folder in use, or None."""
    given = environ.get(NODE_CACHE_ENV)
    if given is not None:
        return Path(given) if given else None
    folder = private_cache_dir("node")
    if folder is None:
        return None
    environ[NODE_CACHE_ENV] = str(folder)
    return folder


@contextmanager
def for_drivers(environ: os._Environ[str] | dict[str, str] = os.environ) -> Iterator[Path | None]:
    """`driver_compile_cache` while a Playwright driver starts (it copies the environment then),
    and the variable as it was afterwards: the processes a run starts later (a scenario's own
    tools) do not inherit it."""
    had = NODE_CACHE_ENV in environ
    try:
        yield driver_compile_cache(environ)
    finally:
        if not had:
            environ.pop(NODE_CACHE_ENV, None)
