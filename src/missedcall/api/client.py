"""Client dispatch (SPEC §9, ``notify.dispatch = "client"``): the user's own ``missedcall
client`` fetches his prepared mails and confirms each once it has sent it.

A mail stays queued until it is confirmed, so a client that fails to send (or
crashes before confirming) gets it again next time -- with the same
Message-ID, so a mail sent twice is recognisably one.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from missedcall.api.context import Ctx
from missedcall.api.security import User, documented, not_found
from missedcall.calls.record import iso_time

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/client", tags=["client"], responses=documented(401, 403))


class PendingMail(BaseModel):
    id: int
    call_id: str
    message_id: str
    envelope_from: str
    envelope_to: list[str]
    queued_at: str
    data: str = Field(description="the whole message (an .eml file), base64")


class Confirmed(BaseModel):
    id: int
    state: Literal["sent"]


@router.get("/mails", response_model=list[PendingMail])
async def pending_mails(
    principal: User, context: Ctx, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[PendingMail]:
    """The user's mails waiting to be sent by his client, oldest first."""
    return [
        PendingMail(
            id=queued.id,
            call_id=queued.mail.call_id,
            message_id=queued.mail.message_id,
            envelope_from=queued.mail.envelope_from,
            envelope_to=list(queued.mail.envelope_to),
            queued_at=iso_time(queued.queued_at),
            data=base64.b64encode(queued.mail.data).decode("ascii"),
        )
        for queued in context.outbox.pending_for_user(principal.account, limit)
    ]


@router.post("/mails/{row_id}/confirm", response_model=Confirmed, responses=documented(404))
async def confirm(
    row_id: Annotated[int, Path(ge=1, le=2**62)], principal: User, context: Ctx
) -> Confirmed:
    """The client sent the mail: it leaves the queue (404 unless it is his and waiting)."""
    box, now = context.outbox, context.clock()
    row = box.row(row_id)
    done = row is not None and await context.server.committer.write(
        lambda: box.confirm(row_id, principal.account, now)
    )
    if row is None or not done:
        raise not_found(f"waiting mail {row_id}")
    context.server.metrics.mail_delivered("client", row.queued_at, now)
    return Confirmed(id=row_id, state="sent")
