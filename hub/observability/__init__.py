"""What operators see of a running hub: Prometheus metrics, health probes, consumer lag.

- ``lag``: consumer lag per group and partition, computed from the broker's offsets;
- ``metrics``: the hub's own metrics (cases, steps, outbox, dead letters, breakers, SLA, API);
- ``health``: ``/livez`` and ``/readyz`` checks per role;
- ``server``: the small HTTP server that serves them from processes without the API.
"""
