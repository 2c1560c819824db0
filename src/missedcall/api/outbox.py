"""The outbox (SPEC §9): mails by state, each with the server's last reply, and retry by hand.

A user sees his own mails only; retrying is the administrator's.  Retrying a
mail waiting for its next attempt makes it due now; a failed or set-aside mail
is queued again as new.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from missedcall.api.context import Ctx
from missedcall.api.security import Admin, Authenticated, documented, forbidden, not_found
from missedcall.outbox.store import State

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["outbox"], responses=documented(401, 403))

RowId = Annotated[int, Path(ge=1, le=2**62)]


class Outbox(BaseModel):
    counts: dict[str, int] = Field(description="mails by state (a user: his own)")
    oldest_queued_seconds: float | None = Field(
        description="how long the oldest mail still to be sent by the server has waited"
    )
    rows: list[dict[str, Any]] = Field(
        description="the newest first: state, attempts, the server's reply and refusals"
    )


@router.get("/outbox", response_model=Outbox)
async def outbox(
    principal: Authenticated,
    context: Ctx,
    state: State | None = None,
    user: Annotated[str | None, Query(max_length=64, description="whose; a user: his own")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Outbox:
    """The outbox's state and its newest rows; ``state=failed`` lists the failures."""
    if not principal.is_admin:
        if user not in (None, principal.account):
            raise forbidden("a user sees only his own mails")
        user = principal.account
    box = context.outbox
    return Outbox(
        counts={state: n for state, n in box.counts_by_state(user).items()},
        oldest_queued_seconds=box.oldest_queued_age(context.clock()) if user is None else None,
        rows=[row.to_json() for row in box.rows(state, user, limit)],
    )


@router.get("/outbox/{row_id}", response_model=dict[str, Any], responses=documented(404))
async def outbox_row(row_id: RowId, principal: Authenticated, context: Ctx) -> dict[str, Any]:
    row = context.outbox.row(row_id)
    if row is None or not principal.may_see(row.user):
        raise not_found(f"outbox row {row_id}")
    return row.to_json()


@router.post(
    "/outbox/{row_id}/retry",
    response_model=dict[str, Any],
    responses=documented(404, 409),
)
async def retry(row_id: RowId, principal: Admin, context: Ctx) -> dict[str, Any]:
    """Send a mail now: one waiting for a retry, or one that failed or was set aside."""
    box, now = context.outbox, context.clock()
    row = box.row(row_id)
    if row is None:
        raise not_found(f"outbox row {row_id}")
    committer = context.server.committer
    again = await committer.write(lambda: box.retry_now(row_id, now) or box.requeue(row_id, now))
    if not again:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"mail {row_id} is {row.state}: nothing to retry"
        )
    runner = context.server.runner
    if runner is not None:
        runner.wake()
    current = box.row(row_id)
    assert current is not None
    return current.to_json()
