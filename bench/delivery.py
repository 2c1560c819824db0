"""Benchmark: durable outbox to SMTP acceptance, against a local aiosmtpd sink.

The sink runs in a process of its own, so the figures are missedcall's one
core.  Printed from one run: the sink's ceiling (mails/s the same SMTP client
pushes into it with no outbox), the outbox's rate from enqueue (group commit,
``synchronous = FULL``) to the sink's 250, their ratio, and the enqueue->accepted
latency at a steady offered load.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from tests.support.smtp import SmtpSink

from missedcall.config import SmtpSettings
from missedcall.db import open_database
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.mail import OutgoingMail
from missedcall.outbox.runner import DeliveryRunner
from missedcall.outbox.smtp import SmtpDelivery
from missedcall.outbox.store import Outbox

MAILS = 3000
CONNECTIONS = 4
BODY = b"You missed a call from Jane Doe, +49 89 1234567, at 10:42.\r\n" * 48  # about 3 kB
STEADY_RATE = 50.0  # mails/s offered for the latency figures
STEADY_SECONDS = 4.0


def outgoing(number: int) -> OutgoingMail:
    message_id = f"<bench{number}@missedcall.test>"
    headers = f"From: pbx@example.com\r\nTo: anna@example.com\r\nMessage-ID: {message_id}\r\n\r\n"
    return OutgoingMail(
        f"bench{number}",
        "anna",
        "pbx@example.com",
        ("anna@example.com",),
        message_id,
        headers.encode() + BODY,
    )


def serve_sink(ready: Connection) -> None:
    async def serve() -> None:
        sink = SmtpSink()
        await sink.start()
        ready.send(sink.port)
        await asyncio.Event().wait()

    asyncio.run(serve())


def settings(port: int) -> SmtpSettings:
    return SmtpSettings.model_validate(
        {"host": "127.0.0.1", "port": port, "from": "pbx@example.com"}
        | {"max_connections": CONNECTIONS, "timeout_seconds": 10.0}
    )


def wired(port: int, database: Path) -> tuple[Outbox, GroupCommitter, DeliveryRunner, SmtpDelivery]:
    """As the server wires them: one committer for the decisions and the runner."""
    outbox = Outbox(open_database(database))
    committer = GroupCommitter(outbox)
    delivery = SmtpDelivery(settings(port))
    runner = DeliveryRunner(
        outbox, delivery, time.time, batch=200, concurrency=CONNECTIONS, committer=committer
    )
    return outbox, committer, runner, delivery


async def decide(committer: GroupCommitter, runner: DeliveryRunner, mail: OutgoingMail) -> None:
    await committer.enqueue([mail], "server", time.time())
    runner.wake()


async def ceiling(port: int, mails: Sequence[OutgoingMail]) -> float:
    """Mails/s the SMTP client alone gets accepted: no outbox, no database."""
    delivery = SmtpDelivery(settings(port))
    start = time.perf_counter()
    results = await asyncio.gather(*(delivery.send(mail) for mail in mails))
    elapsed = time.perf_counter() - start
    await delivery.close()
    assert all(result.outcome == "accepted" for result in results)
    return len(mails) / elapsed


async def through_outbox(port: int, mails: Sequence[OutgoingMail], folder: Path) -> str:
    """Every mail enqueued (durably, one decision each) and delivered by the runner."""
    outbox, committer, runner, delivery = wired(port, folder / "throughput.db")
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run_until(stop))
    start = time.perf_counter()
    await asyncio.gather(*(decide(committer, runner, mail) for mail in mails))
    enqueued = time.perf_counter() - start
    while outbox.counts_by_state()["sent"] < len(mails):
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - start
    stop.set()
    await running
    await delivery.close()
    outbox.connection.close()
    return (
        f"{len(mails) / elapsed:>8,.0f} mails/s  (enqueue alone {len(mails) / enqueued:,.0f}/s"
        f" in {committer.commits} commits; loop blocked at most"
        f" {committer.longest_flush * 1e3:.1f} ms)"
    )


async def steady(port: int, folder: Path) -> tuple[float, float]:
    """p50 and p99 seconds from enqueue to accepted, at STEADY_RATE mails/s."""
    outbox, committer, runner, delivery = wired(port, folder / "steady.db")
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run_until(stop))
    count = int(STEADY_RATE * STEADY_SECONDS)
    for number in range(count):
        await decide(committer, runner, outgoing(100_000 + number))
        await asyncio.sleep(1 / STEADY_RATE)
    while outbox.counts_by_state()["sent"] < count:
        await asyncio.sleep(0.01)
    stop.set()
    await running
    await delivery.close()
    latencies = sorted(row.changed_at - row.queued_at for row in outbox.rows(limit=count))
    outbox.connection.close()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


async def measure(port: int) -> None:
    mails = [outgoing(number) for number in range(MAILS)]
    with tempfile.TemporaryDirectory() as folder:
        sink_rate = await ceiling(port, mails)
        print(f"  sink ceiling (SMTP client alone)  {sink_rate:>8,.0f} mails/s")
        outbox_line = await through_outbox(port, mails, Path(folder))
        print(f"  enqueue -> outbox -> accepted     {outbox_line}")
        rate = float(outbox_line.split()[0].replace(",", ""))
        print(
            f"  ratio outbox / ceiling            {rate / sink_rate:>8.2f}   (target: 500 mails/s)"
        )
        p50, p99 = await steady(port, Path(folder))
        print(
            f"  enqueue -> accepted at {STEADY_RATE:.0f} mails/s    p50 {p50 * 1e3:.1f} ms,"
            f" p99 {p99 * 1e3:.1f} ms"
        )


def main() -> None:
    print(
        f"delivery: {MAILS:,} mails of {len(outgoing(0).data):,} bytes, {CONNECTIONS} SMTP"
        " connections, durable group commit, aiosmtpd sink in its own process"
    )
    receiving, sending = multiprocessing.Pipe(duplex=False)
    sink = multiprocessing.get_context("spawn").Process(
        target=serve_sink, args=(sending,), daemon=True
    )
    sink.start()
    try:
        port = receiving.recv()
        asyncio.run(measure(port))
    finally:
        sink.terminate()
        sink.join()


if __name__ == "__main__":
    main()
