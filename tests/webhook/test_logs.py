"""Logs are JSON objects, one per line, with ``extra`` fields as keys."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from webhook import logs


@pytest.fixture
def restored_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_root")
def test_json_lines_with_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info")
    logging.getLogger("webhook.app").info(
        "review denied", extra={"uid": "u-1", "endpoint": "validation"}
    )
    logging.getLogger("webhook.app").debug("not shown at info")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "INFO"
    assert record["logger"] == "webhook.app"
    assert record["message"] == "review denied"
    assert record["uid"] == "u-1"
    assert record["endpoint"] == "validation"
    assert "time" in record
