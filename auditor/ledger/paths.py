"""Field paths into a ledger's JSON: `data.charges`, `amount.value`, `items[0].id`, `data.charges[*].amount`.

A path is keys separated by dots, each optionally followed by `[N]` (one list element) or `[*]`
(every element). `[*]` is how a list of records is named: in `data.charges[*].amount` the records
are `data.charges` and the amount is `amount` inside each. Paths are parsed when the config is
validated; reading one never raises: a missing key is `MISSING`, whatever shape the JSON has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[(?:\*|[0-9]{1,6})\])*)")
_INDEX = re.compile(r"\[(\*|[0-9]+)\]")
# Lists of lists of lists: deeper than this is not a ledger.
MAX_STARS = 4


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

Step = str | int | None  # a key, a list index, or None for [*]


@dataclass(frozen=True)
class FieldPath:
    """A parsed field path; `text` is what the config said."""

    text: str
    steps: tuple[Step, ...]

    @property
    def has_star(self) -> bool:
        return None in self.steps

    def split_star(self) -> tuple[FieldPath, FieldPath]:
        """`data.charges[*].amount` -> (`data.charges[*]`, `amount`): the records, and the field in one."""
        cut = len(self.steps) - self.steps[::-1].index(None)
        head, tail = self.steps[:cut], self.steps[cut:]
        return FieldPath(_render(head), head), FieldPath(_render(tail), tail)

    def get(self, data: Any) -> Any:
        """The one value at this path (the first, if it has `[*]`), or MISSING."""
        return next(self.values(data), MISSING)

    def values(self, data: Any) -> Iterator[Any]:
        """Every value at this path: one at most without `[*]`, each element's with it."""
        yield from _walk(data, self.steps)


def parse_path(text: str) -> FieldPath:
    """Parse a field path; ValueError saying what is wrong (for config validation)."""
    if not text.strip():
        return FieldPath("", ())
    steps: list[Step] = []
    for part in text.split("."):
        m = _SEGMENT.fullmatch(part)
        if m is None:
            raise ValueError(
                f"bad field path {text!r} at {part!r}: write keys separated by dots, each optionally "
                "followed by [N] or [*] (e.g. data.charges[*].amount)"
            )
        steps.append(m.group(1))
        steps.extend(None if i == "*" else int(i) for i in _INDEX.findall(m.group(2)))
    if steps.count(None) > MAX_STARS:
        raise ValueError(f"bad field path {text!r}: more than {MAX_STARS} [*]")
    return FieldPath(text, tuple(steps))


def _walk(data: Any, steps: tuple[Step, ...]) -> Iterator[Any]:
    if not steps:
        yield data
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        if isinstance(data, dict) and step in data:
            yield from _walk(data[step], rest)
    elif isinstance(step, int):
        if isinstance(data, list) and step < len(data):
            yield from _walk(data[step], rest)
    elif isinstance(data, list):
        for item in data:
            yield from _walk(item, rest)


def _render(steps: tuple[Step, ...]) -> str:
    out = ""
    for s in steps:
        if isinstance(s, str):
            out += ("." if out else "") + s
        else:
            out += "[*]" if s is None else f"[{s}]"
    return out
