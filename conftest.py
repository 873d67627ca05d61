"""The test suites' shared fixtures (tests/support/fixtures.py), registered here at the
root so the hub's tests and each plug-in package's tests share one broker per session."""

pytest_plugins = ["support.fixtures"]
