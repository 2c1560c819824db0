"""Asyncio client of the Asterisk Manager Interface: a thin transport around :class:`AmiParser`.

Theory of operation
-------------------
:meth:`AmiClient.items` keeps one manager session alive at a time:

1. connect, then log in: ``Challenge`` + ``Login`` with an MD5 ``Key`` (or a
   plain ``Secret``), asking for the configured event classes (``Events:``);
2. whitelist the wanted events on the server (``Filter``, one per event name),
   so the PBX sends less; the parser filters again locally, so a refusal only
   costs bandwidth;
3. ask which channels are alive (``CoreShowChannels``) and hand the answer on
   as a :class:`Resync`, *at the point in the stream where the list ended*, so
   events before and after the snapshot stay in stream order;
4. read events until the connection drops or a keepalive ``Ping`` goes
   unanswered, then report :class:`ConnectionLost` (if the session had
   delivered anything) and reconnect with capped, jittered exponential backoff.

One reader task per connection owns the socket.  It feeds the parser and routes
each frame: a response, or a list event, carrying one of *our* ActionIDs
completes the action waiting for it; any other event goes into a bounded queue
that the consumer of :meth:`AmiClient.items` drains.  When that queue is full
the reader waits, so it stops reading the socket and TCP pushes back on the
PBX: memory stays bounded however slow the consumer is.

Refused credentials are permanent: :meth:`AmiClient.items` raises
:class:`AmiAuthError` and the client stops instead of hammering the PBX.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from missedcall.sources.ami.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    AmiParser,
    Banner,
    EventFilter,
    Frame,
    FrameError,
    Message,
    NeedData,
)
from missedcall.sources.markers import ConnectionLost, Received, Resync, SourceItem

__all__ = [
    "AmiAuthError",
    "AmiClient",
    "AmiDisconnectedError",
    "AmiError",
    "AmiSettings",
    "AmiTimeoutError",
    "backoff_delay",
    "encode_action",
    "md5_key",
]

log = logging.getLogger("missedcall.ami")

RESYNC_LIST_EVENTS: Final = frozenset({"CoreShowChannel", "CoreShowChannelsComplete"})
"""List events of the resync action: the parser must let them through whatever the filter."""

_READ_SIZE: Final = 64 * 1024


class AmiError(Exception):
    """Something went wrong talking to the manager interface."""


class AmiAuthError(AmiError):
    """The PBX refused our credentials: permanent, retrying would only hammer it."""


class AmiTimeoutError(AmiError, TimeoutError):
    """An action got no (complete) answer in time."""


class AmiDisconnectedError(AmiError):
    """The connection went away before an action was answered."""


@dataclass(frozen=True, kw_only=True)
class AmiSettings:
    """Where the PBX is and how to talk to it; times in seconds."""

    host: str
    port: int = 5038
    username: str
    secret: str = field(repr=False)
    auth: Literal["md5", "plain"] = "md5"
    events: str = "call,dialplan,agent"
    keepalive_seconds: float = 20.0
    connect_timeout: float = 10.0
    action_timeout: float = 10.0
    reconnect_initial: float = 0.5
    reconnect_max: float = 30.0
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    queue_size: int = 1000

    def __post_init__(self) -> None:
        if self.auth not in ("md5", "plain"):
            raise ValueError(f"auth must be 'md5' or 'plain', got {self.auth!r}")
        for name in ("keepalive_seconds", "connect_timeout", "action_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0 < self.reconnect_initial <= self.reconnect_max:
            raise ValueError(
                "need 0 < reconnect_initial <= reconnect_max, got "
                f"{self.reconnect_initial!r} and {self.reconnect_max!r}"
            )
        if self.queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {self.queue_size!r}")


def md5_key(challenge: str, secret: str) -> str:
    """The ``Key`` of an MD5 login: hex MD5 of the challenge followed by the secret."""
    digest = hashlib.md5((challenge + secret).encode("utf-8"), usedforsecurity=False)
    return digest.hexdigest()


def backoff_delay(attempt: int, *, initial: float, maximum: float, jitter: float) -> float:
    """Seconds to wait before reconnect ``attempt`` (0 first): doubling, capped, jittered.

    ``jitter`` in [0, 1) takes up to half off, so many clients restarted together
    spread out, yet no delay is ever shorter than half the doubling schedule.
    """
    return min(maximum, initial * 2.0 ** min(attempt, 60)) * (1.0 - jitter / 2.0)


def encode_action(name: str, action_id: str, fields: Mapping[str, str]) -> bytes:
    """An action as it goes on the wire.

    A CR or LF in a key or value would forge another line, so it is refused.
    """
    pairs = [("Action", name), ("ActionID", action_id), *fields.items()]
    for key, value in pairs:
        if any(char in key + value for char in "\r\n"):
            raise ValueError(f"line break in action field {key!r}")
    return Message.from_pairs(pairs).encode()


def _succeeded(response: Message) -> bool:
    return (response.response or "").lower() == "success"


def _list_flag(message: Message) -> str:
    """``start`` on the response opening a list, ``complete`` on the event closing it."""
    return (message.get("EventList") or "").lower()


def _parser_filter(event_filter: EventFilter | None) -> EventFilter | None:
    """The consumer's filter widened by the list events the client itself asks for."""
    if event_filter is None:
        return None
    return EventFilter(
        wanted=event_filter.wanted | RESYNC_LIST_EVENTS, conditional=event_filter.conditional
    )


class _BoundedItems:
    """The queue between the reader and the consumer: when full, the reader waits."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[SourceItem] = asyncio.Queue(size)
        self.paused = False
        self._warned = False

    def __len__(self) -> int:
        return self._queue.qsize()

    async def put(self, item: SourceItem) -> None:
        if not self._queue.full():
            self._queue.put_nowait(item)
            return
        self._note_pause()
        self.paused = True
        try:
            await self._queue.put(item)
        finally:
            self.paused = False

    def take_nowait(self) -> SourceItem | None:
        return None if self._queue.empty() else self._queue.get_nowait()

    async def take(self) -> SourceItem:
        return await self._queue.get()

    def _note_pause(self) -> None:
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        log.log(
            level,
            "ami back-pressure active: consumer slower than the PBX, reading paused queue_size=%d",
            self._queue.maxsize,
        )


@dataclass
class _PendingAction:
    """An action sent and the frames answering it so far."""

    name: str
    done: asyncio.Future[list[Message]]
    then: Callable[[list[Message]], SourceItem] | None = None
    frames: list[Message] = field(default_factory=list)
    listing: bool = False

    def take(self, message: Message) -> bool:
        """Add an answering frame; True once the answer is complete."""
        self.frames.append(message)
        if message.event is None:
            self.listing = _succeeded(message) and _list_flag(message) == "start"
            return not self.listing
        return _list_flag(message) in ("complete", "cancelled")

    def timeout_error(self, seconds: float) -> AmiTimeoutError:
        if self.listing:
            return AmiTimeoutError(
                f"{self.name}: list not complete after {seconds:g} s "
                "(does the event filter let its list events through?)"
            )
        return AmiTimeoutError(f"{self.name}: no answer within {seconds:g} s")


class _Connection:
    """One manager session: sends actions, reads and routes frames."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        parser: AmiParser,
        deliver: Callable[[SourceItem], Awaitable[None]],
        clock: Callable[[], float],
        action_ids: Callable[[], str],
        id_prefix: str,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = parser
        self._deliver_item = deliver
        self._clock = clock
        self._action_ids = action_ids
        self._id_prefix = id_prefix
        self._pending: dict[str, _PendingAction] = {}
        self.delivered_any = False
        self.ended: str | None = None

    async def request(
        self,
        name: str,
        fields: Mapping[str, str],
        timeout: float,
        then: Callable[[list[Message]], SourceItem] | None = None,
    ) -> list[Message]:
        """Send an action and wait for its whole answer.

        ``then`` turns a successful answer into an item delivered by the reader
        right where the answer ended in the stream.
        """
        if self.ended is not None:
            raise AmiDisconnectedError(f"{name}: {self.ended}")
        action_id = self._action_ids()
        frame = encode_action(name, action_id, fields)
        pending = _PendingAction(name, asyncio.get_running_loop().create_future(), then)
        self._pending[action_id] = pending
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(frame)
                await self._writer.drain()
                return await pending.done
        except TimeoutError:
            raise pending.timeout_error(timeout) from None
        except OSError as error:
            raise AmiDisconnectedError(f"{name}: {_describe(error)}") from error
        finally:
            self._pending.pop(action_id, None)

    async def read_until_closed(self) -> str:
        """Read and route frames until the connection ends; the reason it ended.

        Ending fails every action still waiting, so nobody waits for an answer
        that cannot come; answers already read stand.
        """
        reason = "connection closed"
        try:
            reason = await self._read_frames()
        except OSError as error:
            reason = _describe(error)
        except Exception as error:  # a bug must cost a reconnect, not the service
            log.exception("ami reader failed")
            reason = f"reader failed: {_describe(error)}"
        finally:
            self._end(reason)
        return reason

    async def keep_alive(
        self, interval: float, timeout: float, reading_paused: Callable[[], bool]
    ) -> str:
        """Ping while idle; the reason once a Ping goes unanswered.

        While back-pressure holds the reader, an answer cannot be read, so a
        missing one proves nothing and the check is skipped.
        """
        while True:
            await asyncio.sleep(interval)
            if reading_paused():
                continue
            try:
                await self.request("Ping", {}, timeout)
            except AmiDisconnectedError as error:
                return str(error)
            except AmiTimeoutError:
                if not reading_paused():
                    return f"no answer to keepalive Ping within {timeout:g} s"

    def log_off(self) -> None:
        """Say goodbye without waiting for the answer: the PBX frees the session at once."""
        if not self._writer.is_closing():
            self._writer.write(encode_action("Logoff", self._action_ids(), {}))

    def close(self) -> None:
        self._writer.close()
        self._end("connection closed by the client")

    async def _read_frames(self) -> str:
        while data := await self._reader.read(_READ_SIZE):
            self._parser.receive_data(data)
            while not isinstance(frame := self._parser.next_frame(), NeedData):
                await self._route(frame)
        cut_off = self._parser.close()
        if cut_off is not None:
            log.warning("ami frame error %s", cut_off.describe())
        return "connection closed by the server"

    def _end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        for pending in self._pending.values():
            if not pending.done.done():
                pending.done.set_exception(AmiDisconnectedError(f"{pending.name}: {reason}"))

    async def _route(self, frame: Frame) -> None:
        if isinstance(frame, Banner):
            log.info("ami banner version=%s", frame.version)
        elif isinstance(frame, FrameError):
            log.warning("ami frame error %s", frame.describe())
        elif (frame.get("ActionID") or "").startswith(self._id_prefix):
            await self._answer(frame)
        elif frame.event is not None:
            await self._deliver(Received(frame, self._clock()))
        else:
            log.debug("ami frame ignored: no event, no answer to us keys=%s", frame.items()[:3])

    async def _answer(self, message: Message) -> None:
        action_id = message.get("ActionID") or ""
        pending = self._pending.get(action_id)
        if pending is None:
            log.debug("ami late answer ignored action_id=%s", action_id)
            return
        if not pending.take(message):
            return
        del self._pending[action_id]
        if pending.done.done():
            return
        pending.done.set_result(pending.frames)
        if pending.then is not None and _succeeded(pending.frames[0]):
            await self._deliver(pending.then(pending.frames))

    async def _deliver(self, item: SourceItem) -> None:
        self.delivered_any = True
        await self._deliver_item(item)


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


_RECOVERABLE: Final = (OSError, TimeoutError, AmiTimeoutError, AmiDisconnectedError)


@dataclass(frozen=True)
class _SessionOutcome:
    reason: str
    went_live: bool = False
    delivered: bool = False
    lasted: float = 0.0


class AmiClient:
    """Events of one Asterisk PBX, across reconnects; see the module docstring."""

    def __init__(
        self,
        settings: AmiSettings,
        *,
        event_filter: EventFilter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._event_filter = event_filter
        self._clock = clock
        self._items = _BoundedItems(settings.queue_size)
        self._id_prefix = f"missedcall-{secrets.token_hex(4)}-"
        self._counter = itertools.count(1)
        self._runner: asyncio.Task[None] | None = None
        self._live: _Connection | None = None
        self._live_changed = asyncio.Event()
        self._stopped = asyncio.Event()
        self._failure: BaseException | None = None
        self._closed = False

    @property
    def backlog(self) -> int:
        """Items read from the PBX and not yet taken by the consumer (at most ``queue_size``)."""
        return len(self._items)

    @property
    def reading_paused(self) -> bool:
        """Whether the reader is waiting for the consumer (back-pressure)."""
        return self._items.paused

    async def items(self) -> AsyncIterator[SourceItem]:
        """Events, connection losses and resyncs, in order, until :meth:`close`.

        Raises :class:`AmiAuthError` (after the items before it) when the PBX
        refuses the credentials.
        """
        self._ensure_running()
        while (item := await self._next_item()) is not None:
            yield item
        if self._failure is not None:
            raise self._failure

    async def action(self, name: str, **fields: str) -> list[Message]:
        """Send an action; its response and, for a list action, the list through its Complete event.

        Waits up to ``action_timeout`` for a logged-in connection, then as long
        for the answer.  List events reach the answer only if the event filter
        lets them through.
        """
        self._ensure_running()
        timeout = self._settings.action_timeout
        connection = await self._wait_live(name, timeout)
        return await connection.request(name, fields, timeout)

    async def close(self) -> None:
        """Log off and stop; :meth:`items` still yields what was read, then ends."""
        if self._closed:
            return
        self._closed = True
        if self._live is not None:
            self._live.log_off()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        self._stopped.set()

    # -- consumer side ------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._closed:
            raise AmiError("client is closed")
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="missedcall-ami-client")

    async def _next_item(self) -> SourceItem | None:
        """The next queued item; None once stopped and drained."""
        item = self._items.take_nowait()
        if item is not None or self._stopped.is_set():
            return item
        taking = asyncio.ensure_future(self._items.take())
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({taking, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            taking.cancel()  # a cancelled take() takes nothing from the queue
            stopping.cancel()
            await asyncio.gather(taking, stopping, return_exceptions=True)
        return self._items.take_nowait() if taking.cancelled() else taking.result()

    async def _wait_live(self, name: str, timeout: float) -> _Connection:
        try:
            async with asyncio.timeout(timeout):
                while self._live is None:
                    if self._stopped.is_set():
                        raise AmiDisconnectedError(f"{name}: client stopped") from self._failure
                    self._live_changed.clear()
                    await self._live_changed.wait()
        except TimeoutError:
            settings = self._settings
            raise AmiTimeoutError(
                f"{name}: not connected to {settings.host}:{settings.port} within {timeout:g} s"
            ) from None
        return self._live

    # -- connection side ----------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._reconnect_forever()
        except AmiAuthError as error:
            log.error("ami login refused, giving up host=%s error=%s", self._settings.host, error)
            self._failure = error
        except Exception as error:  # surface any bug to the consumer instead of hanging it
            log.exception("ami client crashed")
            self._failure = error
        finally:
            self._stopped.set()
            self._live_changed.set()

    async def _reconnect_forever(self) -> None:
        settings = self._settings
        attempt = 0
        while True:
            outcome = await self._one_session()
            if outcome.delivered:
                await self._items.put(ConnectionLost(self._clock(), outcome.reason))
            if outcome.went_live and outcome.lasted >= settings.reconnect_max:
                attempt = 0  # a session that held up earns a quick retry
            delay = backoff_delay(
                attempt,
                initial=settings.reconnect_initial,
                maximum=settings.reconnect_max,
                jitter=random.random(),
            )
            attempt += 1
            log.warning(
                "ami disconnected reason=%r reconnect_in=%.2fs attempt=%d",
                outcome.reason,
                delay,
                attempt,
            )
            await asyncio.sleep(delay)

    async def _one_session(self) -> _SessionOutcome:
        settings = self._settings
        try:
            async with asyncio.timeout(settings.connect_timeout):
                reader, writer = await asyncio.open_connection(settings.host, settings.port)
        except (OSError, TimeoutError) as error:
            return _SessionOutcome(
                f"connect to {settings.host}:{settings.port} failed: {_describe(error)}"
            )
        log.info("ami connected host=%s port=%d", settings.host, settings.port)
        connection = self._new_connection(reader, writer)
        started = time.monotonic()
        try:
            reason, went_live = await self._serve(connection)
        finally:
            self._set_live(None)
            connection.close()
        return _SessionOutcome(
            reason, went_live, connection.delivered_any, time.monotonic() - started
        )

    def _new_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Connection:
        parser = AmiParser(
            max_frame_bytes=self._settings.max_frame_bytes,
            event_filter=_parser_filter(self._event_filter),
        )
        return _Connection(
            reader,
            writer,
            parser=parser,
            deliver=self._items.put,
            clock=self._clock,
            action_ids=lambda: f"{self._id_prefix}{next(self._counter)}",
            id_prefix=self._id_prefix,
        )

    async def _serve(self, connection: _Connection) -> tuple[str, bool]:
        """Handshake, then stay live; the reason the session ended and whether it went live."""
        reading = asyncio.create_task(connection.read_until_closed())
        try:
            try:
                await self._handshake(connection)
            except _RECOVERABLE as error:
                return connection.ended or _describe(error), False
            self._set_live(connection)
            return await self._stay_live(connection, reading), True
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _stay_live(self, connection: _Connection, reading: asyncio.Task[str]) -> str:
        """Until the reader ends or a keepalive Ping goes unanswered: the reason."""
        settings = self._settings
        keepalive = asyncio.create_task(
            connection.keep_alive(
                settings.keepalive_seconds, settings.action_timeout, lambda: self._items.paused
            )
        )
        try:
            await asyncio.wait({reading, keepalive}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            keepalive.cancel()
        return reading.result() if reading.done() else keepalive.result()

    async def _handshake(self, connection: _Connection) -> None:
        await self._log_in(connection)
        await self._install_filters(connection)
        await self._resync(connection)

    async def _log_in(self, connection: _Connection) -> None:
        settings = self._settings
        fields = {"Username": settings.username, "Events": settings.events}
        if settings.auth == "md5":
            challenge = await self._challenge(connection)
            fields |= {"AuthType": "MD5", "Key": md5_key(challenge, settings.secret)}
        else:
            fields["Secret"] = settings.secret
        answer = await connection.request("Login", fields, settings.action_timeout)
        if not _succeeded(answer[0]):
            message = answer[0].get("Message", "(no message)")
            raise AmiAuthError(f"login as {settings.username!r} refused: {message}")
        log.info("ami logged in user=%s auth=%s", settings.username, settings.auth)

    async def _challenge(self, connection: _Connection) -> str:
        timeout = self._settings.action_timeout
        answer = (await connection.request("Challenge", {"AuthType": "MD5"}, timeout))[0]
        challenge = answer.get("Challenge")
        if not _succeeded(answer) or not challenge:
            raise AmiAuthError(
                f"MD5 challenge refused: {answer.get('Message', '(no message)')} "
                "(set auth = 'plain' if the PBX does not offer it)"
            )
        return challenge

    async def _install_filters(self, connection: _Connection) -> None:
        """Whitelist the wanted events on the server; a refusal is only a warning."""
        if self._event_filter is None:
            return
        names = sorted(self._event_filter.event_names())
        timeout = self._settings.action_timeout
        outcomes = await asyncio.gather(
            *(
                connection.request(
                    "Filter", {"Operation": "Add", "Filter": f"Event: {name}"}, timeout
                )
                for name in names
            ),
            return_exceptions=True,  # every request settles, so no failure goes unread
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        answers = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
        refused = [answer[0] for answer in answers if not _succeeded(answer[0])]
        if refused:
            log.warning(
                "ami server-side event filter refused count=%d message=%r; filtering locally only",
                len(refused),
                refused[0].get("Message"),
            )

    async def _resync(self, connection: _Connection) -> None:
        timeout = self._settings.action_timeout
        answer = await connection.request("CoreShowChannels", {}, timeout, then=self._resync_item)
        if not _succeeded(answer[0]):
            log.warning(
                "ami CoreShowChannels refused message=%r; calls across the gap cannot be resynced",
                answer[0].get("Message"),
            )

    def _resync_item(self, frames: list[Message]) -> Resync:
        channels = tuple(frame for frame in frames if frame.event == "CoreShowChannel")
        log.info("ami live channels=%d", len(channels))
        return Resync(self._clock(), channels)

    def _set_live(self, connection: _Connection | None) -> None:
        self._live = connection
        self._live_changed.set()
