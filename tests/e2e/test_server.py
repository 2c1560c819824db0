"""The running server end to end, in one process: a loopback PBX replaying real
recordings, the server, and a real SMTP server (aiosmtpd) receiving the mails.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from missedcall.bootstrap import BuiltServer, build_server
from missedcall.calls.asterisk import WANTED_EVENTS
from missedcall.config import Config, parse_config
from missedcall.demo import lab_config_text
from missedcall.outbox.runner import Backoff
from missedcall.render.message import message_id
from missedcall.sources.ami.protocol import AmiParser, Message
from missedcall.sources.ami.replay_server import ReplayServer, split_trace
from missedcall.sources.markers import Received, SourceItem
from tests.support.smtp import SmtpSink
from tests.support.waiting import until

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk"
TRACES = sorted(FIXTURES.glob("*.ami"))
ALL_RECORDINGS = b"".join(path.read_bytes() for path in TRACES)
SERVER_ADDRESS = "pbx@example.com"
FAST_BACKOFF = Backoff(initial=0.05, cap=0.2)
# (call, user) of every mail the recordings make under the lab's configuration.
EXPECTED_MAILS = {
    ("1795849570.0", "anna"),
    ("1795849613.8", "anna"), ("1795849613.8", "bernd"), ("1795849613.8", "carla"),
    ("1795849660.24", "anna"), ("1795849660.24", "bernd"), ("1795849660.24", "carla"),
    ("1795849709.40", "anna"), ("1795849709.40", "bernd"), ("1795849709.40", "carla"),
    ("1795849819.98", "bernd"),
    ("1795849845.104", "anna"), ("1795849845.104", "bernd"),
    ("1795850041.160", "anna"),
    ("1795850100.170", "anna"),
}  # fmt: skip


def lab_config(data_dir: Path, ami_port: int, smtp_port: int, extra: str = "") -> Config:
    text = lab_config_text(
        data_dir, ami_port, smtp_port, ami_secret="secret", server_address=SERVER_ADDRESS
    )
    return parse_config(extra + text, base_dir=data_dir)


def ids(mails: set[tuple[str, str]]) -> set[str]:
    return {message_id(call, user, SERVER_ADDRESS) for call, user in mails}


@dataclass
class Running:
    built: BuiltServer
    replay: ReplayServer
    sink: SmtpSink
    stop: asyncio.Event

    @property
    def server(self):  # type: ignore[no-untyped-def]
        return self.built.server

    def received_ids(self) -> list[str]:
        return [m.message_id for m in self.sink.received]

    async def until(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        await until(condition, timeout, step=0.02)


@asynccontextmanager
async def running(
    tmp_path: Path,
    segments: Sequence[bytes],
    *,
    sink: SmtpSink | None = None,
    sink_up: bool = True,
    channels_after_reconnect: Sequence[dict[str, str]] = (),
    smtp_connections: int = 2,
    extra_config: str = "",
) -> AsyncIterator[Running]:
    sink = sink or SmtpSink()
    await sink.start()
    if not sink_up:
        await sink.stop()  # keeps its port: started again later, as a server coming back
    replay = ReplayServer(
        segments,
        secret="secret",
        stream_after="CoreShowChannels",
        keep_last_open=True,
        channels_after_reconnect=channels_after_reconnect,
    )
    _, ami_port = await replay.start()
    config = lab_config(tmp_path, ami_port, sink.port, extra_config)
    assert config.smtp is not None
    smtp = config.smtp.model_copy(update={"max_connections": smtp_connections})
    config = config.model_copy(update={"smtp": smtp})
    built = build_server(config, web=False, backoff=FAST_BACKOFF)
    built.server.keep_decisions = True
    stop = asyncio.Event()
    serving = asyncio.create_task(built.server.serve(stop))
    try:
        yield Running(built, replay, sink, stop)
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
        built.close()
        await replay.stop()
        await sink.stop()


async def test_a_missed_call_reaches_the_smtp_server_as_its_rendered_mail(tmp_path: Path) -> None:
    async with running(tmp_path, [TRACES[0].read_bytes()]) as run:
        await run.until(lambda: run.server.outbox.counts_by_state().get("sent") == 1)
        entries = run.server.handler.store.journal_entries("anna")
        assert [(e.call_id, e.state) for e in entries] == [("1795849570.0", "open")]
    mail = run.sink.received[0]
    assert mail.envelope_to == ("anna@example.com",)
    assert mail.envelope_from == SERVER_ADDRESS
    assert mail.message_id == message_id("1795849570.0", "anna", SERVER_ADDRESS)
    assert b"+49 89 1234567" in mail.data


async def test_every_recorded_call_makes_exactly_its_mails_once(tmp_path: Path) -> None:
    async with running(tmp_path, [ALL_RECORDINGS]) as run:
        await run.until(lambda: len(run.sink.received) >= len(EXPECTED_MAILS))
        await asyncio.sleep(0.2)  # nothing more may come
    assert sorted(run.received_ids()) == sorted(ids(EXPECTED_MAILS))
    assert run.server.health.calls_decided == len(TRACES)


async def test_replaying_the_same_events_after_a_restart_queues_nothing_twice(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, [ALL_RECORDINGS]) as first:
        await first.until(lambda: len(first.sink.received) >= len(EXPECTED_MAILS))
    async with running(tmp_path, [ALL_RECORDINGS]) as second:
        await second.until(lambda: second.server.health.calls_decided == len(TRACES))
        await asyncio.sleep(0.3)
        assert second.server.outbox.counts_by_state().get("sent") == len(EXPECTED_MAILS)
    assert second.sink.received == []
    assert all(handled.verdict.replay for handled in second.server.decided)


async def test_smtp_down_for_a_while_then_back_delivers_everything_in_decision_order(
    tmp_path: Path,
) -> None:
    # One connection: mails are accepted in the order they are sent (with two,
    # they start in order but may finish out of it).
    async with running(tmp_path, [ALL_RECORDINGS], sink_up=False, smtp_connections=1) as run:
        await run.until(lambda: run.server.health.calls_decided == len(TRACES))
        await asyncio.sleep(0.3)  # the runner meets a closed port and backs off
        assert run.sink.received == []
        assert run.server.outbox.counts_by_state().get("sent", 0) == 0
        await run.sink.start()
        await run.until(lambda: len(run.sink.received) == len(EXPECTED_MAILS))
    decided_order = [
        message_id(h.verdict.record.call_id, t.user, SERVER_ADDRESS)
        for h in run.server.decided
        for t in h.decision.email
    ]
    assert run.received_ids() == decided_order


async def test_a_recipient_refused_with_5xx_fails_visibly_and_the_others_go_through(
    tmp_path: Path,
) -> None:
    sink = SmtpSink(refuse={"bernd@example.com": "550 5.1.1 mailbox unavailable"})
    async with running(tmp_path, [ALL_RECORDINGS], sink=sink) as run:
        bernds = {m for m in EXPECTED_MAILS if m[1] == "bernd"}
        await run.until(lambda: len(run.sink.received) == len(EXPECTED_MAILS - bernds))
        await run.until(lambda: run.server.outbox.counts_by_state().get("failed") == len(bernds))
        failed = run.server.outbox.rows(state="failed")
        assert {row.user for row in failed} == {"bernd"}
        assert all("550" in json.dumps(row.to_json()) for row in failed)
    assert sorted(run.received_ids()) == sorted(ids(EXPECTED_MAILS - bernds))


async def test_a_slow_smtp_server_does_not_stall_the_intake_of_calls(tmp_path: Path) -> None:
    sink = SmtpSink(hang_seconds=0.5)
    async with running(tmp_path, [ALL_RECORDINGS], sink=sink) as run:
        await run.until(lambda: run.server.health.calls_decided == len(TRACES), timeout=5)
        assert len(run.sink.received) < len(EXPECTED_MAILS)  # delivery still going on
        queued = run.server.outbox.counts_by_state()
        assert queued.get("queued", 0) + queued.get("sending", 0) > 0


class Backlog:
    """Every recorded event at once, as from a PBX the server is catching up with."""

    def __init__(self, data: bytes) -> None:
        frames = AmiParser(event_filter=WANTED_EVENTS).feed(data)
        self.messages = [frame for frame in frames if isinstance(frame, Message)]
        self.exhausted = asyncio.Event()

    async def items(self) -> AsyncIterator[SourceItem]:
        for message in self.messages:
            yield Received(message, time.time())
        self.exhausted.set()
        await asyncio.Event().wait()  # the connection stays open

    async def close(self) -> None:
        return None


async def test_intake_gives_the_other_tasks_a_turn_after_every_call(tmp_path: Path) -> None:
    """With a backlog of events, delivery and the group commit run between two calls."""
    sink = SmtpSink()
    await sink.start()
    backlog = Backlog(ALL_RECORDINGS)
    built = build_server(lab_config(tmp_path, 9, sink.port), source=backlog, web=False)
    stop = asyncio.Event()
    serving = asyncio.create_task(built.server.serve(stop))
    turns = 0
    while not backlog.exhausted.is_set():
        turns += built.server.health.intake_running
        await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(serving, 30)
    built.close()
    await sink.stop()
    assert turns >= len(TRACES) - 1


async def test_a_pbx_connection_dropped_mid_call_reports_it_incomplete_and_invents_nothing(
    tmp_path: Path,
) -> None:
    first = TRACES[0].read_bytes()  # 201 rings 20 s, nobody answers
    head, _ = split_trace(first, first.index(b"Event: DialEnd"))  # ringing, then the line drops
    second = (FIXTURES / "02-answered-direct.ami").read_bytes()
    async with running(tmp_path, [head, second]) as run:
        await run.until(lambda: run.server.health.calls_decided == 2)
    incomplete, answered = (h.verdict.record for h in run.server.decided)
    assert incomplete.call_id == "1795849570.0" and incomplete.incomplete
    ringing = incomplete.participants[0]
    assert ringing.line == "201" and not ringing.answered
    assert ringing.ring_seconds < 0.1  # only what was seen before the drop
    assert incomplete.answered_by is None
    assert answered.call_id == "1795849596.4" and not answered.incomplete
    assert run.replay.connections == 2


async def test_a_caller_ringing_again_before_the_last_verdict_is_written_meets_history(
    tmp_path: Path,
) -> None:
    # The server judges the next call while the previous verdict waits for its
    # group commit: repeated_same_day must see it all the same.
    extra = "[notify.exceptions]\nrepeated_same_day = true\n"
    async with running(tmp_path, [ALL_RECORDINGS], extra_config=extra) as run:
        await run.until(lambda: run.server.health.calls_decided == len(TRACES))
        await run.until(lambda: len(run.sink.received) == 3)
        await asyncio.sleep(0.2)
    assert sorted(m.envelope_to[0] for m in run.sink.received) == [
        "anna@example.com",
        "bernd@example.com",
        "carla@example.com",
    ]
