"""Admission for JobSinks as pure functions: an AdmissionReview request in, a response out.

The HTTP layer (``webhook/``) only decodes JSON, calls these and encodes the result, so every rule
is testable without a server. Nothing here does I/O.

Decisions worth knowing:
- Only CREATE and UPDATE are judged. DELETE and CONNECT are allowed untouched, in case a
  configuration ever routes them here.
- UPDATE never breaks a stored JobSink: defaulting is idempotent (an already-defaulted object gets
  no patch), and an UPDATE that leaves ``spec`` unchanged (labels, annotations, finalizers) is
  allowed even if the stored spec would fail today's rules, so metadata edits and deletion of
  objects admitted under older rules keep working. The same holds once ``deletionTimestamp`` is set.
- Warnings come from the validating webhook only, so ``kubectl`` does not print them twice.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, get_args

from jobsink.defaults import default_patch
from jobsink.nesting import MAX_DEPTH, too_deep
from jobsink.reviews import (
    ADMISSION_API_VERSION,
    ADMISSION_KIND,
    Operation,
    RequestReview,
    Response,
    ResponseReview,
    Status,
    StatusCause,
)
from jobsink.types import GROUP, KIND
from jobsink.validation import FieldError, validate, warnings

#: Operations whose object is judged; the rest pass untouched.
JUDGED: frozenset[str] = frozenset({"CREATE", "UPDATE"})
#: Every operation a review may carry (``typing.get_args`` per review was measurable).
OPERATIONS: tuple[str, ...] = get_args(Operation)


class ReviewError(ValueError):
    """The HTTP body is not an ``admission.k8s.io/v1`` AdmissionReview request (HTTP 400)."""


class UndecodableObject(ValueError):
    """``request.object`` is not a JobSink this webhook can read (denial with code 400)."""


def parse_review(body: Any) -> RequestReview:
    """Check the envelope the handlers rely on; the object itself is checked later."""
    if not isinstance(body, Mapping):
        raise ReviewError("body: expected a JSON object (an AdmissionReview)")
    if body.get("apiVersion") != ADMISSION_API_VERSION or body.get("kind") != ADMISSION_KIND:
        raise ReviewError(
            f"apiVersion/kind: expected {ADMISSION_API_VERSION} {ADMISSION_KIND}, "
            f"got {body.get('apiVersion')!r} {body.get('kind')!r}"
        )
    request = body.get("request")
    if not isinstance(request, Mapping):
        raise ReviewError("request: missing or not an object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("request.uid: missing or not a string")
    if request.get("operation") not in OPERATIONS:
        raise ReviewError(
            f"request.operation: expected one of {', '.join(OPERATIONS)}, "
            f"got {request.get('operation')!r}"
        )
    return body  # type: ignore[return-value]  # the keys read above are now known to be sound


def defaulting_review(review: RequestReview) -> ResponseReview:
    """The mutating webhook: a minimal JSONPatch that applies the JobSink defaults."""
    request = review["request"]
    if request["operation"] not in JUDGED:
        return respond(review, allowed(request["uid"]))
    try:
        obj = _jobsink(request.get("object"))
    except UndecodableObject as error:
        return respond(review, denied(request["uid"], code=400, message=str(error)))
    slim = essentials(obj)
    if (path := too_deep(slim)) is not None:
        return respond(review, nested_too_deep(request["uid"], object_name(obj), path))
    return respond(review, allowed(request["uid"], patch=default_patch(slim)))


def validation_review(review: RequestReview) -> ResponseReview:
    """The validating webhook: every field error at once (422), plus warnings for legal oddities.

    Validation runs on the defaulted object, so the result does not depend on whether the
    mutating webhook ran first (it always does in a cluster, but not in tests or dry runs).
    """
    request = review["request"]
    uid = request["uid"]
    if request["operation"] not in JUDGED:
        return respond(review, allowed(uid))
    try:
        obj = _jobsink(request.get("object"))
    except UndecodableObject as error:
        return respond(review, denied(uid, code=400, message=str(error)))
    slim = essentials(obj)
    # Before ``_grandfathered`` too: comparing two deep specs recurses as well.
    if (path := too_deep(slim)) is not None:
        return respond(review, nested_too_deep(uid, object_name(obj), path))
    if _grandfathered(review):
        return respond(review, allowed(uid))
    # ``validate`` defaults its own copy (a no-op after the mutating webhook); the advice behind
    # ``warnings`` reads nothing that defaulting writes, so the object needs no second copy.
    errors = validate(slim)
    if errors:
        return respond(review, invalid(uid, object_name(obj), errors))
    return respond(review, allowed(uid, warnings=warnings(slim)))


def respond(review: Mapping[str, Any], response: Response) -> ResponseReview:
    """Wrap ``response`` in an AdmissionReview, echoing the request's apiVersion and kind."""
    return {
        "apiVersion": str(review.get("apiVersion", ADMISSION_API_VERSION)),
        "kind": str(review.get("kind", ADMISSION_KIND)),
        "response": response,
    }


def allowed(
    uid: str, *, patch: Sequence[Mapping[str, Any]] = (), warnings: Iterable[str] = ()
) -> Response:
    response: Response = {"uid": uid, "allowed": True}
    if patch:
        encoded = json.dumps(list(patch), separators=(",", ":")).encode()
        response["patch"] = base64.b64encode(encoded).decode()
        response["patchType"] = "JSONPatch"
    warning_list = list(warnings)
    if warning_list:
        response["warnings"] = warning_list
    return response


def denied(
    uid: str,
    *,
    code: int,
    message: str,
    reason: str = "BadRequest",
    causes: Sequence[StatusCause] = (),
    name: str = "",
) -> Response:
    status: Status = {"status": "Failure", "code": code, "reason": reason, "message": message}
    if causes:
        status["details"] = {"group": GROUP, "kind": KIND, "name": name, "causes": list(causes)}
    return {"uid": uid, "allowed": False, "status": status}


def invalid(uid: str, name: str, errors: Sequence[FieldError]) -> Response:
    """A 422 denial whose message names every field, in the apiserver's own wording."""
    listed = [f"{error.path}: {error.message}" for error in errors]
    body = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
    subject = f'{KIND} "{name}"' if name else KIND
    causes: list[StatusCause] = [
        {"reason": "FieldValueInvalid", "field": error.path, "message": error.message}
        for error in errors
    ]
    return denied(
        uid,
        code=422,
        reason="Invalid",
        message=f"{subject} is invalid: {body}",
        causes=causes,
        name=name,
    )


def nested_too_deep(uid: str, name: str, path: str) -> Response:
    """A 400 denial for an object nested deeper than any JobSink (``jobsink.nesting``)."""
    detail = f"nested more than {MAX_DEPTH} levels deep"
    subject = f'{KIND} "{name}"' if name else KIND
    return denied(
        uid,
        code=400,
        message=f"{subject} is invalid: {path}: {detail}",
        causes=[{"reason": "FieldValueInvalid", "field": path, "message": detail}],
        name=name,
    )


def errored(review: Mapping[str, Any], uid: str, message: str) -> ResponseReview:
    """A handler failed: deny (the configuration fails closed anyway) with code 500."""
    return respond(
        review, denied(uid, code=500, reason="InternalError", message=f"internal error: {message}")
    )


def _jobsink(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise UndecodableObject("request.object: expected a JobSink object")
    api_version = obj.get("apiVersion")
    group = api_version.partition("/")[0] if isinstance(api_version, str) else None
    if group != GROUP or obj.get("kind") != KIND:
        raise UndecodableObject(
            f"request.object: expected apiVersion {GROUP}/* kind {KIND}, "
            f"got {api_version!r} {obj.get('kind')!r}"
        )
    return obj


#: Metadata no JobSink rule reads and defaulting never writes. In a review from ``kubectl apply``
#: they are most of the bytes (a full copy of the object in the last-applied annotation, and
#: managedFields), and copying and diffing them dominated the admission time.
BOOKKEEPING = frozenset({"managedFields", "annotations"})


def essentials(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without ``BOOKKEEPING`` metadata (shallow: shares everything else with ``obj``).

    A patch computed on it applies unchanged to the raw object, because defaulting only adds
    under ``/spec``.
    """
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not BOOKKEEPING & metadata.keys():
        return obj
    kept = {key: value for key, value in metadata.items() if key not in BOOKKEEPING}
    return {**obj, "metadata": kept}


def needs_cluster_check(review: RequestReview) -> bool:
    """Whether the object is judged at all, so a server-side dry-run of its Job is worth doing."""
    request = review["request"]
    return (
        request["operation"] in JUDGED
        and isinstance(request.get("object"), dict)
        and not _grandfathered(review)
    )


def _grandfathered(review: RequestReview) -> bool:
    """Metadata-only UPDATEs and updates of objects being deleted keep what is stored."""
    request = review["request"]
    if request["operation"] != "UPDATE":
        return False
    obj, old = request.get("object"), request.get("oldObject")
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    if isinstance(metadata, Mapping) and metadata.get("deletionTimestamp"):
        return True
    return (
        isinstance(old, Mapping) and isinstance(obj, Mapping) and old.get("spec") == obj.get("spec")
    )


def object_name(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return ""
    name = metadata.get("name") or metadata.get("generateName") or ""
    return str(name)
