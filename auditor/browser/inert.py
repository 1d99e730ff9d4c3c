"""A saved page that shows what the customer saw and runs nothing when opened from the report.

The audited site's page is hostile input: its scripts would run with the report's origin (file://
or wherever reports are served) the moment someone opens the evidence. `inert_html` removes what
runs or navigates on its own: <script>, <template>, <object>, <embed>, <applet>, <iframe srcdoc>,
<meta http-equiv=refresh>, event-handler attributes (on*), javascript: and vbscript: URLs in any
attribute, SVG animations that set links. As defence in depth it puts a Content-Security-Policy
first in <head> that allows no script, frame, plugin or form submission at all, so whatever a
parser difference lets through still cannot run.

The page is parsed with selectolax (lexbor, an HTML5 parser like the browser's), and cleaned until
its serialisation no longer changes: markup that parses differently the second time (namespace
tricks such as `<math><mtext><table><mglyph><style>`) is cleaned as it would then be read; a page
that still changes after MAX_ROUNDS is saved as its source, shown as text.
"""

from __future__ import annotations

import re
from html import escape

from selectolax.lexbor import LexborHTMLParser, LexborNode

CSP = (
    "default-src 'none'; script-src 'none'; object-src 'none'; frame-src 'none'; child-src 'none'; "
    "worker-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'; "
    "img-src data: http: https:; style-src 'unsafe-inline' http: https:; font-src data: http: https:"
)
_HEAD = (
    '<meta charset="utf-8">'
    f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    '<meta name="referrer" content="no-referrer">'
)
_REMOVE = "script, template, object, embed, applet, frame, frameset, portal, noembed, base"
_REMOVE_META = {"refresh", "set-cookie", "content-security-policy", "content-type"}
# Browsers ignore ASCII whitespace and control characters inside a URL's scheme: "jav&#9;ascript:".
_SCHEME_NOISE = re.compile(r"[\x00-\x20]+")
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:")
_SVG_ANIMATIONS = "set, animate, animatemotion, animatetransform, animatecolor"
MAX_ROUNDS = 8


def inert_html(html: str) -> str:
    """`html` as a document that cannot run scripts, refresh or navigate by itself."""
    text = _clean_once(LexborHTMLParser(html))
    for _ in range(MAX_ROUNDS):
        cleaned = _clean_once(LexborHTMLParser(text))
        if cleaned == text:
            break
        text = cleaned
    else:
        # Markup that keeps parsing into something new is built to get past a sanitiser: show it
        # as text instead.
        text = f"<html><head><title>page source</title></head><body><pre>{escape(html)}</pre></body></html>"
    tree = LexborHTMLParser(text)
    head = tree.head
    if head is not None:
        policy = LexborHTMLParser(f"<head>{_HEAD}</head>").head
        assert policy is not None
        anchor = head.child
        for meta in list(policy.iter(include_text=False)):
            if anchor is not None:
                anchor.insert_before(meta)
            else:
                head.insert_child(meta)
    return tree.html or ""


def _clean_once(tree: LexborHTMLParser) -> str:
    for node in tree.css(_REMOVE):
        node.decompose()
    for node in tree.css("meta"):
        equiv = (node.attrs.get("http-equiv") or "").strip().lower()
        if equiv in _REMOVE_META or node.attrs.get("charset") is not None:
            node.decompose()
    for node in tree.css(_SVG_ANIMATIONS):
        target = (node.attrs.get("attributename") or "").strip().lower()
        if target in {"href", "xlink:href", "src", "action", "formaction"} or target.startswith("on"):
            node.decompose()
    root = tree.root
    if root is not None:
        for node in root.traverse(include_text=False):
            # Comments and processing instructions come too; only elements have attributes
            # (selectolax raises for the others).
            if node.is_element_node:
                _clean_attributes(node)
    return tree.html or ""


def _clean_attributes(node: LexborNode) -> None:
    attrs = node.attrs
    for name, value in list(attrs.items()):
        lower = name.lower()
        if lower.startswith("on") or lower == "srcdoc" or (value is not None and _runs_script(value)):
            del attrs[name]


def _runs_script(value: str) -> bool:
    return _SCHEME_NOISE.sub("", value).lower().startswith(_SCRIPT_SCHEMES)
