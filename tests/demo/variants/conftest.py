"""The purchase-flow fixtures of tests/flows.py: one results database and sink for the module,
demo shops mailing it, and `audit` to run checks through the real runner."""

from tests.flows import audit, config_dir, shared_browser, shops, sink, store  # noqa: F401
