"""The mails themselves, for the administrator (the demo's mail viewer, SPEC §7): what a row
of the outbox holds -- its headers, its text and HTML parts, and the whole message as an
``.eml`` file.

The HTML part comes from a template and carries caller data: the web page shows it in a
sandboxed iframe, never in its own document.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from missedcall.api.context import ApiContext, Ctx
from missedcall.api.security import Admin, documented, not_found
from missedcall.calls.record import iso_time
from missedcall.outbox.store import OutboxRow, State

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["mails"], responses=documented(401, 403))

RowId = Annotated[int, Path(ge=1, le=2**62, description="the mail's outbox row")]
SHOWN_HEADERS = ("From", "Sender", "Reply-To", "To", "Subject", "Date", "Message-ID")


class MailSummary(BaseModel):
    id: int = Field(description="the outbox row")
    call_id: str
    user: str
    state: State
    to: list[str]
    subject: str
    queued_at: str = Field(description="the call's hang-up, when the mail was decided")
    changed_at: str = Field(description="the last change of state (for a sent mail: sent)")


class Mail(MailSummary):
    headers: dict[str, str] = Field(description="From, To, Subject, Date … as the mail has them")
    text: str | None = Field(description="the plain-text part")
    html: str | None = Field(description="the HTML part")
    attachments: list[str] = Field(description="the attachments' file names (a vCard)")


def _summary(row: OutboxRow, subject: str) -> MailSummary:
    return MailSummary(
        id=row.id,
        call_id=row.call_id,
        user=row.user,
        state=row.state,
        to=list(row.envelope_to),
        subject=subject,
        queued_at=iso_time(row.queued_at),
        changed_at=iso_time(row.changed_at),
    )


def _found(context: ApiContext, row_id: int) -> tuple[OutboxRow, bytes]:
    row, data = context.outbox.row(row_id), context.outbox.message(row_id)
    if row is None or data is None:
        raise not_found(f"mail {row_id}")
    return row, data


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body((subtype,))
    return None if body is None else str(body.get_content())


@router.get("/mails", response_model=list[MailSummary])
async def mails(
    principal: Admin,
    context: Ctx,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MailSummary]:
    """The mails the server made, the newest first, with their subjects."""
    parser = BytesHeaderParser(policy=email.policy.default)
    found = []
    for row in context.outbox.rows(state, None, limit):
        data = context.outbox.message(row.id) or b""
        found.append(_summary(row, str(parser.parsebytes(data).get("Subject", ""))))
    return found


@router.get("/mails/{row_id}", response_model=Mail, responses=documented(404))
async def mail(row_id: RowId, principal: Admin, context: Ctx) -> Mail:
    """One mail: headers, text, HTML and the names of its attachments."""
    row, data = _found(context, row_id)
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    headers = {name: str(message[name]) for name in SHOWN_HEADERS if message[name] is not None}
    return Mail(
        **_summary(row, headers.get("Subject", "")).model_dump(),
        headers=headers,
        text=_part(message, "plain"),
        html=_part(message, "html"),
        attachments=[part.get_filename() or "" for part in message.iter_attachments()],
    )


@router.get(
    "/mails/{row_id}/eml",
    response_class=Response,
    responses={
        200: {"content": {"message/rfc822": {}}, "description": "the whole message"},
        **documented(404),
    },
)
async def mail_file(row_id: RowId, principal: Admin, context: Ctx) -> Response:
    """The whole message as it went out, an .eml file a mail program opens."""
    _, data = _found(context, row_id)
    disposition = f'attachment; filename="missedcall-{row_id}.eml"'
    return Response(data, media_type="message/rfc822", headers={"Content-Disposition": disposition})
