"""The directory answers the correlator's line questions from the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from missedcall.calls.lines import LineMap, ResourceNames
from missedcall.config import Config, load_config, parse_config
from missedcall.directory.users import Directory

LAB_CONFIG = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "asterisk" / "config.toml"


@pytest.fixture(scope="module")
def lab() -> Directory:
    return Directory.from_config(load_config(LAB_CONFIG))


def test_it_is_a_line_map(lab: Directory) -> None:
    line_map: LineMap = lab
    assert line_map.is_line("201")


def test_users_by_id_and_by_line(lab: Directory) -> None:
    anna = lab.user("anna")
    assert anna is not None and anna.email == "anna@example.com"
    assert lab.user_of_line("202") == lab.user("bernd")
    assert lab.user_of_line("299") is None
    assert lab.user("nobody") is None
    assert lab.lines == frozenset({"201", "202", "203", "204", "205"})


@pytest.mark.parametrize(
    ("device", "line"),
    [
        ("Local/01701234567@mobile", "201"),
        ("local/01701234567@mobile", "201"),  # the technology in any case
        ("LOCAL/01701234567@mobile", "201"),
        ("Local/01701234567@MOBILE", None),  # the resource as configured
        ("PJSIP/201", None),  # by name, not by configuration: the correlator's job
        ("Local/01701234567", None),
    ],
)
def test_device_line(lab: Directory, device: str, line: str | None) -> None:
    assert lab.device_line(device) == line


@pytest.mark.parametrize(
    ("number", "line"),
    [
        ("201", "201"),
        ("+4930555201", "201"),
        ("4930555202", "202"),
        ("030 555203", "203"),
        ("+4930555206", None),  # a DID without a user
        ("206", None),  # an extension without a user is no configured line
        ("600", None),  # nor is a ring group
        ("+49891234567", None),
        ("anonymous", None),
    ],
)
def test_line_of_number(lab: Directory, number: str, line: str | None) -> None:
    assert lab.line_of_number(number) == line


@pytest.mark.parametrize(
    ("name", "is_line"),
    [
        ("201", True),
        ("206", True),  # an extension that simply has no user
        ("123456", True),
        ("1234567", False),  # longer than internal_max_digits
        ("trunk", False),
        ("01701234567", False),
        ("anna-desk", False),
        ("", False),
    ],
)
def test_is_line_with_users(lab: Directory, name: str, is_line: bool) -> None:
    assert lab.is_line(name) is is_line


@pytest.mark.parametrize(
    ("number", "internal"),
    [
        ("201", True),
        ("+4930555201", True),
        ("600", True),
        ("*8", True),
        ("**201", True),
        ("+49891234567", False),
        ("01701234567", False),
        ("anonymous", False),
    ],
)
def test_is_internal_number(lab: Directory, number: str, internal: bool) -> None:
    assert lab.is_internal_number(number) is internal


@pytest.mark.parametrize("name", ["201", "trunk", "anna-desk", "01701234567", "", "**201"])
def test_without_users_it_answers_like_resource_names(name: str) -> None:
    directory = Directory.from_config(Config.default())
    assert directory.is_line(name) is ResourceNames().is_line(name)
    assert directory.line_of_number(name) is None
    assert directory.lines == frozenset()


def test_internal_max_digits_bounds_extensions() -> None:
    directory = Directory.from_config(
        parse_config('[numbering]\ninternal_max_digits = 3\n[[users]]\nid = "a"\nlines = ["20"]')
    )
    assert directory.is_line("206")
    assert not directory.is_line("2060")
    assert not directory.is_internal_number("2060")
