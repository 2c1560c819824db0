"""``missedcall calls``: call records from recorded AMI streams, one JSON line each."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from missedcall.calls.asterisk import WANTED_EVENTS, AsteriskCorrelator
from missedcall.calls.lines import LineMap
from missedcall.calls.record import CallRecord
from missedcall.config import ConfigError, load_config
from missedcall.directory.users import Directory
from missedcall.sources.ami.protocol import AmiParser, FrameError, Message

READ_CHUNK = 1 << 16


class TraceError(Exception):
    """A trace that cannot be read as an AMI stream."""


def run(args: argparse.Namespace) -> int:
    try:
        lines = load_line_map(args.config)
        for record in correlate_files([Path(t) for t in args.traces], lines):
            sys.stdout.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
    except TraceError as error:
        print(f"missedcall calls: {error}", file=sys.stderr)
        return 1
    return 0


def load_line_map(config_path: str | None) -> LineMap | None:
    if config_path is None:
        return None
    try:
        return Directory.from_config(load_config(config_path))
    except ConfigError as error:
        raise TraceError(f"{config_path}: invalid configuration:\n{error}") from error


def correlate_files(paths: list[Path], lines: LineMap | None) -> Iterator[CallRecord]:
    """Correlate the traces as one stream, in the order given."""
    correlator = AsteriskCorrelator(lines)
    for path in paths:
        for message in read_trace(path):
            yield from correlator.feed(message)
    yield from correlator.flush()


def read_trace(path: Path) -> Iterator[Message]:
    """The wanted events of a recorded AMI stream; frame errors are reported, not fatal."""
    parser = AmiParser(event_filter=WANTED_EVENTS)
    try:
        stream = path.open("rb")
    except OSError as error:
        raise TraceError(f"{path}: cannot read: {error.strerror}") from error
    with stream:
        while chunk := stream.read(READ_CHUNK):
            for frame in parser.feed(chunk):
                if isinstance(frame, Message):
                    yield frame
                elif isinstance(frame, FrameError):
                    print(f"missedcall calls: {path}: {frame.describe()}", file=sys.stderr)
    leftover = parser.close()
    if leftover is not None:
        print(f"missedcall calls: {path}: {leftover.describe()}", file=sys.stderr)
    if parser.stats.frames + parser.stats.filtered == 0:
        raise TraceError(f"{path}: no AMI frames found; is this a recorded AMI stream?")
