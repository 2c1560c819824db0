"""Sessions (a cookie's worth of login), and the logons they stand for (SPEC §5).

A session is a row: the SHA-256 of its secret (the cookie's value; a stolen
database opens no session), the account, how it logged on (``web`` page,
``client``, ``api``), a CSRF token, and when it expires.  It expires
``idle_seconds`` after it was last used; using it pushes that back (written at
most once a minute).

A user's session is a logon for the rules: opening one logs the user on
(:meth:`StateStore.logon`), and when the last session of the same kind ends --
logged off, or lapsed -- the user is logged off at that moment.  Lapsed
sessions are swept by :meth:`SessionStore.expire`, which the API runs now and
then and before every login, so a logon never outlives its session by more
than a sweep interval.
"""

from __future__ import annotations

import secrets
import sqlite3
from typing import cast

from missedcall.auth.principal import Principal, Role
from missedcall.auth.tokens import secret_hash
from missedcall.db import transaction
from missedcall.journal.store import StateStore, Via

__all__ = ["SessionStore"]

_RENEW_AFTER_SECONDS = 60.0


class SessionStore:
    """The ``sessions`` table over one open database, with the presence it implies."""

    def __init__(self, connection: sqlite3.Connection, presence: StateStore, idle_seconds: float):
        self._db = connection
        self._presence = presence
        self.idle_seconds = idle_seconds

    def open(self, account: str, role: Role, via: Via, at: float) -> tuple[str, Principal]:
        """A new session: the secret for the cookie, and who it is."""
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_at = at + self.idle_seconds
        self.expire(at)
        with transaction(self._db):
            cursor = self._db.execute(
                "INSERT INTO sessions (secret_hash, account, role, via, csrf_token, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (secret_hash(secret), account, role, via, csrf, at, expires_at),
            )
            if role == "user":
                self._presence.logon(account, at, via)
        session_id = int(cursor.lastrowid or 0)
        return secret, Principal(account, role, session_id, csrf, via, expires_at)

    def find(self, secret: str, at: float) -> Principal | None:
        """The live session with this secret, its lapse pushed back; None if there is none."""
        row = self._db.execute(
            "SELECT id, account, role, via, csrf_token, expires_at FROM sessions"
            " WHERE secret_hash = ? AND expires_at > ?",
            (secret_hash(secret), at),
        ).fetchone()
        if row is None:
            return None
        session_id, account, role, via, csrf, expires_at = row
        if at + self.idle_seconds - expires_at > _RENEW_AFTER_SECONDS:
            expires_at = at + self.idle_seconds
            with transaction(self._db):
                self._db.execute(
                    "UPDATE sessions SET expires_at = ? WHERE id = ?", (expires_at, session_id)
                )
        return Principal(account, cast(Role, role), session_id, csrf, cast(Via, via), expires_at)

    def close(self, session_id: int, at: float) -> bool:
        """Log off; False if the session was gone already."""
        with transaction(self._db):
            rows = self._db.execute(
                "DELETE FROM sessions WHERE id = ? RETURNING account, role, via", (session_id,)
            ).fetchall()
            for account, role, via in rows:
                self._ended(account, role, via, at, at)
        return bool(rows)

    def expire(self, at: float) -> int:
        """End the sessions that lapsed by ``at``, each at the moment it lapsed."""
        with transaction(self._db):
            rows = self._db.execute(
                "DELETE FROM sessions WHERE expires_at <= ? RETURNING account, role, via,"
                " expires_at",
                (at,),
            ).fetchall()
            for account, role, via, expires_at in rows:
                self._ended(account, role, via, expires_at, at)
        return len(rows)

    def _ended(self, account: str, role: str, via: Via, ended_at: float, now: float) -> None:
        """The user is logged off when no other session of the same kind is left."""
        if role != "user":
            return
        others = self._db.execute(
            "SELECT 1 FROM sessions WHERE account = ? AND via = ? AND expires_at > ? LIMIT 1",
            (account, via, now),
        ).fetchone()
        if others is None:
            self._presence.logoff(account, ended_at, via)
