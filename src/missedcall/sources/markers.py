"""What a live source tells the correlator besides PBX events.

A connection to the PBX can drop.  The source then says so (:class:`ConnectionLost`)
and, once it is back, tells which channels still exist (:class:`Resync`), so the
correlator can close what vanished in the gap without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from missedcall.sources.ami.protocol import Message


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The event stream stopped at ``at`` (seconds since the epoch)."""

    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class Resync:
    """The channels the PBX reports alive at ``at`` (``CoreShowChannel`` events)."""

    at: float
    channels: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class Received:
    """A PBX event and the moment the source read it (used when it carries no timestamp)."""

    message: Message
    received_at: float


SourceItem = Received | ConnectionLost | Resync
