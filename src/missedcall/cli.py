"""The ``missedcall`` command line (SPEC §10): one sub-command per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from missedcall import __version__
from missedcall.commands import calls as calls_command
from missedcall.commands import check_smtp as check_smtp_command
from missedcall.commands import client as client_command
from missedcall.commands import decide as decide_command
from missedcall.commands import demo as demo_command
from missedcall.commands import journal as journal_command
from missedcall.commands import passwd as passwd_command
from missedcall.commands import preview as preview_command
from missedcall.commands import run as run_command
from missedcall.commands import token as token_command
from missedcall.config import check_config_command

LOG_LEVELS = ["debug", "info", "warning", "error"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="missedcall",
        description="E-mails people the calls they missed, once per call.",
    )
    parser.add_argument("--version", action="version", version=f"missedcall {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    calls = commands.add_parser(
        "calls", help="print the call records of recorded AMI streams as JSON lines"
    )
    calls.add_argument("--config", metavar="FILE", help="configuration (users, devices, numbering)")
    calls.add_argument("traces", nargs="+", metavar="TRACE", help="recorded AMI byte stream")
    calls.set_defaults(run=calls_command.run)

    decide = commands.add_parser(
        "decide", help="print who would be mailed or journaled for each recorded call, and why"
    )
    decide.add_argument("--config", metavar="FILE", required=True, help="configuration")
    decide.add_argument("--state", metavar="DB", help="keep history in this database across runs")
    decide.add_argument("traces", nargs="+", metavar="TRACE", help="recorded AMI byte stream")
    decide.set_defaults(run=decide_command.run)

    journal = commands.add_parser("journal", help="the journal of unanswered calls")
    journal_commands = journal.add_subparsers(
        dest="journal_command", required=True, metavar="ACTION"
    )
    listing = journal_commands.add_parser("list", help="list journal entries")
    done = journal_commands.add_parser("done", help="mark a journal entry done by hand")
    for sub in (listing, done):
        sub.add_argument("--config", metavar="FILE", help="configuration (finds the database)")
        sub.add_argument("--state", metavar="DB", help="the database, overriding the config's")
    listing.add_argument("--user", metavar="USER", help="only this user's entries")
    listing.add_argument(
        "--state-filter",
        "--show",
        dest="state_filter",
        choices=["open", "done", "all"],
        default="open",
        help="which entries (default: open)",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=journal_command.run_list)
    done.add_argument("entry_id", metavar="ENTRY_ID")
    done.set_defaults(run=journal_command.run_done)

    smtp = commands.add_parser(
        "check-smtp",
        help="send a test mail through the configured SMTP server and show the conversation",
    )
    smtp.add_argument("--config", metavar="FILE", required=True, help="configuration ([smtp])")
    smtp.add_argument(
        "--to",
        metavar="ADDRESS",
        help="recipient of the test mail (default: the smtp.from address)",
    )
    smtp.add_argument(
        "-v", "--verbose", action="store_true", help="show the server's replies in full"
    )
    smtp.set_defaults(run=check_smtp_command.run)

    server = commands.add_parser("run", help="run the server until SIGTERM or SIGINT")
    server.add_argument("--config", metavar="FILE", required=True, help="configuration")
    server.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="default: info")
    server.set_defaults(run=run_command.run)

    demo = commands.add_parser(
        "demo",
        help="the server on an embedded default: real recorded calls, a local SMTP sink,"
        " then the web page with the mails",
    )
    demo_command.add_arguments(demo)
    demo.add_argument("--log-level", default="warning", choices=LOG_LEVELS, help="default: warning")
    demo.set_defaults(run=demo_command.run)

    preview = commands.add_parser(
        "preview", help="render a notification to .eml and .html files, to check templates"
    )
    preview_command.add_arguments(preview)
    preview.set_defaults(run=preview_command.run)

    _add_account_commands(commands)

    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(run=_check_config)
    return parser


def _add_account_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The user's client, and the administrator's password and token helpers."""
    client = commands.add_parser(
        "client", help="send your missed-call mails from this machine (notify.dispatch = client)"
    )
    client_command.add_arguments(client)
    client.set_defaults(run=client_command.run)
    passwd = commands.add_parser(
        "passwd", help="print an argon2 hash of a password read from standard input"
    )
    passwd.set_defaults(run=passwd_command.run)
    token = commands.add_parser("token", help="API tokens: create, list, revoke")
    token_command.add_arguments(token)
    token.set_defaults(run=token_command.run)


def _check_config(args: argparse.Namespace) -> int:
    return check_config_command(args.file)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
