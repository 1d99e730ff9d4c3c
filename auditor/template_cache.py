"""Jinja environments whose compiled templates are kept between runs, in the user's cache folder.

Compiling report.html's templates took about 50 ms of every short run (`auditor crawl` of a small
site); loading their cached bytecode takes about 1 ms. The cache is Jinja's own
`FileSystemBytecodeCache`, in the folder `jinja` of auditor's cache folder (`auditor.cache`).

Jinja rejects a cached template whose source changed, or that another Python compiled; the file
name here also carries the Jinja version and the environment's options (delimiters, whitespace,
autoescape), which change the compiled code but not Jinja's own key. A cache folder that cannot
be made, is not the user's own or is writable by others is not used: templates are then compiled
on every run, as before, silently.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache
from jinja2.bccache import Bucket

from auditor.cache import own_private_dir, private_cache_dir


class _QuietCache(FileSystemBytecodeCache):
    """Jinja's file cache, never failing a render: a file that cannot be read or written (a full
    disk, a folder removed meanwhile) only means the template is compiled this time."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unreadable, truncated or garbled (pickle's errors vary): compile it
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _stable(value: Any) -> str:
    """A repr of an option that is the same in every process (a function by name and closure)."""
    if callable(value):
        cells = tuple(c.cell_contents for c in (getattr(value, "__closure__", None) or ()))
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}{cells!r}"
    return repr(value)


def bytecode_cache(name: str, options: dict[str, Any], folder: Path | None = None) -> BytecodeCache | None:
    """The bytecode cache for the environment `name` built with `options` (None: none usable).

    `folder`: the cache folder (default: `jinja` in `auditor.cache.user_cache_dir()`)."""
    usable = private_cache_dir("jinja") if folder is None else folder if own_private_dir(folder) else None
    if usable is None:
        return None
    folder = usable
    compiled_by = "\n".join(
        [jinja2.__version__, *(f"{k}={_stable(v)}" for k, v in sorted(options.items()) if k != "loader")]
    )
    tag = hashlib.sha256(compiled_by.encode()).hexdigest()[:16]
    # `%s` is Jinja's key for the template (a hash of its name and file).
    return _QuietCache(str(folder), pattern=f"{name}-{tag}-%s.cache")


def cached_environment(name: str, **options: Any) -> Environment:
    """`Environment(**options)` with its compiled templates cached between runs (see the module)."""
    return Environment(**options, bytecode_cache=bytecode_cache(name, options))
