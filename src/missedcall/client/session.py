"""The client's side of the API: log on as the user, fetch his mails, confirm, log off.

The session is a cookie (the server's ``missedcall_session``) plus the CSRF
token from the login, sent with every change.  A session that lapsed (a long
pause in polling) is opened again once.
"""

from __future__ import annotations

import base64
from types import TracebackType
from typing import Any

import httpx

from missedcall.client.settings import ClientSettings
from missedcall.outbox.mail import OutgoingMail

__all__ = ["ServerError", "ServerSession"]

CSRF_HEADER = "X-CSRF-Token"


class ServerError(Exception):
    """The server could not be reached, or refused what the client asked."""


class ServerSession:
    """One logged-on session with the server; ``async with`` logs on and off."""

    def __init__(
        self, settings: ClientSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(
            base_url=settings.server, timeout=settings.timeout_seconds, transport=transport
        )
        self._csrf = ""

    async def __aenter__(self) -> ServerSession:
        try:
            await self.log_on()
        except BaseException:
            await self._http.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._request("DELETE", "/api/v1/session", relogon=False)
        except ServerError:
            pass  # the session lapses by itself
        finally:
            await self._http.aclose()

    async def log_on(self) -> None:
        """Open a session ``via`` client: the user counts as logged on from now."""
        settings = self._settings
        if settings.token is not None:
            headers = {"Authorization": f"Bearer {settings.token}"}
            answer = await self._send("POST", "/api/v1/session/token", {"via": "client"}, headers)
        else:
            login = {"user": settings.user, "password": settings.password, "via": "client"}
            answer = await self._send("POST", "/api/v1/session", login, {})
        if answer.status_code != 200:
            raise ServerError(f"log on as {settings.user!r} refused: {_detail(answer)}")
        session = answer.json()
        if session["account"] != settings.user:
            raise ServerError(f"the token is {session['account']!r}'s, not {settings.user!r}'s")
        self._csrf = session["csrf_token"]

    async def pending(self) -> list[tuple[int, OutgoingMail]]:
        """The user's mails waiting to be sent, oldest first, with their ids."""
        answer = await self._request("GET", "/api/v1/client/mails")
        return [(item["id"], _mail(item, self._settings.user)) for item in answer.json()]

    async def confirm(self, row_id: int) -> None:
        await self._request("POST", f"/api/v1/client/mails/{row_id}/confirm")

    async def _request(self, method: str, path: str, *, relogon: bool = True) -> httpx.Response:
        answer = await self._send(method, path, None, {CSRF_HEADER: self._csrf})
        if answer.status_code == 401 and relogon:
            await self.log_on()
            answer = await self._send(method, path, None, {CSRF_HEADER: self._csrf})
        if answer.status_code != 200:
            raise ServerError(f"{method} {path}: {answer.status_code} {_detail(answer)}")
        return answer

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> httpx.Response:
        try:
            return await self._http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise ServerError(
                f"{self._settings.server}: {error or type(error).__name__}"
            ) from error


def _mail(item: dict[str, Any], user: str) -> OutgoingMail:
    return OutgoingMail(
        call_id=item["call_id"],
        user=user,
        envelope_from=item["envelope_from"],
        envelope_to=tuple(item["envelope_to"]),
        message_id=item["message_id"],
        data=base64.b64decode(item["data"]),
    )


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))
    except ValueError:
        return answer.text[:200]
