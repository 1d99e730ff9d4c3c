"""URLs as a browser reads them (the WHATWG URL standard), in one spelling per URL.

Parsing and resolution use ada-url, the standard's implementation in Node.js: `//////` and
`http://[bad` are invalid, `http:` and `http:/` on an http page resolve like relative references,
`http://☃.example/` is valid and requested as punycode, dot segments (also `%2e`) are removed,
and the characters a browser percent-encodes are percent-encoded. One thing the parser cannot do
is a page's own encoding: a browser encodes the query of a link on a windows-1252 page in
windows-1252 (`?q=ü` is requested as `?q=%FC`), so `resolve(..., encoding=...)` encodes it first.

Normalising then gives one spelling per URL, so that de-duplication is a string comparison:
scheme and host are lower-cased and default ports dropped (both by the parser), the fragment and
an empty query are dropped, and session ids are stripped (`;jsessionid=...` path parameters and
PHPSESSID/sid/sessionid query parameters), which would otherwise make every visit a new URL (a
classic crawler trap).

Everything here raises only `MalformedURL`, whatever the string.
"""

from __future__ import annotations

import codecs
import re
from urllib.parse import unquote, urlsplit

from ada_url import join_url, parse_url

# Schemes a browser does not fetch and that say nothing about the site's health.
IGNORED_SCHEMES = ("javascript:", "data:", "about:", "blob:")
SESSION_PARAMS = frozenset({"jsessionid", "phpsessid", "sid", "sessionid", "session_id", "aspsessionid"})
_PATH_SESSION = re.compile(r";jsessionid=[^/?#;]*", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+\.[^@\s/]+$")
# What `join` leaves to the parser: anything outside the printable ASCII a browser keeps as
# written (it percent-encodes space " ' < > ^ ` { } and controls, reads \ as /). A `%2e` (a dot
# segment in a path) is tested apart: in the same pattern it triples the pattern's cost.
_UNUSUAL = re.compile(r"""[^!#$%&()*+,\-./0-9;=?@A-Z\[\]_a-z|~]""")
# Encodings whose query encoding is UTF-8 anyway (the standard uses UTF-8 for UTF-16 pages too).
_UTF8 = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "ascii"})


class MalformedURL(ValueError):
    """A link that cannot be parsed as a URL (the message says why, for a shop owner)."""


def normalise(url: str) -> tuple[str, str]:
    """`url` (absolute) in its canonical spelling and its fragment (``""`` when none).

    Raises MalformedURL when the URL cannot be parsed (e.g. ``http://[bad``, ``//////``).
    """
    try:
        href = parse_url(url, ("href",))["href"]
    except ValueError:
        raise MalformedURL(why_malformed(url)) from None
    return _canonical(href)


def resolve(base: str, raw: str, encoding: str = "utf-8") -> str:
    """The absolute form of a link `raw` found on a page whose base URL is `base`.

    `encoding` is the page's character encoding: the query is percent-encoded in it, as a
    browser does. Raises MalformedURL when no URL results.
    """
    if encoding not in _UTF8 and not raw.isascii():
        raw = _encode_query(raw, encoding)
    try:
        return join_url(base, raw)
    except ValueError:
        raise MalformedURL(why_malformed(raw)) from None


def absolute(base: str, raw: str, encoding: str = "utf-8") -> tuple[str, str]:
    """`normalise(resolve(base, raw, encoding))` with one parse instead of two."""
    return _canonical(resolve(base, raw, encoding))


def _canonical(href: str) -> tuple[str, str]:
    """The canonical spelling and the fragment of a URL as the parser serialised it."""
    # In a serialised URL the first "#" starts the fragment and the first "?" the query: the
    # parser percent-encodes any other.
    href, _, frag = href.partition("#")
    if not href.startswith(("http://", "https://")):
        return href, frag
    head, _, query = href.partition("?")
    if ";" in head:
        head = _PATH_SESSION.sub("", head)
    if query:
        query = _strip_session_params(query)
    return (f"{head}?{query}" if query else head), frag


def _strip_session_params(query: str) -> str:
    kept = [p for p in query.split("&") if p.split("=", 1)[0].lower() not in SESSION_PARAMS]
    return "&".join(kept)


def _encode_query(raw: str, encoding: str) -> str:
    """`raw` with the non-ASCII characters of its query percent-encoded in `encoding`.

    A character the encoding cannot represent becomes `&#NNNN;` first, as the standard says.
    """
    before, q, rest = raw.partition("?")
    if not q:
        return raw
    query, h, frag = rest.partition("#")
    try:
        codecs.lookup(encoding)
    except LookupError:
        return raw
    out: list[str] = []
    for ch in query:
        if ch.isascii():
            out.append(ch)
        else:
            data = ch.encode(encoding, "xmlcharrefreplace")
            # The parser encodes what is left of ASCII; a "#" of "&#NNNN;" is not a fragment.
            out.append("".join(chr(b) if b < 0x80 and b != 0x23 else f"%{b:02X}" for b in data))
    return f"{before}?{''.join(out)}{h}{frag}"


def why_malformed(raw: str) -> str:
    """Why a browser cannot open `raw`, in words a shop owner can act on."""
    if not raw.strip():
        return "it is empty"
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return "it contains characters that are not valid text"
    _, sep, rest = raw.strip().partition("://")
    if not sep:
        if raw.lstrip().startswith(("//", "\\\\")):
            rest = raw.lstrip()[2:]
        else:
            return "it is not a valid URL"
    rest = rest.lstrip("/\\")
    authority = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if not host:
        return "the host name is empty"
    if "[" in host or "]" in host:
        return f"the host {host!r} has a bracket ([ ]) that is not a valid IPv6 address"
    name, colon, port = host.rpartition(":")
    if colon and port and (not port.isdigit() or int(port) > 65535):
        return f"the port {port!r} is not a number from 0 to 65535"
    if colon and not name:
        return "the host name is empty"
    if re.search(r"[\s<>^|%]", host):
        return f"the host {host!r} contains characters a host name cannot have"
    return f"the host {host!r} is not a valid host name"


def host_of(url: str) -> str:
    """The `host[:port]` part of a normalised URL (cheap: no full parse)."""
    rest = url.split("://", 1)[-1]
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1 and i < end:
            end = i
    return rest[:end]


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a normalised URL."""
    scheme = url.split("://", 1)[0]
    return f"{scheme}://{host_of(url)}"


def path_and_query(url: str) -> tuple[str, str]:
    """The path and the query of a normalised URL."""
    parts = urlsplit(url)
    return parts.path, parts.query


def contact_problem(raw: str) -> str | None:
    """Why a `mailto:` or `tel:` link is malformed, or None when it is fine (or not one)."""
    low = raw[:7].lower()
    if low.startswith("mailto:"):
        addresses = unquote(raw[7:].split("?", 1)[0])
        if not any(_EMAIL.match(a.strip()) for a in addresses.split(",") if a.strip()):
            return "the mailto: link has no valid e-mail address"
    elif low.startswith("tel:") and not any(c.isdigit() for c in raw[4:]):
        return "the tel: link has no phone number"
    return None


def join(origin: str, directory: str, raw: str) -> tuple[str, str] | None:
    """`absolute(page, raw)` for the common plain links, several times faster; else None.

    `origin` is the page's `scheme://host` and `directory` its URL up to the last "/", both
    normalised. Anything unusual (dot segments, a scheme, a protocol-relative or query-only
    link, a session id, a character a browser would percent-encode, non-ASCII) returns None and
    goes the exact way.
    """
    path, _, frag = raw.partition("#")
    # Dot segments and a scheme's colon only count before the query.
    bare = path.partition("?")[0] if "?" in path else path
    if (
        not bare
        or ":" in bare
        or "./" in bare
        or ";" in path
        or bare.endswith(("/.", "/.."))
        or bare in (".", "..")
        or path[-1] == "?"
        or _UNUSUAL.search(raw)
        or ("%" in raw and ("%2e" in raw or "%2E" in raw))
    ):
        return None
    if "?" in path:
        low = path.lower()
        if "sid" in low or "session" in low:
            return None
    if path[0] == "/":
        if path[:2] == "//":
            return None
        return origin + path, frag
    return directory + path, frag
