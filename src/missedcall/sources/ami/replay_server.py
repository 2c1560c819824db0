"""A loopback AMI server that replays recorded Asterisk traces.

The tests and ``missedcall demo`` need a PBX that behaves like Asterisk on the
wire without being one.  This server binds 127.0.0.1 only and speaks what
:class:`~missedcall.sources.ami.client.AmiClient` uses: the banner,
``Challenge``/``Login`` (plain and MD5), ``Events``, ``Filter``, ``Ping``,
``CoreShowChannels`` and ``Logoff``, answering the way Asterisk's manager.c
does (a failed login is ``Response: Error`` + ``Message: Authentication
failed``, then the connection closes).

Script
------
``segments`` are recorded byte streams.  The k-th session that starts
streaming (once its client has sent the ``stream_after`` action, ``Login`` by
default) gets ``segments[k]``, and the server drops the connection after it,
like a PBX that goes away mid-call; after the last one only unless
``keep_last_open``.  Later sessions stream nothing and just answer actions.
:func:`split_trace` cuts a trace at a byte offset for such a script.
``CoreShowChannels`` reports ``channels_at_start`` to the first logged-in
session and ``channels_after_reconnect`` to every later one.

Frames are written whole under one lock, so an answer to an action never lands
inside a streamed frame, even with ``chunk_size``/``chunk_delay`` slowing every
write down.  Streamed events pass the session's event mask (``Events``) and
its ``Filter`` whitelist/blacklist, as in Asterisk; other streamed frames go
out as recorded.  ``pace="realtime"`` sleeps between frames as their
``Timestamp`` headers say, divided by ``speed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

from missedcall.sources.ami.client import md5_key
from missedcall.sources.ami.protocol import BANNER_PREFIX, AmiParser, Message

__all__ = ["ReplayServer", "split_frames", "split_trace"]

_FRAME_END: Final = re.compile(rb"\n\r?\n")
_TIMESTAMP: Final = re.compile(rb"(?:^|\n)Timestamp: ([0-9]+(?:\.[0-9]+)?)")
_ALL_EVENTS: Final = frozenset({"on", "yes", "true", "all"})
_NO_EVENTS: Final = frozenset({"off", "no", "false"})
_OPEN_ACTIONS: Final = frozenset({"login", "challenge", "logoff"})

Pace = Literal["asap", "realtime"]


def split_frames(data: bytes) -> list[bytes]:
    """``data`` cut after every frame's closing blank line; a cut-off tail stays last."""
    pieces: list[bytes] = []
    start = 0
    for match in _FRAME_END.finditer(data):
        pieces.append(data[start : match.end()])
        start = match.end()
    if start < len(data):
        pieces.append(data[start:])
    return pieces


def split_trace(data: bytes, at: int) -> tuple[bytes, bytes]:
    """The first ``at`` bytes, and the rest from the next frame on.

    The frame cut by ``at`` is lost, as it would be by a connection dropping
    mid-frame: a PBX does not resume a frame on the next connection.
    """
    if at <= 0:
        return b"", data
    match = _FRAME_END.search(data, max(0, at - 2))
    return data[:at], data[match.end() :] if match else b""


def renumbered(data: bytes, copy: int, *, shift_time: bool = True) -> bytes:
    """A recording whose calls are new ones: every id renamed, for load and soak runs.

    ``Uniqueid``/``Linkedid`` values (and their ``Dest``/``Target`` twins) all
    end in ``id: <epoch>.<n>``; the copy number goes in front of the epoch.
    With ``shift_time`` each copy also happens a day after the previous one.
    """
    data = re.sub(rb"(id: )(\d)", lambda m: m.group(1) + f"{copy}-".encode() + m.group(2), data)
    if shift_time:
        data = re.sub(
            rb"(Timestamp: )(\d+)",
            lambda m: m.group(1) + str(int(m.group(2)) + 86400 * copy).encode(),
            data,
        )
    return data


def _load(segment: bytes | Path) -> bytes:
    """A recorded stream without its banner line: the server sends its own."""
    data = segment.read_bytes() if isinstance(segment, Path) else segment
    if data.startswith(BANNER_PREFIX):
        return data[data.find(b"\n") + 1 :]
    return data


def _event_mask(value: str) -> frozenset[str] | None:
    """Event classes a session receives; None means all of them."""
    words = frozenset(word.strip().lower() for word in value.split(",") if word.strip())
    if words & _ALL_EVENTS:
        return None
    return frozenset() if words & _NO_EVENTS else words


def _reply(action: Message, first: tuple[str, str], *pairs: tuple[str, str]) -> bytes:
    """A frame answering ``action``: ``first``, the action's ActionID if it had one, ``pairs``."""
    action_id = action.get("ActionID")
    echoed = [("ActionID", action_id)] if action_id is not None else []
    return Message.from_pairs([first, *echoed, *pairs]).encode()


def _answer(action: Message, response: str, *pairs: tuple[str, str]) -> bytes:
    return _reply(action, ("Response", response), *pairs)


class ReplayServer:
    """A scripted Asterisk manager interface on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        segments: Sequence[bytes | Path] = (),
        *,
        username: str = "missedcall",
        secret: str = "secret",
        channels_at_start: Sequence[Mapping[str, str]] = (),
        channels_after_reconnect: Sequence[Mapping[str, str]] = (),
        stream_after: str = "Login",
        keep_last_open: bool = False,
        pace: Pace = "asap",
        speed: float = 1.0,
        chunk_size: int | None = None,
        chunk_delay: float = 0.0,
        answer_ping: bool = True,
        allow_filter: bool = True,
        banner: str = "Asterisk Call Manager/13.0.0",
        port: int = 0,
    ) -> None:
        if pace not in ("asap", "realtime"):
            raise ValueError(f"pace must be 'asap' or 'realtime', got {pace!r}")
        if speed <= 0 or (chunk_size is not None and chunk_size < 1) or chunk_delay < 0:
            raise ValueError("need speed > 0, chunk_size >= 1 and chunk_delay >= 0")
        self.username = username
        self.secret = secret
        self.stream_after = stream_after.lower()
        self.pace: Pace = pace
        self.speed = speed
        self.chunk_size = chunk_size
        self.chunk_delay = chunk_delay
        self.answer_ping = answer_ping
        self.allow_filter = allow_filter
        self.banner = banner
        self.actions: list[Message] = []
        """Every action received, in order, from every connection."""
        self.connections = 0
        """How many connections were accepted."""
        self.finished = asyncio.Event()
        """Set once every segment has been written to a client."""
        self._streamed = 0
        self._segments = [_load(segment) for segment in segments]
        self._keep_last_open = keep_last_open
        self._channels_at_start = tuple(channels_at_start)
        self._channels_after_reconnect = tuple(channels_after_reconnect)
        self._port = port
        self._logins = 0
        self._streams = 0
        self._server: asyncio.Server | None = None
        self._sessions: dict[asyncio.Task[None], _ReplaySession] = {}

    async def start(self) -> tuple[str, int]:
        """Listen on 127.0.0.1; the address clients connect to."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def stop(self) -> None:
        """Stop listening and end every session."""
        if self._server is not None:
            self._server.close()
        for session in self._sessions.values():
            session.hang_up()  # not task.cancel(): asyncio 3.11 logs cancelled connection tasks
        await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> ReplayServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _note_login(self) -> int:
        """Count a successful login; its number, 0 for the first."""
        self._logins += 1
        return self._logins - 1

    def _note_streamed(self) -> None:
        self._streamed += 1
        if self._streamed >= len(self._segments):
            self.finished.set()

    def _channels_for(self, login: int) -> tuple[Mapping[str, str], ...]:
        return self._channels_at_start if login == 0 else self._channels_after_reconnect

    def _next_segment(self) -> tuple[bytes, bool] | None:
        """The next segment to stream and whether to hang up after it; None when all are out."""
        if self._streams >= len(self._segments):
            return None
        self._streams += 1
        last = self._streams == len(self._segments)
        return self._segments[self._streams - 1], not (last and self._keep_last_open)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        session = self._sessions[task] = _ReplaySession(self, reader, writer)
        try:
            await session.run()
        finally:
            del self._sessions[task]


class _ReplaySession:
    """One client connection: answers its actions, streams its segment."""

    def __init__(
        self, server: ReplayServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._server = server
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._login: int | None = None
        self._challenge: str | None = None
        self._event_mask: frozenset[str] | None = None
        self._include: list[re.Pattern[str]] = []
        self._exclude: list[re.Pattern[str]] = []
        self._streaming: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[Message], Awaitable[bool]]] = {
            "challenge": self._on_challenge,
            "login": self._on_login,
            "logoff": self._on_logoff,
            "ping": self._on_ping,
            "events": self._on_events,
            "filter": self._on_filter,
            "coreshowchannels": self._on_core_show_channels,
        }

    async def run(self) -> None:
        try:
            await self._send(self._server.banner.encode() + b"\r\n")
            await self._serve_actions()
        except OSError:
            pass  # the client went away: nothing to answer any more
        finally:
            if self._streaming is not None:
                self._streaming.cancel()
                await asyncio.gather(self._streaming, return_exceptions=True)
            self._writer.close()

    def hang_up(self) -> None:
        """Drop the connection at once, even while a write waits for the client to read."""
        if self._streaming is not None:
            self._streaming.cancel()
        self._writer.transport.abort()

    async def _serve_actions(self) -> None:
        parser = AmiParser(expect_banner=False)
        while data := await self._reader.read(4096):
            for frame in parser.feed(data):
                if isinstance(frame, Message) and not await self._handle(frame):
                    return

    async def _handle(self, action: Message) -> bool:
        """Answer one action; False when the connection is to end."""
        self._server.actions.append(action)
        name = (action.get("Action") or "").lower()
        if self._login is None and name not in _OPEN_ACTIONS:
            await self._send(_answer(action, "Error", ("Message", "Permission denied")))
            return True
        handler = self._handlers.get(name)
        if handler is None:
            message = f"Invalid/unknown command: {action.get('Action')}"
            await self._send(_answer(action, "Error", ("Message", message)))
            return True
        keep_going = await handler(action)
        if keep_going and name == self._server.stream_after:
            self._start_streaming()
        return keep_going

    # -- actions -------------------------------------------------------------

    async def _on_challenge(self, action: Message) -> bool:
        if (action.get("AuthType") or "").lower() != "md5":
            await self._send(_answer(action, "Error", ("Message", "Must specify AuthType")))
            return True
        self._challenge = self._challenge or str(secrets.randbelow(10**9))
        await self._send(_answer(action, "Success", ("Challenge", self._challenge)))
        return True

    async def _on_login(self, action: Message) -> bool:
        if not self._credentials_match(action):
            await self._send(_answer(action, "Error", ("Message", "Authentication failed")))
            return False
        if self._login is None:
            self._login = self._server._note_login()
            self._event_mask = _event_mask(action.get("Events") or "on")
        await self._send(_answer(action, "Success", ("Message", "Authentication accepted")))
        return True

    def _credentials_match(self, action: Message) -> bool:
        server = self._server
        if action.get("Username") != server.username:
            return False
        if (action.get("AuthType") or "").lower() == "md5":
            key = action.get("Key")
            return self._challenge is not None and key == md5_key(self._challenge, server.secret)
        return action.get("Secret") == server.secret

    async def _on_logoff(self, action: Message) -> bool:
        await self._send(_answer(action, "Goodbye", ("Message", "Thanks for all the fish.")))
        return False

    async def _on_ping(self, action: Message) -> bool:
        if self._server.answer_ping:
            now = f"{time.time():.6f}"
            await self._send(_answer(action, "Success", ("Ping", "Pong"), ("Timestamp", now)))
        return True

    async def _on_events(self, action: Message) -> bool:
        mask = action.get("EventMask")
        if not mask:
            await self._send(_answer(action, "Error", ("Message", "Invalid event mask")))
            return True
        self._event_mask = _event_mask(mask)
        state = "Off" if self._event_mask == frozenset() else "On"
        await self._send(_answer(action, "Success", ("Events", state)))
        return True

    async def _on_filter(self, action: Message) -> bool:
        rule = action.get("Filter") or ""
        if not self._server.allow_filter:
            await self._send(_answer(action, "Error", ("Message", "Permission denied")))
            return True
        try:
            pattern = re.compile(rule.removeprefix("!"))
        except re.error:
            await self._send(_answer(action, "Error", ("Message", "Filter Not Added")))
            return True
        (self._exclude if rule.startswith("!") else self._include).append(pattern)
        await self._send(_answer(action, "Success", ("Message", "Filter Added Successfully")))
        return True

    async def _on_core_show_channels(self, action: Message) -> bool:
        assert self._login is not None
        channels = self._server._channels_for(self._login)
        start = _answer(
            action, "Success", ("EventList", "start"), ("Message", "Channels will follow")
        )
        listed = b"".join(
            _reply(action, ("Event", "CoreShowChannel"), *fields.items()) for fields in channels
        )
        complete = _reply(
            action,
            ("Event", "CoreShowChannelsComplete"),
            ("EventList", "Complete"),
            ("ListItems", str(len(channels))),
        )
        await self._send(start + listed + complete)
        return True

    # -- streaming -----------------------------------------------------------

    def _start_streaming(self) -> None:
        if self._streaming is not None:
            return
        segment = self._server._next_segment()
        if segment is not None:
            self._streaming = asyncio.create_task(self._stream(*segment))

    async def _stream(self, data: bytes, hang_up: bool) -> None:
        previous: float | None = None
        with contextlib.suppress(OSError):  # the client went away
            for piece in split_frames(data):
                previous = await self._pace(piece, previous)
                if self._passes(piece):
                    await self._send(piece)
            self._server._note_streamed()
        if hang_up:
            self._writer.close()

    async def _pace(self, piece: bytes, previous: float | None) -> float | None:
        """Sleep as long as the PBX did between frames; the frame's time, if it has one."""
        stamp = _TIMESTAMP.search(piece)
        if self._server.pace != "realtime" or stamp is None:
            return previous
        now = float(stamp.group(1))
        if previous is not None and now > previous:
            await asyncio.sleep((now - previous) / self._server.speed)
        return now

    def _passes(self, piece: bytes) -> bool:
        """Whether Asterisk would send this frame to this session (events only are filtered)."""
        if not _FRAME_END.search(piece):
            return True  # a frame cut off by the script goes out as recorded
        text = piece.decode("utf-8", errors="replace")
        event = Message(text)
        if event.event is None:
            return True
        return self._in_event_mask(event) and self._through_filters(text)

    def _in_event_mask(self, event: Message) -> bool:
        if self._event_mask is None:
            return True
        privilege = event.get("Privilege") or ""
        classes = {name for name in privilege.lower().split(",") if name and name != "all"}
        return classes <= self._event_mask

    def _through_filters(self, text: str) -> bool:
        """Asterisk's rule: whitelist first if there is one, then the blacklist."""
        if self._include and not any(pattern.search(text) for pattern in self._include):
            return False
        return not any(pattern.search(text) for pattern in self._exclude)

    async def _send(self, data: bytes) -> None:
        """Write ``data`` whole before any other frame, in chunks if so configured."""
        size = self._server.chunk_size
        chunks = [data] if size is None else [data[i : i + size] for i in range(0, len(data), size)]
        async with self._write_lock:
            for chunk in chunks:
                self._writer.write(chunk)
                await self._writer.drain()
                if size is not None:
                    await asyncio.sleep(self._server.chunk_delay)
