"""An authenticated account: the administrator, or one user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from missedcall.journal.store import Via

__all__ = ["Principal", "Role"]

Role = Literal["admin", "user"]


@dataclass(frozen=True, slots=True)
class Principal:
    """``account`` is the user's id, or ``admin``; a session's id and CSRF token if by cookie."""

    account: str
    role: Role
    session_id: int | None = None
    csrf_token: str | None = None
    via: Via | None = None
    expires_at: float | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_see(self, user: str | None) -> bool:
        """An administrator sees everything; a user only what is his own."""
        return self.is_admin or user == self.account
