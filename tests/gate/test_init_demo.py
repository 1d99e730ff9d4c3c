"""`auditor init --demo` writes the demo's config as TOML, and the gate runs with it as written."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from auditor import config
from auditor.demo.audit import demo_config
from auditor.gate import toml

from .harness import gate, output, shop


def test_the_toml_writer_round_trips_what_a_config_holds() -> None:
    data = {
        "report_dir": "reports",
        "ratio": 0.5,
        "sites": {
            "demo": {
                "base_url": 'http://x/"q"',
                "allow_orders": True,
                "mailbox": {"kind": "sink", "port": 8025},
                "hosts": {"cdn.example.com": {"headers": {"X-Key": "v"}}},
            }
        },
        "checks": {"checkout": {"kind": "scenario", "paths": ["bundled"], "ledger": {"url": "{base_url}"}}},
        "audits": {"gate": {"checks": ["links", "checkout"], "schedule": "30 3 * * *"}},
        "lists": {"of": {"tables": [{"a": 1}, {"b": [1, 2]}]}},
    }
    text = toml.dumps(data, {"sites": "the shops"})
    assert tomllib.loads(text) == data
    assert "# the shops\n[sites.demo]" in text
    assert 'mailbox = { kind = "sink", port = 8025 }' in text


def test_the_toml_writer_refuses_what_toml_cannot_hold() -> None:
    with pytest.raises(TypeError, match="cannot write NoneType"):
        toml.dumps({"a": None})


def test_init_demo_writes_the_demo_config_and_the_gate_runs_with_it(tmp_path: Path) -> None:
    written = gate("init", "--demo", cwd=tmp_path)
    assert written.returncode == 0, output(written)
    path = tmp_path / "auditor.toml"
    assert path.read_text().startswith("# auditor.toml for the bundled demo shop")
    assert tomllib.loads(path.read_text()) == demo_config(base_url="http://127.0.0.1:8000")
    settings = config.load(path)
    mailbox = next(iter(settings.sites.values())).mailbox
    smtp_port = mailbox.port if mailbox is not None and hasattr(mailbox, "port") else 8025
    with shop(smtp_port=smtp_port) as s:
        result = gate("gate", "--config", "auditor.toml", "--base-url", s.base_url, "-q", cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert "Gate PASS (exit 0)" in result.stdout
