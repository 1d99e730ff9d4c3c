"""Secrets out of evidence: every value auditor knows is secret, masked in every form it takes.

A run knows its secrets: the site's header and cookie values and every `${ENV}` value of the config
(`Settings.secrets`), the password its dummy customer typed, the test card numbers. Evidence (a
Playwright trace, the failed page, console and request logs) holds them in several encodings: raw in
typed values, URL-encoded in form posts (`card=4242+4242...`, `%40`), JSON-escaped in the trace's
JSON lines, HTML-escaped in DOM snapshots, base64 in resources. A `Scrubber` matches each secret
whatever mix of those encodings each character is in, so a secret is masked however it was written.

Beyond the values it knows, a scrubber masks:
- every digit run that passes the Luhn check (12-19 digits, spaces or dashes allowed) except its
  last four: a card number typed or posted, whichever card it was;
- the value of every `Authorization`, `Proxy-Authorization`, `Cookie` and `Set-Cookie` header and of
  the site's configured headers, whatever the value, and every cookie's value, in structured data
  (the trace's network log, `{"name": ..., "value": ...}` lists and header dicts).

`Keyring` holds the run's secrets in memory, so a later check (login) can use the customer's password
while everything written (the database, reports) holds only `**********`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.results import Finding

log = logging.getLogger("auditor.scrub")

REDACTED = "**********"
# Header names whose value is a credential whatever it is.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# Keys under which a list of cookies (each with a "value") is kept: Playwright's add_cookies params,
# storage states, HAR-style request and response cookies.
_COOKIE_LISTS = frozenset({"cookies"})
# Pictures and fonts: no text to scrub (a screencast frame shows a typed test card as pixels).
_PIXELS = (".jpeg", ".jpg", ".png", ".webp", ".gif", ".avif", ".ico", ".woff", ".woff2", ".ttf", ".otf")
# Shorter values would mask noise (a one-letter header value is in every text).
MIN_SECRET_LEN = 3
# Base64 fragments of shorter secrets are too short to be told apart from other base64.
MIN_BASE64_LEN = 6

_HTML_NAMED = {
    "&": ["&amp;"],
    "<": ["&lt;"],
    ">": ["&gt;"],
    '"': ["&quot;"],
    "'": ["&apos;"],
    "\xa0": ["&nbsp;"],
}
_JSON_SHORT = {'"': '\\\\"', "\\": "\\\\\\\\", "/": "\\\\/", "\n": "\\\\n", "\r": "\\\\r", "\t": "\\\\t"}

# A run of at least 12 digits, maybe separated by one space, dash, `+` or `%20` (raw, form-encoded).
# Where it may start and end (not inside a word, a hex string or a decimal; `%2C4242...`, an encoded
# separator, still counts) is checked on the match: a pattern that starts with a digit is searched
# for fast, and a trace has a hundred thousand short numbers.
_DIGIT_RUN = re.compile(r"[0-9](?:(?:[ \-+]|%20)?[0-9]){11,}")
_WORD = re.compile(r"[0-9A-Za-z.]")
_ENCODED_BEFORE = re.compile(r"%[0-9A-Fa-f]{2}")
_SEPARATOR = re.compile(r"[ \-+]|%20")
# What comes before and after a bare JSON number (`"wallTime":1718000000000,`): not a card, a number.
_JSON_BEFORE = frozenset(":,[")
_JSON_AFTER = frozenset(",}]")


def luhn_ok(digits: str) -> bool:
    """True when `digits` (only digits) passes the Luhn check, as every card number does."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _char_forms(c: str) -> list[str]:
    """Regex alternatives for one character: raw, %-encoded, form-encoded, JSON- and HTML-escaped."""
    forms = [re.escape(c)]
    utf8 = c.encode("utf-8")
    forms.append("".join("%" + _hex_class(f"{b:02X}") for b in utf8))
    if c == " ":
        forms.append(r"\+")
    code = ord(c)
    if code <= 0xFFFF:
        forms.append("\\\\u" + _hex_class(f"{code:04X}"))
    else:
        hi, lo = _surrogates(code)
        forms.append("\\\\u" + _hex_class(f"{hi:04X}") + "\\\\u" + _hex_class(f"{lo:04X}"))
    if c in _JSON_SHORT:
        forms.append(_JSON_SHORT[c])
    forms.append(f"&#0*{code};")
    forms.append("&#[xX]0*" + _hex_class(f"{code:X}") + ";")
    forms.extend(re.escape(n) for n in _HTML_NAMED.get(c, []))
    if c == "'":
        forms.append("&#x27;")
    return forms


def _hex_class(digits: str) -> str:
    return "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in digits)


def _surrogates(code: int) -> tuple[int, int]:
    v = code - 0x10000
    return 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)


def _base64_fragments(secret: str) -> list[str]:
    """The base64 characters fully determined by `secret` at each of the three byte alignments."""
    raw = secret.encode("utf-8")
    fragments = []
    for pad, skip in ((0, 0), (1, 2), (2, 3)):
        data = b"\0" * pad + raw
        whole = len(data) // 3 * 4
        text = base64.b64encode(data).decode()[skip:whole]
        if len(text) >= MIN_BASE64_LEN:
            fragments.append(text)
            fragments.append(text.replace("+", "-").replace("/", "_"))
    return fragments


def secret_pattern(secret: str) -> str:
    """A regex matching `secret` with each character in any of the encodings evidence uses."""
    return "".join("(?:" + "|".join(_char_forms(c)) + ")" for c in secret)


# Letters and digits are never encoded (URL, form, JSON and HTML encoders leave them as they are), so
# a secret's longest run of them is found with a plain substring search, and the whole pattern is
# tried only around it: scrubbing costs about a substring search, not a regex at every position.
_ANCHOR = re.compile(r"[A-Za-z0-9]+")
MIN_ANCHOR_LEN = 3
# The longest encoding of one character: `%F0%9F%98%80`, `\ud83d\ude00`.
_MAX_ENCODED = 12


@dataclass(frozen=True)
class _Secret:
    pattern: re.Pattern[str]
    anchor: str
    reach_before: int
    reach_after: int

    @classmethod
    def of(cls, secret: str) -> _Secret:
        runs = sorted(_ANCHOR.finditer(secret), key=lambda m: len(m.group(0)), reverse=True)
        pattern = re.compile(secret_pattern(secret))
        if not runs or len(runs[0].group(0)) < MIN_ANCHOR_LEN:
            return cls(pattern, "", 0, 0)
        best = runs[0]
        return cls(
            pattern, best.group(0), best.start() * _MAX_ENCODED, (len(secret) - best.end()) * _MAX_ENCODED
        )

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        if not self.anchor:
            yield from (m.span() for m in self.pattern.finditer(text))
            return
        i = text.find(self.anchor)
        while i != -1:
            lo = max(0, i - self.reach_before)
            hi = min(len(text), i + len(self.anchor) + self.reach_after)
            yield from (m.span() for m in self.pattern.finditer(text, lo, hi))
            i = text.find(self.anchor, i + 1)


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    spans.sort()
    out, last_end = [], 0
    cur_start, cur_end = spans[0]
    for start, end in spans[1:]:
        if start <= cur_end:
            cur_end = max(cur_end, end)
            continue
        out += [text[last_end:cur_start], REDACTED]
        last_end = cur_end
        cur_start, cur_end = start, end
    out += [text[last_end:cur_start], REDACTED, text[cur_end:]]
    return "".join(out)


@dataclass(frozen=True)
class Scrubber:
    """Masks a run's secrets in text, JSON data, files and Playwright traces."""

    secrets: frozenset[str] = frozenset()
    # Lower-case names of headers whose value is masked whatever it is (beyond SENSITIVE_HEADERS).
    header_names: frozenset[str] = frozenset()
    _finders: tuple[_Secret, ...] = field(init=False, repr=False, compare=False, default=())
    _fragments: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    _headers: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    _header_hint: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        values = sorted({s for s in self.secrets if len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)
        object.__setattr__(self, "_finders", tuple(_Secret.of(v) for v in values))
        fragments = {f for v in values if len(v) >= MIN_BASE64_LEN for f in _base64_fragments(v)}
        object.__setattr__(self, "_fragments", tuple(sorted(fragments)))
        headers = SENSITIVE_HEADERS | {h.lower() for h in self.header_names}
        object.__setattr__(self, "_headers", headers)
        object.__setattr__(self, "_header_hint", tuple(sorted(headers | _COOKIE_LISTS)))

    @classmethod
    def for_site(cls, site: Any, secrets: Iterable[str] = ()) -> Scrubber:
        """A scrubber for `site` (a SiteConfig): its header and cookie values and names, plus `secrets`."""
        values = set(secrets)
        names: set[str] = set()
        for hc in site.host_settings().values():
            values.update(v for v in [*hc.headers.values(), *hc.cookies.values()] if v)
            names.update(k.lower() for k in hc.headers)
        return cls(secrets=frozenset(values), header_names=frozenset(names))

    def known(self, text: str) -> str:
        """`text` with every known secret masked (card numbers it does not know are left alone)."""
        spans = [span for finder in self._finders for span in finder.spans(text)]
        for fragment in self._fragments:
            i = text.find(fragment)
            while i != -1:
                spans.append((i, i + len(fragment)))
                i = text.find(fragment, i + 1)
        return _replace_spans(text, spans)

    def text(self, text: str, *, json_numbers: bool = False) -> str:
        """`text` with every known secret and every Luhn-valid card number masked.

        `json_numbers`: `text` is JSON, whose bare numbers (timestamps) are left alone."""
        return _mask_cards(self.known(text), json_numbers=json_numbers)

    def raw(self, data: bytes) -> bytes:
        """Binary `data` with every known secret masked (card numbers too, when it is UTF-8 text)."""
        try:
            return self.text(data.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            # Undecodable bytes survive the round trip as they are; the secrets' UTF-8 is matched.
            return self.known(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def finding(self, f: Finding) -> Finding:
        """`f` with every secret masked in its message and evidence, and the known ones in its URLs
        (a long order number in a URL that passes the Luhn check is no card)."""
        f.url, f.message = self.known(f.url), self.text(f.message)
        f.source = self.known(f.source) if f.source else f.source
        f.sources = [self.known(s) for s in f.sources]
        f.evidence = self.data(f.evidence)
        return f

    def data(self, value: Any) -> Any:
        """JSON-like `value` with header and cookie values masked and every string scrubbed."""
        return self._walk(value, None, self.text)

    def _walk(self, value: Any, key: str | None, scrub: Callable[[str], str]) -> Any:
        if key is not None and key.lower() in self._headers and isinstance(value, (str, list)):
            return REDACTED if isinstance(value, str) else [REDACTED for _ in value]
        if isinstance(value, str):
            return scrub(value)
        if isinstance(value, list):
            if key is not None and key.lower() in _COOKIE_LISTS:
                return [
                    _masked_value(v) if isinstance(v, dict) else self._walk(v, None, scrub) for v in value
                ]
            return [self._walk(v, None, scrub) for v in value]
        if isinstance(value, dict):
            name = value.get("name")
            secret_pair = isinstance(name, str) and name.lower() in self._headers and "value" in value
            return {
                k: (
                    REDACTED
                    if secret_pair and k == "value"
                    else self._walk(v, k if isinstance(k, str) else None, scrub)
                )
                for k, v in value.items()
            }
        return value

    def json_text(self, text: str) -> str:
        """A JSON document (console.json, requests.json) scrubbed; text that is not JSON as text."""
        try:
            parsed = json.loads(text)
        except ValueError:
            return self.text(text)
        return json.dumps(self.data(parsed), indent=2, ensure_ascii=False)

    def json_lines(self, text: str) -> str:
        """Playwright's JSON-lines logs (trace.trace, trace.network) scrubbed line by line.

        Each line is scrubbed as text (masks keep JSON valid); a line that names a header or cookies
        is then parsed to mask their values. Should the scrubbed line not parse, the original is
        parsed and scrubbed string by string."""
        out = []
        for raw in text.split("\n"):
            line = self.text(raw, json_numbers=True)
            if line and any(h in line.lower() for h in self._header_hint):
                try:
                    masked = self._walk(json.loads(line), None, _same)
                except ValueError:
                    try:
                        masked = self.data(json.loads(raw))
                    except ValueError:
                        out.append(line)
                        continue
                line = json.dumps(masked, ensure_ascii=False, separators=(",", ":"))
            out.append(line)
        return "\n".join(out)

    def trace(self, src: Path, dst: Path) -> None:
        """Write a scrubbed copy of the Playwright trace `src` to `dst`: every member is rewritten."""
        write_atomically(dst, lambda tmp: self._trace_into(src, tmp))

    def _trace_into(self, src: Path, tmp: Path) -> None:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                if info.is_dir():
                    continue
                data = zin.read(info)
                zout.writestr(_fresh(info), self.member(info.filename, data))

    def member(self, name: str, data: bytes) -> bytes:
        """One member of a trace zip, scrubbed by what it is."""
        if name.endswith((".trace", ".network", ".stacks")):
            return self.json_lines(data.decode("utf-8", errors="replace")).encode("utf-8")
        if name.endswith(_PIXELS):
            return data
        return self.raw(data)


def _same(text: str) -> str:
    return text


def _masked_value(cookie: dict[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k == "value" else v) for k, v in cookie.items()}


def _fresh(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    # Pictures are compressed already: deflating them again costs most of a trace's rewrite.
    out.compress_type = zipfile.ZIP_STORED if info.filename.endswith(_PIXELS) else zipfile.ZIP_DEFLATED
    out.external_attr = info.external_attr
    return out


def _mask_cards(text: str, *, json_numbers: bool) -> str:
    return _DIGIT_RUN.sub(lambda m: _mask_run(m, json_numbers), text)


def _mask_run(m: re.Match[str], json_numbers: bool) -> str:
    run = m.group(0)
    text, start, end = m.string, m.start(), m.end()
    if start and _WORD.match(text, start - 1) and not _ENCODED_BEFORE.match(text, max(0, start - 3), start):
        return run
    if end < len(text) and (text[end].isalnum() or (text[end] == "." and text[end + 1 : end + 2].isdigit())):
        return run
    groups, at = [], 0
    for sep in _SEPARATOR.finditer(run):
        groups.append((at, sep.start()))
        at = sep.end()
    groups.append((at, len(run)))
    if sum(e - s for s, e in groups) < 12:
        return run
    if json_numbers and len(groups) == 1:
        before = text[max(0, start - 8) : start].rstrip()[-1:]
        after = text[end : end + 8].lstrip()[:1]
        if before in _JSON_BEFORE and (after in _JSON_AFTER or after == ""):
            return run
    chars = list(run)
    masked = False
    i = 0
    # The longest Luhn-valid span of whole groups from each group on: "4242 4242 4242 4242 12/30"
    # masks the card and leaves the expiry month alone.
    while i < len(groups):
        best = None
        digits = ""
        for j in range(i, len(groups)):
            digits += run[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 12 and luhn_ok(digits):
                best = j
        if best is None:
            i += 1
            continue
        keep = 4
        for g in range(best, i - 1, -1):
            s, e = groups[g]
            for k in range(e - 1, s - 1, -1):
                if keep:
                    keep -= 1
                else:
                    chars[k] = "*"
        masked = True
        i = best + 1
    return "".join(chars) if masked else run


def write_atomically(dst: Path, write: Callable[[Path], object]) -> None:
    """Call `write(tmp)` for a temporary file beside `dst`, then move it into place: a reader never
    sees half a file, and a failure leaves nothing."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.replace(dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_file(src: Path, dst: Path) -> None:
    """`src` copied to `dst` unchanged (a screenshot: pixels hold no text to scrub)."""
    write_atomically(dst, lambda tmp: shutil.copyfile(src, tmp))


class Keyring:
    """The secrets one run knows, in memory only: configured values and its customers' passwords."""

    def __init__(self, configured: Iterable[str] = ()) -> None:
        self._configured = frozenset(configured)
        self._passwords: dict[str, str] = {}

    def remember_password(self, email: str, password: str) -> None:
        """Keep the password `email`'s customer was given, for the checks after the purchase."""
        if password:
            self._passwords[email.lower()] = password

    def password(self, email: str) -> str | None:
        """The password the run gave `email`'s customer, or None if this run gave none."""
        return self._passwords.get(email.lower())

    def values(self) -> frozenset[str]:
        """Every secret value: to scrub from evidence."""
        return self._configured | frozenset(self._passwords.values())


def keyring_of(resources: Any) -> Keyring:
    """The run's keyring (`RunResources.keyring`); a check run outside a runner gets an empty one."""
    keyring = getattr(resources, "keyring", None)
    return keyring if isinstance(keyring, Keyring) else Keyring()


def without_password(outputs: dict[str, Any]) -> dict[str, Any]:
    """`outputs` with the customer's password replaced by `**********` (the keyring has it)."""
    customer = outputs.get("customer")
    if not isinstance(customer, dict) or not customer.get("password"):
        return dict(outputs)
    return {**outputs, "customer": {**customer, "password": REDACTED}}
