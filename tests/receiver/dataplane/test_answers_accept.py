"""Which clients get a body with an accepted event's 202 (``answers.wants_json``)."""

from __future__ import annotations

import pytest

from receiver.dataplane.answers import wants_json


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        (None, False),
        ("", False),
        ("*/*", False),  # curl, httpx, Knative's dispatchers
        ("application/*", False),
        ("application/cloudevents+json", False),
        ("application/json", True),
        ("Application/JSON", True),
        ("text/html, application/json;q=0.9, */*;q=0.8", True),
        ("application/json; q=0", False),
        ("application/json;q=0.0", False),
        ("application/json;q=bogus", True),
        ("application/jsonx", False),
    ],
)
def test_only_a_client_that_names_json_gets_a_body(accept: str | None, wanted: bool) -> None:
    assert wants_json(accept) is wanted
