"""Email check fixtures: the shared purchase-flow fixtures of tests/flows.py."""

from tests.flows import audit, config_dir, shared_browser, shops, sink, store  # noqa: F401
