"""Settings shared by the whole suite, and how `pytest -n` spreads it over the workers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

from auditor.cache import driver_compile_cache

# Property tests pin behaviour, never speed: on a busy 2-core machine one example can take 10x its
# usual time, and hypothesis's per-example deadline would then fail a correct test.
settings.register_profile("auditor", deadline=None, print_blob=True)
settings.load_profile("auditor")

# Node's compile cache for every Playwright driver the suite starts, in this worker and in the
# `auditor` processes it runs (they inherit it): about 0.1 CPU-s less for each of some 45 drivers.
driver_compile_cache()


# ------------------------------------------------------------------------------ the xdist schedule
#
# With `-n` (and the default `--dist load`) the suite is handed to the workers a module at a time:
# a module's module-scoped fixtures (a store of real runs, `auditor serve`, a Chromium, a demo
# shop) are then built once, not once on each worker that happens to get one of its tests. The
# modules known to be slow go first, slowest first, so the last work handed out is short and no
# worker is left alone with a long module at the end. Only the modules in SPREAD, whose tests
# each pay for their own end-to-end run and share nothing, are handed out test by test. The
# `auditor demo` runs of tests/test_demo_audit.py stay one unit, one demo at a time: on a busy
# machine a demo's mail can come later than the demo config's 6 s email soft limit (an extra
# email_late), and several demos at once only add to that CPU starvation.
# Another `--dist` given on the command line is left as it is.

SPREAD = frozenset({"tests/gate/test_gate.py"})

# Modules whose one module-scoped fixture is parametrized over the databases: handed out a database
# at a time (its server started once on each worker that gets a database), as two units of work.
BY_DATABASE = frozenset({"tests/web/test_openapi.py"})

# Slowest first, by the total time of the module's tests (setup included) on 2 busy cores; a SPREAD
# module where its slowest test would be. A module not named here runs after these, in collection
# order; a stale entry only orders less well. (`pytest -n 2 --durations=0 -p no:randomly`, summed.)
SLOWEST_FIRST = (
    "tests/queue/test_state.py",
    "tests/web/test_dashboard.py",
    "tests/queue/test_guarantees.py",
    "tests/queue/test_scheduler_queue.py",
    "tests/test_cli_conventions.py",
    "tests/demo/variants/test_variants.py",
    "tests/scenarios/test_examples.py",
    "tests/campaign/test_command.py",
    "tests/test_demo_audit.py",
    "tests/web/test_openapi.py",
    "tests/scenarios/test_cli.py",
    "tests/queue/test_worker_cli.py",
    "tests/test_wheel.py",
    "tests/checks_email/test_flows_against_the_demo_shop.py",
    "tests/campaign/test_demo_campaign.py",
    "tests/render/test_demo.py",
    "tests/mail/test_sink.py",
    "tests/scenarios/test_run.py",
    "tests/checks_login/test_login_and_delivery.py",
    "tests/payment/test_payment_in_chromium.py",
    "tests/payment/test_ledger_shapes.py",
    "tests/web/test_auth.py",
    "tests/scenarios/test_evidence_secrets.py",
    "tests/gate/test_gate.py",
    "tests/gate/test_payment_mark.py",
    "tests/web/test_queries.py",
    "tests/web/test_dashboard_postgres.py",
    "tests/demo/test_links.py",
    "tests/alerts/test_process.py",
    "tests/test_cli.py",
    "tests/store/test_store.py",
    "tests/checks_login/test_staging_gate.py",
    "tests/demo/test_browser.py",
    "tests/sites/test_run_sites.py",
    "tests/store/test_migrations.py",
    "tests/test_docs.py",
    "tests/web/test_api.py",
    "tests/store/test_incidents.py",
    "tests/mail/test_wait.py",
    "tests/queue/test_enqueue.py",
    "tests/scenarios/test_check.py",
    "tests/test_startup_imports.py",
    "tests/mail/test_email_refused.py",
    "tests/store/test_concurrent_start.py",
    "tests/gate/test_init_demo.py",
)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _scope(nodeid: str) -> str:
    """The unit of work a test is handed out in: its module, its module and database, or itself."""
    module = _module(nodeid)
    if module in SPREAD:
        return nodeid
    if module in BY_DATABASE and "[" in nodeid:
        return f"{module}[{nodeid.split('[', 1)[1].split('-', 1)[0].rstrip(']')}]"
    return module


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The known-slow modules first (a stable sort: the order within a module is kept)."""
    rank = {module: i for i, module in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item.nodeid), len(rank)))


# The xdist hooks are optional: without xdist (`make test PYTEST_WORKERS=0` needs none) they are unused.


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

        def _reschedule(self, node: Any) -> None:
            # The next unit only once the worker is on the last test of its units (it needs one test
            # beyond the running one to go on): xdist's own threshold (2) leaves a worker holding a
            # long unit it has not begun while another worker has nothing left to do.
            pending = self._pending_of(self.assigned_work[node])
            if not node.shutting_down and self.workqueue and pending > 1:
                return
            super()._reschedule(node)

    # Hand the modules out in collection order (slowest first, above), not by test count.
    config.option.loadscopereorder = False
    return ByModule(config, log)
