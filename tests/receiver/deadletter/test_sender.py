"""Which answers of a dead-letter sink are worth another attempt."""

from __future__ import annotations

import pytest

from receiver.deadletter.sender import Answer, judge


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (200, Answer.DELIVERED),
        (202, Answer.DELIVERED),
        (204, Answer.DELIVERED),
        (301, Answer.REFUSED),
        (400, Answer.REFUSED),
        (401, Answer.REFUSED),
        (403, Answer.REFUSED),
        (404, Answer.RETRY),
        (408, Answer.RETRY),
        (409, Answer.RETRY),
        (413, Answer.REFUSED),
        (415, Answer.REFUSED),
        (429, Answer.RETRY),
        (500, Answer.RETRY),
        (503, Answer.RETRY),
    ],
)
def test_judge(status: int, answer: Answer) -> None:
    assert judge(status) is answer
