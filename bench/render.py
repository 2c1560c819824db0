"""Benchmark: rendering notifications (document, three XSLT templates, MIME) on one core.

The workload is every recorded call of ``tests/fixtures/asterisk`` mailed to
each of its participants that has a user, in the lab's configuration.  Printed,
from one run on the same data:

- render + MIME, messages per second: without a contact; with the caller's
  contact and vCard (the recorded caller, who rang before: his number forms and
  card are cached); and with a new caller and contact for every message;
- MIME assembly alone, ours against the stdlib's ``EmailMessage`` path for the
  same headers, parts and attachment, and what render + stdlib MIME would make.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from missedcall.bootstrap import build_renderer
from missedcall.calls.record import Caller, CallRecord
from missedcall.commands.calls import correlate_files
from missedcall.config import UserSettings, parse_config
from missedcall.directory.contacts import Contact
from missedcall.directory.users import Directory
from missedcall.render import Renderer
from missedcall.render.assemble import Composed, assemble
from missedcall.render.sample import SAMPLE_CONTACT
from missedcall.rules.decision import Target

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "asterisk"
SETTINGS = """
[server]
timezone = "Europe/Berlin"
[smtp]
from = "Phone system <pbx@example.com>"
"""
MIN_SECONDS = 2.0
NEW_CALLERS = 1_500
TARGET_PER_SECOND = 1_000

Job = tuple[CallRecord, Target, UserSettings]


def workload() -> tuple[Renderer, list[Job]]:
    config = parse_config((FIXTURES / "config.toml").read_text() + SETTINGS)
    directory = Directory.from_config(config)
    jobs: list[Job] = []
    for record in correlate_files(sorted(FIXTURES.glob("*.ami")), directory):
        for participant in record.participants:
            user = directory.user_of_line(participant.line)
            if user is not None and user.email:
                jobs.append((record, Target(user.id, participant.line, user.email), user))
    return build_renderer(config, directory), jobs


def rate(run: Callable[[], int]) -> float:
    """Messages per second: repeated until at least MIN_SECONDS have passed."""
    run()  # warm up: templates compiled, imports done
    gc.collect()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < MIN_SECONDS:
        done += run()
    return done / elapsed


def render_all(renderer: Renderer, jobs: list[Job], contact: Contact | None) -> int:
    for record, target, user in jobs:
        renderer.render(record, target, user, contact)
    return len(jobs)


def new_callers_rate(renderer: Renderer, jobs: list[Job]) -> float:
    """Every message from a caller not seen before: nothing of it is cached yet."""
    calls = []
    for n in range(NEW_CALLERS):
        record, target, user = jobs[n % len(jobs)]
        number = f"+4989{5_000_000 + n}"
        contact = replace(SAMPLE_CONTACT, name=f"Caller {n}", phones=(("work", number),))
        caller = Caller(number=number, name=None, presentation="allowed")
        calls.append((replace(record, caller=caller), target, user, contact))
    gc.collect()
    start = time.perf_counter()
    for record, target, user, contact in calls:
        renderer.render(record, target, user, contact)
    return len(calls) / (time.perf_counter() - start)


def stdlib_assemble(composed: Composed) -> bytes:
    """The same message through ``EmailMessage``, as the stdlib would build it."""
    envelope = composed.envelope
    message = EmailMessage(policy=SMTP)
    message["Date"] = format_datetime(envelope.date)
    message["From"] = Address(envelope.server[0], addr_spec=envelope.server[1])
    message["To"] = Address(envelope.recipient[0], addr_spec=envelope.recipient[1])
    message["Subject"] = envelope.subject
    message["Message-ID"] = envelope.message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(composed.text)
    message.add_alternative(composed.html, subtype="html")
    if composed.vcard is not None:
        message.add_attachment(
            composed.vcard.text.encode(), "text", "vcard", filename=composed.vcard.filename
        )
    return message.as_bytes()


def assemble_all(composed: list[Composed], assembler: Callable[[Composed], bytes]) -> int:
    for message in composed:
        assembler(message)
    return len(composed)


def main() -> None:
    renderer, jobs = workload()
    print(f"render: {len(jobs)} notifications from the recorded calls, per second on one core")
    plain = rate(lambda: render_all(renderer, jobs, None))
    warm = rate(lambda: render_all(renderer, jobs, SAMPLE_CONTACT))
    cold = new_callers_rate(renderer, jobs)
    print(f"  render + MIME, no contact:                     {plain:7,.0f} messages/s")
    print(f"  render + MIME, contact + vCard, caller known:  {warm:7,.0f} messages/s")
    print(f"  render + MIME, contact + vCard, caller new:    {cold:7,.0f} messages/s")
    composed = [renderer.compose(record, t, user, SAMPLE_CONTACT) for record, t, user in jobs]
    ours = rate(lambda: assemble_all(composed, assemble))
    stdlib = rate(lambda: assemble_all(composed, stdlib_assemble))
    print(
        f"  MIME assembly alone: ours {1e6 / ours:,.0f} us, stdlib EmailMessage"
        f" {1e6 / stdlib:,.0f} us a message ({ours / stdlib:.0f}x slower)"
    )
    with_stdlib = 1 / (1 / warm - 1 / ours + 1 / stdlib)
    print(f"  render + stdlib MIME, contact + vCard:         {with_stdlib:7,.0f} messages/s")
    verdict = "meets" if min(plain, warm) >= TARGET_PER_SECOND else "MISSES"
    print(f"  {verdict} the target of {TARGET_PER_SECOND:,} messages/s on the recorded calls")


if __name__ == "__main__":
    main()
