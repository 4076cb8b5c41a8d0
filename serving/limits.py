"""What one HTTP/1.1 connection may cost the server before the application sees a request.

The application's own limits (body size, in-flight requests) apply only once a request has been
parsed and handed over; these bound what comes before and around that: the bytes and lines of the
request head, and how long the client may take to send it and its body.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_MAX_HEADER_BYTES = 32 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0


class HttpLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The request head: request line, header lines and the blank line that ends them. Larger
    #: heads are answered 431 and the connection is closed; the parser never holds more.
    max_header_bytes: int = Field(default=DEFAULT_MAX_HEADER_BYTES, ge=1024)
    #: Header lines per request; more are answered 431 and the connection is closed.
    max_headers: int = Field(default=DEFAULT_MAX_HEADERS, ge=1)
    #: Seconds from a request's first byte (from the connection's start for its first request)
    #: until its head is complete. A partial head is then answered 408; a new connection that
    #: sent nothing is closed without an answer.
    header_timeout: float = Field(default=DEFAULT_HEADER_TIMEOUT, gt=0)
    #: Seconds from the same start until the whole request, body included, has been read;
    #: then 408 (if no response has started) and the connection is closed. Time during which
    #: the server itself stopped reading (the application not consuming the body yet, a queued
    #: pipelined request, a pending ``100 Continue``) is not held against the client.
    read_timeout: float = Field(default=DEFAULT_READ_TIMEOUT, gt=0)

    @model_validator(mode="after")
    def _head_within_request(self) -> HttpLimits:
        if self.read_timeout < self.header_timeout:
            raise ValueError(
                f"read_timeout ({self.read_timeout}) must be at least header_timeout "
                f"({self.header_timeout}): the head is part of the request"
            )
        return self
