"""Logging on and off: ``/api/v1/session`` (SPEC §5: a user's session is a logon).

A password login (``POST /session``) or a token exchanged for a session
(``POST /session/token``, what ``missedcall client`` does) sets the session
cookie and answers with the CSRF token the page sends back on every change.
Failed password logins are rate limited per account and per client address.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from missedcall.api.context import ApiContext, Ctx
from missedcall.api.security import SESSION_COOKIE, Authenticated, documented
from missedcall.auth.principal import Principal, Role
from missedcall.calls.record import iso_time
from missedcall.journal.store import Via

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["session"], responses=documented(401, 403))


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: Annotated[str, Field(min_length=1, max_length=64, description="a user id, or `admin`")]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    via: Via = Field("web", description="what logs on: the web page, `client`, or a script")


class TokenLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    via: Via = "client"


class SessionInfo(BaseModel):
    account: str
    role: Role
    via: Via | None = Field(description="null for a bearer token: no session")
    csrf_token: str | None = Field(description="send it as X-CSRF-Token with every change")
    expires_at: str | None = Field(description="when the session lapses unless used again")


class LoggedOff(BaseModel):
    logged_off: bool


def _info(principal: Principal) -> SessionInfo:
    expires = principal.expires_at
    return SessionInfo(
        account=principal.account,
        role=principal.role,
        via=principal.via,
        csrf_token=principal.csrf_token,
        expires_at=None if expires is None else iso_time(expires),
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _open(
    context: ApiContext, request: Request, response: Response, who: Principal, via: Via
) -> SessionInfo:
    secret, session = context.sessions.open(who.account, who.role, via, context.clock())
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return _info(session)


@router.post(
    "/session",
    response_model=SessionInfo,
    responses=documented(400, 429),
)
async def log_in(login: Login, request: Request, response: Response, context: Ctx) -> SessionInfo:
    """Log in with a password: sets the session cookie; a user's login counts as a logon."""
    address = _address(request)
    wait = context.limiter.wait(login.user, address)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    who = await context.accounts.check_password(login.user, login.password)
    if who is None:
        context.limiter.failed(login.user, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user or password")
    context.limiter.succeeded(login.user)
    return _open(context, request, response, who, login.via)


@router.post("/session/token", response_model=SessionInfo, responses=documented(400))
async def log_in_with_token(
    body: TokenLogin, principal: Authenticated, request: Request, response: Response, context: Ctx
) -> SessionInfo:
    """Exchange the bearer token (or the session) for a new session: a logon ``via`` client."""
    return _open(context, request, response, Principal(principal.account, principal.role), body.via)


@router.get("/session", response_model=SessionInfo)
async def current_session(principal: Authenticated) -> SessionInfo:
    """Who is logged in, and the CSRF token of the session (for a page loaded anew)."""
    return _info(principal)


@router.delete("/session", response_model=LoggedOff)
async def log_out(principal: Authenticated, response: Response, context: Ctx) -> LoggedOff:
    """End this session: the user's logoff when it was the last of its kind."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    if principal.session_id is None:
        return LoggedOff(logged_off=False)
    return LoggedOff(logged_off=context.sessions.close(principal.session_id, context.clock()))
