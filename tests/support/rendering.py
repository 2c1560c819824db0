"""The lab's configuration and recorded calls, ready for rendering tests.

Run as ``python -m tests.support.rendering`` to write the example document of
``docs/template-input.md`` again after a deliberate change of the document.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path

from lxml import etree

from missedcall.bootstrap import build_renderer
from missedcall.calls.record import CallRecord
from missedcall.commands.calls import correlate_files
from missedcall.config import Config, parse_config
from missedcall.directory.contacts import Contact
from missedcall.directory.users import Directory
from missedcall.render import Renderer
from missedcall.render.document import DocumentFacts, MailFacts, build_document
from missedcall.render.sample import SAMPLE_CONTACT
from missedcall.rules.decision import Target

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "asterisk"
LAB_CONFIG = (FIXTURES / "config.toml").read_text()
EXAMPLE_XML = ROOT / "docs" / "template-input.example.xml"
EXAMPLE_TRACE = FIXTURES / "11-cf-noanswer-missed.ami"
EXAMPLE_SETTINGS = """
[server]
timezone = "Europe/Berlin"
[smtp]
from = "Phone system <pbx@example.com>"
"""


def lab_config(extra: str = "", base_dir: Path | None = None) -> Config:
    """The lab's users and numbering, Berlin time, an SMTP sender, and ``extra`` TOML."""
    return parse_config(LAB_CONFIG + EXAMPLE_SETTINGS + extra, base_dir=base_dir)


def renderer(extra: str = "", base_dir: Path | None = None) -> tuple[Renderer, Directory]:
    config = lab_config(extra, base_dir)
    directory = Directory.from_config(config)
    return build_renderer(config, directory), directory


@cache
def recorded_calls() -> tuple[CallRecord, ...]:
    config = lab_config()
    traces = sorted(FIXTURES.glob("*.ami"))
    return tuple(correlate_files(traces, Directory.from_config(config)))


def call_from(trace: str) -> CallRecord:
    """The one call of a trace, by file name (``11-cf-noanswer-missed.ami``)."""
    config = lab_config()
    records = list(correlate_files([FIXTURES / trace], Directory.from_config(config)))
    assert len(records) == 1, records
    return records[0]


def target_for(directory: Directory, record: CallRecord, user_id: str) -> Target:
    user = directory.user(user_id)
    assert user is not None
    line = next((p.line for p in record.participants if p.line in user.lines), user.lines[0])
    return Target(user_id, line, user.email)


def render(
    record: CallRecord,
    user_id: str = "anna",
    contact: Contact | None = SAMPLE_CONTACT,
    extra: str = "",
    language: str | None = None,
) -> tuple[bytes, EmailMessage]:
    """The raw message and the stdlib's reading of it (policy=default)."""
    rendering, directory = renderer(extra)
    user = directory.user(user_id)
    assert user is not None
    mail = rendering.render(
        record, target_for(directory, record, user_id), user, contact, language=language
    )
    return mail.data, parse(mail.data)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects
    return message


def example_document() -> bytes:
    """The documented example: a forward on no answer, for Anna, with a contact, in English."""
    config = lab_config()
    directory = Directory.from_config(config)
    rendering = build_renderer(config, directory)
    record = call_from(EXAMPLE_TRACE.name)
    user = directory.user("anna")
    assert user is not None
    facts = DocumentFacts(
        record=record,
        recipient=user,
        line="201",
        contact=SAMPLE_CONTACT,
        language=rendering.languages.get("en"),
        zone=config.server.zone,
        numbering=directory.numbering,
        owner_of=directory.user_of_line,
        link_prefix=config.notify.link_prefix,
        mail=MailFacts("server", replies_reach_caller=False, vcard_attached=True),
    )
    document = build_document(facts)
    return etree.tostring(document, pretty_print=True, xml_declaration=True, encoding="UTF-8")


if __name__ == "__main__":
    EXAMPLE_XML.write_bytes(example_document())
    print(f"wrote {EXAMPLE_XML}")
