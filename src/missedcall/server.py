"""The running server: PBX events in, mails out, in one asyncio process (SPEC §3, §9).

Theory of operation
-------------------
Four tasks share one event loop and one SQLite database:

* *intake* pulls items from the PBX source, feeds the correlator, and for every
  finished call asks the pipeline for a verdict, renders the mails it makes, and
  commits verdict, journal and outbox rows together through the group
  committer.  Verdicts not yet on disk count as history for the next call
  (:class:`~missedcall.journal.pending.PendingHistory`), so history-based rules
  see every earlier notification.  After each call intake gives the other
  tasks a turn: with a backlog of events, delivery keeps pace with it instead of
  starting once it is worked off, and the group commit's short delay (set in
  :mod:`missedcall.bootstrap`) still gathers the writes of several calls.
* *delivery* (``dispatch = "server"``) is the outbox runner: it claims due rows
  and hands them to the SMTP server, retrying and failing as the replies say.
  The outbox decouples it from intake: a slow or absent SMTP server never
  stalls the reading of PBX events.
* *web* serves the health check, the REST API and the metrics over HTTP.
* *retention* deletes what finished more than ``keep_days`` ago, at start and
  then daily (:mod:`missedcall.retention`).

Settings changed at run time reach the rules by a new ``handler`` (a new judge
and directory, see :mod:`missedcall.overrides`): each call is judged by the
handler in place when it ends.  The server counts what it does in ``metrics``
(:mod:`missedcall.metrics`).

Stopping (SIGTERM, SIGINT) closes the PBX connection, lets intake finish the
items already read, waits for their commits, gives delivery a moment to settle
what it is sending, and closes the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import uvicorn

from missedcall.calls.asterisk import AsteriskCorrelator
from missedcall.calls.record import CallRecord, iso_time
from missedcall.journal.pending import PendingHistory
from missedcall.journal.store import Recorded
from missedcall.metrics import Metrics
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.mail import OutgoingMail
from missedcall.outbox.runner import DeliveryRunner
from missedcall.outbox.store import Dispatch, Outbox
from missedcall.pipeline import CallHandler, Handled, Verdict
from missedcall.render.message import Renderer, RenderError
from missedcall.retention import Retention
from missedcall.sources.markers import ConnectionLost, Received, Resync, SourceItem

log = logging.getLogger("missedcall.server")
calls_log = logging.getLogger("missedcall.calls")

SHUTDOWN_GRACE_SECONDS = 5.0
MAX_UNCOMMITTED = 256  # verdicts waiting for their group commit before intake waits too


class Source(Protocol):
    def items(self) -> AsyncIterator[SourceItem]: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class Health:
    """What the health check reports; updated by the tasks as they go."""

    started_at: float
    pbx_connected: bool = False
    last_event_at: float | None = None
    events_received: int = 0
    calls_decided: int = 0
    mails_queued: int = 0
    intake_running: bool = False
    stopping: bool = False
    problems: list[str] = field(default_factory=list)

    def to_json(self, outbox: Outbox, now: float) -> dict[str, object]:
        healthy = self.intake_running and not self.stopping
        return {
            "status": "ok" if healthy else "starting" if not self.stopping else "stopping",
            "pbx_connected": self.pbx_connected,
            "last_event_at": None if self.last_event_at is None else iso_time(self.last_event_at),
            "calls_decided": self.calls_decided,
            "mails_queued": self.mails_queued,
            "outbox": {state: count for state, count in outbox.counts_by_state().items()},
            "oldest_queued_seconds": outbox.oldest_queued_age(now),
            "uptime_seconds": round(now - self.started_at, 3),
        }


@dataclass
class Server:
    """One running missedcall; built by :func:`missedcall.bootstrap.build_server`."""

    source: Source
    correlator: AsteriskCorrelator
    handler: CallHandler
    renderer: Renderer
    outbox: Outbox
    committer: GroupCommitter
    dispatch: Dispatch
    runner: DeliveryRunner | None
    web: uvicorn.Config | None = None
    clock: Callable[[], float] = time.time
    metrics: Metrics = field(default_factory=Metrics)
    health: Health = field(init=False)
    decided: list[Handled] = field(default_factory=list, init=False)
    keep_decisions: bool = False  # the demo lists them at the end
    pending: PendingHistory | None = None  # judged, not yet written: history all the same
    retention: Retention | None = None  # None: keep everything
    _writes: set[asyncio.Future[Handled]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.health = Health(started_at=self.clock())
        self.metrics.watch(self.health, self.outbox, self.clock)

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        delivery_stop = asyncio.Event()
        retention = (
            asyncio.create_task(self.retention.run_until(delivery_stop), name="retention")
            if self.retention is not None
            else None
        )
        intake = asyncio.create_task(self._intake(), name="intake")
        delivery = (
            asyncio.create_task(self.runner.run_until(delivery_stop), name="delivery")
            if self.runner is not None
            else None
        )
        web = _QuietServer(self.web) if self.web is not None else None
        web_task = asyncio.create_task(web.serve(), name="web") if web is not None else None
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({intake, stopped}, return_when=asyncio.FIRST_COMPLETED)
        self.health.stopping = True
        log.info("server stopping")
        await self.source.close()
        await _finish(intake, SHUTDOWN_GRACE_SECONDS)
        delivery_stop.set()
        if delivery is not None:
            await _finish(delivery, SHUTDOWN_GRACE_SECONDS)
        if retention is not None:
            await _finish(retention, SHUTDOWN_GRACE_SECONDS)
        if web is not None and web_task is not None:
            web.should_exit = True
            await _finish(web_task, SHUTDOWN_GRACE_SECONDS)
        stopped.cancel()
        if intake.done() and not intake.cancelled() and intake.exception() is not None:
            raise intake.exception()  # type: ignore[misc]
        log.info("server stopped calls_decided=%d", self.health.calls_decided)

    async def _intake(self) -> None:
        self.health.intake_running = True
        try:
            async for item in self.source.items():
                self._note(item)
                for record in self.correlator.feed(item):
                    await self.submit(record)
                    await asyncio.sleep(0)  # delivery's turn: a reply may be waiting
        finally:
            if self._writes:  # what was judged is written before the server stops
                await asyncio.wait(self._writes)
            self.health.intake_running = False

    def _note(self, item: SourceItem) -> None:
        if isinstance(item, Received):
            self.health.pbx_connected = True
            self.health.last_event_at = item.received_at
            self.health.events_received += 1
        elif isinstance(item, ConnectionLost):
            self.health.pbx_connected = False
            log.warning("pbx connection lost at=%s reason=%s", iso_time(item.at), item.reason)
        elif isinstance(item, Resync):
            self.health.pbx_connected = True
            log.info("pbx resynced channels_alive=%d", len(item.channels))

    async def handle(self, record: CallRecord) -> Handled:
        """Judge one finished call, render its mails, commit all of it durably."""
        return await await_committed(await self.submit(record))

    async def submit(self, record: CallRecord) -> asyncio.Future[Handled]:
        """Judge and render a call now; its verdict goes to disk with the next group commit.

        Intake goes on with the next call meanwhile (the uncommitted verdicts
        count as history for it); at most ``MAX_UNCOMMITTED`` wait at a time.
        """
        while len(self._writes) >= MAX_UNCOMMITTED:
            await asyncio.wait(self._writes, return_when=asyncio.FIRST_COMPLETED)
        handler = self.handler  # a settings change meanwhile must not split a call
        verdict = handler.verdict(record)
        mails = self._render(verdict)
        queued: list[int] = []

        def queue(new: Recorded) -> None:
            wanted = [mails[t.user] for t in new.email if t.user in mails]
            queued.append(self.outbox.enqueue(wanted, self.dispatch, record.ended_at))

        if self.pending is not None:
            self.pending.hold(verdict.decision, verdict.number, record.ended_at)
        write = self.committer.submit(lambda: handler.commit(verdict, queue))
        self._writes.add(write)
        write.add_done_callback(lambda done: self._committed(done, verdict, queued))
        return write

    def _committed(
        self, write: asyncio.Future[Handled], verdict: Verdict, queued: list[int]
    ) -> None:
        self._writes.discard(write)
        record = verdict.record
        if self.pending is not None:
            self.pending.release(verdict.decision, verdict.number, record.ended_at)
        if write.cancelled() or write.exception() is not None:
            log.error(
                "call not recorded call=%s error=%r",
                record.call_id,
                None if write.cancelled() else write.exception(),
            )
            return
        handled = write.result()
        self.health.calls_decided += 1
        self.health.mails_queued += sum(queued)
        self.metrics.call_decided(record, handled.decision, sum(queued), self.clock())
        if queued and self.runner is not None:
            self.runner.wake()
        if self.keep_decisions:
            self.decided.append(handled)
        _log_verdict(handled, sum(queued), self.dispatch)

    def _render(self, verdict: Verdict) -> dict[str, OutgoingMail]:
        mails: dict[str, OutgoingMail] = {}
        directory = self.handler.directory
        for target in verdict.decision.email:
            user = directory.user(target.user)
            if user is None:
                continue
            try:
                rendered = self.renderer.render(verdict.record, target, user, verdict.contact)
            except RenderError as error:
                log.error("mail not rendered call=%s user=%s error=%s",
                          verdict.record.call_id, target.user, error)  # fmt: skip
                continue
            mails[target.user] = OutgoingMail(
                call_id=verdict.record.call_id,
                user=target.user,
                envelope_from=rendered.envelope_from,
                envelope_to=(rendered.to,),
                message_id=rendered.message_id,
                data=rendered.data,
            )
        return mails


def _log_verdict(handled: Handled, queued: int, dispatch: Dispatch) -> None:
    """One line per call that says why each mail was or was not sent."""
    decision = handled.decision
    record = handled.verdict.record
    mailed = ",".join(f"{t.user}<{t.to}>" for t in decision.email) or "-"
    skipped = ",".join(
        f"{s.channel}:{s.user or '*'}:{s.reason}" for s in decision.skipped
    ) or "-"  # fmt: skip
    calls_log.info(
        "call decided call=%s caller=%s direction=%s answered_by=%s mailed=%s queued=%d"
        " dispatch=%s journal=%s skipped=%s replay=%s incomplete=%s",
        record.call_id,
        record.caller.number or "-",
        record.direction,
        record.answered_by or "-",
        mailed,
        queued,
        dispatch,
        ",".join(t.user for t in decision.journal) or "-",
        skipped,
        handled.verdict.replay,
        record.incomplete,
    )


async def await_committed(write: asyncio.Future[Handled]) -> Handled:
    """The handled call once written; the error if writing it failed."""
    return await asyncio.shield(write)


async def _finish(task: asyncio.Task[object] | asyncio.Task[None], grace: float) -> None:
    """Let a task end by itself for ``grace`` seconds, then cancel it."""
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the server's owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
