"""`auditor campaign FILE.toml`: check one campaign before launch, without a config file.

The campaign file holds a `campaign` check's options at its top level (see docs/campaigns.md),
plus `base_url` (the shop; `--base-url` overrides it) and `name` (the check's name in reports).
Paths in it (`email`, `words_file`) are relative to the file's folder. The run goes through
`auditor.app` like any audit: stored, reported, exit code 0/1/2/3.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

DATABASE_HELP = (
    "where runs are recorded (default: the config's, $AUDITOR_DATABASE_URL, or sqlite:///auditor.db)"
)
EXAMPLE = """\
base_url = "https://shop.example"
landing_urls = ["/go/spring?utm_source=newsletter&utm_medium=email&utm_campaign=spring"]
email = "spring.eml"
words = ["Harbor"]

[coupon]
code = "SPRING20"
product_path = "/products/canvas-tote-bag"
expected_discount = "20%"
"""


def load_campaign(path: str, base_url: str | None) -> tuple[str, str, dict[str, Any]]:
    """(base URL, check name, check options) from a campaign file; a usage error says what is wrong."""
    import tomllib
    from pathlib import Path

    from auditor.errors import UsageError

    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read the campaign file {file}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"the campaign file {file} is not UTF-8 text: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"the campaign file {file} is not valid TOML: {e}") from None
    url = base_url or data.pop("base_url", None)
    data.pop("base_url", None)
    if not isinstance(url, str) or not url.strip():
        raise UsageError(f"the campaign file {file} has no base_url: add one, or pass --base-url URL")
    name = data.pop("name", None) or file.stem or "campaign"
    if not isinstance(name, str):
        raise UsageError(f"the campaign file {file}: name must be a string")
    folder = file.resolve().parent
    for key in ("email", "words_file"):
        value = data.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            data[key] = str(folder / value)
    data.pop("kind", None)
    return url.strip(), name, {"kind": "campaign", **data}


def cmd_campaign(args: argparse.Namespace) -> int:
    from auditor import config as config_mod
    from auditor.app import run_in_terminal

    base_url, name, options = load_campaign(args.file, args.base_url)
    settings = config_mod.ad_hoc(base_url, {name: options}, audit=name, database_url=args.database_url)
    _, code = run_in_terminal(
        settings, name, report_dir=args.report_dir, database_url=args.database_url, quiet=args.quiet
    )
    return int(code)


def add_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(
        sub,
        "campaign",
        "check a marketing campaign before launch: landing URLs, coupon, email",
        """Checks one campaign described in a TOML file: each landing URL loads in a browser with
        no error and keeps its tracking parameters (utm_*, gclid, affiliate ids) through every
        redirect, is indexable with the right canonical, and has no dead link; the coupon applies
        in the cart as promised; the email's links, images, unsubscribe link, merge tags and
        spelling are right. Exit 0 when nothing is wrong, 1 with findings.""",
        [
            "auditor campaign spring.toml",
            "auditor campaign spring.toml --base-url https://staging.shop.example",
        ],
    )
    p.add_argument("file", metavar="FILE.toml", help="the campaign file (see docs/campaigns.md)")
    p.add_argument("--base-url", metavar="URL", help="the shop to check (default: the file's base_url)")
    p.add_argument("--report-dir", metavar="DIR", help="write the reports here (default: reports/<run-id>/)")
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress display (on stderr), just the summary"
    )
    p.set_defaults(func=cmd_campaign)
