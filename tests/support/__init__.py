"""Test helpers shared by the integration and fault suites."""
