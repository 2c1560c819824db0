"""The log set-up of the commands: lines are written by a thread of their own, in
batches, so that the event loop never waits for a slow reader of standard error."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator

import pytest

from missedcall import logs
from missedcall.logs import configure_logging


class StuckStream(io.StringIO):
    """A stream whose writes wait until the test releases them (a full pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()
        self.writers: set[int] = set()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writers.add(threading.get_ident())
        self.writes += 1
        assert self.released.wait(10), "never released"
        return super().write(text)


@pytest.fixture(autouse=True)
def root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    collected = (logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    source_file = logging._srcfile
    yield
    logs.write_the_rest()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.logThreads, logging.logProcesses, logging.logMultiprocessing = collected
    logging._srcfile = source_file


def test_a_stuck_stream_never_holds_up_the_code_that_logs() -> None:
    stream = StuckStream()
    configure_logging("info", stream)

    for number in range(100):
        logging.getLogger("missedcall.test").info("line %d of %s", number, "hundred")

    assert stream.getvalue() == ""  # the caller went on; the writer waits
    stream.released.set()
    logs.write_the_rest()  # what the process does at exit
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
    logs.write_the_rest()
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
    logs.write_the_rest()
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
    assert len(logs._writers) == 0


def test_lines_that_came_while_the_writer_was_busy_go_out_in_one_write() -> None:
    stream = StuckStream()
    configure_logging("info", stream)
    log = logging.getLogger("missedcall.test")
    log.info("first")
    while stream.writes == 0:  # the writer is stuck writing the first line
        threading.Event().wait(0.001)
    for number in range(99):
        log.info("line %d", number)
    stream.released.set()
    logs.write_the_rest()
    assert stream.writes == 2
    assert len(stream.getvalue().splitlines()) == 100


def test_a_line_reads_as_the_standard_formatter_writes_it() -> None:
    stream = io.StringIO()
    configure_logging("info", stream)
    record = logging.LogRecord("missedcall.test", logging.WARNING, "", 0, "x=%d", (7,), None)
    record.created = 1_795_849_570.25
    record.msecs = 250.0
    logging.getLogger("missedcall.test").handle(record)
    logs.write_the_rest()
    standard = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    assert stream.getvalue() == standard.format(record) + "\n"
    assert stream.getvalue().endswith(",250 WARNING missedcall.test x=7\n")


def test_other_handlers_get_the_record_as_it_was_made() -> None:
    configure_logging("info", io.StringIO())
    seen: list[logging.LogRecord] = []

    class Other(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logging.getLogger().addHandler(Other())
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("missedcall.test").exception("failed id=%d", 3)
    (record,) = seen
    assert (record.msg, record.args) == ("failed id=%d", (3,))
    assert record.exc_info is not None and record.exc_info[0] is ValueError
