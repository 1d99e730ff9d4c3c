"""Finding and launching Chromium for scenario checks."""
