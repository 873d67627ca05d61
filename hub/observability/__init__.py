"""What operators see of a running hub: traces (tracing.py), structured, redacted logs
(logs.py), and the metrics and health endpoints."""
