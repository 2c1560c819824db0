"""The correlator on scripted PBX behaviour shaped like real installations.

The recorded lab traces (see tests/integration/test_calls_cli.py) use Local
channels as phones; these scripts put PJSIP channels at the leaves and Local
channels as hops in between, as FreePBX and most real dialplans do.
"""

from __future__ import annotations

import pytest

from missedcall.calls.asterisk import AsteriskCorrelator, device_base, resource_of
from missedcall.calls.lines import LineMap, ResourceNames
from missedcall.calls.record import CallRecord
from missedcall.sources.markers import ConnectionLost, Received, Resync
from tests.support.lines import LabLines
from tests.support.pbx import Pbx


def correlate(pbx: Pbx, lines: LineMap | None = None) -> list[CallRecord]:
    correlator = AsteriskCorrelator(lines or LabLines())
    records = [r for m in pbx.messages for r in correlator.feed(m)]
    assert correlator.in_flight == 0, "every scripted call ends"
    assert correlator.channels_in_flight == 0
    return records


def only(records: list[CallRecord]) -> CallRecord:
    assert len(records) == 1, records
    return records[0]


def lines_of(record: CallRecord) -> list[str]:
    return [p.line for p in record.participants]


def test_direct_call_to_a_sip_phone_is_missed_with_its_ring_time() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    phone = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, phone)
    pbx.wait(12.5)
    pbx.dial_end(trunk, phone, "CANCEL")
    pbx.hangup(phone, trunk)

    record = only(correlate(pbx))
    assert record.direction == "inbound"
    assert record.dialed == "+4930555201"
    assert record.caller.number == "+49891234567"
    assert lines_of(record) == ["201"]
    assert record.participants[0].ring_seconds == pytest.approx(12.5)
    assert record.answered_by is None


def test_ring_group_through_local_hops_counts_only_the_leaves() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("4930555600", "+49891234567")
    trunk.exten = "600"
    legs = []
    for line in ("201", "202", "203"):
        hop, hop2 = pbx.dial_local(trunk, f"{line}@from-internal")
        hop2.exten = line
        leaf = pbx.dial(hop2, f"PJSIP/{line}")
        legs.append((hop, hop2, leaf))
    for hop, hop2, leaf in legs:
        pbx.ringing(hop2, leaf)
        pbx.ringing(trunk, hop)
    pbx.wait(4)
    hop, hop2, leaf = legs[1]
    pbx.answer(hop2, leaf)
    pbx.answer(trunk, hop)
    for other_hop, other_hop2, other_leaf in (legs[0], legs[2]):
        pbx.dial_end(trunk, other_hop, "CANCEL")
        pbx.hangup(other_leaf, other_hop, other_hop2, cause="26")
    pbx.wait(30)
    pbx.hangup(leaf, hop, hop2, trunk)

    record = only(correlate(pbx))
    assert lines_of(record) == ["201", "202", "203"]
    assert record.answered_by == "202"
    answered = {p.line: p.answered for p in record.participants}
    assert answered == {"201": False, "202": True, "203": False}
    assert record.forwards == ()
    assert all(p.ring_seconds == pytest.approx(4) for p in record.participants)


def test_a_hop_named_after_a_line_that_forwards_elsewhere_is_not_that_line_ringing() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("4930555600", "+49891234567")
    trunk.exten = "600"
    hop, hop2 = pbx.dial_local(trunk, "201@from-internal")
    hop2.exten = "201"  # 201 forwards unconditionally to 202
    leaf = pbx.dial(hop2, "PJSIP/202")
    pbx.ringing(hop2, leaf)
    pbx.ringing(trunk, hop)
    pbx.wait(20)
    pbx.hangup(trunk, hop, hop2, leaf)

    record = only(correlate(pbx))
    assert lines_of(record) == ["202"]
    assert [(f.from_line, f.to_line, f.kind) for f in record.forwards] == [
        ("201", "202", "forward")
    ]


def test_unconditional_forward_from_a_macro_is_seen_from_the_dialled_line() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    pbx.goto(trunk, "s", "Macro", "dial-one")  # FreePBX macros run in exten 's'
    hop, hop2 = pbx.dial_local(trunk, "202@from-internal")
    hop2.exten = "s"
    leaf = pbx.dial(hop2, "PJSIP/202")
    pbx.ringing(hop2, leaf)
    pbx.ringing(trunk, hop)
    pbx.wait(15)
    pbx.hangup(trunk, hop, hop2, leaf)

    record = only(correlate(pbx))
    assert lines_of(record) == ["202"]
    assert [(f.from_line, f.to_line) for f in record.forwards] == [("201", "202")]


def test_forward_on_busy_lists_the_busy_line_and_the_target() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    trunk.exten = "201"
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.dial_end(trunk, desk, "BUSY")
    pbx.hangup(desk, cause="17")
    pbx.goto(trunk, "202")
    other = pbx.dial(trunk, "PJSIP/202")
    pbx.ringing(trunk, other)
    pbx.wait(10)
    pbx.hangup(trunk, other)

    record = only(correlate(pbx))
    assert record.busy == ("201",)
    assert lines_of(record) == ["202"]
    assert [(f.from_line, f.to_line) for f in record.forwards] == [("201", "202")]


def test_parallel_ringing_of_desk_and_mapped_mobile_is_one_participant() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    trunk.exten = "201"
    desk = pbx.dial(trunk, "PJSIP/201")
    mobile = pbx.dial(trunk, "PJSIP/trunk", dialstring="01701234567@trunk")
    pbx.ringing(trunk, mobile)
    pbx.wait(0.4)
    pbx.ringing(trunk, desk)
    pbx.wait(20)
    pbx.hangup(trunk, desk, mobile)

    record = only(correlate(pbx))
    assert lines_of(record) == ["201"]
    participant = record.participants[0]
    assert participant.ring_seconds == pytest.approx(20.4)
    assert participant.last_alert_at - participant.first_alert_at == pytest.approx(0.4)
    assert record.forwards == ()


def test_an_unmapped_trunk_leg_is_not_a_participant() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555203", "+49891234567")
    trunk.exten = "203"
    out = pbx.dial(trunk, "PJSIP/trunk", dialstring="01609999999@trunk")
    pbx.ringing(trunk, out)
    pbx.wait(5)
    pbx.hangup(trunk, out)

    assert only(correlate(pbx)).participants == ()


def test_queue_rings_members_in_turn_and_counts_each_line_once() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555620", "+49891234567")
    trunk.exten = "620"
    pbx.state(trunk, "Up")  # Answer() before Queue(): not a line answering
    for line in ("201", "202", "201"):
        hop, hop2 = pbx.dial_local(trunk, f"{line}@from-queue")
        leaf = pbx.dial(hop2, f"PJSIP/{line}")
        pbx.ringing(hop2, leaf)
        pbx.ringing(trunk, hop)
        pbx.wait(5)
        pbx.dial_end(trunk, hop, "NOANSWER")
        pbx.hangup(leaf, hop, hop2, cause="0")
        pbx.wait(1)
    pbx.hangup(trunk)

    record = only(correlate(pbx))
    assert lines_of(record) == ["201", "202"]
    assert record.participant("201").ring_seconds == pytest.approx(10)  # type: ignore[union-attr]
    assert record.answered_by is None


def test_queue_member_answering_is_the_answering_line() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555620", "+49891234567")
    trunk.exten = "620"
    pbx.state(trunk, "Up")
    member = pbx.dial(trunk, "PJSIP/203")
    pbx.ringing(trunk, member)
    pbx.wait(3)
    pbx.answer(trunk, member)
    pbx.wait(60)
    pbx.hangup(member, trunk)

    record = only(correlate(pbx))
    assert record.answered_by == "203"
    assert record.participant("203").answered  # type: ignore[union-attr]


def test_voicemail_taking_the_call_is_not_an_answer() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    trunk.exten = "201"
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.wait(15)
    pbx.dial_end(trunk, desk, "NOANSWER")
    pbx.hangup(desk)
    pbx.goto(trunk, "201", "VoiceMail", "201@default,u")
    pbx.state(trunk, "Up")
    pbx.wait(20)
    pbx.hangup(trunk)

    record = only(correlate(pbx))
    assert record.voicemail is True
    assert record.answered_by is None
    assert not record.participants[0].answered


def test_pickup_by_another_phone_records_who_took_it_from_whom() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    trunk.exten = "201"
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.wait(4)
    picker = pbx.channel("PJSIP/204", caller="204", name="Dora", exten="**201")
    pbx.state(picker, "Up")
    pbx.pickup(picker, desk)
    pbx.hangup(desk, cause="26")
    pbx.dial_end(trunk, picker, "ANSWER")
    pbx.move(picker, trunk.linkedid)
    pbx.wait(30)
    pbx.hangup(picker, trunk)

    record = only(correlate(pbx))  # the picker's own call is folded in
    assert record.pickup is not None
    assert (record.pickup.by, record.pickup.from_line) == ("204", "201")
    assert record.answered_by == "204"
    assert lines_of(record) == ["201"]
    assert not record.participants[0].answered
    assert record.caller.number == "+49891234567"


def test_blind_transfer_after_answer_is_a_transfer_the_target_can_miss() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    trunk.exten = "201"
    anna = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, anna)
    pbx.wait(2)
    pbx.answer(trunk, anna)
    pbx.wait(10)
    pbx.blind_transfer(anna, trunk, "202")
    pbx.hangup(anna)
    pbx.goto(trunk, "202")
    bernd = pbx.dial(trunk, "PJSIP/202")
    pbx.ringing(trunk, bernd)
    pbx.wait(20)
    pbx.hangup(trunk, bernd)

    record = only(correlate(pbx))
    assert lines_of(record) == ["201", "202"]
    assert record.answered_by == "201"
    assert not record.participant("202").answered  # type: ignore[union-attr]
    assert [(f.from_line, f.to_line, f.kind) for f in record.forwards] == [
        ("201", "202", "transfer")
    ]


def test_attended_transfer_joins_the_target_to_the_original_call() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    trunk.exten = "201"
    anna = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, anna)
    pbx.answer(trunk, anna)
    pbx.wait(5)
    consult = pbx.channel("PJSIP/201", caller="201", name="Anna", exten="202")
    bernd = pbx.dial(consult, "PJSIP/202")
    pbx.ringing(consult, bernd)
    pbx.wait(3)
    pbx.answer(consult, bernd)
    pbx.wait(5)
    pbx.attended_transfer(anna, consult, bernd)
    pbx.move(bernd, trunk.linkedid)
    pbx.hangup(anna, consult)
    pbx.wait(30)
    pbx.hangup(bernd, trunk)

    consult_record, original = correlate(pbx)
    assert consult_record.direction == "internal"
    assert consult_record.answered_by == "202"
    assert original.answered_by == "201"
    assert lines_of(original) == ["201"]
    assert [(f.from_line, f.to_line, f.kind) for f in original.forwards] == [
        ("201", "202", "transfer")
    ]


def test_blonde_transfer_moves_the_still_ringing_target_into_the_original_call() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    trunk.exten = "201"
    anna = pbx.dial(trunk, "PJSIP/201")
    pbx.answer(trunk, anna)
    pbx.wait(5)
    consult = pbx.channel("PJSIP/201", caller="201", exten="202")
    bernd = pbx.dial(consult, "PJSIP/202")
    pbx.ringing(consult, bernd)
    pbx.wait(2)
    pbx.attended_transfer(anna, consult, bernd)
    pbx.move(bernd, trunk.linkedid)
    pbx.hangup(anna, consult)
    pbx.wait(18)
    pbx.hangup(trunk, bernd)

    records = correlate(pbx)
    original = records[-1]
    assert original.call_id == trunk.linkedid
    bernd_part = original.participant("202")
    assert bernd_part is not None and not bernd_part.answered
    assert bernd_part.ring_seconds == pytest.approx(18)
    assert ("201", "202", "transfer") in [
        (f.from_line, f.to_line, f.kind) for f in original.forwards
    ]


def test_redirect_answer_of_a_dial_is_a_forward() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555205", "+49891234567")
    trunk.exten = "205"
    desk = pbx.dial(trunk, "PJSIP/205")
    pbx.dial_end(trunk, desk, "CANCEL", Forward="PJSIP/203")
    pbx.hangup(desk)
    other = pbx.dial(trunk, "PJSIP/203")
    pbx.ringing(trunk, other)
    pbx.wait(9)
    pbx.hangup(trunk, other)

    record = only(correlate(pbx))
    assert ("205", "203") in [(f.from_line, f.to_line) for f in record.forwards]


def test_restricted_presentation_on_the_trunk_is_reported_though_the_number_shows() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "<unknown>")
    pbx.callerid(trunk, "+49891234567", presentation=33)
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.wait(5)
    pbx.hangup(trunk, desk)

    record = only(correlate(pbx))
    assert record.caller.number == "+49891234567"
    assert record.caller.presentation == "restricted"


@pytest.mark.parametrize("number", ["anonymous", "Restricted", "unavailable"])
def test_placeholder_numbers_are_restricted_presentation(number: str) -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", number)
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.hangup(trunk, desk)
    assert only(correlate(pbx)).caller.presentation == "restricted"


def test_outbound_call_from_a_line_has_no_participants() -> None:
    pbx = Pbx()
    anna = pbx.channel("PJSIP/201", caller="201", name="Anna", exten="0891234567")
    out = pbx.dial(anna, "PJSIP/trunk", dialstring="0891234567@trunk")
    pbx.ringing(anna, out)
    pbx.answer(anna, out)
    pbx.wait(60)
    pbx.hangup(out, anna)

    record = only(correlate(pbx))
    assert record.direction == "outbound"
    assert record.caller_line == "201"
    assert record.dialed == "0891234567"
    assert record.participants == ()


def test_internal_call_between_lines_is_internal() -> None:
    pbx = Pbx()
    bernd = pbx.channel("PJSIP/202", caller="202", name="Bernd", exten="201")
    anna = pbx.dial(bernd, "PJSIP/201")
    pbx.ringing(bernd, anna)
    pbx.wait(8)
    pbx.hangup(bernd, anna)

    record = only(correlate(pbx))
    assert record.direction == "internal"
    assert lines_of(record) == ["201"]


def test_caller_name_equal_to_the_number_carries_no_name() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567", name="+49891234567")
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.hangup(trunk, desk)
    assert only(correlate(pbx)).caller.name is None


def test_events_without_timestamp_use_the_time_the_source_read_them() -> None:
    pbx = Pbx(timestamps=False)
    trunk = pbx.inbound("+4930555201", "+49891234567")
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.hangup(trunk, desk)
    correlator = AsteriskCorrelator(LabLines())
    received = [1000.0, 1000.0, 1000.1, 1000.2, 1000.2, 1007.0, 1007.0]
    assert len(received) == len(pbx.messages)
    records = [
        r
        for m, t in zip(pbx.messages, received, strict=True)
        for r in correlator.feed(Received(m, t))
    ]
    record = only(records)
    assert record.started_at == 1000.0
    assert record.participants[0].ring_seconds == pytest.approx(6.8)


def test_a_call_in_flight_across_a_gap_is_incomplete_with_what_was_seen() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.wait(3)
    pbx.callerid(trunk, "+49891234567")  # the last thing seen before the connection drops
    correlator = AsteriskCorrelator(LabLines())
    assert all(correlator.feed(m) == [] for m in pbx.messages)
    assert correlator.feed(ConnectionLost(pbx.now + 1, "reset")) == []
    record = only(correlator.feed(Resync(pbx.now + 30, ())))
    assert record.incomplete
    assert record.participants[0].ring_seconds == pytest.approx(3)  # not guessed beyond
    assert record.ended_at == pytest.approx(pbx.now)
    assert correlator.in_flight == 0


def test_a_call_still_alive_after_a_gap_ends_later_flagged_incomplete() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    correlator = AsteriskCorrelator(LabLines())
    for message in pbx.messages:
        correlator.feed(message)
    alive = tuple(pbx.emit("CoreShowChannel", c.snapshot()) for c in (trunk, desk))
    correlator.feed(ConnectionLost(pbx.now, "reset"))
    assert correlator.feed(Resync(pbx.now + 2, alive)) == []
    pbx.messages.clear()
    pbx.wait(10)
    pbx.hangup(trunk, desk)
    record = only([r for m in pbx.messages for r in correlator.feed(m)])
    assert record.incomplete
    assert lines_of(record) == ["201"]


def test_channels_first_seen_at_resync_make_an_incomplete_call() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    pbx.messages.clear()
    correlator = AsteriskCorrelator(LabLines())
    assert (
        correlator.feed(Resync(pbx.now, (Pbx().emit("CoreShowChannel", trunk.snapshot()),))) == []
    )
    pbx.hangup(trunk)
    record = only([r for m in pbx.messages for r in correlator.feed(m)])
    assert record.incomplete


def test_a_call_that_never_ends_expires_as_incomplete_and_frees_its_state() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.wait(7200)
    later = pbx.inbound("+4930555202", "+49891234599")
    correlator = AsteriskCorrelator(LabLines(), max_call_age=3600)
    records = [r for m in pbx.messages for r in correlator.feed(m)]
    record = only(records)
    assert record.call_id == trunk.linkedid
    assert record.incomplete
    assert correlator.in_flight == 1  # only the later call
    assert correlator.channels_in_flight == 1
    assert later.linkedid != trunk.linkedid


def test_events_of_an_ended_call_do_not_resurrect_it() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.hangup(trunk, desk)
    pbx.emit("Newstate", desk.snapshot())
    correlator = AsteriskCorrelator(LabLines())
    assert len([r for m in pbx.messages for r in correlator.feed(m)]) == 1
    assert correlator.in_flight == 0


def test_events_for_unknown_channels_never_crash_and_are_reported_incomplete() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    desk = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, desk)
    pbx.hangup(trunk, desk)
    correlator = AsteriskCorrelator(LabLines())
    records = [r for m in pbx.messages[2:] for r in correlator.feed(m)]  # missed the start
    assert only(records).incomplete


def test_without_a_directory_device_names_are_lines_and_feature_codes_are_not() -> None:
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567")
    desk = pbx.dial(trunk, "PJSIP/anna-desk")
    pbx.ringing(trunk, desk)
    pbx.wait(3)
    picker = pbx.channel("PJSIP/204", caller="204", exten="**201")
    pbx.pickup(picker, desk)
    pbx.hangup(desk, picker, trunk)
    record = only(correlate(pbx, ResourceNames()))
    assert lines_of(record) == ["anna-desk"]
    assert record.pickup is not None and record.pickup.by == "204"


@pytest.mark.parametrize(
    ("name", "base", "resource"),
    [
        ("PJSIP/201-0000000a", "PJSIP/201", "201"),
        ("Local/201@phones-00000003;1", "Local/201@phones", "201"),
        ("Local/01701234567@mobile-00000057;2", "Local/01701234567@mobile", "01701234567"),
        ("SIP/anna-desk-00000001", "SIP/anna-desk", "anna-desk"),
        ("PJSIP/trunk", "PJSIP/trunk", "trunk"),
    ],
)
def test_device_names_lose_their_sequence_suffix(name: str, base: str, resource: str) -> None:
    assert device_base(name) == base
    assert resource_of(name) == resource
