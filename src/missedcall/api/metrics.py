"""``/metrics`` for Prometheus: public if ``api.metrics_public``, else the administrator's
(a bearer token works: Prometheus' ``authorization`` setting)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from missedcall.api.context import Ctx
from missedcall.api.security import documented, forbidden, optional_principal, unauthorized
from missedcall.auth.principal import Principal

__all__ = ["router"]

router = APIRouter(tags=["metrics"], responses=documented(401, 403))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(
    context: Ctx, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Response:
    if not context.live.base.api.metrics_public:
        if principal is None:
            raise unauthorized("metrics are the administrator's (or set api.metrics_public)")
        if not principal.is_admin:
            raise forbidden("metrics are the administrator's (or set api.metrics_public)")
    return Response(context.server.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
