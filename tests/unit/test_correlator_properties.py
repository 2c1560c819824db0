"""Properties of the correlator that hold for any call, checked with hypothesis."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from missedcall.calls.asterisk import WANTED_EVENTS, AsteriskCorrelator
from missedcall.calls.record import CallRecord
from missedcall.sources.ami.protocol import AmiParser, Message
from missedcall.sources.markers import ConnectionLost, Resync
from tests.support.lines import LabLines
from tests.support.pbx import Chan, Pbx

TRACES = sorted((Path(__file__).parents[1] / "fixtures" / "asterisk").glob("*.ami"))
LINES = ["201", "202", "203", "204", "205"]


def trace_messages() -> list[Message]:
    parser = AmiParser(event_filter=WANTED_EVENTS)
    return [f for path in TRACES for f in parser.feed(path.read_bytes()) if isinstance(f, Message)]


TRACE_MESSAGES = trace_messages()


@st.composite
def scripted_call(draw: st.DrawFn, pbx: Pbx) -> None:
    """A random call: some legs (direct or through a Local hop) ring, maybe one answers."""
    trunk = pbx.inbound(f"+4930555{draw(st.sampled_from([*LINES, '600']))}", "+49891234567")
    trunk.exten = draw(st.sampled_from([*LINES, "600", "s"]))
    legs: list[tuple[Chan, Chan]] = []
    for line in draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=4)):
        if draw(st.booleans()):
            hop, hop2 = pbx.dial_local(trunk, f"{line}@from-internal")
            leaf = pbx.dial(hop2, f"PJSIP/{line}")
            legs.append((hop2, leaf))
            legs.append((trunk, hop))
        else:
            legs.append((trunk, pbx.dial(trunk, f"PJSIP/{line}")))
        pbx.wait(draw(st.floats(0, 0.2)))
    for source, dest in legs:
        outcome = draw(st.sampled_from(["ring", "ring", "busy", "silent"]))
        if outcome == "ring":
            pbx.ringing(source, dest)
        elif outcome == "busy":
            pbx.dial_end(source, dest, "BUSY")
        pbx.wait(draw(st.floats(0, 5)))
    if draw(st.booleans()):
        source, dest = draw(st.sampled_from(legs))
        pbx.answer(source, dest)
        pbx.wait(draw(st.floats(0, 30)))
    channels = [trunk] + [dest for _, dest in legs]
    for chan in draw(st.permutations(channels)):
        pbx.hangup(chan)


def correlate(messages: list[Message]) -> list[CallRecord]:
    correlator = AsteriskCorrelator(LabLines())
    return [r for m in messages for r in correlator.feed(m)] + correlator.flush()


def as_json(records: list[CallRecord]) -> list[dict[str, object]]:
    return sorted((r.to_json() for r in records), key=lambda j: str(j["call_id"]))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_interleaving_two_calls_gives_the_records_of_each_alone(data: st.DataObject) -> None:
    first, second = Pbx(), Pbx(_epoch=1_800_000_500, _channel_seq=0x1000)
    data.draw(scripted_call(first))
    data.draw(scripted_call(second))
    merged: list[Message] = []
    a, b = list(first.messages), list(second.messages)
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    while a or b:
        source = a if (a and (not b or rng.random() < 0.5)) else b
        merged.append(source.pop(0))
    assert as_json(correlate(merged)) == as_json(
        correlate(first.messages) + correlate(second.messages)
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_line_appears_at_most_once_per_call(data: st.DataObject) -> None:
    pbx = Pbx()
    for _ in range(data.draw(st.integers(1, 3))):
        data.draw(scripted_call(pbx))
    for record in correlate(pbx.messages):
        lines = [p.line for p in record.participants]
        assert len(lines) == len(set(lines))
        assert not set(record.busy) & set(lines)
        assert all(p.ring_seconds >= 0 for p in record.participants)
        assert all(p.first_alert_at <= p.last_alert_at for p in record.participants)
        if record.answered_by is not None:
            assert record.answered_at is not None


@settings(max_examples=100)
@given(st.randoms(use_true_random=False), st.integers(0, len(TRACE_MESSAGES)))
def test_shuffled_or_truncated_real_streams_never_crash(rng: random.Random, cut: int) -> None:
    messages = TRACE_MESSAGES[:cut]
    rng.shuffle(messages)
    correlator = AsteriskCorrelator(LabLines())
    for message in messages:
        correlator.feed(message)
    correlator.feed(ConnectionLost(1.0, "test"))
    correlator.feed(Resync(2.0, ()))
    correlator.flush()
    assert correlator.in_flight == 0
    assert correlator.channels_in_flight == 0


@settings(max_examples=200)
@given(st.binary(max_size=4000), st.integers(1, 64))
def test_garbage_bytes_through_parser_and_correlator_never_crash(blob: bytes, chunk: int) -> None:
    parser = AmiParser(event_filter=WANTED_EVENTS, max_frame_bytes=1024)
    correlator = AsteriskCorrelator(LabLines())
    prefix = b"Event: Hangup\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n"
    data = prefix + blob
    for start in range(0, len(data), chunk):
        for frame in parser.feed(data[start : start + chunk]):
            if isinstance(frame, Message):
                correlator.feed(frame)
    correlator.flush()


@settings(max_examples=100)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(WANTED_EVENTS.wanted)),
            st.dictionaries(
                st.sampled_from(
                    [
                        "Uniqueid",
                        "Linkedid",
                        "Channel",
                        "DestUniqueid",
                        "DestLinkedid",
                        "DestChannel",
                        "ChannelStateDesc",
                        "DialStatus",
                        "Timestamp",
                        "CallerIDNum",
                        "Exten",
                        "TargetUniqueid",
                        "CID-CallingPres",
                        "Result",
                        "Forward",
                    ]
                ),
                st.text(max_size=12),
            ),
        ),
        max_size=60,
    )
)
def test_events_with_arbitrary_field_values_never_crash(
    events: list[tuple[str, dict[str, str]]],
) -> None:
    correlator = AsteriskCorrelator(LabLines())
    for name, fields in events:
        correlator.feed(Message.from_pairs([("Event", name), *fields.items()]))
    correlator.flush()
    assert correlator.in_flight == 0
