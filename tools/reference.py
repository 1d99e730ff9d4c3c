"""Generate the manual's reference pages from the code, so they cannot drift from it.

    python tools/reference.py            # rewrite docs/reference/configuration.md and commands.md
    python tools/reference.py --check    # exit 1 when either is out of date (tests/test_docs.py runs it)

The configuration reference walks the pydantic models of `auditor.toml` (key, type, default and
the field's description, or else the comment written above the field in the source); the
command reference walks the argparse parser (every command, its help, its flags and their help).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "reference"


def sections() -> list[tuple[str, type[BaseModel], str]]:
    """(TOML table, model, what it is) for every table of `auditor.toml`, in reading order."""
    from auditor import config, registry
    from auditor.alerts.config import AlertsConfig, ChannelConfig, CheckAlertPolicy, MaintenanceWindow
    from auditor.ledger.http import HttpLedgerOptions
    from auditor.ledger.stripe import StripeLedgerOptions
    from auditor.mail.config import ImapMailboxConfig, SinkMailboxConfig
    from auditor.scheduler.config import SchedulerConfig

    out: list[tuple[str, type[BaseModel], str]] = [
        ("(top level)", config.SettingsModel, "Keys at the top of the file."),
        ("[sites.NAME]", config.SiteConfig, "A shop to audit."),
        ("[sites.NAME.crawl]", config.CrawlLimits, "How hard and how far a crawl may go on the site."),
        ('[sites.NAME.mailbox] kind = "sink"', SinkMailboxConfig, "The built-in SMTP sink."),
        ('[sites.NAME.mailbox] kind = "imap"', ImapMailboxConfig, "An IMAP mailbox."),
        ("[checks.NAME]", config.CheckConfig, "Keys every check has, whatever its kind."),
    ]
    for kind in registry.kinds():
        cls = registry.get(kind)
        if cls is None or not cls.__module__.startswith("auditor."):
            continue
        options = cls.Options
        if options.model_fields:
            out.append((f'[checks.NAME] kind = "{kind}"', options, _first_line(cls.__doc__)))
    out += [
        ('[checks.NAME.ledger] kind = "http"', HttpLedgerOptions, "A payment ledger read from JSON."),
        ('[checks.NAME.ledger] kind = "stripe"', StripeLedgerOptions, "Stripe, with a read-only key."),
        ("[audits.NAME]", config.AuditConfig, "A named set of checks run together."),
        ("[browser]", config.BrowserSettings, "The Chromium that scenarios run in."),
        ("[scheduler]", SchedulerConfig, "`auditor schedule`."),
        ("[alerts]", AlertsConfig, "Where and when alerts are sent."),
        ("[alerts.channels.NAME]", ChannelConfig, "One alert channel (an Apprise URL)."),
        ("[alerts.checks.NAME]", CheckAlertPolicy, "The alert policy of one check."),
        ("[[alerts.maintenance]]", MaintenanceWindow, "A window in which alerts are held."),
    ]
    return out


def _first_line(doc: str | None) -> str:
    return (inspect.cleandoc(doc).splitlines() or [""])[0] if doc else ""


def _source_comments(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the `#` comment block written right above it in the class body."""
    comments: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            lines, _ = inspect.getsourcelines(cls)
        except (OSError, TypeError):
            continue
        source = textwrap.dedent("".join(lines))
        tree = ast.parse(source)
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        src_lines = source.splitlines()
        for node in body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                block: list[str] = []
                i = node.lineno - 2
                while i >= 0 and src_lines[i].strip().startswith("#"):
                    block.insert(0, src_lines[i].strip().lstrip("#").strip())
                    i -= 1
                if block:
                    comments[node.target.id] = " ".join(block)
    return comments


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + (
            " (optional)" if type(None) in args else ""
        )
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type_name(args[1])}" if len(args) == 2 else "table"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "table"
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation).replace("typing.", "")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined:
        value = field.default_factory() if field.default_factory else None  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "(table)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`' if len(value) < 60 else f'`"{value[:57]}..."`'
    if isinstance(value, (list, dict)) and not value:
        return "`[]`" if isinstance(value, list) else "`{}`"
    return f"`{value!r}`"


def configuration() -> str:
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python tools/reference.py` from the pydantic models; do not edit. -->",
        "",
        "Every table and key of `auditor.toml`. Values written `${NAME}` (or `${NAME:-default}`) are",
        "read from the environment. `auditor validate` reports every problem at once, by key path.",
        "",
    ]
    from auditor.config import CrawlLimits

    limit_comments = _source_comments(CrawlLimits)
    limits = {n: f.description or limit_comments.get(n, "") for n, f in CrawlLimits.model_fields.items()}
    for table, model, what in sections():
        out += [f"## `{table}`", "", what, "", "| key | type | default | what it does |", "|---|---|---|---|"]
        comments = _source_comments(model)
        for name, field in model.model_fields.items():
            key = field.alias or name
            text = field.description or comments.get(name, "")
            if not field.description and model is not CrawlLimits and name in limits:
                # A check's own value of a site crawl limit: say what the limit is, and whose it replaces.
                site = "the site's `[sites.NAME.crawl]` one"
                text = f"this check's own `{name}` (unset: {site}): {limits[name]}"
            if not text and name == "kind" and typing.get_origin(field.annotation) is typing.Literal:
                text = "which kind of table this is"
            text = text.replace("|", "\\|")
            out.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {text} |")
        out.append("")
    return "\n".join(out)


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(f"`{s}`" for s in action.option_strings)
    if action.nargs == 0:
        return names
    return f"{names} `{action.metavar or action.dest.upper()}`"


def _help(action: argparse.Action) -> str:
    text = (action.help or "").replace("|", "\\|")
    if "%(default)" in text:
        text = text % {"default": action.default}
    return text


def commands() -> str:
    from auditor.cli import build_parser

    parser = build_parser()
    out = [
        "# Command reference",
        "",
        "<!-- Generated by `python tools/reference.py` from the argparse parser; do not edit. -->",
        "",
        "`auditor --help` and `auditor COMMAND --help` print the same, with examples.",
        "",
        "## Global options",
        "",
        "| option | what it does |",
        "|---|---|",
    ]
    for action in parser._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        out.append(f"| {_flags(action)} | {_help(action)} |")
    out.append("")
    out += _subcommands(parser, "auditor")
    return "\n".join(out)


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    out: list[str] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        for name, sub in action.choices.items():
            out += [f"## `{prefix} {name}`", "", helps.get(name, ""), ""]
            if sub.description and sub.description != helps.get(name):
                out += [sub.description, ""]
            rows = [
                a
                for a in sub._actions
                if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
            ]
            if rows:
                out += ["| argument | what it does |", "|---|---|"]
                out += [f"| {_flags(a)} | {_help(a)} |" for a in rows]
                out.append("")
            out += _subcommands(sub, f"{prefix} {name}")
    return out


def render() -> dict[Path, str]:
    return {OUT / "configuration.md": configuration() + "\n", OUT / "commands.md": commands() + "\n"}


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_known_args(argv)[1]
    check = "--check" in args
    stale = []
    for path, text in render().items():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        names = ", ".join(str(p.relative_to(REPO)) for p in stale)
        print(f"out of date: {names}; run `python tools/reference.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
