"""The canonical contract of mpp-hub.

Everything that crosses the bus or the public API is defined here, as pydantic
models, so that the hub and every agency adapter speak one language. This package
depends on nothing else in the project: agencies that do not use Python consume the
JSON Schema / AsyncAPI documents exported from it instead.
"""
