"""The delivery runner against a real SMTP server on 127.0.0.1 (aiosmtpd), with a clock
the test moves: every outcome of the SMTP conversation ends in the right state, and no
mail is lost, whatever the server does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from missedcall.db import open_database
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.mail import OutgoingMail, Refusal
from missedcall.outbox.runner import Backoff, DeliveryRunner
from missedcall.outbox.smtp import SmtpDelivery
from missedcall.outbox.store import Outbox, OutboxRow
from tests.support.outbox import FakeClock, mail, smtp_settings
from tests.support.smtp import Certificates, SmtpSink

T = TypeVar("T")

# The longest delay every time: backoff is exactly 30 s, 60 s, 120 s ... 3600 s.
LONGEST = Backoff(initial=30.0, cap=3600.0, random=lambda: 1.0)


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with SmtpSink() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Setup:
    """An outbox, a delivery to the sink and a runner, as the server wires them."""

    def __init__(
        self,
        outbox: Outbox,
        sink: SmtpSink,
        clock: FakeClock,
        *,
        concurrency: int = 2,
        **smtp: object,
    ) -> None:
        self.outbox = outbox
        self.clock = clock
        self.committer = GroupCommitter(outbox, max_delay=0.001)
        self.delivery = SmtpDelivery(smtp_settings(sink.port, **smtp))
        self.runner = DeliveryRunner(
            outbox,
            self.delivery,
            clock,
            concurrency=concurrency,
            backoff=LONGEST,
            committer=self.committer,
        )

    async def enqueue(self, *mails: OutgoingMail) -> None:
        await self.committer.enqueue(mails, "server", self.clock())

    def row(self, call_id: str) -> OutboxRow:
        return next(row for row in self.outbox.rows() if row.call_id == call_id)

    def states(self) -> dict[str, str]:
        return {row.call_id: row.state for row in self.outbox.rows()}


async def test_mails_are_delivered_and_marked_sent(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    setup = Setup(outbox, sink, clock)
    await setup.enqueue(mail(1), mail(2), mail(3, user="bernd"))
    with caplog.at_level(logging.INFO, logger="missedcall.outbox"):
        assert await setup.runner.drain() == 3
    assert setup.states() == {"c1": "sent", "c2": "sent", "c3": "sent"}
    assert sorted(m.message_id for m in sink.received) == sorted(
        [mail(1).message_id, mail(2).message_id, mail(3, user="bernd").message_id]
    )
    assert sink.received[0].data.startswith(b"From: PBX <pbx@example.com>\r\n")
    assert sink.connections <= 2  # the connections are reused
    assert "outbox sent id=1 call=c1 user=anna message_id=<c1.anna@missedcall.test>" in caplog.text
    assert await setup.runner.drain() == 0
    await setup.delivery.close()


@pytest.mark.parametrize(
    "data",
    [
        mail(1).data + b".\r\n",  # alone on its line, the dot would end the message early
        mail(1).data + b".hidden line\r\n..two dots\r\n. \r\n",
        mail(1).data + b"a dot at the end.\r\n.",  # the last line without its line end
        b".the very first line\r\n",
    ],
    ids=["dot-alone", "leading-dots", "no-last-line-end", "first-line"],
)
async def test_lines_beginning_with_a_dot_arrive_as_written(sink: SmtpSink, data: bytes) -> None:
    delivery = SmtpDelivery(smtp_settings(sink.port))
    message = replace(mail(1), data=data)
    result = await delivery.send(message)
    await delivery.close()
    assert result.outcome == "accepted"
    expected = message.data if message.data.endswith(b"\r\n") else message.data + b"\r\n"
    assert [m.data for m in sink.received] == [expected]


async def test_a_message_with_bare_line_ends_goes_with_crlf_line_ends(sink: SmtpSink) -> None:
    delivery = SmtpDelivery(smtp_settings(sink.port))
    crlf = mail(1).data + b"line two\r\n.dot\r\nlast\r\n"
    bare = replace(mail(1), data=crlf.replace(b"\r\n", b"\n").replace(b"two\n", b"two\r"))
    result = await delivery.send(bare)
    await delivery.close()
    assert result.outcome == "accepted"
    assert [m.data for m in sink.received] == [crlf]


async def test_a_refused_recipient_fails_with_the_reply_and_the_others_go_on(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    sink.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such user"
    setup = Setup(outbox, sink, clock)
    await setup.enqueue(mail(1), mail(2, "gone@example.com", user="gone"), mail(3))
    await setup.runner.drain()
    assert setup.states() == {"c1": "sent", "c2": "failed", "c3": "sent"}
    failed = setup.row("c2")
    reply = "5.1.1 <gone@example.com>: no such user"
    assert (failed.reply_code, failed.reply) == (550, reply)
    assert failed.refused == (Refusal("gone@example.com", 550, reply),)
    clock.advance(7 * 86400)
    assert await setup.runner.drain() == 0  # a permanent failure is never tried again
    assert sink.recipients == ["anna@example.com", "anna@example.com"]


async def test_some_recipients_refused_are_recorded_one_by_one(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    """Accepted ones are not sent again; refused for good are not retried; 4xx are."""
    sink.refuse["gone@example.com"] = "550 5.1.1 no such user"
    sink.refuse["full@example.com"] = "452 4.2.2 mailbox full"
    setup = Setup(outbox, sink, clock)
    await setup.enqueue(mail(1, "anna@example.com", "gone@example.com", "full@example.com"))
    await setup.runner.drain()
    row = setup.row("c1")
    assert (row.state, row.accepted, row.reply_code) == ("retry", ("anna@example.com",), 452)
    assert {r.recipient: r.code for r in row.refused} == {
        "gone@example.com": 550,
        "full@example.com": 452,
    }
    del sink.refuse["full@example.com"]
    clock.advance(30)
    await setup.runner.drain()
    row = setup.row("c1")
    assert (row.state, row.accepted) == ("sent", ("anna@example.com", "full@example.com"))
    assert row.refused == (Refusal("gone@example.com", 550, "5.1.1 no such user"),)
    assert [m.envelope_to for m in sink.received] == [
        ("anna@example.com",),
        ("full@example.com",),
    ]


async def test_a_4xx_reply_is_retried_with_backoff(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    sink.busy_replies = 2
    setup = Setup(outbox, sink, clock)
    await setup.enqueue(mail(1))
    start = clock()
    await setup.runner.drain()
    row = setup.row("c1")
    assert (row.state, row.retry_at, row.reply_code) == ("retry", start + 30, 451)
    assert row.reply == "data: 451 4.3.0 busy, try again later"
    clock.advance(29)
    assert await setup.runner.drain() == 0  # not due yet
    clock.advance(1)
    await setup.runner.drain()
    assert setup.row("c1").retry_at == clock() + 60  # twice as long
    clock.advance(60)
    await setup.runner.drain()
    row = setup.row("c1")
    assert (row.state, row.attempts, len(sink.received)) == ("sent", 3, 1)


async def test_temporary_failures_stop_at_the_max_age_with_the_last_reply(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    sink.busy_replies = 1000
    setup = Setup(outbox, sink, clock, retry_max_age_seconds=100.0)
    await setup.enqueue(mail(1))
    start = clock()
    attempts_at = []
    while setup.row("c1").state != "failed":
        attempts_at.append(clock() - start)
        await setup.runner.drain()
        retry_at = setup.row("c1").retry_at
        if retry_at is not None:
            clock.now = retry_at
    assert attempts_at == [0, 30, 90, 100]  # the last one exactly at the max age
    row = setup.row("c1")
    assert (row.reply_code, row.reply, row.attempts) == (451, "4.3.0 busy, try again later", 4)


async def test_while_the_server_is_down_mails_wait_and_then_go_in_order_of_decision(
    outbox: Outbox, clock: FakeClock
) -> None:
    sink = SmtpSink()
    await sink.start()
    await sink.stop()  # the port is closed: connection refused
    setup = Setup(outbox, sink, clock, max_connections=1)
    await setup.enqueue(*(mail(n) for n in range(1, 21)))
    await setup.runner.drain()
    assert sink.connections == 0
    assert set(setup.states().values()) <= {"retry", "queued"}
    tried = [row for row in outbox.rows() if row.attempts]
    assert len(tried) <= 2  # a dead server is not hammered with the whole queue
    clock.advance(30)
    await setup.runner.drain()  # the probe fails again: a longer pause
    assert setup.row("c1").retry_at == clock() + 60
    await sink.start()
    clock.advance(60)
    await setup.runner.drain()
    assert set(setup.states().values()) == {"sent"}
    assert [m.message_id for m in sink.received] == [mail(n).message_id for n in range(1, 21)]
    await setup.delivery.close()
    await sink.stop()


async def test_a_hanging_server_times_out_and_the_mail_waits(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    sink.hang_seconds = 2.0
    setup = Setup(outbox, sink, clock, timeout_seconds=0.2)
    await setup.enqueue(mail(1))
    await asyncio.wait_for(setup.runner.drain(), 5)
    row = setup.row("c1")
    assert (row.state, row.reply_code) == ("retry", None)
    assert row.reply is not None
    assert "timed out" in row.reply.lower()


async def test_after_a_timeout_the_next_attempt_talks_on_a_new_connection(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    """The late reply to the DATA that timed out must never be read as the next one's."""
    sink.hang_seconds = 0.5
    setup = Setup(outbox, sink, clock, timeout_seconds=0.1, max_connections=1)
    await setup.enqueue(mail(1))
    await asyncio.wait_for(setup.runner.drain(), 5)
    sink.hang_seconds = 0.0
    clock.advance(LONGEST.cap)
    await asyncio.wait_for(setup.runner.drain(), 5)
    assert setup.row("c1").state == "sent"
    assert (setup.row("c1").attempts, sink.connections) == (2, 2)


class HeldOutcomes(GroupCommitter):
    """Claims are written at once; every other write waits until ``release`` is set."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(outbox)
        self.release = asyncio.Event()
        self._claim = outbox.claim

    async def write(self, operation: Callable[[], T]) -> T:
        if getattr(operation, "func", None) != self._claim:
            await self.release.wait()
        return await super().write(operation)


async def test_mails_waiting_for_their_outcome_to_be_written_leave_room_for_more(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    """A busy server's commits lag behind the replies: the connections must not wait for them."""
    committer = HeldOutcomes(outbox)
    delivery = SmtpDelivery(smtp_settings(sink.port, max_connections=2))
    runner = DeliveryRunner(outbox, delivery, clock, batch=2, committer=committer)
    outbox.enqueue([mail(n) for n in range(1, 7)], "server", clock())
    draining = asyncio.create_task(runner.drain())
    async with asyncio.timeout(5):
        while len(sink.received) < 6:  # a batch of two, yet all six sent
            await asyncio.sleep(0.01)
    assert {row.state for row in outbox.rows()} == {"sending"}  # no outcome written yet
    committer.release.set()
    assert await draining == 6
    assert {row.state for row in outbox.rows()} == {"sent"}
    await delivery.close()


async def test_a_connection_dropped_while_idle_is_replaced_without_a_failure(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    setup = Setup(outbox, sink, clock, max_connections=1)
    await setup.enqueue(mail(1))
    await setup.runner.drain()
    sink.drop_connections = 1  # the server hangs up on the next MAIL of the open connection
    await setup.enqueue(mail(2))
    await setup.runner.drain()
    assert setup.states() == {"c1": "sent", "c2": "sent"}
    assert (setup.row("c2").attempts, sink.connections) == (1, 2)


async def test_a_server_that_hangs_up_on_a_new_connection_is_a_temporary_failure(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    sink.drop_connections = 1
    setup = Setup(outbox, sink, clock, max_connections=1)
    await setup.enqueue(mail(1))
    await setup.runner.drain()
    assert setup.row("c1").state == "retry"
    clock.advance(3600)
    await setup.runner.drain()
    assert setup.row("c1").state == "sent"


async def test_an_unexpected_error_sets_the_mail_aside_and_the_others_go_on(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """aiosmtplib refuses to send a non-ASCII address: no SMTP outcome, a case for a human."""
    setup = Setup(outbox, sink, clock)
    await setup.enqueue(mail(1), mail(2, "jürgen@example.com", user="juergen"), mail(3))
    with caplog.at_level(logging.ERROR, logger="missedcall.outbox"):
        await setup.runner.drain()
    assert setup.states() == {"c1": "sent", "c2": "set_aside", "c3": "sent"}
    aside = setup.row("c2")
    assert aside.reply is not None
    assert aside.reply.startswith("UnicodeEncodeError")
    assert "outbox set aside id=2 call=c2 user=juergen" in caplog.text
    assert "Traceback" in caplog.text
    assert outbox.requeue(aside.id, clock())  # kept, for a human to send again


async def test_rows_left_sending_by_a_crash_are_delivered_after_a_restart(
    tmp_path: Path, sink: SmtpSink, clock: FakeClock
) -> None:
    database = tmp_path / "missedcall.db"
    crashed = Outbox(open_database(database))
    crashed.enqueue([mail(1), mail(2)], "server", clock())
    assert len(crashed.claim(2, clock())) == 2  # ... and the process dies mid-send
    crashed.connection.close()

    outbox = Outbox(open_database(database))
    setup = Setup(outbox, sink, clock)
    stop = asyncio.Event()
    running = asyncio.create_task(setup.runner.run_until(stop))
    await setup.enqueue(mail(3))
    setup.runner.wake()
    for _ in range(200):
        if len(sink.received) == 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert setup.states() == {"c1": "sent", "c2": "sent", "c3": "sent"}
    assert setup.row("c1").recoveries == 1
    outbox.connection.close()


async def test_client_rows_are_left_for_the_client(
    outbox: Outbox, sink: SmtpSink, clock: FakeClock
) -> None:
    setup = Setup(outbox, sink, clock)
    await setup.committer.enqueue([mail(1)], "client", clock())
    assert await setup.runner.drain() == 0
    assert sink.connections == 0
    assert setup.states() == {"c1": "queued"}


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_tls_and_login(outbox: Outbox, clock: FakeClock, security: str) -> None:
    certificates = Certificates()
    async with SmtpSink(
        security=security,  # type: ignore[arg-type]
        certificates=certificates,
        logins={"pbx": "secret"},
    ) as sink:
        settings = smtp_settings(sink.port, security=security, username="pbx", password="secret")
        delivery = SmtpDelivery(settings, tls_context=certificates.client_context())
        result = await delivery.send(mail(1))
        await delivery.close()
    assert result.outcome == "accepted"
    assert [r.step for r in result.transcript] == [
        "connect",
        "ehlo",
        *(["starttls", "ehlo"] if security == "starttls" else []),
        "login",
        "mail",
        "rcpt",
        "data",
    ]
    [received] = sink.received
    assert (received.tls, received.login) == (True, "pbx")


async def test_a_wrong_password_is_a_server_wide_temporary_failure(clock: FakeClock) -> None:
    """The settings are wrong, not the mail: it waits for the administrator to fix them."""
    certificates = Certificates()
    async with SmtpSink(
        security="starttls", certificates=certificates, logins={"pbx": "secret"}
    ) as sink:
        settings = smtp_settings(sink.port, security="starttls", username="pbx", password="wrong")
        delivery = SmtpDelivery(settings, tls_context=certificates.client_context())
        result = await delivery.send(mail(1))
    assert (result.outcome, result.server_wide) == ("temporary", True)
    assert (result.reply.step, result.reply.code) == ("login", 535)
    assert sink.received == []


async def test_an_untrusted_certificate_is_refused(clock: FakeClock) -> None:
    async with SmtpSink(security="tls", certificates=Certificates()) as sink:
        delivery = SmtpDelivery(smtp_settings(sink.port, security="tls"))
        result = await delivery.send(mail(1))
    assert (result.outcome, result.reply.step, result.reply.code) == ("temporary", "connect", None)
    assert "certificate" in result.reply.text.lower()
    assert sink.received == []
