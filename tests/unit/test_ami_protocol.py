"""The sans-IO AMI parser: what it guarantees, proven on real Asterisk traces and hostile bytes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from missedcall.sources.ami.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    NEED_DATA,
    AmiParser,
    Banner,
    EventFilter,
    Frame,
    FrameError,
    Message,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "asterisk"
TRACES = sorted(FIXTURES.glob("*.ami"))
TRACE_IDS = [trace.stem for trace in TRACES]

CALL_EVENTS = EventFilter(
    wanted=frozenset({"Newchannel", "Newstate", "DialBegin", "DialEnd", "Hangup", "Pickup"}),
    conditional={"Newexten": (b"Application: VoiceMail",)},
)


def parse(
    data: bytes,
    chunks: Iterable[int] = (),
    *,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    event_filter: EventFilter | None = None,
) -> list[Frame]:
    """Every frame of ``data`` fed in pieces of the given sizes (the rest at once), then closed."""
    parser = AmiParser(max_frame_bytes=max_frame_bytes, event_filter=event_filter)
    frames: list[Frame] = []
    position = 0
    for size in chunks:
        frames += parser.feed(data[position : position + size])
        position += size
    frames += parser.feed(data[position:])
    cut_off = parser.close()
    return frames + ([cut_off] if cut_off is not None else [])


def parse_bytewise(
    data: bytes,
    *,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    event_filter: EventFilter | None = None,
) -> list[Frame]:
    return parse(data, [1] * len(data), max_frame_bytes=max_frame_bytes, event_filter=event_filter)


def messages(frames: Sequence[Frame]) -> list[Message]:
    return [frame for frame in frames if isinstance(frame, Message)]


def errors(frames: Sequence[Frame]) -> list[FrameError]:
    return [frame for frame in frames if isinstance(frame, FrameError)]


def comparable(frames: Sequence[Frame]) -> list[object]:
    """Frames as equal whatever the chunking: an oversized frame's size is only known whole."""
    return [frame.reason if isinstance(frame, FrameError) else frame for frame in frames]


def event_names(frames: Sequence[Frame]) -> list[str | None]:
    return [message.event for message in messages(frames)]


def trace(name: str) -> bytes:
    return (FIXTURES / f"{name}.ami").read_bytes()


# -- framing -----------------------------------------------------------------


@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_byte_at_a_time_gives_the_same_frames_as_the_whole_trace(path: Path) -> None:
    data = path.read_bytes()
    whole = parse(data)
    assert whole == parse_bytewise(data)
    assert not errors(whole)
    assert len(whole) == data.count(b"\r\n\r\n")


@settings(max_examples=60, deadline=None)
@given(
    path=st.sampled_from(TRACES),
    chunks=st.lists(st.integers(min_value=1, max_value=700), max_size=400),
    filtered=st.booleans(),
)
def test_any_chunking_gives_the_same_frames(path: Path, chunks: list[int], filtered: bool) -> None:
    data = path.read_bytes()
    event_filter = CALL_EVENTS if filtered else None
    assert parse(data, chunks, event_filter=event_filter) == parse(data, event_filter=event_filter)


@pytest.mark.parametrize("name", ["04-ringgroup-answered", "20-voicemail"])
def test_bare_lf_line_ends_give_the_same_frames_as_crlf(name: str) -> None:
    data = trace(name)
    bare = data.replace(b"\r\n", b"\n")
    assert parse(bare) == parse(data)
    assert parse_bytewise(bare) == parse(data)


def test_a_frame_is_an_event_a_response_or_neither() -> None:
    frames = parse(b"Event: Hangup\r\nCause: 16\r\n\r\nResponse: Success\r\n\r\nFoo: bar\r\n\r\n")
    assert [(m.event, m.response) for m in messages(frames)] == [
        ("Hangup", None),
        (None, "Success"),
        (None, None),
    ]


def test_stray_blank_lines_between_frames_are_not_frames() -> None:
    frames = parse(b"\r\n\r\nEvent: A\r\n\r\n\r\n\r\nEvent: B\r\n\r\n")
    assert event_names(frames) == ["A", "B"]
    assert not errors(frames)


# -- keys and values ---------------------------------------------------------


def test_keys_are_case_insensitive() -> None:
    message = next(m for m in messages(parse(trace("01-missed-direct"))) if m.event == "Newchannel")
    assert message.get("channel") == message.get("Channel") == message.get("CHANNEL")
    assert message.get("channel") is not None


def test_a_missing_key_gives_the_default() -> None:
    (message,) = messages(parse(b"Event: A\r\n\r\n"))
    assert message.get("Channel") is None
    assert message.get("Channel", "none") == "none"


def test_an_empty_value_is_an_empty_string() -> None:
    (message,) = messages(parse(b"Event: A\r\nAccountCode: \r\nLanguage:\r\n\r\n"))
    assert message.get("AccountCode") == ""
    assert message.get("Language") == ""


def test_repeated_keys_keep_every_value_in_order() -> None:
    data = b"Event: Newchannel\r\nVariable: a=1\r\nChannel: X\r\n"
    data += b"variable: b=2\r\nVariable: c=3\r\n\r\n"
    (message,) = messages(parse(data))
    assert message.get("Variable") == "a=1"
    assert message.get_all("variable") == ("a=1", "b=2", "c=3")
    assert message.get_all("Missing") == ()


def test_a_value_keeps_its_colons() -> None:
    (message,) = messages(parse(b"Event: A\r\nData: a:b: c\r\n\r\n"))
    assert message.get("Data") == "a:b: c"


def test_lines_without_a_colon_are_kept_as_free_lines() -> None:
    (message,) = messages(parse(b"Response: Follows\r\nsome output\r\n--END COMMAND--\r\n\r\n"))
    assert message.free_lines == ("some output", "--END COMMAND--")


@pytest.mark.parametrize(
    "text",
    [
        "Response: Success\r\nActionID: 7\r\n",
        "Response: Success\r\nActionID: 7\r",
        "Response: Success\nActionID: 7",
    ],
    ids=["crlf", "cut-before-last-line-feed", "bare-lf-no-end"],
)
def test_first_and_last_lines_are_found_however_the_text_ends(text: str) -> None:
    message = Message(text)
    assert message.get("Response") == message.get("response") == "Success"
    assert message.get("ActionID") == message.get("actionid") == "7"
    assert message.event is None
    assert message.encode() == b"Response: Success\r\nActionID: 7\r\n\r\n"


def test_a_key_inside_another_key_or_a_value_is_not_found() -> None:
    message = Message("Event: DialBegin\r\nDestChannel: PJSIP/201\r\nData: Channel: x\r\n")
    assert message.get("Channel") is None
    assert message.get("channel") is None
    assert message.get("DestChannel") == "PJSIP/201"


def test_encode_gives_back_a_wire_frame_that_parses_to_the_same_message() -> None:
    original = Message.from_pairs([("Action", "Ping"), ("ActionID", "7")])
    assert original.encode() == b"Action: Ping\r\nActionID: 7\r\n\r\n"
    assert messages(parse(original.encode())) == [original]


# -- bytes that are not UTF-8 ------------------------------------------------


def test_invalid_utf8_is_replaced_not_lost() -> None:
    (message,) = messages(parse(b"Event: A\r\nCallerIDName: M\xfcller \xff\r\n\r\n"))
    assert message.get("CallerIDName") == "M\ufffdller \ufffd"


def test_a_multibyte_character_split_across_reads_is_decoded_whole() -> None:
    data = "Event: A\r\nCallerIDName: Jürgen 東京\r\n\r\n".encode()
    split_inside_u_umlaut = data.index("ü".encode()) + 1
    for frames in (parse(data, [split_inside_u_umlaut]), parse_bytewise(data)):
        (message,) = messages(frames)
        assert message.get("CallerIDName") == "Jürgen 東京"


# -- size bound, garbage, truncation ------------------------------------------

OVERSIZED = b"Event: Big\r\nData: " + b"x" * 200 + b"\r\n\r\n"
NEXT = b"Event: Next\r\nKey: value\r\n\r\n"


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("event_filter", [None, EventFilter(wanted=frozenset({"Big", "Next"}))])
def test_an_oversized_frame_is_one_error_and_the_next_frame_parses(
    bytewise: bool, event_filter: EventFilter | None
) -> None:
    data = OVERSIZED + NEXT
    chunks = [1] * len(data) if bytewise else []
    frames = parse(data, chunks, max_frame_bytes=64, event_filter=event_filter)
    assert [error.reason for error in errors(frames)] == ["frame exceeds 64 bytes; skipped"]
    assert messages(frames) == messages(parse(NEXT))
    assert isinstance(frames[0], FrameError)


@pytest.mark.parametrize("line_end", [b"\r\n", b"\n"])
def test_a_frame_of_exactly_the_size_bound_is_accepted_in_any_chunking(line_end: bytes) -> None:
    frame = b"Event: A" + line_end + b"Data: "
    frame += b"x" * (64 - len(frame) - len(line_end)) + line_end
    assert len(frame) == 64
    data = frame + line_end + NEXT
    for frames in (parse(data, max_frame_bytes=64), parse_bytewise(data, max_frame_bytes=64)):
        assert event_names(frames) == ["A", "Next"]


def test_an_unwanted_oversized_event_is_filtered_not_an_error_in_any_chunking() -> None:
    data = OVERSIZED + NEXT
    wanted = EventFilter(wanted=frozenset({"Next"}))
    for chunks in ([], [1] * len(data), [7] * 40, [70]):
        parser = AmiParser(max_frame_bytes=64, event_filter=wanted)
        frames: list[Frame] = []
        position = 0
        for size in [*chunks, len(data)]:
            frames += parser.feed(data[position : position + size])
            position += size
        assert frames == messages(parse(NEXT)), chunks
        assert (parser.stats.frames, parser.stats.filtered, parser.stats.errors) == (1, 1, 0)


def test_an_event_line_inside_an_oversized_frame_does_not_swallow_the_next_frame() -> None:
    # The read ends just after "Ev" inside the oversized frame, so the parser's
    # buffer then starts with "Event: Inner": that line is no frame head.
    oversized = b"Event: Big\r\nData: " + b"x" * 100 + b"\r\nEvent: Inner\r\n\r\n"
    data = oversized + NEXT
    cut = oversized.index(b"Event: Inner") + 2
    wanted = EventFilter(wanted=frozenset({"Big", "Next"}))
    frames = parse(data, [cut], max_frame_bytes=64, event_filter=wanted)
    assert len(errors(frames)) == 1
    assert event_names(frames) == ["Next"]


def test_garbage_between_frames_is_an_error_and_parsing_resumes() -> None:
    data = b"Event: A\r\n\r\nthis is not AMI\r\nnor this\r\n\r\nEvent: B\r\n\r\n"
    for frames in (parse(data), parse_bytewise(data)):
        assert event_names(frames) == ["A", "B"]
        (error,) = errors(frames)
        assert error.reason == "no 'Key: Value' line in frame"
        assert b"this is not AMI" in error.preview
        assert "this is not AMI" in error.describe()


def test_a_stream_cut_off_mid_frame_is_reported_on_close() -> None:
    parser = AmiParser()
    assert event_names(parser.feed(b"Event: A\r\n\r\nEvent: B\r\nChannel: X")) == ["A"]
    error = parser.close()
    assert error is not None
    assert error.reason == "truncated frame at end of stream"
    assert error.preview.startswith(b"Event: B")
    assert parser.stats.errors == 1


def test_a_stream_ending_on_a_frame_boundary_closes_cleanly() -> None:
    parser = AmiParser()
    parser.feed(b"Event: A\r\n\r\n")
    assert parser.close() is None


def test_next_frame_asks_for_data_until_a_frame_is_complete() -> None:
    parser = AmiParser(expect_banner=False)
    parser.receive_data(b"Event: A\r\n")
    assert parser.next_frame() is NEED_DATA
    parser.receive_data(b"\r\n")
    frame = parser.next_frame()
    assert isinstance(frame, Message)
    assert frame.event == "A"
    assert parser.next_frame() is NEED_DATA


# -- banner ------------------------------------------------------------------


def test_the_banner_is_recognised_even_split_across_reads() -> None:
    data = b"Asterisk Call Manager/13.0.0\r\nResponse: Success\r\n\r\n"
    for frames in (parse(data), parse(data, [9, 9]), parse_bytewise(data)):
        assert frames[0] == Banner("Asterisk Call Manager/13.0.0")
        assert isinstance(frames[0], Banner)
        assert frames[0].version == "13.0.0"
        assert [m.response for m in messages(frames)] == ["Success"]


def test_a_stream_without_a_banner_parses_from_its_first_frame() -> None:
    data = trace("01-missed-direct")
    frames = parse(data)
    assert not any(isinstance(frame, Banner) for frame in frames)
    assert messages(frames)[0].response == "Success"


def test_a_banner_is_only_a_banner_at_the_start() -> None:
    data = b"Event: A\r\n\r\nAsterisk Call Manager/13.0.0\r\nEvent: B\r\n\r\n"
    frames = parse(data)
    assert not any(isinstance(frame, Banner) for frame in frames)
    assert event_names(frames) == ["A", "B"]
    assert messages(frames)[1].free_lines == ("Asterisk Call Manager/13.0.0",)


# -- event filter ------------------------------------------------------------


@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_the_filter_keeps_exactly_the_wanted_events_and_every_non_event(path: Path) -> None:
    data = path.read_bytes()
    unfiltered = messages(parse(data))
    expected = [
        message
        for message in unfiltered
        if message.event is None or CALL_EVENTS.accepts(message.event, message.encode())
    ]
    assert messages(parse(data, event_filter=CALL_EVENTS)) == expected
    assert messages(parse_bytewise(data, event_filter=CALL_EVENTS)) == expected


def test_filtered_events_never_come_out_and_wanted_ones_all_do() -> None:
    data = b"".join(trace(path.stem) for path in TRACES)
    kept = event_names(parse(data, event_filter=CALL_EVENTS))
    assert {name for name in kept if name is not None} <= CALL_EVENTS.event_names()
    everything = event_names(parse(data))
    for name in CALL_EVENTS.wanted:
        assert kept.count(name) == everything.count(name)
    assert "VarSet" in everything
    assert "VarSet" not in kept


def test_a_conditional_event_passes_only_when_its_needle_is_in_the_frame() -> None:
    data = trace("20-voicemail")
    kept = [m for m in messages(parse(data, event_filter=CALL_EVENTS)) if m.event == "Newexten"]
    every = [m for m in messages(parse(data)) if m.event == "Newexten"]
    assert kept
    assert len(kept) < len(every)
    assert all(m.get("Application") == "VoiceMail" for m in kept)
    assert kept == [m for m in every if m.get("Application") == "VoiceMail"]


@pytest.mark.parametrize("blank_lines", [1, 2, 3])
@pytest.mark.parametrize("event_filter", [None, CALL_EVENTS], ids=["unfiltered", "filtered"])
def test_stray_blank_lines_between_frames_give_the_same_frames_in_any_chunking(
    blank_lines: int, event_filter: EventFilter | None
) -> None:
    frames = [
        b"Event: Hangup\r\nUniqueid: 1\r\n\r\n",
        b"Event: Newexten\r\nApplication: VoiceMail\r\n\r\n",
        b"Response: Success\r\nActionID: 2\r\n\r\n",
        b"Event: VarSet\r\nValue: x\r\n\r\n",
        b"Event: Hangup\r\nUniqueid: 3\r\n\r\n",
    ]
    data = (b"\r\n" * blank_lines).join(frames)
    whole = parse(data, event_filter=event_filter)
    values = [
        m.get("Uniqueid") or m.get("ActionID") or m.get("Application") for m in messages(whole)
    ]
    # A frame starting with a blank line has no head line to judge it by: it is decoded.
    assert [value for value in values if value] == ["1", "VoiceMail", "2", "3"]
    for cut in range(1, len(data)):
        assert parse(data, [cut], event_filter=event_filter) == whole, cut
    assert parse_bytewise(data, event_filter=event_filter) == whole


def test_a_needle_is_a_loose_test_the_consumer_checks_the_value() -> None:
    data = (
        b"Event: Newexten\r\nApplication: VoiceMailMain\r\n\r\n"
        b"Event: Newexten\r\nApplication: Dial\r\n\r\n"
        b"Event: Newexten\r\nApplication: VoiceMail\r\n\r\n"
    )
    for frames in (
        parse(data, event_filter=CALL_EVENTS),
        parse_bytewise(data, event_filter=CALL_EVENTS),
    ):
        assert [m.get("Application") for m in messages(frames)] == ["VoiceMailMain", "VoiceMail"]


def test_names_sharing_their_first_bytes_each_keep_their_own_conditions() -> None:
    sharing = EventFilter(
        wanted=frozenset({"DialEnd"}),
        conditional={"DialState": (b"RINGING",), "DialOut": (b"X", b"Y"), "Never": ()},
    )
    data = b"".join(
        b"Event: %s\r\nValue: %s\r\n\r\n" % (name, value)
        for name, value in [
            (b"DialEnd", b"-"),
            (b"DialState", b"RINGING"),
            (b"DialState", b"PROGRESS"),
            (b"DialOut", b"Y"),
            (b"DialOut", b"Z"),
            (b"DialEndX", b"-"),
            (b"Never", b"-"),
        ]
    )
    expected = [("DialEnd", "-"), ("DialState", "RINGING"), ("DialOut", "Y")]
    for frames in (parse(data, event_filter=sharing), parse_bytewise(data, event_filter=sharing)):
        assert [(m.event, m.get("Value")) for m in messages(frames)] == expected
    assert not sharing.accepts("Never", b"Event: Never\r\n")


def test_the_filter_names_the_events_to_ask_the_server_for() -> None:
    assert CALL_EVENTS.event_names() == CALL_EVENTS.wanted | {"Newexten"}


def test_an_event_name_that_extends_a_wanted_one_is_not_wanted() -> None:
    data = b"Event: HangupRequest\r\n\r\nEvent: Hangup\r\n\r\n"
    only_hangup = EventFilter(wanted=frozenset({"Hangup"}))
    for frames in (
        parse(data, event_filter=only_hangup),
        parse_bytewise(data, event_filter=only_hangup),
    ):
        assert event_names(frames) == ["Hangup"]


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(st.integers(min_value=1, max_value=300), max_size=300))
def test_filtered_results_are_the_same_in_any_chunking(chunks: list[int]) -> None:
    data = trace("07-queue-rrmemory-missed")
    expected = parse(data, event_filter=CALL_EVENTS)
    assert parse(data, chunks, event_filter=CALL_EVENTS) == expected


@pytest.mark.parametrize(
    "garbage",
    [
        b"Event: Nope\r\nData: " + b"y" * 300 + b"\r\n\r\n",
        b"Event: Nope" + b"z" * 300 + b"\r\n\r\n",
        b"Asterisk Call Manager/" + b"q" * 300 + b"\r\n\r\n",
        b"\xff\xfe garbage\r\n\r\n",
    ],
    ids=["oversized-unwanted", "long-head-line", "long-banner-like-line", "binary"],
)
def test_hostile_input_gives_the_same_result_in_any_chunking(garbage: bytes) -> None:
    data = garbage + b"Event: Hangup\r\nCause: 16\r\n\r\n"
    for event_filter in (None, CALL_EVENTS):
        whole = parse(data, max_frame_bytes=64, event_filter=event_filter)
        for chunks in ([1] * len(data), [2] * len(data), [5, 60, 3]):
            assert comparable(
                parse(data, chunks, max_frame_bytes=64, event_filter=event_filter)
            ) == (comparable(whole))
        assert event_names(whole)[-1] == "Hangup"


# -- statistics --------------------------------------------------------------


@pytest.mark.parametrize("path", TRACES, ids=TRACE_IDS)
def test_stats_count_every_frame_once(path: Path) -> None:
    data = path.read_bytes()
    all_frames = messages(parse(data))
    events = [m for m in all_frames if m.event is not None]
    unwanted = [m for m in events if not CALL_EVENTS.accepts(m.event or "", m.encode())]
    for chunks in ([], [1] * len(data)):
        parser = AmiParser(event_filter=CALL_EVENTS)
        position = 0
        for size in [*chunks, len(data)]:
            parser.feed(data[position : position + size])
            position += size
        stats = parser.stats
        assert stats.errors == 0
        assert stats.bytes == len(data)
        assert stats.filtered == len(unwanted)
        assert stats.frames + stats.filtered == len(all_frames)
