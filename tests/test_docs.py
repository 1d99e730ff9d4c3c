"""The README is the manual: every config key, check kind, command and flag must appear in it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import BaseModel

from auditor import config, registry
from auditor.alerts.config import AlertsConfig, ChannelConfig, CheckAlertPolicy, MaintenanceWindow
from auditor.cli import build_parser
from auditor.ledger.http import HttpLedgerOptions
from auditor.ledger.stripe import StripeLedgerOptions
from auditor.mail.config import ImapMailboxConfig, SinkMailboxConfig
from auditor.scheduler.config import SchedulerConfig

README = (Path(__file__).parent.parent / "README.md").read_text()


def model_keys(model: type[BaseModel]) -> list[str]:
    """The keys as written in TOML (an alias where the field has one, e.g. `from`)."""
    return [f.alias or name for name, f in model.model_fields.items()]


# The kinds auditor ships (tests register kinds of their own, which are not documented).
SHIPPED_KINDS = [k for k in registry.kinds() if registry.get(k).__module__.startswith("auditor.")]  # type: ignore[union-attr]

CONFIG_KEYS = sorted(
    {
        *model_keys(config.SettingsModel),
        *model_keys(config.SiteConfig),
        *model_keys(config.CrawlLimits),
        *model_keys(config.CheckConfig),
        *model_keys(config.AuditConfig),
        *model_keys(config.BrowserSettings),
        *model_keys(SchedulerConfig),
        *model_keys(AlertsConfig),
        *model_keys(ChannelConfig),
        *model_keys(CheckAlertPolicy),
        *model_keys(MaintenanceWindow),
        *model_keys(SinkMailboxConfig),
        *model_keys(ImapMailboxConfig),
        *model_keys(HttpLedgerOptions),
        *model_keys(StripeLedgerOptions),
        *(k for kind in SHIPPED_KINDS for k in model_keys(registry.get(kind).Options)),  # type: ignore[union-attr]
    }
)


@pytest.mark.parametrize("key", CONFIG_KEYS)
def test_every_config_key_is_documented(key: str) -> None:
    assert f"{key}" in README and (f"`{key}" in README or f"{key} =" in README or f".{key}" in README)


@pytest.mark.parametrize("kind", SHIPPED_KINDS)
def test_every_check_kind_is_documented(kind: str) -> None:
    assert f'kind = "{kind}"' in README or f"`{kind}`" in README


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
def test_every_command_and_flag_is_documented(item: str) -> None:
    assert item in README


def test_the_generated_references_are_current() -> None:
    """docs/reference/ is generated from the models and the parser: regenerate it when they change."""
    import subprocess
    import sys

    tool = Path(__file__).parent.parent / "tools" / "reference.py"
    done = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
