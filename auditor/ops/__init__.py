"""What operators run beside auditor's long-lived processes: health ports and Prometheus metrics."""
