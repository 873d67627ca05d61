"""mpp-hub core: API, outbox relay, router, tracker, CLI."""
