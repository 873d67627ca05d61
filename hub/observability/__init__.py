"""What operators see of a running hub: Prometheus metrics, health probes, consumer lag.

- ``lag``: consumer lag per group and partition, computed from the broker's offsets;
- ``metrics``: the hub's own metrics (cases, steps, outbox, lag, SLA, webhooks, API),
  case and step counts taken from what the database commits;
- ``sampler``: the gauges the router samples before each scrape (database and broker);
- ``health``: ``/metrics``, ``/livez`` and ``/readyz``, served by the API and on every
  other process's ``--metrics-port`` (see ``hub.runtime.processes.observed``).
"""
