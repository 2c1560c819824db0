"""The commands' log lines: handed over by the event loop, written by a thread.

The loop only turns each record into its message (its time taken then) and
queues it, so a slow reader of the stream (a full pipe, a busy journald) never
holds it up.  The writer thread wakes at most every ``BATCH_SECONDS`` and
writes all that came meanwhile at once: waking for every line would take the
interpreter's lock from the loop a few times per call, and at full load that
cost the server a tenth of its throughput.  What is still queued at exit is
written then; a ``kill -9`` loses the last milliseconds.

A line is ``<local time> <LEVEL> <logger> <message>``, a traceback on the
lines after it.  Nothing else about a record is collected (thread, process,
the caller's file and line: the logging HOWTO's "Optimization"), as no line
shows it.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import threading
import time
from typing import TextIO

__all__ = ["BATCH_SECONDS", "configure_logging", "write_the_rest"]

BATCH_SECONDS = 0.005

# When the record was made, its level, its logger, its message with any traceback.
_Line = tuple[float, str, str, str]


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Log lines from ``level`` up to ``stream`` (standard error), replacing any set-up."""
    write_the_rest()
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller's file and line: it costs a walk up the stack
    writer = _LineWriter(sys.stderr if stream is None else stream)
    logging.basicConfig(level=level.upper(), handlers=[_HandOver(writer.lines)], force=True)
    _writers.append(writer)


@atexit.register
def write_the_rest() -> None:
    """Write what is queued and stop the writer (at exit, or before a new set-up)."""
    while _writers:
        _writers.pop().stop()


class _HandOver(logging.handlers.QueueHandler):
    """Queues the line's parts; the record itself is left as it was, for other handlers."""

    def __init__(self, lines: queue.SimpleQueue[_Line | None]) -> None:
        super().__init__(lines)
        self.setFormatter(logging.Formatter("%(message)s"))  # the message with its traceback

    def prepare(self, record: logging.LogRecord) -> _Line:
        return (record.created, record.levelname, record.name, self.format(record))


class _LineWriter:
    """The thread that writes the lines handed over, in batches."""

    def __init__(self, stream: TextIO) -> None:
        self.lines: queue.SimpleQueue[_Line | None] = queue.SimpleQueue()  # None: stop
        self._stream = stream
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.lines.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            batch = [self.lines.get()]
            time.sleep(BATCH_SECONDS)  # the lines of the next few milliseconds come along
            while not self.lines.empty():
                batch.append(self.lines.get_nowait())
            text = "".join(_text(line) for line in batch if line is not None)
            if text:
                self._write(text)
            if None in batch:
                return

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the stream is closed or gone: nowhere left to say so
            pass


def _text(line: _Line) -> str:
    """As ``logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")`` writes it."""
    created, level, name, message = line
    local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
    return f"{local},{int(created % 1 * 1000):03d} {level} {name} {message}\n"


_writers: list[_LineWriter] = []  # the one running, if any
