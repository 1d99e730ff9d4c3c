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

# A run of digits in groups of digits separated by one space, dash, `+` or `%20` (raw, form-encoded).
# Not inside a word or a hex string, nor a decimal; `%2C4242...` (an encoded separator) still counts.
_DIGIT_RUN = re.compile(
    r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![0-9A-Za-z.]))"
    r"[0-9]+(?:(?:[ \-+]|%20)[0-9]+)*"
    r"(?![0-9A-Za-z]|\.[0-9])"
)
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


@dataclass(frozen=True)
class Scrubber:
    """Masks a run's secrets in text, JSON data, files and Playwright traces."""

    secrets: frozenset[str] = frozenset()
    # Lower-case names of headers whose value is masked whatever it is (beyond SENSITIVE_HEADERS).
    header_names: frozenset[str] = frozenset()
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _bytes_pattern: re.Pattern[bytes] | None = field(init=False, repr=False, compare=False, default=None)
    _headers: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    _header_hint: re.Pattern[str] = field(init=False, repr=False, compare=False, default=re.compile("$^"))

    def __post_init__(self) -> None:
        values = sorted({s for s in self.secrets if len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)
        alternatives = [secret_pattern(s) for s in values]
        alternatives += [
            re.escape(f) for s in values if len(s) >= MIN_BASE64_LEN for f in _base64_fragments(s)
        ]
        headers = SENSITIVE_HEADERS | {h.lower() for h in self.header_names}
        object.__setattr__(self, "_headers", headers)
        hint = "|".join(re.escape(h) for h in sorted(headers | _COOKIE_LISTS))
        object.__setattr__(self, "_header_hint", re.compile(hint, re.IGNORECASE))
        if alternatives:
            source = "|".join(alternatives)
            object.__setattr__(self, "_pattern", re.compile(source))
            object.__setattr__(self, "_bytes_pattern", re.compile(source.encode("utf-8")))

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
        return self._pattern.sub(REDACTED, text) if self._pattern is not None else text

    def text(self, text: str, *, json_numbers: bool = False) -> str:
        """`text` with every known secret and every Luhn-valid card number masked.

        `json_numbers`: `text` is JSON, whose bare numbers (timestamps) are left alone."""
        return _mask_cards(self.known(text), json_numbers=json_numbers)

    def raw(self, data: bytes) -> bytes:
        """Binary `data` with every known secret masked (card numbers too, when it is text)."""
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError:
            if self._bytes_pattern is None:
                return data
            return self._bytes_pattern.sub(REDACTED.encode(), data)
        return self.text(decoded).encode("utf-8")

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
        return self._walk(value, None)

    def _walk(self, value: Any, key: str | None) -> Any:
        if key is not None and key.lower() in self._headers and isinstance(value, (str, list)):
            return REDACTED if isinstance(value, str) else [REDACTED for _ in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            if key is not None and key.lower() in _COOKIE_LISTS:
                return [_masked_value(v) if isinstance(v, dict) else self._walk(v, None) for v in value]
            return [self._walk(v, None) for v in value]
        if isinstance(value, dict):
            name = value.get("name")
            secret_pair = isinstance(name, str) and name.lower() in self._headers and "value" in value
            return {
                k: (
                    REDACTED
                    if secret_pair and k == "value"
                    else self._walk(v, k if isinstance(k, str) else None)
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
        """Playwright's JSON-lines logs (trace.trace, trace.network) scrubbed line by line."""
        out = []
        for line in text.split("\n"):
            if line and self._header_hint.search(line):
                try:
                    line = json.dumps(self.data(json.loads(line)), ensure_ascii=False, separators=(",", ":"))
                except ValueError:
                    line = self.text(line, json_numbers=True)
            else:
                line = self.text(line, json_numbers=True)
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
        if name.endswith((".jpeg", ".jpg", ".png", ".webp", ".gif", ".woff", ".woff2")):
            return data if self._bytes_pattern is None else self._bytes_pattern.sub(REDACTED.encode(), data)
        return self.raw(data)


def _masked_value(cookie: dict[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k == "value" else v) for k, v in cookie.items()}


def _fresh(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    out.compress_type = zipfile.ZIP_DEFLATED
    out.external_attr = info.external_attr
    return out


def _mask_cards(text: str, *, json_numbers: bool) -> str:
    return _DIGIT_RUN.sub(lambda m: _mask_run(m, json_numbers), text)


def _mask_run(m: re.Match[str], json_numbers: bool) -> str:
    run = m.group(0)
    groups, start = [], 0
    for sep in _SEPARATOR.finditer(run):
        groups.append((start, sep.start()))
        start = sep.end()
    groups.append((start, len(run)))
    if sum(e - s for s, e in groups) < 12:
        return run
    if json_numbers and len(groups) == 1:
        text, start, end = m.string, m.start(), m.end()
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
