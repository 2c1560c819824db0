"""Who am I, and users' self-service (SPEC §5): mail on or off, language, ``when``.

A user changes his own choices (``/me/settings``); the administrator anyone's
(``/users/{id}/settings``).  They are kept in the database over the file's
values (:mod:`missedcall.overrides`) and apply from the next call on; ``null``
puts the file's value back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from missedcall.api.context import ApiContext, Ctx
from missedcall.api.errors import invalid
from missedcall.api.security import Admin, Authenticated, User, documented, not_found
from missedcall.auth.principal import Principal, Role
from missedcall.config import ConfigError, UserSettings

__all__ = ["UserId", "check_language", "router"]

router = APIRouter(prefix="/api/v1", tags=["users"], responses=documented(401, 403))

When = Literal["always", "logged_off"]
UserId = Annotated[str, Path(max_length=64, description="a user's id")]


class Choices(BaseModel):
    notify: bool = Field(description="false: no mail (the journal still records)")
    language: str | None = Field(description="the language of the mails; null: the server's")
    when: When = Field(description="`logged_off`: mail only while not logged on")


class ChoicesPatch(BaseModel):
    """Only the keys given change; ``null`` puts the configuration file's value back."""

    model_config = ConfigDict(extra="forbid")

    notify: StrictBool | None = None
    language: Annotated[str | None, Field(max_length=20)] = None
    when: When | None = None


class UserInfo(BaseModel):
    id: str
    name: str
    email: str | None
    lines: list[str]
    settings: Choices
    own_choices: list[str] = Field(description="the settings that differ from the file by choice")
    logged_on: bool


class Me(BaseModel):
    account: str
    role: Role
    user: UserInfo | None = Field(description="null for the administrator")


def user_info(context: ApiContext, user: UserSettings) -> UserInfo:
    return UserInfo(
        id=user.id,
        name=user.name,
        email=user.email,
        lines=list(user.lines),
        settings=Choices(notify=user.notify, language=user.language, when=user.when),
        own_choices=sorted(context.live.user_overrides(user.id)),
        logged_on=context.store.is_logged_on(user.id, context.clock()),
    )


def _user(context: ApiContext, user_id: str) -> UserSettings:
    user = context.directory.user(user_id)
    if user is None:
        raise not_found(f"user {user_id!r}")
    return user


def _change(context: ApiContext, user_id: str, patch: ChoicesPatch, by: Principal) -> UserInfo:
    _user(context, user_id)
    changes = patch.model_dump(exclude_unset=True)
    check_language(context, changes.get("language"))
    try:
        user = context.live.change_user(user_id, changes, context.clock(), by.account)
    except ConfigError as error:
        raise invalid(error.messages) from None
    return user_info(context, user)


def check_language(context: ApiContext, language: str | None) -> None:
    """A 422 unless ``language`` is None or one of the language files'."""
    available = context.server.renderer.languages.available()
    if language is not None and _code(language) not in {_code(code) for code in available}:
        raise invalid([f"language: no such language; available: {', '.join(available)}"])


def _code(language: str) -> str:
    return language.replace("_", "-").lower()


@router.get("/me", response_model=Me)
async def me(principal: Authenticated, context: Ctx) -> Me:
    """Who is asking: the account, and for a user his lines and settings."""
    user = None if principal.is_admin else _user(context, principal.account)
    return Me(
        account=principal.account,
        role=principal.role,
        user=None if user is None else user_info(context, user),
    )


@router.patch("/me/settings", response_model=UserInfo, responses=documented(400))
async def change_my_settings(patch: ChoicesPatch, principal: User, context: Ctx) -> UserInfo:
    """A user's own choices: mail on or off, language, when."""
    return _change(context, principal.account, patch, principal)


@router.get("/users", response_model=list[UserInfo])
async def users(principal: Admin, context: Ctx) -> list[UserInfo]:
    """Every user, with the settings in force."""
    return [user_info(context, user) for user in context.directory.users.values()]


@router.patch("/users/{user_id}/settings", response_model=UserInfo, responses=documented(400, 404))
async def change_user_settings(
    user_id: UserId, patch: ChoicesPatch, principal: Admin, context: Ctx
) -> UserInfo:
    """The administrator changes a user's choices for him."""
    return _change(context, user_id, patch, principal)
