"""The whole mail: headers per sender mode, Message-ID, structure, parts, on the recordings."""

from __future__ import annotations

import email.utils
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from missedcall.render import RenderError
from missedcall.render.assemble import assemble
from missedcall.render.sample import SAMPLE_CONTACT
from missedcall.rules.decision import Target
from tests.support.rendering import (
    call_from,
    parse,
    recorded_calls,
    render,
    renderer,
    target_for,
)

JANE = SAMPLE_CONTACT
SERVER = "pbx@example.com"


def test_every_recorded_call_renders_for_every_user_and_parses_cleanly() -> None:
    for record in recorded_calls():
        for user in ("anna", "bernd", "dora"):
            for contact in (None, JANE):
                data, message = render(record, user, contact)
                assert data.isascii()
                assert max(len(line) for line in data.split(b"\r\n")) <= 78
                types = [part.get_content_type() for part in message.walk()]
                if contact is None:
                    assert types == ["multipart/alternative", "text/plain", "text/html"]
                else:
                    assert types[0] == "multipart/mixed"
                    assert types[-1] == "text/vcard"
                for part in message.walk():
                    if part.get_content_maintype() == "text":
                        assert part.get_content_charset() == "utf-8"


def test_the_default_subject_names_the_caller_and_the_number() -> None:
    _, message = render(call_from("01-missed-direct.ami"), "carla", JANE)
    assert message["Subject"] == "Missed call from Jane Doe (+49 89 1234567)"
    _, message = render(call_from("01-missed-direct.ami"), "anna", JANE)
    assert message["Subject"] == "Verpasster Anruf von Jane Doe (+49 89 1234567)"
    _, message = render(call_from("01-missed-direct.ami"), "carla", None)
    assert message["Subject"] == "Missed call from +49 89 1234567"
    _, message = render(call_from("16-anonymous-missed.ami"), "carla", None)
    assert message["Subject"] == "Missed call from Anonymous"


def test_the_parts_say_the_same_in_text_and_html() -> None:
    _, message = render(call_from("04-ringgroup-answered.ami"), "anna", JANE, language="en")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    shown = " ".join(lxml.html.fromstring(html.get_content()).text_content().split())
    for content in (text.get_content(), shown):
        assert "Jane Doe (+49 89 1234567) tried to reach you." in content
        assert "Bernd Beta (202) answered the call." in content
        assert "Carla Gamma (203)" in content
    assert "Call back: tel:+49891234567" in text.get_content()
    assert 'href="tel:+49891234567"' in html.get_content()


def test_server_mode_is_from_the_server_and_marked_automatic() -> None:
    _, message = render(call_from("01-missed-direct.ami"), "anna", JANE)
    assert message["From"].addresses[0].addr_spec == SERVER
    assert message["From"].addresses[0].display_name == "Phone system"
    assert message["To"].addresses[0].addr_spec == "anna@example.com"
    assert message["To"].addresses[0].display_name == "Anna Alpha"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert "Sender" not in message
    assert "Reply-To" not in message


def test_caller_mode_is_from_the_caller_sent_by_the_server_and_not_marked_automatic() -> None:
    _, message = render(
        call_from("01-missed-direct.ami"), "anna", JANE, '[notify]\nsender = "caller"\n'
    )
    assert message["From"].addresses[0].addr_spec == "jane.doe@example.com"
    assert message["From"].addresses[0].display_name == "Jane Doe"
    assert message["Sender"].addresses[0].addr_spec == SERVER
    assert "Auto-Submitted" not in message
    assert "X-Auto-Response-Suppress" not in message
    assert "Eine Antwort auf diese Nachricht geht an den Anrufer." in str(
        message.get_body(("plain",))
    )


def test_caller_reply_to_mode_is_from_the_server_with_replies_to_the_caller() -> None:
    extra = '[notify]\nsender = "caller-reply-to"\n'
    _, message = render(call_from("01-missed-direct.ami"), "anna", JANE, extra)
    assert message["From"].addresses[0].addr_spec == SERVER
    assert message["Reply-To"].addresses[0].addr_spec == "jane.doe@example.com"
    assert "Sender" not in message
    assert "Auto-Submitted" not in message


@pytest.mark.parametrize("mode", ["caller", "caller-reply-to"])
def test_caller_modes_fall_back_to_server_mode_without_a_caller_address(mode: str) -> None:
    extra = f'[notify]\nsender = "{mode}"\n'
    for contact in (None, replace(JANE, email=None), replace(JANE, email="not an address")):
        _, message = render(call_from("01-missed-direct.ami"), "anna", contact, extra)
        assert message["From"].addresses[0].addr_spec == SERVER
        assert "Reply-To" not in message and "Sender" not in message
        assert message["Auto-Submitted"] == "auto-generated"


def test_the_message_id_is_the_same_for_the_same_call_and_recipient_only() -> None:
    record = call_from("03-ringgroup-missed.ami")
    first, message = render(record, "anna", JANE)
    again, _ = render(record, "anna", JANE)
    assert first == again  # the same notification renders to the same bytes
    _, other_user = render(record, "bernd", JANE)
    _, other_call = render(call_from("01-missed-direct.ami"), "anna", JANE)
    ids = {message["Message-ID"], other_user["Message-ID"], other_call["Message-ID"]}
    assert len(ids) == 3
    assert message["Message-ID"].endswith("@example.com>")
    assert record.call_id in message["Message-ID"]


def test_the_date_is_the_end_of_the_call() -> None:
    record = call_from("01-missed-direct.ami")
    _, message = render(record, "anna", None)
    sent = email.utils.parsedate_to_datetime(message["Date"])
    assert sent == datetime.fromtimestamp(int(record.ended_at), UTC)
    assert message["Date"].endswith("+0100")  # Berlin in November


def test_the_vcard_is_attached_only_when_wanted_and_found() -> None:
    record = call_from("01-missed-direct.ami")
    _, message = render(record, "anna", JANE)
    card = next(message.iter_attachments())
    assert card.get_filename() == "Jane Doe.vcf"
    assert "FN:Jane Doe" in card.get_content()
    _, message = render(record, "anna", JANE, "[notify]\nattach_vcard = false\n")
    assert list(message.iter_attachments()) == []
    assert message.get_content_type() == "multipart/alternative"


def test_a_user_without_an_address_cannot_be_rendered() -> None:
    rendering, directory = renderer()
    user = directory.user("anna")
    assert user is not None
    with pytest.raises(RenderError, match="no usable e-mail address"):
        rendering.render(
            call_from("01-missed-direct.ami"),
            Target("anna", "201", None),
            user.model_copy(update={"email": None}),
            None,
        )


def test_the_rendered_mail_carries_what_the_outbox_needs() -> None:
    rendering, directory = renderer()
    user = directory.user("bernd")
    assert user is not None
    mail = rendering.render(
        call_from("01-missed-direct.ami"), Target("bernd", "202", None), user, JANE
    )
    assert mail.envelope_from == SERVER
    assert mail.to == "bernd@example.com"
    assert mail.language == "de"
    assert mail.vcard is not None
    assert parse(mail.data)["Message-ID"] == mail.message_id


def test_a_template_failing_in_strict_mode_is_a_render_error(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "subject.xsl").write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template match="/"><xsl:message terminate="yes">boom</xsl:message></xsl:template>'
        "</xsl:stylesheet>"
    )
    rendering, directory = renderer(f'[notify]\ntemplates_dir = "{templates}"\n')
    user = directory.user("anna")
    assert user is not None
    record = call_from("01-missed-direct.ami")
    target = Target("anna", "201", user.email)
    assert rendering.render(record, target, user, None).subject.startswith("Verpasster Anruf")
    with pytest.raises(RenderError, match=r"template failed: .*subject\.xsl.*boom"):
        rendering.render(record, target, user, None, strict=True)


def test_each_member_of_a_ring_group_gets_the_mail_a_renderer_of_its_own_would_make() -> None:
    # One renderer writes a call's shared parts once for all its recipients; in turns
    # with another call, in two languages and with and without a contact, every mail
    # must still be the one a fresh renderer makes for that recipient alone.
    ring_group = call_from("04-ringgroup-answered.ami")
    direct = call_from("01-missed-direct.ami")
    shared, directory = renderer()
    turns = [
        (ring_group, "anna", JANE, None),
        (ring_group, "bernd", JANE, None),
        (ring_group, "carla", JANE, "de"),
        (direct, "anna", None, None),
        (ring_group, "carla", None, None),
        (ring_group, "anna", None, None),
    ]
    for record, user_id, contact, language in turns:
        user = directory.user(user_id)
        assert user is not None
        target = target_for(directory, record, user_id)
        mail = shared.render(record, target, user, contact, language=language)
        alone, _ = renderer()
        expected = alone.render(record, target, user, contact, language=language)
        assert mail.data == expected.data, (record.call_id, user_id)
    bernd = directory.user("bernd")
    assert bernd is not None
    target = target_for(directory, ring_group, "bernd")
    text = shared.render(ring_group, target, bernd, None, language="en").text
    assert "Bernd Beta (202) [you]" in text and "Anna Alpha (201) [you]" not in text


def test_the_same_moment_is_dated_in_the_zone_of_each_message() -> None:
    # Equal instants in two zones are equal datetimes: a cache of Date fields must
    # not hand one zone's field to the other.
    rendering, directory = renderer()
    record = call_from("01-missed-direct.ami")
    anna = directory.user("anna")
    assert anna is not None
    composed = rendering.compose(record, target_for(directory, record, "anna"), anna, None)
    berlin = composed.envelope.date
    utc = berlin.astimezone(UTC)
    dates = [
        parse(assemble(replace(composed, envelope=replace(composed.envelope, date=moment))))["Date"]
        for moment in (berlin, utc, berlin)
    ]
    assert dates[0] == dates[2] != dates[1]
    assert dates[1].endswith(" +0000") and not dates[0].endswith(" +0000")
