"""The log set-up of the commands: lines are written by a thread of their own, so that
the event loop never waits for a slow reader of standard error."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator

import pytest

from missedcall.commands import run
from missedcall.commands.run import configure_logging


class StuckStream(io.StringIO):
    """A stream whose writes wait until the test releases them (a full pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()
        self.writers: set[int] = set()

    def write(self, text: str) -> int:
        self.writers.add(threading.get_ident())
        assert self.released.wait(10), "never released"
        return super().write(text)


@pytest.fixture(autouse=True)
def root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    run._write_the_rest()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_stuck_stream_never_holds_up_the_code_that_logs() -> None:
    stream = StuckStream()
    configure_logging("info", stream)

    for number in range(100):
        logging.getLogger("missedcall.test").info("line %d of %s", number, "hundred")

    assert stream.getvalue() == ""  # the caller went on; the writer waits
    stream.released.set()
    run._write_the_rest()  # what the process does at exit
    lines = stream.getvalue().splitlines()
    assert len(lines) == 100
    assert lines[7].endswith(" INFO missedcall.test line 7 of hundred")
    assert threading.get_ident() not in stream.writers


def test_a_traceback_reaches_the_stream_with_its_line_and_the_level_filters() -> None:
    stream = io.StringIO()
    configure_logging("warning", stream)
    log = logging.getLogger("missedcall.test")
    log.info("not written")
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("outbox set aside id=%d", 7)
    run._write_the_rest()
    text = stream.getvalue()
    assert "not written" not in text
    assert (
        " ERROR missedcall.test outbox set aside id=7\nTraceback (most recent call last):" in text
    )
    assert text.rstrip().endswith("ValueError: broken")


def test_setting_up_again_replaces_the_writer() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", first)
    configure_logging("info", second)
    logging.getLogger("missedcall.test").info("once")
    run._write_the_rest()
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
    assert len(run._writers) == 0
