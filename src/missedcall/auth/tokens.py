"""API tokens: long random secrets for scripts and ``missedcall client``, stored hashed.

A token is shown once, when ``missedcall token create`` makes it; the database
keeps only its SHA-256 (a token has 256 bits of entropy, so a fast hash is
enough: there is nothing to guess).  A revoked token stays listed.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import cast

from missedcall.auth.principal import Principal, Role
from missedcall.db import transaction

__all__ = ["PREFIX", "TokenInfo", "TokenStore", "secret_hash"]

PREFIX = "mct_"
_TOUCH_EVERY_SECONDS = 60.0  # last_used_at is a hint: not worth a write per request


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    account: str
    role: Role
    name: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


class TokenStore:
    """The ``api_tokens`` table over one open database."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def create(self, account: str, role: Role, name: str, at: float) -> tuple[int, str]:
        """A new token for ``account``: its id and the secret, which is never stored."""
        secret = PREFIX + secrets.token_urlsafe(32)
        with transaction(self._db):
            cursor = self._db.execute(
                "INSERT INTO api_tokens (secret_hash, account, role, name, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (secret_hash(secret), account, role, name, at),
            )
        return int(cursor.lastrowid or 0), secret

    def check(self, secret: str, at: float) -> Principal | None:
        """Who the token stands for; None if it is unknown or revoked."""
        row = self._db.execute(
            "SELECT id, account, role, last_used_at FROM api_tokens"
            " WHERE secret_hash = ? AND revoked_at IS NULL",
            (secret_hash(secret),),
        ).fetchone()
        if row is None:
            return None
        token_id, account, role, last_used_at = row
        if last_used_at is None or at - last_used_at > _TOUCH_EVERY_SECONDS:
            with transaction(self._db):
                self._db.execute(
                    "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (at, token_id)
                )
        return Principal(account, cast(Role, role))

    def tokens(self, account: str | None = None) -> list[TokenInfo]:
        rows = self._db.execute(
            "SELECT id, account, role, name, created_at, last_used_at, revoked_at"
            " FROM api_tokens WHERE ? IS NULL OR account = ? ORDER BY id",
            (account, account),
        )
        return [TokenInfo(*row) for row in rows]

    def revoke(self, token_id: int, at: float) -> bool:
        """False when there is no such token, or it was revoked before."""
        with transaction(self._db):
            cursor = self._db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (at, token_id),
            )
        return cursor.rowcount == 1
