"""A call is a callback when one of our users' lines calls a number; the number is
normalised exactly as a missed caller's number is, so the two meet in the journal."""

from __future__ import annotations

import pytest

from missedcall.calls.record import Caller, CallRecord, Direction
from missedcall.config import parse_config
from missedcall.directory.users import Directory
from missedcall.journal.callbacks import callbacks_in

CONFIG = """
[numbering]
country = "DE"
area_code = "30"
did_prefix = "+4930555"
[[users]]
id = "anna"
lines = ["201", "202"]
[[users]]
id = "bernd"
lines = ["203"]
"""
DIRECTORY = Directory.from_config(parse_config(CONFIG))


def call(
    dialed: str,
    direction: Direction = "outbound",
    caller_number: str = "201",
    caller_line: str | None = "201",
) -> CallRecord:
    return CallRecord(
        call_id="1.1",
        started_at=1000.0,
        ended_at=1030.0,
        caller=Caller(caller_number, None, "allowed"),
        dialed=dialed,
        direction=direction,
        participants=(),
        answered_by=None,
        caller_line=caller_line,
    )


@pytest.mark.parametrize(
    ("dialed", "number"),
    [
        ("0891234567", "+49891234567"),  # national
        ("+49 89 1234567", "+49891234567"),
        ("0049891234567", "+49891234567"),
        ("1234567", "+49301234567"),  # local: the area code is added
        ("01701234567", "+491701234567"),
    ],
)
def test_an_outbound_call_by_a_users_line_is_a_callback_to_the_normalised_number(
    dialed: str, number: str
) -> None:
    assert callbacks_in(call(dialed), DIRECTORY) == [("anna", number)]


def test_the_callback_number_equals_the_normalised_number_of_the_missed_caller() -> None:
    missed_from = DIRECTORY.numbering.normalize("+49 (0)89 123-4567")
    assert callbacks_in(call("089/1234567"), DIRECTORY) == [("anna", missed_from)]


def test_any_of_a_users_lines_calls_back_for_the_user() -> None:
    assert callbacks_in(call("0891234567", caller_line="202"), DIRECTORY) == [
        ("anna", "+49891234567")
    ]


def test_an_internal_call_to_a_colleague_calls_the_colleague_back() -> None:
    record = call("203", direction="internal")
    assert callbacks_in(record, DIRECTORY) == [("anna", "203")]


def test_the_calling_line_is_found_from_the_number_when_the_record_does_not_name_it() -> None:
    record = call("0891234567", caller_number="+4930555203", caller_line=None)
    assert callbacks_in(record, DIRECTORY) == [("bernd", "+49891234567")]


def test_an_inbound_call_is_no_callback() -> None:
    record = call("4930555201", direction="inbound", caller_number="+49891234567", caller_line=None)
    assert callbacks_in(record, DIRECTORY) == []


def test_a_line_without_a_user_calls_back_for_nobody() -> None:
    assert callbacks_in(call("0891234567", caller_number="299", caller_line="299"), DIRECTORY) == []


@pytest.mark.parametrize("dialed", ["", "s", "*97", "anonymous"])
def test_what_is_not_a_number_is_no_callback(dialed: str) -> None:
    assert callbacks_in(call(dialed), DIRECTORY) == []


def test_a_callback_dialled_with_the_outside_line_prefix_matches_the_caller() -> None:
    from missedcall.config import parse_config
    from missedcall.directory.users import Directory as Dir

    config = parse_config(
        '[numbering]\ncountry = "DE"\narea_code = "30"\noutside_prefix = "0"\n'
        '[[users]]\nid = "anna"\nname = "Anna"\nlines = ["201"]\n'
    )
    numbering = Dir.from_config(config).numbering
    assert numbering.dialed("00891234567") == "+49891234567"  # 0 for the line, then 089...
    assert numbering.dialed("05552017") == "+49305552017"  # 0 for the line, then a local number
    assert numbering.dialed("0205") == numbering.normalize("0205")  # too short to be outside
