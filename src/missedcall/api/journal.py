"""The journal of unanswered calls per user (SPEC §6): list, and mark an entry done."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from missedcall.api.context import Ctx
from missedcall.api.security import Authenticated, documented, forbidden, not_found
from missedcall.journal.entries import DoneBy, EntryState, JournalEntry

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["journal"], responses=documented(401, 403))


class Caller(BaseModel):
    number: str
    name: str | None


class Entry(BaseModel):
    id: int
    call_id: str
    user: str
    line: str
    number: str = Field(description="the caller's number, normalised: what a callback matches")
    caller: Caller
    started_at: str
    reason: str = Field(description="`missed`, `answered_elsewhere` or `voicemail`")
    state: EntryState
    created_at: str
    done_at: str | None
    done_by: DoneBy | None


def _entry(entry: JournalEntry) -> Entry:
    return Entry.model_validate(entry.to_json())


@router.get("/journal", response_model=list[Entry])
async def journal(
    principal: Authenticated,
    context: Ctx,
    user: Annotated[str | None, Query(max_length=64, description="whose; a user: his own")] = None,
    state: Literal["open", "done", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Entry]:
    """The newest entries first."""
    if not principal.is_admin:
        if user not in (None, principal.account):
            raise forbidden("a user sees only his own journal")
        user = principal.account
    entries = context.store.journal_entries(user, None if state == "all" else state, limit)
    return [_entry(entry) for entry in entries]


@router.post("/journal/{entry_id}/done", response_model=Entry, responses=documented(404))
async def mark_done(
    entry_id: Annotated[int, Path(ge=1, le=2**62)], principal: Authenticated, context: Ctx
) -> Entry:
    """Close an entry by hand; an entry done already stays as it was."""
    entry = context.store.journal_entry(entry_id)
    if entry is None or not principal.may_see(entry.user):
        raise not_found(f"journal entry {entry_id}")
    context.store.mark_done(entry_id, context.clock())
    done = context.store.journal_entry(entry_id)
    assert done is not None
    return _entry(done)
