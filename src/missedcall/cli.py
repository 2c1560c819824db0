"""The ``missedcall`` command line (SPEC §10): one sub-command per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from missedcall import __version__
from missedcall.commands import calls as calls_command
from missedcall.config import check_config_command


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

    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(run=_check_config)
    return parser


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
