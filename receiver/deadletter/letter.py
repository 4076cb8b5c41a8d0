"""The dead letter of a failed Job: its original event, as stored, with Knative's three extensions.

Pure functions. Knative's dispatchers add these to an event they could not deliver:

- ``knativeerrordest`` (String): the URL the event was sent to and failed at. Here the JobSink's
  own address (``status.address.url``): the event reached it, and the Job it became failed.
- ``knativeerrorcode`` (Integer): the HTTP status of the last attempt. A Job has no status code;
  it carries ``500`` so that consumers written for Knative, which read it as an integer, keep
  working: the event's processing failed on the receiving side.
- ``knativeerrordata`` (String): the base64 of the last response body, cut to 1024 bytes before
  encoding. Here the body is a small JSON object about the Job,
  ``{"job": <name>, "reason": <Failed condition's reason>, "message": <its message>}``, with the
  message shortened so that the object fits in those 1024 bytes.

The letter is sent in structured mode (``application/cloudevents+json``), not in binary mode as
Knative's dispatcher does: the stored event *is* a structured event, so the letter is that very
document, every attribute and the data exactly as stored, with the three extensions added (an
extension of the same name the event already had is replaced). Every CloudEvents HTTP receiver
accepts both modes; rebuilding binary mode would mean re-deciding the data's encoding from
``datacontenttype`` for JSON, text and 0.3 base64 data, which is where bytes stop round-tripping.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jobsink.event import CloudEvent, parse_json
from receiver.dataplane.wire import structured_event

ERROR_DEST: Final = "knativeerrordest"
ERROR_CODE: Final = "knativeerrorcode"
ERROR_DATA: Final = "knativeerrordata"
ERROR_DATA_MAX_BYTES: Final = 1024
"""Knative's ``KnativeErrorDataExtensionMaxLength``: bytes of the body kept before encoding."""
JOB_FAILED_CODE: Final = 500
CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"


@dataclass(frozen=True)
class Failure:
    """Why a Job failed: its name and its ``Failed`` condition."""

    job: str
    reason: str
    message: str


def failure_of(job: Mapping[str, Any]) -> Failure | None:
    """The failure of a Job whose ``Failed`` condition is True; None for any other Job."""
    conditions = (job.get("status") or {}).get("conditions") or []
    for condition in conditions:
        if (
            isinstance(condition, Mapping)
            and condition.get("type") == "Failed"
            and condition.get("status") == "True"
        ):
            name = str((job.get("metadata") or {}).get("name") or "")
            return Failure(
                job=name,
                reason=str(condition.get("reason") or "Failed"),
                message=str(condition.get("message") or ""),
            )
    return None


def error_data(failure: Failure) -> str:
    """``knativeerrordata``: base64 of a JSON object about the Job, at most 1024 bytes of it."""
    message = failure.message
    body = _failure_json(failure, message)
    while len(body) > ERROR_DATA_MAX_BYTES and message:
        # Cut characters, not bytes, so the JSON stays valid; each round cuts at least as many
        # characters as there are bytes too many, so it ends after a few rounds.
        excess = len(body) - ERROR_DATA_MAX_BYTES
        message = message[: max(0, len(message) - excess - len("..."))]
        body = _failure_json(failure, message + "...")
    return base64.b64encode(body).decode("ascii")


def _failure_json(failure: Failure, message: str) -> bytes:
    document = {"job": failure.job, "reason": failure.reason, "message": message}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def extensions(destination: str, failure: Failure) -> dict[str, str | int]:
    return {
        ERROR_DEST: destination,
        ERROR_CODE: JOB_FAILED_CODE,
        ERROR_DATA: error_data(failure),
    }


def dead_letter(stored: bytes, destination: str, failure: Failure) -> bytes:
    """The structured-mode body of the dead letter for the event ``stored`` (the Secret's
    ``event`` bytes) whose Job failed. Raises ``jobsink.event.EventError`` or
    ``receiver.dataplane.refusals.Rejection`` when ``stored`` is not a structured event."""
    event = structured_event(parse_json(stored, "event"))
    attributes = {**event.attributes, **extensions(destination, failure)}
    return CloudEvent.from_attributes(attributes, event.data).to_json()
