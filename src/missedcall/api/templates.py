"""Templates (SPEC §7): which are in force, their source, and a preview of the mail they make.

A preview renders a stored call (``call_id``) or the made-up sample call for a
chosen user and language, as the server would send it, but strictly: a
template that fails is reported instead of falling back to the packaged one.
Templates rejected when they were loaded are listed in ``problems``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from missedcall.api.context import ApiContext, Ctx
from missedcall.api.errors import invalid
from missedcall.api.security import Admin, Authenticated, documented, forbidden, not_found
from missedcall.api.users import check_language
from missedcall.auth.principal import Principal
from missedcall.calls.record import CallRecord
from missedcall.calls.stored import record_from_json
from missedcall.config import UserSettings
from missedcall.directory.contacts import Contact
from missedcall.render import TEMPLATES_DIR, RenderError
from missedcall.render.folders import Layers
from missedcall.render.sample import SAMPLE_CONTACT, sample_call
from missedcall.rules.decision import Target

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["templates"], responses=documented(401, 403))

PLACEHOLDER_ADDRESS = "nobody@example.invalid"
TemplateName = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\.xsl$")]


class TemplateInfo(BaseModel):
    name: str
    overridden: bool = Field(description="true: the administrator's copy, not the packaged one")


class Templates(BaseModel):
    templates: list[TemplateInfo]
    languages: list[str]
    problems: list[str] = Field(description="templates and language files rejected at load")


class TemplateSource(TemplateInfo):
    source: str


class Preview(BaseModel):
    call_id: str
    user: str
    language: str
    to: str
    subject: str
    text: str
    html: str
    problems: list[str]


def _layers(context: ApiContext) -> Layers:
    return Layers(TEMPLATES_DIR, context.live.base.notify.templates_dir)


def _problems(context: ApiContext) -> list[str]:
    renderer = context.server.renderer
    return [str(p) for p in renderer.templates.problems] + list(renderer.languages.problems)


@router.get("/templates", response_model=Templates)
async def templates(principal: Admin, context: Ctx) -> Templates:
    layers = _layers(context)
    return Templates(
        templates=[
            TemplateInfo(name=name, overridden=layers.is_overridden(name))
            for name in layers.names(".xsl")
        ],
        languages=list(context.server.renderer.languages.available()),
        problems=_problems(context),
    )


@router.get("/templates/{name}", response_model=TemplateSource, responses=documented(404))
async def template_source(name: TemplateName, principal: Admin, context: Ctx) -> TemplateSource:
    """The source of the template in force under that name."""
    layers = _layers(context)
    path = layers.find(name) if name in layers.names(".xsl") else None
    if path is None:
        raise not_found(f"template {name!r}")
    source = path.read_bytes().decode("utf-8", errors="replace")
    return TemplateSource(name=name, overridden=layers.is_overridden(name), source=source)


@router.get("/preview", response_model=Preview, responses=documented(404))
async def preview(
    principal: Authenticated,
    context: Ctx,
    user: Annotated[str | None, Query(max_length=64, description="default: yourself")] = None,
    call_id: Annotated[str | None, Query(max_length=200, description="default: a sample")] = None,
    language: Annotated[str | None, Query(max_length=20, description="default: the user's")] = None,
) -> Preview:
    """The mail a user gets for a stored call, or for the sample call."""
    recipient = _recipient(context, principal, user)
    record, contact = _call(context, principal, call_id, recipient)
    check_language(context, language)
    target = Target(
        recipient.id, _line_of(recipient, record), recipient.email or PLACEHOLDER_ADDRESS
    )
    try:
        mail = context.server.renderer.render(
            record, target, recipient, contact, language=language, strict=True
        )
    except RenderError as error:
        raise invalid([f"template: {error}"]) from None
    return Preview(
        call_id=record.call_id,
        user=recipient.id,
        language=mail.language,
        to=mail.to,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        problems=_problems(context),
    )


def _recipient(context: ApiContext, principal: Principal, user: str | None) -> UserSettings:
    if principal.is_admin and user is None:
        raise invalid(["user: the administrator must name the user to preview for"])
    if not principal.may_see(user or principal.account):
        raise forbidden("a user previews his own mails only")
    found = context.directory.user(user or principal.account)
    if found is None:
        raise not_found(f"user {user!r}")
    return found


def _call(
    context: ApiContext, principal: Principal, call_id: str | None, user: UserSettings
) -> tuple[CallRecord, Contact | None]:
    directory = context.directory
    if call_id is None:
        if not user.lines:
            raise invalid([f"user: {user.id!r} has no lines to ring for a sample call"])
        return sample_call(user, user.lines[0], directory, context.clock()), SAMPLE_CONTACT
    stored = context.store.decision_for(call_id)
    mine = principal.is_admin or context.store.concerns(call_id, principal.account)
    if stored is None or not mine:
        raise not_found(f"call {call_id!r}")
    record = record_from_json(stored[0], directory.line_of_number)
    contacts = context.server.handler.contacts
    return record, contacts.find(record.caller.number) if contacts else None


def _line_of(user: UserSettings, record: CallRecord) -> str:
    """The user's line that rang in the call, else the user's first line."""
    rang = [p.line for p in record.participants if p.line in user.lines]
    return (rang or list(user.lines) or [p.line for p in record.participants] or [""])[0]
