"""The dashboard: `auditor serve` (pages, JSON API, /metrics, badges) over the run store."""
