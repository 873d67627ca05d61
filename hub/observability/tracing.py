"""OpenTelemetry tracing for a hub process, configured by the standard ``OTEL_*``
environment variables and off unless they ask for it.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``, or any
installed ``opentelemetry_traces_exporter`` entry point) or an OTLP endpoint is set
(``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); off when
neither is, or with ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true``. Off
means nothing is installed or instrumented: no SDK, no wrapped libraries, and the
bus spans of :mod:`messaging.tracing` skip themselves. ``otlp`` exports over HTTP
(protobuf) and reads the exporter's own variables (endpoint, headers, timeout);
sampling follows ``OTEL_TRACES_SAMPLER``; ``OTEL_SERVICE_NAME`` names the service
(default ``mpp-hub-<process>``).

Besides the bus spans: FastAPI (the API's request spans, where a case's trace
starts), httpx (each call to an agency) and SQLAlchemy (statements). Database
statements are traced only inside some piece of work: the relay's and pollers' idle
polls run many times a second and would otherwise each start a trace of their own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.util.types import Attributes

from messaging import tracing as bus_tracing

if TYPE_CHECKING:  # the SDK and the instrumentations load only when tracing is switched on (start-up time)
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

#: Probes and scrapes: many a minute, about nothing, never the start of a trace.
EXCLUDED_URLS = "/metrics,/livez,/readyz,/healthz"


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces (see the module's docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def exporter_from_env(environ: Mapping[str, str] = os.environ) -> SpanExporter:
    """The exporter ``OTEL_TRACES_EXPORTER`` names (the first, when it lists several); ``otlp`` by default."""
    name = (environ.get("OTEL_TRACES_EXPORTER", "").split(",")[0].strip().lower()) or "otlp"
    if name == "otlp":
        protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
        if protocol != "http/protobuf":
            raise ValueError(f"OTLP protocol {protocol!r} is not installed; mpp-hub exports OTLP over http/protobuf")
        name = "otlp_proto_http"
    found = entry_points(group="opentelemetry_traces_exporter", name=name)
    if not found:
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: no such span exporter is installed")
    exporter: SpanExporter = next(iter(found)).load()()
    return exporter


@dataclass
class Tracing:
    """Tracing as installed in this process; :meth:`shutdown` flushes and undoes it."""

    provider: TracerProvider

    def flush(self) -> None:
        self.provider.force_flush()

    def shutdown(self) -> None:
        global _installed
        _installed = None
        self.provider.force_flush()
        bus_tracing.enable(False)
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        for instrumentor in (HTTPXClientInstrumentor(), SQLAlchemyInstrumentor()):
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        self.provider.shutdown()


_installed: Tracing | None = None


def configure_tracing(process: str, *, exporter: SpanExporter | None = None) -> Tracing | None:
    """Install tracing when the environment asks for it, or with ``exporter`` (tests and
    the benchmark: an in-memory one). Call it before engines and HTTP clients are made,
    and once per process: OpenTelemetry's global tracer provider cannot be replaced.
    Returns None when tracing stays off."""
    global _installed
    if exporter is None and not wanted():
        return None
    if _installed is not None:
        return _installed
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import _get_from_env_or_default

    resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"mpp-hub-{process}"})
    provider = TracerProvider(resource=resource, sampler=_get_from_env_or_default())
    processor = BatchSpanProcessor(exporter or exporter_from_env())
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    # The instrumentation declares SQLAlchemy < 2.1 but works by engine events, which 2.1
    # keeps; its tests here (tests/integration/test_tracing.py) say so.
    SQLAlchemyInstrumentor().instrument(tracer_provider=_ChildSpansOnly(provider), skip_dep_check=True)
    bus_tracing.enable()
    _installed = Tracing(provider)
    log.info("tracing on: exporting spans as %s", type(processor.span_exporter).__name__)
    return _installed


def instrument_app(app: FastAPI) -> None:
    """The API's request spans (and the trace context a caller sends), when tracing is on."""
    if bus_tracing.enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])


class _ChildSpansOnly(trace.TracerProvider):
    """Tracers that start a span only inside another one; elsewhere a no-op span."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._provider = provider

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> trace.Tracer:
        return _ChildOnlyTracer(self._provider.get_tracer(instrumenting_module_name, instrumenting_library_version, schema_url, attributes))


class _ChildOnlyTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any) -> trace.Span:
        if not trace.get_current_span(context).get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]  # the API's own signature is wider than its use
        self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        if not trace.get_current_span(context).get_span_context().is_valid:
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span
