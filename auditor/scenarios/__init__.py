"""Scenarios: scripted customer journeys (a guest buys the e-book) run in a real Chromium.

    from auditor import scenario

    @scenario("guest-checkout", tags=["checkout"], places_order=True)
    async def guest_checkout(page, site, customer, step, outputs):
        step("Open the product page")
        await page.goto(site.url("/products/the-complete-course"))
        ...

Fixtures are asked for by parameter name (see `FIXTURES`). `find` / `load_dirs` load scenarios
from folders, `run_scenario` runs one in a fresh browser context; the `scenario` check kind
(auditor/checks/scenario.py) is a thin wrapper over both. A check that needs a scenario with
known credentials (a login check) does the same:

    spec = find("demo-login", ["scenarios"], ctx.config_dir)
    outcome = await run_scenario(spec, browser=await ctx.resources.browser(), site=ctx.site,
                                 customer=Customer(...), options=ScenarioOptions(scenario=spec.name),
                                 artifact_dir=ctx.artifact_dir(), run_id=ctx.run_id)
"""

from auditor.scenarios.customer import Customer, new_customer
from auditor.scenarios.fixtures import Artifacts, Card, Site, Steps
from auditor.scenarios.loader import BUNDLED, bundled_dir, find, load_dirs, load_file, resolve_dirs
from auditor.scenarios.options import ScenarioOptions
from auditor.scenarios.run import ScenarioOutcome, run_scenario
from auditor.scenarios.spec import FIXTURES, ScenarioLoadError, ScenarioSpec, scenario

__all__ = [
    "BUNDLED",
    "FIXTURES",
    "Artifacts",
    "Card",
    "Customer",
    "ScenarioLoadError",
    "ScenarioOptions",
    "ScenarioOutcome",
    "ScenarioSpec",
    "Site",
    "Steps",
    "bundled_dir",
    "find",
    "load_dirs",
    "load_file",
    "new_customer",
    "resolve_dirs",
    "run_scenario",
    "scenario",
]
