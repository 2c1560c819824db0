"""The delivery runner: Mailman's runner loop over the outbox -- claim, send, settle.

Theory of operation: at start, rows a crash left ``sending`` go back to the
queue (:meth:`Outbox.recover`).  Then, until stopped, the runner claims the due
rows, oldest decision first, sends them with at most ``concurrency`` in flight,
and settles each by what the server said:

=====================================================  ===================================
accepted, no recipient left to retry                   sent (refusals for good recorded)
permanent (a 5xx reply)                                failed, with the reply
temporary, first attempt less than the max age ago     retry, after a backoff
temporary, first attempt longer ago                    failed, with the last reply
an exception                                           set aside, with the traceback logged
=====================================================  ===================================

Backoff is exponential with full jitter: a delay drawn evenly from zero to
``min(cap, initial * 2 ** (attempt - 1))``, never past the max age.  A
*server-wide* failure (the server down, unreachable, refusing our login)
pauses the whole runner instead: every row that meets it waits for the same
moment, then one mail probes the server, and only when it gets through does
the runner send at full speed again.  So a backlog is not hammered at a dead
server, and once it is back the queue drains in order of decision.

Every write goes through the :class:`GroupCommitter`, so that a busy runner
pays one fsync for many settled rows.  Each mail's fate is logged on the
``missedcall.outbox`` logger as one ``key=value`` line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from missedcall.metrics import FailureKind, Metrics
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.mail import Refusal
from missedcall.outbox.smtp import DeliveryResult, Reply, SmtpDelivery
from missedcall.outbox.store import Claimed, Outbox

__all__ = ["Backoff", "DeliveryRunner"]

log = logging.getLogger("missedcall.outbox")

Clock = Callable[[], float]  # seconds since the epoch, like time.time


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter; ``random`` draws from [0, 1)."""

    initial: float = 30.0
    cap: float = 3600.0
    random: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return self.random() * min(self.cap, self.initial * 2.0 ** min(attempt - 1, 64))


class DeliveryRunner:
    """Delivers the outbox's server-dispatched rows through an :class:`SmtpDelivery`.

    ``batch`` bounds the rows claimed and not yet offered to the server (a row
    whose outcome waits for its commit needs no connection: it leaves room for
    the next claim); ``concurrency`` the mails being sent at once (default: the
    SMTP connections allowed).  Give it the committer the decisions are
    enqueued with, so that both share fsyncs.
    """

    def __init__(
        self,
        outbox: Outbox,
        delivery: SmtpDelivery,
        clock: Clock,
        *,
        batch: int = 50,
        concurrency: int | None = None,
        backoff: Backoff | None = None,
        committer: GroupCommitter | None = None,
        poll_seconds: float = 1.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._outbox = outbox
        self._delivery = delivery
        self._clock = clock
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency or delivery.settings.max_connections)
        self._backoff = backoff or Backoff()
        self._max_age = delivery.settings.retry_max_age_seconds
        self._committer = committer or GroupCommitter(outbox)
        self._poll_seconds = poll_seconds
        self._metrics = metrics
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()  # claimed, not yet settled
        self._unsent = 0  # claimed, not yet offered to the server
        self._room = asyncio.Event()  # set when at most half a batch is unsent
        self._outages = 0  # server-wide failures in a row
        self._paused_until = 0.0
        self._pause_reason = ""

    def wake(self) -> None:
        """New rows were queued: look for them now rather than at the next poll."""
        self._wakeup.set()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Recover, then deliver until ``stop`` is set; what is in flight then is finished."""
        await self._recover()
        watcher = asyncio.create_task(self._wake_on(stop))
        try:
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    await self._deliver_due(stop)
                except sqlite3.Error:
                    log.exception("outbox database error; delivery goes on at the next poll")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._idle_seconds())
            await self._settled()
        finally:
            watcher.cancel()

    async def drain(self) -> int:
        """Deliver everything due now (as long as the server answers); how many were tried."""
        tried = await self._deliver_due(None)
        await self._settled()
        return tried

    # -- The loop ----------------------------------------------------------

    async def _recover(self) -> None:
        recovered = await self._committer.write(lambda: self._outbox.recover(self._clock()))
        if recovered:
            log.warning("outbox recovered rows=%d left sending by a crash", recovered)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wakeup.set()

    def _idle_seconds(self) -> float:
        """Until the next retry or the end of a pause is due, at most the poll interval."""
        now = self._clock()
        due = [t for t in (self._paused_until, self._outbox.next_retry_at()) if t and t > now]
        return min([self._poll_seconds, *(t - now for t in due)])

    async def _deliver_due(self, stop: asyncio.Event | None) -> int:
        """Claim and send due rows until none is due, the server is down or ``stop`` is set.

        At most ``batch`` rows are claimed and not yet offered to the server;
        more are claimed when half of them are.  After an outage one row at a
        time is claimed (the probe) until one gets through.
        """
        tried = 0
        while not self._paused() and not (stop and stop.is_set()):
            probing = self._outages > 0
            if probing:
                await self._settled()
            else:
                await self._make_room()
            limit = 1 if probing else self._batch - self._unsent
            rows = await self._committer.write(partial(self._outbox.claim, limit, self._clock()))
            if not rows:
                break
            tried += len(rows)
            self._unsent += len(rows)
            for row in rows:
                task = asyncio.create_task(self._deliver(row))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
        if self._outages:
            await self._settled()  # the probe's outcome decides what comes next
        return tried

    async def _make_room(self) -> None:
        while self._unsent > self._batch // 2:
            self._room.clear()
            await self._room.wait()

    async def _settled(self) -> None:
        await asyncio.gather(*self._in_flight)

    def _paused(self) -> bool:
        return self._clock() < self._paused_until

    # -- One mail ----------------------------------------------------------

    async def _deliver(self, row: Claimed) -> None:
        try:
            result = await self._send(row)
            if result is None:
                await self._postpone(row)
            else:
                await self._settle(row, result)
        except Exception:
            await self._set_aside(row, traceback.format_exc())

    async def _send(self, row: Claimed) -> DeliveryResult | None:
        """Send in turn, at most ``concurrency`` at once; None: the server went away meanwhile."""
        try:
            async with self._slots:
                if self._paused():
                    return None
                return await self._delivery.send(row.mail)
        finally:
            self._unsent -= 1
            if self._unsent <= self._batch // 2:
                self._room.set()

    async def _settle(self, row: Claimed, result: DeliveryResult) -> None:
        now = self._clock()
        if result.server_wide:
            self._note_outage(now, result.reply)
        else:
            self._outages = 0  # the server answered: it is up
        for refusal in result.refused:
            _log_refusal(row, refusal)
        if result.outcome == "permanent":
            await self._fail(row, result, result.reply)
        elif result.outcome == "temporary" or result.temporary_refusals:
            await self._retry_or_give_up(row, result)
        else:
            await self._write(
                row,
                lambda: self._outbox.finish(
                    row.id, now, accepted=result.accepted, refused=result.refused
                ),
            )
            if self._metrics is not None:
                self._metrics.mail_delivered("server", row.queued_at, now)
            log.info(
                "outbox sent id=%d call=%s user=%s message_id=%s to=%s attempt=%d reply=%r",
                row.id,
                row.mail.call_id,
                row.mail.user,
                row.mail.message_id,
                ",".join(result.accepted),
                row.attempts + 1,
                str(result.reply),
            )

    async def _retry_or_give_up(self, row: Claimed, result: DeliveryResult) -> None:
        now = self._clock()
        reply = next((_rcpt_reply(r) for r in result.temporary_refusals), result.reply)
        first_attempt_at = now if row.first_attempt_at is None else row.first_attempt_at
        deadline = first_attempt_at + self._max_age
        if now >= deadline:
            await self._fail(row, result, reply, gave_up=True)
            return
        if result.server_wide:
            retry_at = self._paused_until
        else:
            retry_at = min(now + self._backoff.delay(row.attempts + 1), deadline)
        await self._retry(row, retry_at, str(reply), reply.code, result)

    async def _retry(
        self, row: Claimed, retry_at: float, reason: str, code: int | None, result: DeliveryResult
    ) -> None:
        now = self._clock()
        await self._write(
            row,
            lambda: self._outbox.retry_later(
                row.id,
                now,
                retry_at,
                reason,
                code=code,
                accepted=result.accepted,
                refused=result.refused,
            ),
        )
        self._note_failure("temporary")
        log.warning(
            "outbox retry id=%d call=%s user=%s attempt=%d in=%.1fs reason=%r",
            row.id,
            row.mail.call_id,
            row.mail.user,
            row.attempts + 1,
            retry_at - now,
            reason,
        )

    async def _postpone(self, row: Claimed) -> None:
        """The server went away while the row waited for its turn: not an attempt."""
        now, retry_at, reason = self._clock(), self._paused_until, self._pause_reason
        await self._write(row, lambda: self._outbox.postpone(row.id, now, retry_at, reason))
        log.info(
            "outbox postponed id=%d call=%s user=%s in=%.1fs reason=%r",
            row.id,
            row.mail.call_id,
            row.mail.user,
            retry_at - now,
            reason,
        )

    async def _fail(
        self, row: Claimed, result: DeliveryResult, reply: Reply, *, gave_up: bool = False
    ) -> None:
        now = self._clock()
        await self._write(
            row,
            lambda: self._outbox.fail(
                row.id,
                now,
                reply.code,
                reply.text,
                accepted=result.accepted,
                refused=result.refused,
            ),
        )
        self._note_failure("permanent")
        log.error(
            "outbox failed id=%d call=%s user=%s attempt=%d why=%s code=%s reply=%r",
            row.id,
            row.mail.call_id,
            row.mail.user,
            row.attempts + 1,
            "retried past max age" if gave_up else "permanent",
            reply.code,
            str(reply),
        )

    async def _set_aside(self, row: Claimed, details: str) -> None:
        """Never lose the row: if even this fails it stays sending, for the next recovery."""
        reason = details.strip().splitlines()[-1]
        self._note_failure("set_aside")
        log.error(
            "outbox set aside id=%d call=%s user=%s error=%r\n%s",
            row.id,
            row.mail.call_id,
            row.mail.user,
            reason,
            details,
        )
        try:
            await self._write(row, lambda: self._outbox.set_aside(row.id, self._clock(), reason))
        except Exception:
            log.exception("outbox cannot set aside id=%d, left sending", row.id)

    def _note_failure(self, kind: FailureKind) -> None:
        if self._metrics is not None:
            self._metrics.delivery_failed(kind)

    async def _write(self, row: Claimed, settle: Callable[[], bool]) -> None:
        if not await self._committer.write(settle):
            log.warning("outbox row id=%d was no longer sending; left as it is", row.id)

    def _note_outage(self, now: float, reply: Reply) -> None:
        """The first server-wide failure after the last pause starts a longer pause."""
        if now < self._paused_until:
            return
        self._outages += 1
        self._paused_until = now + self._backoff.delay(self._outages)
        self._pause_reason = f"smtp server unavailable: {reply}"
        log.warning(
            "outbox paused for=%.1fs outages=%d reason=%r",
            self._paused_until - now,
            self._outages,
            str(reply),
        )


def _rcpt_reply(refusal: Refusal) -> Reply:
    return Reply("rcpt", refusal.code, refusal.reply, refusal.recipient)


def _log_refusal(row: Claimed, refusal: Refusal) -> None:
    log.log(
        logging.ERROR if refusal.permanent else logging.WARNING,
        "outbox refused id=%d call=%s user=%s recipient=%s code=%d reply=%r",
        row.id,
        row.mail.call_id,
        row.mail.user,
        refusal.recipient,
        refusal.code,
        refusal.reply,
    )
