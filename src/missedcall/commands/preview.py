"""``missedcall preview``: one notification rendered to files, before a template goes live.

An administrator changes a template or a language file, then renders a call
from a recorded trace (or a made-up sample call) for a chosen user and
language, and opens the ``.html`` in a browser or the ``.eml`` in his mail
program.  A template or language file that does not load is an error here
(with file and line), where the running server would fall back and log.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from missedcall.bootstrap import build_contacts, build_renderer
from missedcall.calls.record import CallRecord
from missedcall.commands.calls import TraceError, correlate_files
from missedcall.config import Config, ConfigError, UserSettings, load_config
from missedcall.directory.contacts import Contact
from missedcall.directory.users import Directory
from missedcall.render import Renderer, RenderError
from missedcall.render.sample import SAMPLE_CONTACT, sample_call
from missedcall.rules.decision import Target

__all__ = ["add_arguments", "run"]

PLACEHOLDER_ADDRESS = "nobody@example.invalid"


class PreviewError(Exception):
    """Something the administrator asked for that cannot be previewed; the message says why."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", required=True, help="configuration")
    parser.add_argument("--trace", metavar="TRACE", help="recorded AMI stream (default: a sample)")
    parser.add_argument(
        "--call", dest="call_id", metavar="CALL_ID", help="which call of the trace (default: first)"
    )
    parser.add_argument(
        "--user", metavar="USER", help="recipient's user id (default: the call's first participant)"
    )
    parser.add_argument("--language", metavar="LANG", help="language, instead of the user's own")
    parser.add_argument(
        "--out",
        dest="out_dir",
        metavar="DIR",
        default=".",
        help="folder for the files (default: .)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        _complain(f"{args.config}: invalid configuration:\n{error}")
        return 2
    try:
        paths = preview(config, args)
    except (PreviewError, TraceError, RenderError) as error:
        _complain(str(error))
        return 1
    for path in paths:
        print(path)
    return 0


def preview(config: Config, args: argparse.Namespace) -> list[Path]:
    """Render the asked-for notification and write ``<name>.eml`` and ``<name>.html``."""
    directory = Directory.from_config(config)
    renderer = build_renderer(config, directory)
    _check_files(renderer, args.language)
    if args.trace:
        record = _recorded_call(Path(args.trace), args.call_id, directory)
        user = _user(directory, args.user, record)
        contacts = build_contacts(config, directory)
        contact = contacts.find(record.caller.number) if contacts else None
    else:
        user = _user(directory, args.user, None)
        record = sample_call(user, _sample_line(user), directory, time.time())
        contact = SAMPLE_CONTACT
    return _write(renderer, record, user, contact, args)


def _check_files(renderer: Renderer, language: str | None) -> None:
    problems = [str(problem) for problem in renderer.templates.problems]
    problems += list(renderer.languages.problems)
    if problems:
        raise PreviewError("\n".join(f"rejected: {problem}" for problem in problems))
    available = renderer.languages.available()
    wanted = (language or "").replace("_", "-").lower()
    if language and wanted not in {code.lower() for code in available}:
        raise PreviewError(f"no language {language!r}; available: {', '.join(available)}")


def _recorded_call(trace: Path, call_id: str | None, directory: Directory) -> CallRecord:
    records = list(correlate_files([trace], directory))
    if not records:
        raise PreviewError(f"{trace}: no calls in this trace")
    if call_id is None:
        return records[0]
    for record in records:
        if record.call_id == call_id:
            return record
    known = ", ".join(record.call_id for record in records)
    raise PreviewError(f"{trace}: no call {call_id!r}; the calls are: {known}")


def _user(directory: Directory, user_id: str | None, record: CallRecord | None) -> UserSettings:
    """The asked-for user, else the first participant's owner, else the first user."""
    if user_id is not None:
        user = directory.user(user_id)
        if user is None:
            known = ", ".join(directory.users) or "none"
            raise PreviewError(f"no user {user_id!r} in the configuration; users: {known}")
        return user
    lines = [p.line for p in record.participants] if record else []
    owners = [directory.user_of_line(line) for line in lines]
    user = next((owner for owner in owners if owner is not None), None)
    user = user or next(iter(directory.users.values()), None)
    if user is None:
        raise PreviewError("the configuration has no users; add a [[users]] entry to preview")
    return user


def _sample_line(user: UserSettings) -> str:
    if not user.lines:
        raise PreviewError(f"user {user.id!r} has no lines; give it one to preview a sample call")
    return user.lines[0]


def _line_of(user: UserSettings, record: CallRecord) -> str:
    """The user's line that rang in the call, else the user's first line."""
    rang = [p.line for p in record.participants if p.line in user.lines]
    return (rang or list(user.lines) or [""])[0]


def _write(
    renderer: Renderer,
    record: CallRecord,
    user: UserSettings,
    contact: Contact | None,
    args: argparse.Namespace,
) -> list[Path]:
    if user.email is None:
        _complain(f"user {user.id!r} has no e-mail address; To: shows {PLACEHOLDER_ADDRESS}")
    target = Target(user.id, _line_of(user, record), user.email or PLACEHOLDER_ADDRESS)
    mail = renderer.render(record, target, user, contact, language=args.language, strict=True)
    out = Path(args.out_dir)
    name = _file_name(f"{record.call_id}-{user.id}-{mail.language}")
    eml, html = out / f"{name}.eml", out / f"{name}.html"
    try:
        out.mkdir(parents=True, exist_ok=True)
        eml.write_bytes(mail.data)
        html.write_text(mail.html, encoding="utf-8")
    except OSError as error:
        raise PreviewError(f"{out}: cannot write: {error.strerror or error}") from error
    return [eml, html]


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "preview"


def _complain(message: str) -> None:
    print(f"missedcall preview: {message}", file=sys.stderr)
