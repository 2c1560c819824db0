"""Recent calls with their verdict, and for each user why a mail was (or was not) sent (SPEC §5).

The call record and the decision are as the server stored them when the call
ended.  ``why`` answers the administrator's question "why did (or didn't) Anna
get a mail for this call?" per user, for mail and journal: ``notified``, or the
reason of the skip (``answered``, ``logged_on``, ``short_ring``, …), or
``not_a_participant``.  A user sees only the calls whose verdict names him, and
only his own part of each verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from missedcall.api.context import ApiContext, Ctx
from missedcall.api.security import Authenticated, documented, forbidden, not_found
from missedcall.auth.principal import Principal
from missedcall.rules.decision import Decision, Skip, Target

__all__ = ["decision_from_json", "router"]

router = APIRouter(prefix="/api/v1", tags=["calls"], responses=documented(401, 403))

CallId = Annotated[str, Path(max_length=200, description="the call's id (Asterisk: Linkedid)")]
Limit = Annotated[int, Query(ge=1, le=500)]


class Why(BaseModel):
    user: str
    email: str = Field(description="`notified`, or why no mail was sent")
    journal: str = Field(description="`notified`, or why no journal entry was made")


class CallVerdict(BaseModel):
    call: dict[str, Any] = Field(description="the call record (SPEC §4)")
    decision: dict[str, Any] = Field(description="who was mailed and journaled, who not and why")
    why: list[Why]


def decision_from_json(data: Mapping[str, Any]) -> Decision:
    return Decision(
        call_id=str(data["call_id"]),
        email=tuple(Target(t["user"], t["line"], t.get("to")) for t in data.get("email", ())),
        journal=tuple(Target(t["user"], t["line"]) for t in data.get("journal", ())),
        skipped=tuple(
            Skip(s["channel"], s.get("user"), s.get("line"), s["reason"])
            for s in data.get("skipped", ())
        ),
    )


def _verdict(
    context: ApiContext, principal: Principal, record: dict[str, Any], stored: dict[str, Any]
) -> CallVerdict:
    decision = decision_from_json(stored)
    users = _concerned(context, record, decision)
    if not principal.is_admin:
        users = [user for user in users if user == principal.account]
        stored = _own_part(stored, principal.account)
    why = [
        Why(user=u, email=decision.why(u, "email"), journal=decision.why(u, "journal"))
        for u in users
    ]
    return CallVerdict(call=record, decision=stored, why=why)


def _concerned(context: ApiContext, record: Mapping[str, Any], decision: Decision) -> list[str]:
    """The users the verdict names, and the owners of the lines that rang, in that order."""
    named = [t.user for t in (*decision.email, *decision.journal)]
    named += [s.user for s in decision.skipped if s.user is not None]
    owners = [context.directory.user_of_line(p["line"]) for p in record.get("participants", ())]
    named += [owner.id for owner in owners if owner is not None]
    return list(dict.fromkeys(named))


def _own_part(stored: dict[str, Any], user: str) -> dict[str, Any]:
    """The decision as a user may see it: his own entries and the call-level skips."""

    def mine(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [entry for entry in entries if entry.get("user") in (user, None)]

    return {
        "call_id": stored.get("call_id"),
        "email": mine(stored.get("email", [])),
        "journal": mine(stored.get("journal", [])),
        "skipped": mine(stored.get("skipped", [])),
    }


@router.get("/calls", response_model=list[CallVerdict])
async def recent_calls(
    principal: Authenticated,
    context: Ctx,
    user: Annotated[str | None, Query(max_length=64, description="only this user's calls")] = None,
    limit: Limit = 50,
) -> list[CallVerdict]:
    """The newest decided calls first; a user gets his own calls only."""
    if not principal.is_admin:
        if user not in (None, principal.account):
            raise forbidden("a user sees only his own calls")
        user = principal.account
    stored = context.store.recent_decisions(user, limit)
    return [_verdict(context, principal, record, decision) for record, decision in stored]


@router.get("/calls/{call_id}", response_model=CallVerdict, responses=documented(404))
async def one_call(call_id: CallId, principal: Authenticated, context: Ctx) -> CallVerdict:
    """One call and its verdict."""
    stored = context.store.decision_for(call_id)
    mine = principal.is_admin or context.store.concerns(call_id, principal.account)
    if stored is None or not mine:
        raise not_found(f"call {call_id!r}")
    record, decision = stored
    return _verdict(context, principal, record, decision)
