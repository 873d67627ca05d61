"""What operators see of a running hub: metrics, health probes, consumer lag, traces, logs.

- ``lag``: consumer lag per group and partition, computed from the broker's offsets;
- ``metrics``: the hub's own metrics (cases, steps, outbox, lag, SLA, webhooks, API),
  case and step counts taken from what the database commits;
- ``sampler``: the gauges the router samples before each scrape (database and broker);
- ``health``: ``/metrics``, ``/livez`` and ``/readyz``, served by the API and on every
  other process's ``--metrics-port`` (see ``hub.runtime.processes.observed``);
- ``tracing``: OpenTelemetry set-up from the standard ``OTEL_*`` variables, off by default;
- ``logs``: one handler per process, text or JSON lines, with personal data and secrets masked.
"""
