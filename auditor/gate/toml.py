"""A small TOML writer for the configs auditor writes itself (`auditor init --demo`).

Only what a config holds: tables of str, int, float, bool and lists of them (and inline tables
inside lists). Nested tables become `[a.b]` sections; a table holding only scalars inside a
section (`[sites.demo]`) stays inline when short: `mailbox = { kind = "sink", port = 8025 }`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_INLINE_MAX = 80


def key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def value(v: Any) -> str:
    """One TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise ValueError(f"TOML cannot hold {v!r} here")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{key(str(k))} = {value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML: {v!r}")


def _inline(v: Any) -> bool:
    """A table small and flat enough to stay on one line."""
    return (
        isinstance(v, Mapping)
        and all(not isinstance(x, Mapping) for x in v.values())
        and len(value(v)) <= _INLINE_MAX
    )


def dumps(data: Mapping[str, Any], comments: Mapping[str, str] | None = None) -> str:
    """`data` as TOML; `comments` maps a dotted table path ("" for the top) to a comment above it."""
    comments = comments or {}
    out: list[str] = []
    _table(data, (), out, comments)
    return "\n".join(out).strip("\n") + "\n"


def _comment(path: tuple[str, ...], out: list[str], comments: Mapping[str, str]) -> None:
    text = comments.get(".".join(path))
    if text:
        out.extend(f"# {line}".rstrip() for line in text.splitlines())


def _table(
    data: Mapping[str, Any], path: tuple[str, ...], out: list[str], comments: Mapping[str, str]
) -> None:
    inline = {k for k, v in data.items() if not isinstance(v, Mapping) or (len(path) >= 2 and _inline(v))}
    scalars = [(k, v) for k, v in data.items() if k in inline]
    tables = [(k, v) for k, v in data.items() if k not in inline]
    if path and (scalars or not tables):
        if out and not out[-1].startswith("#"):
            out.append("")
        _comment(path, out, comments)
        out.append("[" + ".".join(key(p) for p in path) + "]")
    elif comments.get(".".join(path)):
        out.append("")
        _comment(path, out, comments)
    for k, v in scalars:
        text = value(v)
        if isinstance(v, list | tuple) and len(text) > _INLINE_MAX and v:
            # A long list reads (and diffs) better one item per line.
            out.append(f"{key(str(k))} = [")
            out.extend(f"    {value(x)}," for x in v)
            out.append("]")
        else:
            out.append(f"{key(str(k))} = {text}")
    for k, v in tables:
        _table(v, (*path, str(k)), out, comments)
