"""Telephony links (SPEC §7): the configured prefix and the dialable international number."""

from __future__ import annotations

import pytest

from missedcall.config import ConfigError
from missedcall.directory.numbering import Numbering
from missedcall.render.links import number_forms, telephony_link
from tests.support.rendering import lab_config

BERLIN = Numbering(country="DE", area_code="30", did_prefix="+4930555")


@pytest.mark.parametrize(
    ("number", "link"),
    [
        ("+49891234567", "tel:+49891234567"),
        ("0049 89 1234567", "tel:+49891234567"),
        ("089/1234567", "tel:+49891234567"),
        ("5551234", "tel:+49305551234"),  # local: the area code is added
        ("202", "tel:202"),  # an extension is dialled as it is
        ("anonymous", None),
        ("", None),
        ("+49 89<script>", None),
    ],
)
def test_the_number_is_linked_in_dialable_international_form(number: str, link: str | None) -> None:
    assert telephony_link("tel:", BERLIN, number) == link


@pytest.mark.parametrize("prefix", ["tel:", "phone:", "callto:", "sip:", "x-cti123:"])
def test_any_configured_prefix_is_used_as_it_is(prefix: str) -> None:
    assert telephony_link(prefix, BERLIN, "+49891234567") == prefix + "+49891234567"


def test_no_link_when_links_are_off_or_the_number_is_hidden() -> None:
    assert telephony_link(None, BERLIN, "+49891234567") is None
    assert telephony_link("tel:", BERLIN, "+49891234567", hidden=True) is None


def test_the_display_form_is_readable() -> None:
    assert number_forms(BERLIN, "+49891234567").display == "+49 89 1234567"
    assert number_forms(BERLIN, "anonymous").dialable == ""


@pytest.mark.parametrize("value", ['"tel"', '"javascript:"', '"1tel:"', '""', "true"])
def test_an_invalid_prefix_is_a_configuration_error_naming_the_key(value: str) -> None:
    with pytest.raises(ConfigError, match=r"notify\.link_prefix"):
        lab_config(f"[notify]\nlink_prefix = {value}\n")


def test_false_turns_links_off() -> None:
    assert lab_config("[notify]\nlink_prefix = false\n").notify.link_prefix is None
