"""The ASGI application the server exposes (Starlette)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from missedcall.outbox.store import Outbox
from missedcall.server import Health


def build_app(health: Health, outbox: Outbox, clock: Callable[[], float]) -> Starlette:
    async def health_check(request: Request) -> JSONResponse:
        report = health.to_json(outbox, clock())
        status = 200 if report["status"] == "ok" else 503
        return JSONResponse(report, status_code=status)

    return Starlette(routes=[Route("/health", health_check, methods=["GET"])])
