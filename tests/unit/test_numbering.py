"""Numbers in every form a PBX signals them become one canonical form, and never raise."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from missedcall.directory.numbering import Numbering

BERLIN = Numbering(country="DE", area_code="30", did_prefix="+4930555", internal_max_digits=4)
LAB = Numbering(country="DE", area_code="30", did_prefix="+4930555")
NOWHERE = Numbering()


@pytest.mark.parametrize(
    ("number", "normal"),
    [
        ("+49891234567", "+49891234567"),  # international
        ("+49 89 1234567", "+49891234567"),
        ("+49 (0)89 123-4567", "+49891234567"),  # the (0) people write
        ("0049891234567", "+49891234567"),  # international with 00
        ("0891234567", "+49891234567"),  # national
        ("089/1234567", "+49891234567"),
        ("01701234567", "+491701234567"),
        ("555201", "+4930555201"),  # local: the area code is added
        ("4930555201", "+4930555201"),  # bare country code, as some trunks send it
        ("+16502530000", "+16502530000"),  # another country
        ("0016502530000", "+16502530000"),
        ("201", "201"),  # internal extension
        (" 201 ", "201"),
        ("2010", "2010"),
        ("anonymous", "anonymous"),  # not a number: unchanged
        ("", ""),
        ("<unknown>", "<unknown>"),
        ("+", "+"),
        ("sip:201@pbx", "sip:201@pbx"),
        ("١٢٣", "١٢٣"),  # digits of another script are not digits here
        ("+999999", "+999999"),  # no such country code: kept, cleaned
    ],
)
def test_normalize(number: str, normal: str) -> None:
    assert BERLIN.normalize(number) == normal


def test_short_digit_strings_are_extensions_up_to_internal_max_digits() -> None:
    assert LAB.normalize("555201") == "555201"  # six digits: an extension by default
    assert BERLIN.normalize("55520") == "+493055520"  # five digits with a limit of four


def test_without_area_code_national_significant_digits_are_read_as_national() -> None:
    munich = Numbering(country="DE", internal_max_digits=4)
    assert munich.normalize("891234567") == "+49891234567"


def test_without_country_only_international_forms_are_normalised() -> None:
    assert NOWHERE.normalize("+49 89 1234567") == "+49891234567"
    assert NOWHERE.normalize("0049891234567") == "+49891234567"
    assert NOWHERE.normalize("0891234567") == "0891234567"


def test_us_national_forms() -> None:
    us = Numbering(country="US", area_code="650", internal_max_digits=4)
    assert us.normalize("16502530000") == "+16502530000"
    assert us.normalize("011 49 89 1234567") == "+49891234567"
    assert us.normalize("2530000") == "+16502530000"


@pytest.mark.parametrize(
    ("number", "line"),
    [
        ("201", "201"),
        ("+4930555201", "201"),
        ("4930555201", "201"),
        ("004930555201", "201"),
        ("030 555201", "201"),
        ("+4930555209", None),  # a DID without a line
        ("+4989555201", None),  # another city
        ("209", None),
        ("anonymous", None),
    ],
)
def test_line_of(number: str, line: str | None) -> None:
    assert LAB.line_of(number, frozenset({"201", "202"})) == line


def test_line_of_without_did_prefix_finds_only_lines_written_as_such() -> None:
    plain = Numbering(country="DE", area_code="30")
    assert plain.line_of("201", frozenset({"201"})) == "201"
    assert plain.line_of("+4930555201", frozenset({"201"})) is None


@pytest.mark.parametrize(
    ("number", "pattern", "matches"),
    [
        ("+49897771234", "+4989777*", True),
        ("0897771234", "+4989777*", True),
        ("0049897771234", "089777*", True),
        ("+49897781234", "+4989777*", False),
        ("01701234567", "0170*", True),
        ("+491701234567", "+49 170*", True),
        ("299", "299", True),
        ("2990", "299", False),
        ("201", "2*", True),
        ("+4930555201", "2*", False),  # a public number is not an extension prefix
        ("0891234567", "+49891234567", True),
        ("+49891234567", "089 1234567", True),
        ("anonymous", "+49*", False),
        ("", "*", False),
    ],
)
def test_matches_excluded_numbers(number: str, pattern: str, matches: bool) -> None:
    assert BERLIN.matches(number, pattern) is matches


@pytest.mark.parametrize(
    ("number", "dialable", "display"),
    [
        ("0891234567", "+49891234567", "+49 89 1234567"),
        ("201", "201", "201"),
        ("anonymous", "", "anonymous"),
        ("+999999", "+999999", "+999999"),
    ],
)
def test_dialable_and_display(number: str, dialable: str, display: str) -> None:
    assert BERLIN.dialable(number) == dialable
    assert BERLIN.display(number) == display


hostile = st.text(max_size=40) | st.from_regex(r"\A[+0]?[0-9 ()/.-]{0,30}\Z")


@settings(deadline=None)  # the first parse of a region loads its metadata
@given(hostile)
def test_normalize_never_raises_and_is_idempotent(number: str) -> None:
    for numbering in (BERLIN, LAB, NOWHERE):
        normal = numbering.normalize(number)
        assert numbering.normalize(normal) == normal


@settings(deadline=None)
@given(hostile, hostile)
def test_nothing_raises_on_hostile_input(number: str, pattern: str) -> None:
    BERLIN.matches(number, pattern)
    BERLIN.line_of(number, frozenset({"201"}))
    BERLIN.display(number)
    assert BERLIN.dialable(number) in {"", BERLIN.normalize(number)}


@settings(deadline=None)
@given(st.from_regex(r"\A\+?[0-9]{7,15}\Z"))
@example("0021000")  # no number phonenumbers can place: it stays as dialled
def test_a_number_matches_itself_and_its_own_prefix(number: str) -> None:
    assert BERLIN.matches(number, number)
    assert BERLIN.matches(number, BERLIN.normalize(number)[:5] + "*")
