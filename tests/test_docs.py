"""The manual in docs/ documents everything; the README stays short and points into it.

Every config key, check kind, check option, command and flag must be written about in a manual
page (docs/, not counting the generated docs/reference/, which lists them all by construction);
the generated references must be current; the site must build with `mkdocs build --strict`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import types
import unicodedata
from pathlib import Path

import pytest
from pydantic import BaseModel

from auditor import registry
from auditor.cli import build_parser

REPO = Path(__file__).parent.parent
DOCS = REPO / "docs"
README = (REPO / "README.md").read_text()
README_WORD_LIMIT = 900

# The manual's own pages: what a person wrote, not what tools/reference.py generated.
PAGES = {p: p.read_text() for p in sorted(DOCS.rglob("*.md")) if "reference" not in p.relative_to(DOCS).parts}
MANUAL = "\n".join(PAGES.values())


def _reference_tool() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("reference", REPO / "tools" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_keys(model: type[BaseModel]) -> list[str]:
    """The keys as written in TOML (an alias where the field has one, e.g. `from`)."""
    return [f.alias or name for name, f in model.model_fields.items()]


# Every table of auditor.toml, as the generated configuration reference walks them.
CONFIG_KEYS = sorted({key for _table, model, _ in _reference_tool().sections() for key in model_keys(model)})

# The kinds auditor ships (tests register kinds of their own, which are not documented).
SHIPPED_KINDS = [
    k for k in registry.kinds() if (cls := registry.get(k)) and cls.__module__.startswith("auditor.")
]


@pytest.mark.parametrize("key", CONFIG_KEYS)
def test_every_config_key_is_documented_in_the_manual(key: str) -> None:
    assert f"`{key}" in MANUAL or f"{key} =" in MANUAL or f".{key}" in MANUAL, (
        f"config key {key!r} appears in no page of docs/ (docs/reference/ aside): write about it"
    )


@pytest.mark.parametrize("kind", SHIPPED_KINDS)
def test_every_check_kind_is_documented_in_the_manual(kind: str) -> None:
    assert f'kind = "{kind}"' in MANUAL or f"`{kind}`" in MANUAL


def commands_and_flags() -> list[str]:
    out = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out.append(f"{prefix}{name}")
                    walk(sub, f"{prefix}{name} ")
            else:
                out.extend(o for o in action.option_strings if o.startswith("--") and o != "--help")

    walk(build_parser(), "auditor ")
    return sorted(set(out))


@pytest.mark.parametrize("item", commands_and_flags())
def test_every_command_and_flag_is_documented_in_the_manual(item: str) -> None:
    assert item in MANUAL, f"{item!r} appears in no page of docs/ (docs/reference/ aside)"


def test_the_generated_references_are_current() -> None:
    """docs/reference/ is generated from the models and the parser: regenerate it when they change."""
    tool = REPO / "tools" / "reference.py"
    done = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_key_of_the_configuration_reference_says_what_it_does() -> None:
    """The generated reference takes a key's text from `Field(description=...)` or the comment above it."""
    reference = (DOCS / "reference" / "configuration.md").read_text()
    table = ""
    silent = []
    for line in reference.splitlines():
        if line.startswith("## "):
            table = line[3:]
        elif line.startswith("| `") and line.rstrip().endswith("|  |"):
            silent.append(f"{table} {line.split('|')[1].strip()}")
    assert not silent, (
        "keys whose reference row is empty (write a `#` comment above the field):\n" + "\n".join(silent)
    )


# Messages troubleshooting.md quotes, each as one string literal of auditor's source: when a message
# is reworded, the page must follow.
QUOTED_MESSAGES = [
    "No Chromium was found. Install one of:",
    "does not exist or is not executable",
    "could not start the browser at",
    "Only the crawl runs now; install a browser and run `auditor demo` again.",
    "not checked (no browser)",
    "Check the shop's mail settings and logs.",
    "Other messages arrived: ",
    "with a matching subject arrived, but their body lacks",
    "so the shop's mail",
    "Is another program using that port? Choose another port, or stop the other sink.",
    "(993 is usually ssl, 143 starttls) and that the server's certificate is valid.",
    "Check the user and password.",
    "Check the `folder` setting (the default is INBOX).",
    "was renumbered",
    "Make the shop's email smaller or well-formed, or raise",
    "not a list; set items_field to the dotted path of the list",
    "written with decimals, but `amount_unit` is",
    "which is neither the page's",
    "not a URL; point next_field at the next page's URL (or set cursor_field instead)",
    "not a cursor; point cursor_field at the next page's cursor",
    "auditor sends the ledger's headers to its own host only",
    "raise `max_pages` if that is right",
    "set `next_field` or `cursor_field`, not both: a ledger pages one way",
    "did not answer in time; is it up?",
    "refused our credentials",
    "time budget exceeded: ",
    "did not start: ",
    "The crawl stopped short: ",
    "Raise the limits or narrow the crawl.",
    "cut short, ",
]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("`", ""))


@pytest.mark.parametrize("message", QUOTED_MESSAGES)
def test_troubleshooting_quotes_the_messages_auditor_prints(message: str) -> None:
    source = "\n".join(p.read_text() for p in (REPO / "auditor").rglob("*.py"))
    assert message in source, f"auditor no longer says {message!r}: update docs/troubleshooting.md"
    page = _flat((DOCS / "troubleshooting.md").read_text())
    assert _flat(message) in page, f"docs/troubleshooting.md does not quote {message!r}"


def test_the_readme_stays_short() -> None:
    words = len(README.split())
    assert words <= README_WORD_LIMIT, (
        f"README.md has {words} words (at most {README_WORD_LIMIT}): move the detail into docs/"
    )


def slugify(text: str) -> str:
    """A heading's anchor as MkDocs writes it (Python-Markdown's toc `slugify`, inline code unwrapped)."""
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(markdown: str) -> set[str]:
    """The anchors of a page's headings (those outside fenced code)."""
    found, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.+)", line)):
            found.add(slugify(m.group(1)))
    return found


README_LINKS = re.findall(r"\]\(([^)\s]+)\)", README)


def test_the_readme_links_into_the_manual() -> None:
    assert sum(link.startswith("docs/") for link in README_LINKS) >= 10


@pytest.mark.parametrize("link", [link for link in README_LINKS if not re.match(r"[a-z]+:", link)])
def test_every_link_of_the_readme_resolves(link: str) -> None:
    path, _, anchor = link.partition("#")
    target = REPO / path
    assert target.is_file(), f"README.md links to {path}, which does not exist"
    if anchor:
        assert anchor in anchors(target.read_text()), f"README.md links to {link}: {path} has no such heading"


def fenced_blocks(markdown: str) -> list[str]:
    return re.findall(r"(?ms)^```[^\n]*\n(.*?)^```", markdown)


def test_recipes_install_auditor_the_way_that_works_today() -> None:
    """auditor is not on PyPI: a `pip install` of it in an example must name a checkout or a git URL."""
    wrong = []
    for page, text in [*PAGES.items(), (REPO / "README.md", README)]:
        for block in fenced_blocks(text):
            for line in block.splitlines():
                for spec in re.findall(r"pip(?:x)? install\s+(?:-\S+\s+)*(\"[^\"]*\"|'[^']*'|\S+)", line):
                    spec = spec.strip("\"'")
                    if re.match(r"auditor\b", spec) and "git+" not in spec:
                        wrong.append(f"{page.relative_to(REPO)}: {line.strip()}")
    assert not wrong, "install lines that find no package:\n" + "\n".join(wrong)


def test_the_manual_writes_the_installed_command() -> None:
    """`auditor ...`, as installed; `.venv/bin/auditor` only where a page explains the checkout's venv."""
    relative_venv = re.compile(r"(?<![\w/])\.venv/bin/auditor")
    where = [p.relative_to(REPO) for p, text in PAGES.items() if relative_venv.search(text)]
    assert [str(p) for p in where] in ([], ["docs/getting-started.md"])
    assert not relative_venv.search(README)


def test_every_page_is_in_the_nav() -> None:
    nav = set(re.findall(r"^\s+- (?:[^:\n]+: )?(\S+\.md)\s*$", (REPO / "mkdocs.yml").read_text(), re.M))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages - nav == set(), "pages missing from mkdocs.yml's nav: add each under its section"
    assert nav - pages == set(), "nav entries of mkdocs.yml without a page in docs/"


def test_the_manual_builds_with_mkdocs_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs-material is not installed (pip install '.[docs]')")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "troubleshooting" / "index.html").is_file()
