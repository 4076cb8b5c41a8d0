"""One readable line for a failed Kubernetes call, for logs that repeat on every retry."""

from __future__ import annotations

import json

from kubeapi.errors import KubeError


def one_line(error: BaseException) -> str:
    """The apiserver's own message (which namespace is missing, which RBAC rule) when the error
    carries a Status body; otherwise the exception's type and text."""
    if isinstance(error, KubeError):  # the Status body is decoded already
        if not error.status:
            return str(error)
        return f"HTTP {error.status}: {error.message or error.reason}"
    status = getattr(error, "status", None)
    if status is None:
        return f"{type(error).__name__}: {error}"
    try:
        message = json.loads(getattr(error, "body", None) or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"HTTP {status}: {message or getattr(error, 'reason', '')}"
