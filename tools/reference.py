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


# Tables of `auditor.toml` in reading order; tables not named here follow in the models' order.
_FIRST = ("sites", "checks", "audits", "browser", "scheduler", "alerts")


def sections() -> list[tuple[str, type[BaseModel], str]]:
    """(TOML table, model, what it is) for every table of `auditor.toml`, in reading order.

    Found by walking the models from the top of the file: a field whose type is a model is a table
    (`[browser]`), a table of models is one table per name (`[sites.NAME]`), a list of models an
    array of tables (`[[alerts.maintenance]]`), and a union of models told apart by `kind` one
    table per kind. `[checks.NAME]` is followed by each shipped check kind's options.
    """
    from auditor import config, registry

    out: list[tuple[str, type[BaseModel], str]] = []
    seen: set[tuple[str, type[BaseModel]]] = set()

    def add(table: str, model: type[BaseModel], what: str, path: str) -> None:
        if (table, model) in seen:
            return
        seen.add((table, model))
        out.append((table, model, what or _first_line(model.__doc__)))
        names = list(model.model_fields)
        if model is config.SettingsModel:
            names = [n for n in _FIRST if n in names] + [n for n in names if n not in _FIRST]
        for name in names:
            field = model.model_fields[name]
            key = field.alias or name
            for sub, form, kind in _tables(field.annotation):
                where = f"{path}.{key}" if path else key
                if form == "dict":
                    where += ".HOST" if key == "hosts" else ".NAME"
                shown = f"[[{where}]]" if form == "list" else f"[{where}]"
                if kind:
                    shown += f' kind = "{kind}"'
                add(shown, sub, _first_line(sub.__doc__) or _first_line(field.description), where)
            if model is config.CheckConfig and name == "description":
                for kind in registry.kinds():
                    cls = registry.get(kind)
                    shipped = cls is not None and cls.__module__.startswith("auditor.")
                    if cls is None or not shipped or not cls.Options.model_fields:
                        continue
                    add(f'[checks.NAME] kind = "{kind}"', cls.Options, _first_line(cls.__doc__), path)

    add("(top level)", config.SettingsModel, "Keys at the top of the file.", "")
    return out


def _tables(annotation: Any) -> list[tuple[type[BaseModel], str, str]]:
    """The models a field's type holds: (model, "table" | "dict" | "list", its `kind` or "")."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _tables(args[0])
    if origin in (typing.Union, types.UnionType):
        found = [t for a in args if a is not type(None) for t in _tables(a)]
        return [(m, form, _kind(m)) for m, form, _ in found] if len(found) > 1 else found
    if origin is dict and len(args) == 2:
        return [(m, "dict", k) for m, _, k in _tables(args[1])]
    if origin in (list, tuple) and args:
        return [(m, "list", k) for m, _, k in _tables(args[0])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, "table", "")]
    return []


def _kind(model: type[BaseModel]) -> str:
    """The one `kind` a model of a tagged union stands for ("" when it has none)."""
    field = model.model_fields.get("kind")
    literal = field is not None and typing.get_origin(field.annotation) is typing.Literal
    values = typing.get_args(field.annotation) if field is not None and literal else ()
    return str(values[0]) if len(values) == 1 else ""


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


def _text(text: str) -> str:
    """Plain text for a Markdown page: `<run-id>` outside code spans would be read as an HTML tag."""
    parts = text.split("`")
    parts[0::2] = [p.replace("<", "&lt;").replace(">", "&gt;") for p in parts[0::2]]
    return "`".join(parts)


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = list(dict.fromkeys(_type_name(a) for a in args if a is not type(None)))
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
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
            text = _text(text).replace("|", "\\|")
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
    text = action.help or ""
    if "%(default)" in text:
        text = text % {"default": action.default}
    return _text(text).replace("|", "\\|")


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
            out += [f"## `{prefix} {name}`", "", _text(helps.get(name, "")), ""]
            if sub.description and sub.description != helps.get(name):
                out += [_text(sub.description), ""]
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
