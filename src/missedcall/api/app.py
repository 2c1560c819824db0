"""The ASGI application the server exposes: health, the REST API, metrics, the web page.

``/health`` and (with ``api.metrics_public``) ``/metrics`` are open; everything
under ``/api/v1`` needs a session or an API token (:mod:`.security`), the
OpenAPI document ``/api/v1/openapi.json`` too.  While the app runs it sweeps
lapsed sessions, so that a user whose page or client went away without
logging off is logged off when his session lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from missedcall import __version__
from missedcall.api import (
    calls,
    client,
    journal,
    languages,
    mails,
    metrics,
    outbox,
    page,
    sessions,
    settings,
    templates,
    users,
)
from missedcall.api.context import ApiContext, Ctx
from missedcall.api.security import Authenticated

__all__ = ["OPENAPI_URL", "build_app"]

log = logging.getLogger("missedcall.api")

OPENAPI_URL = "/api/v1/openapi.json"
SWEEP_SECONDS = 30.0


def build_app(context: ApiContext) -> FastAPI:
    app = FastAPI(
        title="missedcall",
        version=__version__,
        description="Missed calls, their verdicts, the journal, the outbox and the settings."
        " See docs/api.md.",
        openapi_url=None,  # served below, to logged-in accounts only
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.context = context
    app.add_api_route("/health", _health, methods=["GET"], tags=["health"])
    app.add_api_route(OPENAPI_URL, _openapi, methods=["GET"], include_in_schema=False)
    for module in (sessions, users, calls, journal, outbox, settings, templates, client, metrics):
        app.include_router(module.router)
    # The web page (api/web/, served at / and /static/) and the API it needs besides.
    for module in (mails, languages, page):
        app.include_router(module.router)
    return app


async def _health(context: Ctx) -> JSONResponse:
    """Whether the server is up and reading the PBX; open to all (load balancers)."""
    report = context.server.health.to_json(context.outbox, context.clock())
    status = 200 if report["status"] == "ok" else 503
    return JSONResponse(report, status_code=status)


async def _openapi(request: Request, principal: Authenticated) -> JSONResponse:
    """The OpenAPI document: it holds no data, but nothing under /api/v1 is anonymous."""
    app: FastAPI = request.app
    return JSONResponse(app.openapi())


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    sweeper = asyncio.create_task(_sweep(app.state.context), name="session-sweep")
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


async def _sweep(context: ApiContext) -> None:
    while True:
        try:
            ended = context.sessions.expire(context.clock())
        except Exception:  # a locked database must not end the sweeping
            log.exception("sweeping lapsed sessions failed")
        else:
            if ended:
                log.info("sessions lapsed count=%d", ended)
        await asyncio.sleep(SWEEP_SECONDS)
