"""Settings shared by the whole suite, and how `pytest -n` spreads it over the workers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

# Property tests pin behaviour, never speed: on a busy 2-core machine one example can take 10x its
# usual time, and hypothesis's per-example deadline would then fail a correct test.
settings.register_profile("auditor", deadline=None, print_blob=True)
settings.load_profile("auditor")


# ------------------------------------------------------------------------------ the xdist schedule
#
# With `-n` (and the default `--dist load`) the suite is handed to the workers a module at a time:
# a module's module-scoped fixtures (a store of real runs, `auditor serve`, a Chromium, a demo
# shop) are then built once, not once on each worker that happens to get one of its tests. The
# modules known to be slow go first, slowest first, so the last work handed out is short and no
# worker is left alone with a long module at the end. Only the modules in SPREAD, whose tests
# each pay for their own end-to-end run and share nothing, are handed out test by test.
# Another `--dist` given on the command line is left as it is.

SPREAD = frozenset({"tests/test_demo_audit.py", "tests/gate/test_gate.py"})

# Slowest first, by the total time of the module's tests (setup included) on 2 busy cores. A module
# not named here runs after these, in collection order; a stale entry only orders less well.
SLOWEST_FIRST = (
    "tests/queue/test_guarantees.py",
    "tests/queue/test_scheduler_queue.py",
    "tests/test_demo_audit.py",
    "tests/checks_email/test_flows_against_the_demo_shop.py",
    "tests/web/test_dashboard.py",
    "tests/web/test_openapi.py",
    "tests/checks_login/test_login_and_delivery.py",
    "tests/gate/test_gate.py",
    "tests/campaign/test_demo_campaign.py",
    "tests/demo/variants/test_variants.py",
    "tests/payment/test_ledger_shapes.py",
    "tests/campaign/test_command.py",
    "tests/payment/test_payment_in_chromium.py",
    "tests/scenarios/test_examples.py",
    "tests/test_wheel.py",
    "tests/mail/test_sink.py",
    "tests/web/test_api.py",
    "tests/render/test_demo.py",
    "tests/test_cli_conventions.py",
    "tests/scenarios/test_run.py",
    "tests/mail/test_wait.py",
    "tests/queue/test_state.py",
    "tests/demo/test_browser.py",
    "tests/scenarios/test_cli.py",
    "tests/gate/test_payment_mark.py",
    "tests/demo/test_links.py",
    "tests/queue/test_worker_cli.py",
    "tests/test_docs.py",
    "tests/alerts/test_process.py",
    "tests/web/test_metrics.py",
    "tests/checks_login/test_staging_gate.py",
    "tests/web/test_auth.py",
    "tests/scenarios/test_evidence_secrets.py",
    "tests/test_cli.py",
    "tests/payment/test_amounts.py",
    "tests/report/test_history.py",
    "tests/test_hostile_pipeline.py",
    "tests/gate/test_init_demo.py",
    "tests/mail/test_email_refused.py",
    "tests/gate/test_rerun.py",
    "tests/queue/test_enqueue.py",
    "tests/mail/test_imap.py",
)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The known-slow modules first (a stable sort: the order within a module is kept)."""
    rank = {module: i for i, module in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item.nodeid), len(rank)))


class _Schedule:
    """The xdist hook, registered only when xdist is there (its hook is unknown without it)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "load":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class ByModule(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                module = _module(nodeid)
                return nodeid if module in SPREAD else module

        # Hand the modules out in collection order (slowest first, above), not by test count.
        config.option.loadscopereorder = False
        return ByModule(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_Schedule(), "auditor-xdist-schedule")
