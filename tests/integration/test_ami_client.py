"""AmiClient against a real TCP server: ReplayServer on 127.0.0.1, replaying Asterisk traces."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from missedcall.sources.ami.client import (
    AmiAuthError,
    AmiClient,
    AmiSettings,
    AmiTimeoutError,
    backoff_delay,
    encode_action,
    md5_key,
)
from missedcall.sources.ami.protocol import AmiParser, EventFilter, Message
from missedcall.sources.ami.replay_server import ReplayServer, split_trace
from missedcall.sources.markers import ConnectionLost, Received, Resync, SourceItem

FIXTURES = Path(__file__).parent.parent / "fixtures" / "asterisk"

CALL_EVENTS = EventFilter(
    wanted=frozenset({"Newchannel", "Newstate", "DialBegin", "DialEnd", "Hangup", "Pickup"}),
    conditional={"Newexten": (b"Application: VoiceMail",)},
)

RINGING_CHANNEL = {
    "Channel": "Local/201@phones-00000002;1",
    "ChannelState": "5",
    "ChannelStateDesc": "Ringing",
    "Uniqueid": "1795849613.5",
    "Linkedid": "1795849613.2",
}


def trace(name: str) -> bytes:
    return (FIXTURES / f"{name}.ami").read_bytes()


def events_in(data: bytes, event_filter: EventFilter | None = None) -> list[Message]:
    """What AmiParser makes of ``data``: the events a client must yield, in order."""
    frames = AmiParser(event_filter=event_filter).feed(data)
    return [frame for frame in frames if isinstance(frame, Message) and frame.event is not None]


def received(items: Sequence[SourceItem]) -> list[Message]:
    return [item.message for item in items if isinstance(item, Received)]


def count(kind: type, items: Sequence[SourceItem]) -> int:
    return sum(isinstance(item, kind) for item in items)


def settings_for(address: tuple[str, int], **overrides: object) -> AmiSettings:
    host, port = address
    options: dict[str, object] = {
        "username": "missedcall",
        "secret": "secret",
        "connect_timeout": 2.0,
        "action_timeout": 2.0,
        "reconnect_initial": 0.01,
        "reconnect_max": 0.05,
    }
    options.update(overrides)
    return AmiSettings(host=host, port=port, **options)  # type: ignore[arg-type]  # test overrides


async def take(
    items: AsyncIterator[SourceItem],
    until: Callable[[list[SourceItem]], bool],
    timeout: float = 5.0,
) -> list[SourceItem]:
    """Items until ``until`` holds for what was taken, within ``timeout`` seconds."""
    taken: list[SourceItem] = []
    async with asyncio.timeout(timeout):
        while not until(taken):
            taken.append(await anext(items))
    return taken


async def drain(items: AsyncIterator[SourceItem]) -> list[SourceItem]:
    """Every item until the client stops."""
    return [item async for item in items]


@contextlib.asynccontextmanager
async def running(
    server: ReplayServer, event_filter: EventFilter | None = None, **overrides: object
) -> AsyncIterator[tuple[AmiClient, AsyncIterator[SourceItem]]]:
    address = await server.start()
    client = AmiClient(settings_for(address, **overrides), event_filter=event_filter)
    try:
        yield client, client.items()
    finally:
        await client.close()
        await server.stop()


def resynced(taken: list[SourceItem]) -> bool:
    return count(Resync, taken) >= 1


# -- pure helpers --------------------------------------------------------------


def test_md5_key_is_the_hex_md5_of_challenge_then_secret() -> None:
    assert md5_key("535443262", "s3cret") == hashlib.md5(b"535443262s3cret").hexdigest()


def test_backoff_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    delays = [backoff_delay(n, initial=0.5, maximum=30.0, jitter=0.0) for n in range(12)]
    assert delays[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert max(delays) == 30.0
    assert backoff_delay(100_000, initial=0.5, maximum=30.0, jitter=0.0) == 30.0


def test_backoff_jitter_takes_off_at_most_half() -> None:
    for attempt in range(20):
        plain = backoff_delay(attempt, initial=0.5, maximum=30.0, jitter=0.0)
        jittered = backoff_delay(attempt, initial=0.5, maximum=30.0, jitter=0.999)
        assert plain / 2 <= jittered <= plain


def test_an_action_field_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        encode_action("Originate", "1", {"CallerID": "x\r\nAction: Hangup"})


def test_settings_never_show_the_secret() -> None:
    settings = AmiSettings(host="pbx", username="u", secret="hunter2")
    assert "hunter2" not in repr(settings)


# -- login -------------------------------------------------------------------


async def test_md5_login_answers_the_challenge_and_never_sends_the_secret() -> None:
    server = ReplayServer(secret="s3cret")
    async with running(server, secret="s3cret", auth="md5") as (_, items):
        assert isinstance((await take(items, resynced))[0], Resync)
    challenge, login = server.actions[:2]
    assert (challenge.get("Action"), challenge.get("AuthType")) == ("Challenge", "MD5")
    assert (login.get("Action"), login.get("AuthType")) == ("Login", "MD5")
    assert login.get("Key") is not None
    assert login.get("Secret") is None


async def test_plain_login_sends_username_and_secret() -> None:
    server = ReplayServer(secret="s3cret")
    async with running(server, secret="s3cret", auth="plain") as (_, items):
        await take(items, resynced)
    login = server.actions[0]
    assert (login.get("Action"), login.get("Username"), login.get("Secret")) == (
        "Login",
        "missedcall",
        "s3cret",
    )


async def test_login_asks_for_the_configured_event_classes() -> None:
    server = ReplayServer()
    async with running(server) as (_, items):
        await take(items, resynced)
    login = next(action for action in server.actions if action.get("Action") == "Login")
    assert login.get("Events") == "call,dialplan,agent"


@pytest.mark.parametrize("auth", ["md5", "plain"])
async def test_bad_login_raises_auth_error_and_does_not_reconnect(auth: str) -> None:
    server = ReplayServer(secret="right")
    async with running(server, secret="wrong", auth=auth) as (_, items):
        with pytest.raises(AmiAuthError, match="Authentication failed"):
            await take(items, lambda _: False)
        await asyncio.sleep(0.3)  # six backoff periods: a retry would have happened
        assert server.connections == 1


# -- filters and resync ------------------------------------------------------


async def test_the_wanted_events_are_whitelisted_on_the_server() -> None:
    server = ReplayServer()
    async with running(server, CALL_EVENTS) as (_, items):
        await take(items, resynced)
    filters = [action for action in server.actions if action.get("Action") == "Filter"]
    assert {action.get("Operation") for action in filters} == {"Add"}
    assert sorted(action.get("Filter") or "" for action in filters) == sorted(
        f"Event: {name}" for name in CALL_EVENTS.event_names()
    )


async def test_a_refused_filter_is_a_warning_and_events_are_still_filtered_locally(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = trace("01-missed-direct")
    expected = events_in(data, CALL_EVENTS)
    server = ReplayServer(
        [data], allow_filter=False, stream_after="CoreShowChannels", keep_last_open=True
    )
    with caplog.at_level(logging.WARNING, logger="missedcall.ami"):
        async with running(server, CALL_EVENTS) as (_, items):
            taken = await take(items, lambda got: len(received(got)) == len(expected))
    assert received(taken) == expected
    assert "server-side event filter refused" in caplog.text


async def test_each_connection_starts_with_a_resync_of_the_channels_alive() -> None:
    server = ReplayServer(channels_at_start=[RINGING_CHANNEL])
    async with running(server) as (_, items):
        (resync,) = await take(items, resynced)
    assert isinstance(resync, Resync)
    (channel,) = resync.channels
    assert channel.event == "CoreShowChannel"
    assert channel.get("Channel") == RINGING_CHANNEL["Channel"]


# -- the event stream --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "event_filter", "classes"),
    [
        ("01-missed-direct", None, "on"),
        ("07-queue-rrmemory-missed", None, "on"),
        ("13-directed-pickup", CALL_EVENTS, "call,dialplan,agent"),
        ("20-voicemail", CALL_EVENTS, "call,dialplan,agent"),
    ],
)
async def test_the_client_yields_exactly_the_events_of_a_trace(
    name: str, event_filter: EventFilter | None, classes: str
) -> None:
    data = trace(name)
    expected = events_in(data, event_filter)
    server = ReplayServer([data], stream_after="CoreShowChannels", keep_last_open=True)
    async with running(server, event_filter, events=classes) as (_, items):
        taken = await take(items, lambda got: len(received(got)) == len(expected))
        with pytest.raises(TimeoutError):
            await take(items, bool, timeout=0.2)
    assert isinstance(taken[0], Resync)
    assert received(taken) == expected
    assert count(ConnectionLost, taken) == 0


async def test_a_disconnect_mid_call_is_reported_then_resynced_then_the_rest_follows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = trace("03-ringgroup-missed")
    mid_call = data.index(b"Event: DialState") + 25  # inside a frame, while phones ring
    head, tail = split_trace(data, mid_call)
    expected = events_in(head, CALL_EVENTS) + events_in(tail, CALL_EVENTS)
    server = ReplayServer(
        [head, tail],
        channels_after_reconnect=[RINGING_CHANNEL],
        stream_after="CoreShowChannels",
        keep_last_open=True,
    )
    with caplog.at_level(logging.WARNING, logger="missedcall.ami"):
        async with running(server, CALL_EVENTS) as (_, items):
            taken = await take(items, lambda got: len(received(got)) == len(expected))
    kinds = [type(item).__name__ for item in taken]
    lost = kinds.index("ConnectionLost")
    assert kinds == [
        "Resync",
        *["Received"] * (lost - 1),
        "ConnectionLost",
        "Resync",
        *["Received"] * (len(kinds) - lost - 2),
    ]
    assert lost - 1 == len(events_in(head, CALL_EVENTS))
    assert received(taken) == expected
    second_resync = taken[lost + 1]
    assert isinstance(second_resync, Resync)
    assert [channel.get("Channel") for channel in second_resync.channels] == [
        RINGING_CHANNEL["Channel"]
    ]
    assert "truncated frame at end of stream" in caplog.text
    assert server.connections == 2


@pytest.mark.parametrize(("chunk_size", "chunk_delay"), [(3, 0.0), (200, 0.001)])
async def test_slow_server_writes_still_give_complete_frames_and_whole_answers(
    chunk_size: int, chunk_delay: float
) -> None:
    data = trace("15-short-ring")
    expected = events_in(data, CALL_EVENTS)
    server = ReplayServer(
        [data],
        channels_at_start=[RINGING_CHANNEL, RINGING_CHANNEL],
        stream_after="CoreShowChannels",
        keep_last_open=True,
        chunk_size=chunk_size,
        chunk_delay=chunk_delay,
    )
    async with running(server, CALL_EVENTS) as (client, items):
        consuming = asyncio.create_task(
            take(items, lambda got: len(received(got)) == len(expected), timeout=8.0)
        )
        answers = [await client.action("CoreShowChannels") for _ in range(3)]
        taken = await consuming
    assert received(taken) == expected
    for answer in answers:
        assert [frame.event for frame in answer] == [
            None,
            "CoreShowChannel",
            "CoreShowChannel",
            "CoreShowChannelsComplete",
        ]


async def test_realtime_pace_spaces_frames_as_their_timestamps_say() -> None:
    frames = b"".join(
        f"Event: Newstate\r\nTimestamp: {100 + step * 0.1:.6f}\r\nChannel: X\r\n\r\n".encode()
        for step in range(4)
    )
    server = ReplayServer(
        [frames], pace="realtime", speed=1.0, stream_after="CoreShowChannels", keep_last_open=True
    )
    async with running(server, events="on") as (_, items):
        taken = await take(items, lambda got: len(received(got)) == 4)
    times = [item.received_at for item in taken if isinstance(item, Received)]
    assert times[-1] - times[0] >= 0.25  # three gaps of 0.1 s, minus scheduling slack


# -- actions -------------------------------------------------------------------


async def test_an_action_returns_its_list_and_the_list_is_not_an_event() -> None:
    server = ReplayServer(channels_at_start=[RINGING_CHANNEL])
    async with running(server, CALL_EVENTS) as (client, items):
        await take(items, resynced)
        answer = await client.action("CoreShowChannels")
        with pytest.raises(TimeoutError):
            await take(items, bool, timeout=0.2)
    assert [frame.event for frame in answer] == [
        None,
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    ]
    assert answer[0].get("EventList") == "start"
    assert len({frame.get("ActionID") for frame in answer}) == 1


async def test_an_unanswered_action_times_out_with_a_clear_error() -> None:
    server = ReplayServer(answer_ping=False)
    async with running(server, action_timeout=0.2) as (client, items):
        await take(items, resynced)
        with pytest.raises(AmiTimeoutError, match=r"Ping: no answer within 0\.2 s"):
            await client.action("Ping")


async def test_an_action_without_a_server_times_out_saying_so() -> None:
    server = ReplayServer()
    address = await server.start()
    await server.stop()  # nothing listens there any more
    client = AmiClient(settings_for(address, action_timeout=0.2))
    try:
        with pytest.raises(AmiTimeoutError, match=r"not connected to 127\.0\.0\.1"):
            await client.action("Ping")
    finally:
        await client.close()


# -- connection health ---------------------------------------------------------


async def test_an_unanswered_keepalive_ping_is_a_lost_connection_and_the_client_reconnects() -> (
    None
):
    server = ReplayServer(answer_ping=False)
    async with running(server, keepalive_seconds=0.05, action_timeout=0.2) as (_, items):
        taken = await take(items, lambda got: count(Resync, got) == 2)
    assert [type(item).__name__ for item in taken] == ["Resync", "ConnectionLost", "Resync"]
    lost = taken[1]
    assert isinstance(lost, ConnectionLost)
    assert "keepalive Ping" in lost.reason
    assert server.connections == 2


async def test_reconnect_backoff_is_capped_yet_never_hammers() -> None:
    attempts = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    address = listener.sockets[0].getsockname()[:2]
    client = AmiClient(settings_for(address, reconnect_initial=0.01, reconnect_max=0.04))
    consuming = asyncio.create_task(drain(client.items()))
    await asyncio.sleep(1.0)
    await client.close()
    assert await consuming == []
    listener.close()
    await listener.wait_closed()
    # Uncapped doubling from 0.01 s allows at most 7 attempts in a second; capped at
    # 0.04 s there are about 25 to 50.  No delay is under 0.02 s: at most 51.
    assert 12 <= attempts <= 55


async def test_a_slow_consumer_pauses_reading_with_a_bounded_queue_and_loses_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = b"".join(path.read_bytes() for path in sorted(FIXTURES.glob("*.ami")))
    expected = events_in(data)
    server = ReplayServer([data], stream_after="CoreShowChannels", keep_last_open=True)
    with caplog.at_level(logging.DEBUG, logger="missedcall.ami"):
        async with running(server, events="on", queue_size=8) as (client, items):
            taken = await take(items, resynced)
            async with asyncio.timeout(5):
                while not client.reading_paused:
                    await asyncio.sleep(0.01)
            assert client.backlog <= 8
            await asyncio.sleep(0.2)
            assert client.reading_paused
            assert client.backlog <= 8
            taken += await take(
                items, lambda got: len(received(got)) == len(expected), timeout=20.0
            )
    assert received(taken) == expected
    warnings = [
        record
        for record in caplog.records
        if "back-pressure active" in record.getMessage() and record.levelno == logging.WARNING
    ]
    assert len(warnings) == 1


async def test_close_ends_the_items_after_what_was_read() -> None:
    server = ReplayServer()
    async with running(server) as (client, items):
        await take(items, resynced)
        await client.close()
        with pytest.raises(StopAsyncIteration):
            await anext(items)
        async with asyncio.timeout(2):
            while server.actions[-1].get("Action") != "Logoff":
                await asyncio.sleep(0.01)
