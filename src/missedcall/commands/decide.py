"""``missedcall decide``: the verdict on each call of recorded AMI streams, as JSON lines.

No side effects beyond ``--state``: without it, history lives in a scratch
database for the length of the run (so a caller who rings twice in one trace
meets ``repeated_same_day``); with it, history persists across runs and a call
decided before notifies nobody again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from missedcall.bootstrap import build_handler
from missedcall.commands.calls import TraceError, correlate_files
from missedcall.config import ConfigError, load_config
from missedcall.db import DatabaseError, open_database
from missedcall.journal.store import StateStore


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"missedcall decide: {args.config}: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="missedcall-decide-") as scratch:
        state = Path(args.state) if args.state else Path(scratch) / "state.db"
        try:
            connection = open_database(state)
        except DatabaseError as error:
            print(f"missedcall decide: {error}", file=sys.stderr)
            return 2
        handler = build_handler(config, StateStore(connection))
        try:
            for record in correlate_files([Path(t) for t in args.traces], handler.directory):
                decision = handler.handle(record).decision
                sys.stdout.write(json.dumps(decision.to_json(), ensure_ascii=False) + "\n")
        except TraceError as error:
            print(f"missedcall decide: {error}", file=sys.stderr)
            return 1
        finally:
            connection.close()
    return 0
