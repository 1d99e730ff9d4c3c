"""Login and delivery fixtures: the shared purchase-flow fixtures of tests/flows.py (the sink holds
the account email for credentials = "email"), with this folder as the config's folder, so a
scenario path "scenarios" is tests/checks_login/scenarios."""

from pathlib import Path

import pytest

from tests.flows import audit, shared_browser, shops, sink, store  # noqa: F401


@pytest.fixture
def config_dir() -> Path:
    return Path(__file__).parent
