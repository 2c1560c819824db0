"""``missedcall run``: the server, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import logging.handlers
import queue
import signal
import sys
from typing import TextIO

from missedcall.bootstrap import build_server, startup_problems
from missedcall.config import Config, ConfigError, load_config
from missedcall.sources.ami.client import AmiAuthError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_writers: list[logging.handlers.QueueListener] = []  # the one running, if any


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Log lines to ``stream`` (standard error), written by a thread of their own.

    The event loop only hands each record over (its time taken then), so a
    slow reader of the stream (a full pipe, a busy journald) never holds it up.
    What is still queued at exit is written then; a ``kill -9`` loses the last
    milliseconds.
    """
    _write_the_rest()
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    writer = logging.handlers.QueueListener(records, handler)
    hand_over = logging.handlers.QueueHandler(records)
    hand_over.setFormatter(logging.Formatter("%(message)s"))  # the message with its traceback
    logging.basicConfig(level=level.upper(), handlers=[hand_over], force=True)
    writer.start()
    _writers.append(writer)


@atexit.register
def _write_the_rest() -> None:
    while _writers:
        _writers.pop().stop()


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"missedcall run: {args.config}: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    problems = startup_problems(config)
    for problem in problems:
        print(f"missedcall run: {args.config}: {problem}", file=sys.stderr)
    if problems:
        return 2
    try:
        return asyncio.run(serve(config))
    except AmiAuthError as error:
        print(f"missedcall run: the PBX refused the login: {error}", file=sys.stderr)
        return 2


async def serve(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    built = build_server(config)
    try:
        await built.server.serve(stop)
    finally:
        built.close()
    return 0
