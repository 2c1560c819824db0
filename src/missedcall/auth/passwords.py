"""Password hashes: argon2id (argon2-cffi), made by ``missedcall passwd``, checked at login.

Checking costs tens of milliseconds of CPU on purpose, so callers on the event
loop run :func:`verify_password` in a thread.  An account without a password
is checked against a hash of a random secret, so that it takes as long as a
wrong password and does not tell which accounts exist.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_password", "verify_password"]

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False for no hash or a bad one."""
    try:
        matches = _HASHER.verify(password_hash or _unguessable(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


@cache
def _unguessable() -> str:
    return _HASHER.hash(secrets.token_urlsafe(32))
