"""``missedcall passwd``: an argon2 hash of a password, for ``api.admin_password_hash`` or a
user's ``password_hash`` in the configuration.

The password is read from standard input (asked twice on a terminal), never
from the command line, where other users could see it.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from missedcall.auth.passwords import hash_password

__all__ = ["run"]

MIN_LENGTH = 8


def run(args: argparse.Namespace) -> int:
    password = _ask() if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if password is None:
        print("missedcall passwd: the passwords differ", file=sys.stderr)
        return 1
    if len(password) < MIN_LENGTH:
        print(f"missedcall passwd: use at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _ask() -> str | None:
    first = getpass.getpass("Password: ")
    return first if getpass.getpass("Again: ") == first else None
