"""Built-in check kinds, each in its own module: `KINDS` maps a kind to the module that registers it.

The modules are imported on first use of their kind (see `auditor.registry`), so a command pays
only for the kinds it runs: `auditor crawl` never imports the browser, mail or payment machinery.
A new built-in kind adds its line here (tests/test_registry.py checks the map is complete).
"""

KINDS: dict[str, str] = {
    "campaign": "auditor.checks.campaign",
    "contact-form": "auditor.checks.flows",
    "crawl": "auditor.checks.crawl",
    "delivery": "auditor.checks.delivery",
    "email": "auditor.checks.email",
    "login": "auditor.checks.login",
    "newsletter": "auditor.checks.flows",
    "payment": "auditor.checks.payment",
    "scenario": "auditor.checks.scenario",
}
