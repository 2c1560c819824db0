"""``missedcall token create|list|revoke``: API tokens for scripts and ``missedcall client``.

A token is printed once, when it is made; the database keeps only its hash.
``--user admin`` makes an administrator's token.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import closing

from missedcall.auth.principal import Role
from missedcall.auth.tokens import TokenInfo, TokenStore
from missedcall.bootstrap import state_path
from missedcall.calls.record import iso_time
from missedcall.config import ADMIN_ACCOUNT, Config, ConfigError, load_config
from missedcall.db import DatabaseError, open_database

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token and print it (once)")
    listing = actions.add_parser("list", help="list the tokens (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    for sub in (create, listing, revoke):
        sub.add_argument("--config", metavar="FILE", required=True, help="configuration")
    create.add_argument("--user", required=True, help=f"whose token: a user id, or {ADMIN_ACCOUNT}")
    create.add_argument("--name", default="", help="what it is for, e.g. 'laptop'")
    listing.add_argument("--user", help="only this account's")
    revoke.add_argument("token_id", type=int, metavar="ID")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        with closing(open_database(state_path(config))) as connection:
            return _ACTIONS[args.token_command](TokenStore(connection), config, args)
    except (ConfigError, DatabaseError) as error:
        print(f"missedcall token: {error}", file=sys.stderr)
        return 2


def _create(tokens: TokenStore, config: Config, args: argparse.Namespace) -> int:
    role: Role = "admin" if args.user == ADMIN_ACCOUNT else "user"
    if role == "user" and args.user not in {user.id for user in config.users}:
        print(f"missedcall token: no user {args.user!r} in {args.config}", file=sys.stderr)
        return 2
    token_id, secret = tokens.create(args.user, role, args.name, time.time())
    print(secret)
    print(f"token {token_id} for {args.user}: shown this once; keep it secret", file=sys.stderr)
    return 0


def _list(tokens: TokenStore, config: Config, args: argparse.Namespace) -> int:
    for token in tokens.tokens(args.user):
        print(_describe(token))
    return 0


def _revoke(tokens: TokenStore, config: Config, args: argparse.Namespace) -> int:
    if not tokens.revoke(args.token_id, time.time()):
        print(f"missedcall token: no token {args.token_id} in use", file=sys.stderr)
        return 1
    print(f"token {args.token_id} revoked")
    return 0


def _describe(token: TokenInfo) -> str:
    used = iso_time(token.last_used_at) if token.last_used_at else "never"
    revoked = f" revoked {iso_time(token.revoked_at)}" if token.revoked_at else ""
    name = f" {token.name!r}" if token.name else ""
    created = iso_time(token.created_at)
    return f"{token.id} {token.account}{name} created {created} used {used}{revoked}"


_ACTIONS = {"create": _create, "list": _list, "revoke": _revoke}
