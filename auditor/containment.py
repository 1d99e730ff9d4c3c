"""Keeping an auditor bug to the one finding it touched.

Every byte a site, an email or a ledger sends can end up in a finding: URLs with lone surrogates or
NULs, evidence holding objects a check author never meant to serialize. Downstream, the store
(SQLite and PostgreSQL refuse lone surrogates, PostgreSQL refuses NUL, its JSON refuses NaN), the
reports and the terminal each choke on a different one. So the runner passes every finding
through `keep()` once, when it is emitted: afterwards a finding is plain JSON-able data with clean
text, or, when even that fails, a degraded copy (kind, severity, URL and message kept; evidence
replaced by a note) that says it is an auditor bug. Nothing here raises.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from auditor.results import Finding, Severity, site_relative

REPLACEMENT = "\ufffd"
# Evidence nested deeper than this is cut: no real evidence is, and a cycle would recurse forever.
MAX_DEPTH = 40


def safe_text(value: object) -> str:
    """`value` as text every sink accepts: lone surrogates and NULs become U+FFFD."""
    text = value if isinstance(value, str) else _str(value)
    if text.isascii():
        return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16, a surrogate pair written as two code points becomes its character again.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\x00", REPLACEMENT)


def _str(value: object) -> str:
    try:
        return str(value)
    except Exception as exc:
        return f"<{type(value).__name__} that cannot be shown: {type(exc).__name__}>"


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` as JSON every store accepts: str keys, lists, finite numbers, clean text.

    Anything else (datetime, Decimal, Path, bytes, sets, objects) becomes its text; raises only
    when that text cannot be had, or the data nests deeper than MAX_DEPTH (a cycle)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"evidence nested more than {MAX_DEPTH} levels deep (a cycle?)")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(_key(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v, depth + 1) for v in value), key=repr)
    return safe_text(str(value))


def _key(key: object) -> str:
    return key if isinstance(key, str) else str(key)


def clean(f: Finding) -> Finding:
    """`f` with clean text and JSON-safe evidence (in place); raises when the evidence cannot be kept."""
    f.kind = safe_text(f.kind)
    f.severity = Severity(f.severity)
    f.url = safe_text(f.url)
    f.message = safe_text(f.message)
    f.source = safe_text(f.source) if f.source is not None else None
    f.element = safe_text(f.element) if f.element is not None else None
    f.sources = [safe_text(s) for s in f.sources]
    f.check = safe_text(f.check)
    f.key = safe_text(f.key)
    f.evidence = json_safe(dict(f.evidence))
    return f


def degraded(f: object, check: str, base_url: str, error: BaseException) -> Finding:
    """A copy of `f` that can always be stored and shown: what it says, without its evidence.

    Its fingerprint is made as `Finding.finalize` makes it where possible, so the same problem
    keeps its incident even on a run where its evidence could not be kept."""
    kind = safe_text(getattr(f, "kind", "unknown"))
    try:
        severity = Severity(getattr(f, "severity", Severity.ERROR))
    except ValueError:
        severity = Severity.ERROR
    url = safe_text(getattr(f, "url", ""))
    sources = getattr(f, "sources", [])
    source = getattr(f, "source", None)
    element = getattr(f, "element", None)
    identity = getattr(f, "identity_url", None)
    key = safe_text(getattr(f, "key", ""))
    out = Finding(
        kind=kind,
        severity=severity,
        url=url,
        message=safe_text(getattr(f, "message", "")),
        source=safe_text(source) if source is not None else None,
        element=safe_text(element) if element is not None else None,
        sources=[safe_text(s) for s in sources] if isinstance(sources, list) else [],
        check=safe_text(check),
        key=key,
        evidence={"auditor_error": note(error)},
    )
    if out.source and out.source not in out.sources:
        out.sources.insert(0, out.source)
    out.fingerprint = fingerprint(out.check, kind, safe_text(identity) if identity else url, key, base_url)
    return out


def note(error: BaseException) -> str:
    """What a degraded finding says instead of its evidence."""
    return safe_text(
        f"auditor could not keep this finding's evidence ({type(error).__name__}: {_str(error)}). "
        "The finding itself stands; this is an auditor bug: please report it with the run's log."
    )


def fingerprint(check: str, kind: str, where: str, key: str, base_url: str) -> str:
    """`Finding.finalize`'s fingerprint, falling back to the URL as given when it cannot be parsed."""
    try:
        relative = site_relative(where, base_url)
    except Exception:
        relative = where
    raw = "\x1f".join([check, kind, relative, key])
    return hashlib.sha256(raw.encode(errors="surrogatepass")).hexdigest()[:16]
