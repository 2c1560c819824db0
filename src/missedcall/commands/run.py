"""``missedcall run``: the server, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from missedcall.bootstrap import build_server, startup_problems
from missedcall.config import Config, ConfigError, load_config
from missedcall.logs import configure_logging
from missedcall.sources.ami.client import AmiAuthError


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"missedcall run: {args.config}: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    problems = startup_problems(config)
    for problem in problems:
        print(f"missedcall run: {args.config}: {problem}", file=sys.stderr)
    if problems:
        return 2
    try:
        return asyncio.run(serve(config))
    except AmiAuthError as error:
        print(f"missedcall run: the PBX refused the login: {error}", file=sys.stderr)
        return 2


async def serve(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    built = build_server(config)
    try:
        await built.server.serve(stop)
    finally:
        built.close()
    return 0
