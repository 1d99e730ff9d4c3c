"""Built-in check kinds. Importing this package registers them (see `auditor.registry`)."""

from auditor.checks import campaign, crawl, delivery, email, flows, login, payment, scenario  # noqa: F401
