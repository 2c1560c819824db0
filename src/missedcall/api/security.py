"""Who is asking, for every request: a session cookie (with its CSRF token) or a bearer token.

* ``Authorization: Bearer <token>`` -- an API token (``missedcall token create``).
  Not sent by browsers on their own, so it needs no CSRF token.
* The ``missedcall_session`` cookie -- set by ``POST /api/v1/session``;
  HttpOnly, SameSite=Strict.  A request that changes something (any method
  but GET, HEAD, OPTIONS) must also carry the session's CSRF token in the
  ``X-CSRF-Token`` header (a synchronizer token: the page reads it from the
  login response or ``GET /api/v1/session``), compared in constant time.

Anything else is 401; an account that is not allowed is 403.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from missedcall.api.context import Ctx
from missedcall.auth.principal import Principal

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Admin",
    "Authenticated",
    "User",
    "documented",
    "forbidden",
    "not_found",
    "optional_principal",
    "unauthorized",
]

SESSION_COOKIE = "missedcall_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API token: `missedcall token create`")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description=f"The session of `POST /api/v1/session`; changes need the `{CSRF_HEADER}` header",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
SessionSecret = Annotated[str | None, Depends(_cookie)]


class Problem(BaseModel):
    detail: str


_MEANINGS = {
    400: "the body is not JSON",
    401: "not logged in, or the session or token does not hold",
    403: "not allowed for this account, or a missing or wrong CSRF token",
    404: "no such thing, or not the asking user's",
    409: "not in a state that allows this",
    429: "too many failed logins: wait for Retry-After seconds",
}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route, for the OpenAPI document."""
    return {code: {"model": Problem, "description": _MEANINGS[code]} for code in codes}


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def forbidden(detail: str = "not allowed for this account") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail)


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


async def optional_principal(
    request: Request, context: Ctx, bearer: BearerCredentials, secret: SessionSecret
) -> Principal | None:
    """Who is asking, or None for nobody; 401 for credentials that do not hold."""
    now = context.clock()
    if bearer is not None:
        principal = context.accounts.check_token(bearer.credentials, now)
        if principal is None:
            raise unauthorized("unknown or revoked token")
        return principal
    if secret is None:
        return None
    principal = context.sessions.find(secret, now)
    if principal is None or not context.accounts.exists(principal):
        raise unauthorized("no such session; log in again")
    if request.method not in _SAFE_METHODS:
        _check_csrf(request, principal)
    return principal


def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    expected = principal.csrf_token or ""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise forbidden(f"missing or wrong {CSRF_HEADER} header")


async def _principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise unauthorized("log in, or send an API token")
    return principal


Authenticated = Annotated[Principal, Depends(_principal)]


async def _admin(principal: Authenticated) -> Principal:
    if not principal.is_admin:
        raise forbidden("only the administrator may do this")
    return principal


async def _user(principal: Authenticated) -> Principal:
    if principal.is_admin:
        raise forbidden("only a user (not the administrator) may do this")
    return principal


Admin = Annotated[Principal, Depends(_admin)]
User = Annotated[Principal, Depends(_user)]
