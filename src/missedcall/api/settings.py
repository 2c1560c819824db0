"""Settings (SPEC §10): the configuration in force, secrets hidden, and the policy an
administrator may change while the server runs.

``PATCH`` takes an object of dotted keys (``{"notify.recipients": "first"}``),
validated by the configuration file's own rules: a bad value is a 422 naming
the key.  A change is kept in the database and judges the next call; ``null``
puts the file's value back.  The changeable keys are listed in ``changeable``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from missedcall.api.context import ApiContext, Ctx
from missedcall.api.errors import invalid
from missedcall.api.security import Admin, documented
from missedcall.config import Config, ConfigError
from missedcall.overrides import SETTINGS_KEYS

__all__ = ["redacted", "router"]

router = APIRouter(prefix="/api/v1", tags=["settings"], responses=documented(401, 403))

HIDDEN = "(hidden)"
_SECRETS = ("password", "admin_password_hash", "password_hash")


class Settings(BaseModel):
    settings: dict[str, Any] = Field(description="the configuration in force, secrets hidden")
    overrides: dict[str, Any] = Field(description="the keys changed at run time, and their values")
    changeable: list[str] = Field(description="the keys PATCH accepts")


Changes = Annotated[
    dict[str, Any],
    Body(
        description="dotted keys and their new values; null puts the file's value back",
        examples=[{"notify.recipients": "first", "notify.exceptions.min_ring_seconds": 5}],
    ),
]


def redacted(value: Any) -> Any:
    """Every password and password hash, at any depth, shown as set or not."""
    if isinstance(value, dict):
        return {
            key: (HIDDEN if item is not None else None) if key in _SECRETS else redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def _settings(context: ApiContext, config: Config) -> Settings:
    return Settings(
        settings=redacted(config.model_dump(mode="json", by_alias=True)),
        overrides=context.live.overrides(),
        changeable=list(SETTINGS_KEYS),
    )


@router.get("/settings", response_model=Settings)
async def settings(principal: Admin, context: Ctx) -> Settings:
    return _settings(context, context.live.config)


@router.patch("/settings", response_model=Settings, responses=documented(400))
async def change_settings(changes: Changes, principal: Admin, context: Ctx) -> Settings:
    """Change the notify or journal policy; applies from the next call on."""
    try:
        config = context.live.change_settings(changes, context.clock(), principal.account)
    except ConfigError as error:
        raise invalid(error.messages) from None
    return _settings(context, config)
