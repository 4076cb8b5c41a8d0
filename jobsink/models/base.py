"""The base class of every generated model: the wire conventions of the Kubernetes API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class KubeModel(BaseModel):
    """A Kubernetes API object or nested struct.

    ``extra="forbid"``: an unknown field is an error reported with its path (Pydantic's ``loc``),
    never silently dropped, because the apiserver would reject it on a strict create.
    Fields are populated and serialised by their JSON key (the alias when the key is not a valid
    Python name), so ``model_dump(mode="json", exclude_unset=True)`` gives back the wire object.
    """

    model_config = ConfigDict(
        extra="forbid",
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=False,
        frozen=False,
    )
