"""The elapsed-time ticker: heartbeat lines off a terminal, a closing line with the outcome."""

from __future__ import annotations

import io
import time

import pytest

from cli.ticker import Ticker


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_output_gets_heartbeats_and_a_closing_line() -> None:
    stream = io.StringIO()
    with Ticker("building", stream=stream, heartbeat=0.05) as ticker:
        ticker.say("step one")
        time.sleep(0.5)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  step one"
    assert any(line.startswith("  ... building (") for line in lines[1:-1])
    assert lines[-1].startswith("✓ building (")
    assert "\r" not in stream.getvalue()


def test_a_failure_is_marked() -> None:
    stream = io.StringIO()
    with pytest.raises(RuntimeError), Ticker("starting", stream=stream, heartbeat=10):
        raise RuntimeError("boom")
    assert stream.getvalue().startswith("✗ starting (")


def test_terminal_output_redraws_one_line() -> None:
    stream = Terminal()
    with Ticker("waiting", stream=stream):
        time.sleep(0.5)
    text = stream.getvalue()
    assert "\r\033[K" in text
    assert "waiting (0s)" in text
    assert text.endswith("\n")
    assert text.rsplit("\r\033[K", 1)[1].startswith("✓ waiting (")
