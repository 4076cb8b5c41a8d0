"""OpenTelemetry spans of the receiver: ``receive`` (one POST), ``decode``, ``create Job`` and
``create Secret``, exported with OTLP over HTTP.

On only when the standard variables name an endpoint (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``), and not when ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none``. The exporter, sampler and batch processor read the rest of the
``OTEL_*`` variables themselves. Off, no tracer provider is built and the SDK is not even
imported: :meth:`Tracing.span` hands out one shared do-nothing context manager, so the data path
pays a method call and nothing else.

The provider is the receiver's own, not the process-wide one: tests build several receivers in
one process, and a library's spans are no business of ours.

``receive`` continues the request's W3C ``traceparent``/``tracestate`` headers, or, in binary
mode without them, the event's ``ce-traceparent``/``ce-tracestate``. The Kubernetes calls run on
worker threads; the data plane hands them the request's context (``contextvars``), so their spans
are children of ``receive``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)

SERVICE_NAME: Final = "jobsink-receiver"
ENDPOINT_VARIABLES: Final = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_HEADER_PAIRS: Final = (
    (b"traceparent", b"tracestate"),
    (b"ce-traceparent", b"ce-tracestate"),
)
_OFF: Final = contextlib.nullcontext(None)


def wanted(environ: Mapping[str, str]) -> bool:
    """True when the ``OTEL_*`` variables ask for trace export."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def carrier(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The W3C headers of a request as a propagator reads them; the event's own ``ce-``
    headers stand in only when the request has no ``traceparent``."""
    found = {name.lower(): value for name, value in headers}
    for parent, state in _HEADER_PAIRS:
        if parent in found:
            picked = {"traceparent": found[parent].decode("latin-1")}
            if state in found:
                picked["tracestate"] = found[state].decode("latin-1")
            return picked
    return {}


class Tracing:
    """Spans through ``provider`` (an SDK ``TracerProvider``), or none at all when it is None."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._provider = provider
        self.enabled = provider is not None
        if provider is None:
            return
        # Imported here: a receiver without tracing never loads OpenTelemetry.
        from opentelemetry.trace import SpanKind
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._tracer: Tracer = provider.get_tracer("jobsink.receiver")
        self._kinds = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL
        self._propagator = TraceContextTextMapPropagator()

    def receive(
        self, headers: Iterable[tuple[bytes, bytes]]
    ) -> contextlib.AbstractContextManager[Any]:
        """The span of one request, the current span until it ends, continuing the request's
        trace."""
        if not self.enabled:
            return _OFF
        parent = self._propagator.extract(carrier(headers))
        return self._tracer.start_as_current_span("receive", context=parent, kind=self._kinds[0])

    def span(self, name: str, *, client: bool = False) -> contextlib.AbstractContextManager[Any]:
        """A child of the current span, current until it ends (a Kubernetes call: ``client``)."""
        if not self.enabled:
            return _OFF
        kind = self._kinds[1] if client else self._kinds[2]
        return self._tracer.start_as_current_span(name, kind=kind)

    # ``Background``: the provider lives as long as the app; stopping flushes what is batched.
    def start(self) -> None:
        pass

    def stop(self, timeout: float = 5.0) -> None:
        if self._provider is not None:
            self._provider.force_flush(int(timeout * 1000))
            self._provider.shutdown()


def configure(environ: Mapping[str, str] | None = None) -> Tracing:
    """Tracing as the ``OTEL_*`` variables ask: an SDK provider exporting OTLP/HTTP, or off."""
    environ = os.environ if environ is None else environ
    if not wanted(environ):
        return Tracing(None)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; ours is the default
    # only, since attributes given here would win over theirs.
    named = "OTEL_SERVICE_NAME" in environ or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    provider = TracerProvider(
        resource=Resource.create({} if named else {"service.name": SERVICE_NAME})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    log.info("tracing: exporting spans with OTLP/HTTP")
    return Tracing(provider)
