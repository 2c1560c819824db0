"""Benchmark: AMI parsing and call correlation over the recorded traces.

Prints, from one run on the same data: the raw parse rate (every frame decoded),
the filtered parse rate, the parse+correlate rate and their ratios, the memory
over the replay, and the bytes each in-flight call costs with 10,000
simultaneous calls.  Rates are events (AMI frames) per second on one core.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import missedcall.calls.asterisk
from missedcall.calls.asterisk import WANTED_EVENTS, AsteriskCorrelator
from missedcall.calls.lines import ResourceNames
from missedcall.sources.ami.protocol import AmiParser, Message
from missedcall.sources.ami.replay_server import renumbered

TRACES = Path(__file__).parents[1] / "tests" / "fixtures" / "asterisk"
TARGET_EVENTS = 1_000_000
CHUNK = 64 * 1024
SIMULTANEOUS_CALLS = 10_000


def stream(target_events: int) -> tuple[bytes, int]:
    base = b"".join(path.read_bytes() for path in sorted(TRACES.glob("*.ami")))
    per_copy = base.count(b"\r\n\r\n")
    copies = -(-target_events // per_copy)
    return b"".join(renumbered(base, i) for i in range(copies)), per_copy * copies


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def parse_all(data: bytes) -> None:
    parser = AmiParser()
    for start in range(0, len(data), CHUNK):
        parser.feed(data[start : start + CHUNK])


def parse_filtered(data: bytes) -> None:
    parser = AmiParser(event_filter=WANTED_EVENTS)
    for start in range(0, len(data), CHUNK):
        parser.feed(data[start : start + CHUNK])


def parse_and_correlate(data: bytes, memory: list[int] | None = None) -> int:
    parser = AmiParser(event_filter=WANTED_EVENTS)
    correlator = AsteriskCorrelator(ResourceNames())
    calls = 0
    for index, start in enumerate(range(0, len(data), CHUNK)):
        for frame in parser.feed(data[start : start + CHUNK]):
            if isinstance(frame, Message):
                calls += len(correlator.feed(frame))
        if memory is not None and index % 64 == 0:
            memory.append(tracemalloc.get_traced_memory()[0])
    return calls + len(correlator.flush())


def in_flight_bytes() -> tuple[float, int]:
    """Bytes per call with SIMULTANEOUS_CALLS calls ringing at once."""
    first_call = (TRACES / "01-missed-direct.ami").read_bytes()
    ringing = first_call[: first_call.index(b"Event: DialEnd")]  # all up to the hang-up
    parser = AmiParser(event_filter=WANTED_EVENTS)
    messages = [
        [f for f in parser.feed(renumbered(ringing, i, shift_time=False)) if isinstance(f, Message)]
        for i in range(SIMULTANEOUS_CALLS)
    ]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    correlator = AsteriskCorrelator(ResourceNames())
    for call in messages:
        for message in call:
            correlator.feed(message)
    assert correlator.in_flight == SIMULTANEOUS_CALLS, correlator.in_flight
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (after - before) / SIMULTANEOUS_CALLS, peak - before


def build() -> str:
    """Whether setup.py compiled the hot path (with mypyc) or it runs interpreted."""
    compiled = str(missedcall.calls.asterisk.__file__).endswith(tuple(EXTENSION_SUFFIXES))
    return "compiled with mypyc" if compiled else "interpreted (not compiled)"


def main() -> None:
    data, events = stream(TARGET_EVENTS)
    print(f"correlation: {events:,} events, {len(data) / 1e6:.0f} MB of recorded AMI, {build()}")
    raw = timed(lambda: parse_all(data))
    filtered = timed(lambda: parse_filtered(data))
    calls: list[int] = []
    full = timed(lambda: calls.append(parse_and_correlate(data)))
    print(f"  raw parse (every frame decoded) {events / raw:>12,.0f} events/s")
    print(f"  parse, unwanted events skipped  {events / filtered:>12,.0f} events/s")
    print(
        f"  parse + correlate               {events / full:>12,.0f} events/s"
        f"   ({calls[0]:,} calls; target >= 400,000)"
    )
    print(f"  ratio parse+correlate / raw parse      {raw / full:.2f}")
    print(f"  ratio parse+correlate / filtered parse {filtered / full:.2f}")
    quarter = data[: len(data) // 4]
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    memory: list[int] = []
    parse_and_correlate(quarter, memory)
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    settled = [m - baseline for m in memory[len(memory) // 10 :]]
    print(
        f"  memory over a {len(quarter) / 1e6:.0f} MB replay: {min(settled) / 1e3:,.0f}"
        f"..{max(settled) / 1e3:,.0f} kB held after the first tenth"
        f" (peak {peak / 1e6:.1f} MB) - flat when the range stays narrow"
    )
    per_call, peak_calls = in_flight_bytes()
    print(
        f"  {SIMULTANEOUS_CALLS:,} calls in flight: {per_call:,.0f} bytes per call,"
        f" peak {peak_calls / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
