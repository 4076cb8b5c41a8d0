"""``admission.k8s.io/v1`` AdmissionReview wire types.

These describe the JSON exactly as the apiserver sends and expects it; they are ``TypedDict``s
rather than models because the admission layer only reads a few keys and must echo the rest
untouched. ``total=False`` marks what the apiserver may omit.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

ADMISSION_API_VERSION = "admission.k8s.io/v1"
ADMISSION_KIND = "AdmissionReview"

Operation = Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]
PatchType = Literal["JSONPatch"]


class GroupVersionKind(TypedDict):
    group: str
    version: str
    kind: str


class GroupVersionResource(TypedDict):
    group: str
    version: str
    resource: str


class UserInfo(TypedDict, total=False):
    username: str
    uid: str
    groups: list[str]
    extra: dict[str, list[str]]


class Request(TypedDict):
    uid: str
    kind: GroupVersionKind
    resource: GroupVersionResource
    operation: Operation
    userInfo: UserInfo
    subResource: NotRequired[str]
    requestKind: NotRequired[GroupVersionKind]
    requestResource: NotRequired[GroupVersionResource]
    requestSubResource: NotRequired[str]
    name: NotRequired[str]
    namespace: NotRequired[str]
    object: NotRequired[Any]
    oldObject: NotRequired[Any]
    dryRun: NotRequired[bool]
    options: NotRequired[dict[str, Any]]


class StatusCause(TypedDict, total=False):
    reason: str
    message: str
    field: str


class StatusDetails(TypedDict, total=False):
    name: str
    group: str
    kind: str
    causes: list[StatusCause]


class Status(TypedDict, total=False):
    """The ``metav1.Status`` of a denial; kube-apiserver passes it on to the client."""

    code: int
    message: str
    reason: str
    status: Literal["Success", "Failure"]
    details: StatusDetails


class Response(TypedDict):
    uid: str
    allowed: bool
    status: NotRequired[Status]
    patch: NotRequired[str]
    patchType: NotRequired[PatchType]
    warnings: NotRequired[list[str]]
    auditAnnotations: NotRequired[dict[str, str]]


class RequestReview(TypedDict):
    """An AdmissionReview as the apiserver POSTs it."""

    apiVersion: str
    kind: str
    request: Request


class ResponseReview(TypedDict):
    """An AdmissionReview as the webhook answers it."""

    apiVersion: str
    kind: str
    response: Response
