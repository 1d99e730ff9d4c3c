"""Built-in check kinds. Importing this package registers them (see `auditor.registry`)."""
