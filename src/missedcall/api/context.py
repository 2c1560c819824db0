"""What the API's handlers work with, handed to :func:`missedcall.api.app.build_app` once.

Every handler is ``async`` and runs on the server's event loop, like the rest
of the server: the SQLite connection is the server's own and is used from that
loop only (a plain ``def`` handler would run in a thread pool and must not
touch it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from missedcall.auth.accounts import Accounts
from missedcall.auth.ratelimit import LoginLimiter
from missedcall.auth.sessions import SessionStore
from missedcall.auth.tokens import TokenStore
from missedcall.directory.users import Directory
from missedcall.journal.store import StateStore
from missedcall.outbox.store import Outbox
from missedcall.overrides import LiveSettings
from missedcall.server import Server

__all__ = ["ApiContext", "Ctx"]


@dataclass
class ApiContext:
    server: Server
    live: LiveSettings
    store: StateStore
    sessions: SessionStore
    tokens: TokenStore
    accounts: Accounts
    limiter: LoginLimiter
    clock: Callable[[], float]

    @property
    def outbox(self) -> Outbox:
        return self.server.outbox

    @property
    def directory(self) -> Directory:
        """The users as they are now, with their own choices applied."""
        return self.server.handler.directory


async def _context(request: Request) -> ApiContext:  # async: no trip to the thread pool
    context: ApiContext = request.app.state.context
    return context


Ctx = Annotated[ApiContext, Depends(_context)]
