"""The languages the mails can be written in (SPEC §7): what a user may choose for himself.

``GET /templates`` lists them too, but it is the administrator's; the web page's
settings form needs them for a user.
"""

from __future__ import annotations

from fastapi import APIRouter

from missedcall.api.context import Ctx
from missedcall.api.security import Authenticated, documented

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["users"], responses=documented(401, 403))


@router.get("/languages", response_model=list[str])
async def languages(principal: Authenticated, context: Ctx) -> list[str]:
    """The language files in force, e.g. ``["de", "en"]``."""
    return list(context.server.renderer.languages.available())
