"""Benchmark: recorded PBX events to mails accepted by an SMTP server, end to end.

The server runs here, on one core, exactly as ``missedcall run`` builds it
(correlator, rules, journal, renderer, durable outbox with group commit,
delivery) and logs as it does (INFO; the lines go to /dev/null); only its PBX
source is a feed of recorded events instead of a socket.  The SMTP sink runs
in a process of its own and notes when each mail arrived.  Printed: the sink's
own ceiling, the end-to-end rate (first event to last mail accepted; the median
of three runs), the server's CPU per mail, the ratio of rate to ceiling, and
the hang-up-to-accepted latency (p50/p99) at a fixed offered load of 50 calls/s.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from missedcall.bootstrap import build_server
from missedcall.calls.asterisk import WANTED_EVENTS
from missedcall.config import parse_config
from missedcall.logs import configure_logging
from missedcall.outbox.mail import OutgoingMail
from missedcall.outbox.smtp import SmtpDelivery
from missedcall.render.message import message_id
from missedcall.sources.ami.protocol import AmiParser, Message
from missedcall.sources.ami.replay_server import renumbered
from missedcall.sources.markers import Received, SourceItem

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "asterisk"
COPIES = 100  # of the recorded calls: 1,600 calls, 1,500 mails (start-up weighs little)
SMTP_CONNECTIONS = 16  # to a relay on the same network; the default is 2
ROUNDS = 3  # throughput runs, each on a new database: the median is printed, and the spread
STEADY_CALLS_PER_SECOND = 50.0
STEADY_CALLS = 200
SERVER_ADDRESS = "pbx@example.com"


# -- the sink, in its own process ------------------------------------------------


class _Arrivals:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        data = envelope.original_content or b""
        start = data.find(b"Message-ID: ")
        ident = data[start + 12 : data.find(b"\r\n", start)].decode() if start >= 0 else ""
        self.times[ident] = time.time()
        return "250 OK"


def _serve_sink(control: Connection) -> None:
    async def serve() -> None:
        arrivals = _Arrivals()
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(arrivals), "127.0.0.1", 0
        )
        control.send(server.sockets[0].getsockname()[1])
        while True:
            await asyncio.sleep(0.05)
            if control.poll():
                command = control.recv()
                if command == "stop":
                    return
                control.send(dict(arrivals.times))
                arrivals.times.clear()

    asyncio.run(serve())


class Sink:
    def __init__(self) -> None:
        self._control, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve_sink, args=(child,), daemon=True)
        self._process.start()
        self.port: int = self._control.recv()

    def arrivals(self) -> dict[str, float]:
        """Message-ID -> arrival time of the mails since the last call."""
        self._control.send("arrivals")
        answer: dict[str, float] = self._control.recv()
        return answer

    def stop(self) -> None:
        self._control.send("stop")
        self._process.join(5)


# -- recorded events as the server's PBX source ---------------------------------


class Feed:
    """Recorded events handed to the server; paced to ``calls_per_second`` if given."""

    def __init__(self, messages: Sequence[Message], calls_per_second: float | None = None) -> None:
        self._messages = messages
        self._rate = calls_per_second
        self.hangups: dict[str, float] = {}  # call id -> when its last Hangup was fed
        self.done = asyncio.Event()

    async def items(self) -> AsyncIterator[SourceItem]:
        started = time.time()
        calls = 0
        for message in self._messages:
            if message.event == "Newchannel" and message.get("Uniqueid") == message.get("Linkedid"):
                calls += 1
                if self._rate is not None:
                    await asyncio.sleep(max(0.0, started + calls / self._rate - time.time()))
            now = time.time()
            if message.event == "Hangup":
                self.hangups[message.get("Linkedid") or ""] = now
            yield Received(message, now)
        self.done.set()
        await asyncio.Event().wait()  # a PBX connection stays open

    async def close(self) -> None:
        return None


def recorded(copies: Sequence[int], names: str = "*.ami") -> list[Message]:
    data = b"".join(path.read_bytes() for path in sorted(FIXTURES.glob(names)))
    stream = b"".join(renumbered(data, copy) for copy in copies)
    parser = AmiParser(event_filter=WANTED_EVENTS)
    return [frame for frame in parser.feed(stream) if isinstance(frame, Message)]


def config_for(folder: Path, smtp_port: int) -> str:
    return f"""
[server]
data_dir = "{folder.as_posix()}"
timezone = "UTC"
[asterisk]
username = "bench"
password = "bench"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "Phone system <{SERVER_ADDRESS}>"
max_connections = {SMTP_CONNECTIONS}
""" + (FIXTURES / "config.toml").read_text()


# -- measurements ----------------------------------------------------------------


async def run_server(
    feed: Feed, sink: Sink, folder: Path, expected: int
) -> tuple[float, dict[str, float]]:
    """Serve ``feed`` until ``expected`` mails arrived; seconds taken and arrivals."""
    built = build_server(parse_config(config_for(folder, sink.port)), source=feed, web=False)
    stop = asyncio.Event()
    started = time.time()
    serving = asyncio.create_task(built.server.serve(stop))
    arrivals: dict[str, float] = {}
    while len(arrivals) < expected and time.time() - started < 300:
        await asyncio.sleep(0.1)
        arrivals |= await asyncio.to_thread(sink.arrivals)
    stop.set()
    await serving
    built.close()
    return max(arrivals.values(), default=started) - started, arrivals


async def ceiling(sink: Sink, count: int) -> float:
    """Mails/s the same SMTP client pushes into the sink with no server around it."""
    settings = parse_config(config_for(Path(tempfile.gettempdir()), sink.port)).smtp
    assert settings is not None
    delivery = SmtpDelivery(settings)
    body = b"Subject: ceiling\r\n\r\n" + b"a line of a rendered notification\r\n" * 200
    mails = [
        OutgoingMail(f"c{i}", "anna", SERVER_ADDRESS, ("anna@example.com",), f"<c{i}@x>", body)
        for i in range(count)
    ]
    started = time.perf_counter()
    lanes = [mails[i::SMTP_CONNECTIONS] for i in range(SMTP_CONNECTIONS)]

    async def lane(chunk: list[OutgoingMail]) -> None:
        for mail in chunk:
            await delivery.send(mail)

    await asyncio.gather(*(lane(chunk) for chunk in lanes))
    elapsed = time.perf_counter() - started
    await delivery.close()
    await asyncio.to_thread(sink.arrivals)
    return count / elapsed


async def measure() -> None:
    sink = Sink()  # forked before logging is set up: the sink logs nothing
    configure_logging("info", open(os.devnull, "w"))  # noqa: SIM115 - open until exit
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            top = await ceiling(sink, 1000)
            messages = recorded(range(COPIES))
            calls = sum(
                1
                for m in messages
                if m.event == "Newchannel" and m.get("Uniqueid") == m.get("Linkedid")
            )
            mails = 15 * COPIES
            rates, cpu = [], []
            for turn in range(ROUNDS):
                started = time.process_time()
                seconds, _ = await run_server(Feed(messages), sink, folder / f"run{turn}", mails)
                cpu.append((time.process_time() - started) / mails * 1000)
                rates.append(mails / seconds)
            rate = statistics.median(rates)
            print(
                f"e2e: {len(messages):,} wanted events, {calls:,} calls, {mails:,} mails, durable,"
                f" {SMTP_CONNECTIONS} SMTP connections"
            )
            print(f"  sink ceiling (same SMTP client, no server)    {top:>8,.0f} mails/s")
            print(
                f"  events -> decided -> rendered -> outbox -> 250 {rate:>8,.0f} mails/s"
                f"   (median of {ROUNDS}: {min(rates):,.0f}-{max(rates):,.0f}; target >= 500)"
            )
            per_mail = statistics.median(cpu)
            print(
                f"  server CPU per mail                            {per_mail:>8.2f} ms"
                f"     (all its threads; {min(cpu):.2f}-{max(cpu):.2f})"
            )
            print(f"  ratio e2e / sink ceiling                       {rate / top:>8.2f}")
            steady = recorded(range(STEADY_CALLS), "01-missed-direct.ami")
            feed = Feed(steady, STEADY_CALLS_PER_SECOND)
            _, arrivals = await run_server(feed, sink, folder / "steady", STEADY_CALLS)
            waits = sorted(
                arrivals[ident] - feed.hangups[call]
                for call, ident in _ids(feed.hangups).items()
                if ident in arrivals
            )
            p50 = statistics.median(waits) * 1000
            p99 = waits[int(len(waits) * 0.99) - 1] * 1000
            print(
                f"  {STEADY_CALLS_PER_SECOND:.0f} calls/s offered, {len(waits)} mails: hang-up ->"
                f" accepted p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 <= 100)"
            )
    finally:
        sink.stop()


def _ids(hangups: dict[str, float]) -> dict[str, str]:
    return {call: message_id(call, "anna", SERVER_ADDRESS) for call in hangups}


def main() -> None:
    asyncio.run(measure())


if __name__ == "__main__":
    main()
