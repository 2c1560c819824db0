"""Sans-IO framing of the Asterisk Manager Interface (AMI).

Theory of operation
-------------------
Bytes go in with :meth:`AmiParser.receive_data`, in any chunking (one byte at a
time included); frames come out of :meth:`AmiParser.next_frame` until it returns
:data:`NEED_DATA`.  No sockets, no clock, no logging: the caller owns all I/O.

An AMI stream is an optional one-line banner (``Asterisk Call Manager/x.y``)
followed by frames: ``Key: Value`` lines ending in CRLF (bare LF is accepted
too), each frame closed by an empty line.  A frame is an *event* (it has an
``Event`` key), a *response* (``Response``) or anything else Asterisk may say.

Guarantees:

* A frame is decoded only once it is complete, so a multi-byte UTF-8 character
  split across two reads is never lost; bytes that are not UTF-8 are replaced
  by U+FFFD, never dropped.
* Keys are case-insensitive (stored lower-case); a key that repeats keeps
  every value (:meth:`Message.get_all`).
* A frame longer than ``max_frame_bytes`` yields one :class:`FrameError`, and
  parsing resumes at the next frame boundary; so does a frame that holds no
  ``Key: Value`` line at all (garbage between frames).
* Events nobody wants are dropped before they are decoded (:class:`EventFilter`),
  because most of a PBX's stream (``VarSet``, ``Newexten``, device states) is
  noise to a consumer that only follows calls.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final

__all__ = [
    "NEED_DATA",
    "AmiParser",
    "Banner",
    "EventFilter",
    "FrameError",
    "Message",
    "NeedData",
    "ParserStats",
]

BANNER_PREFIX: Final = b"Asterisk Call Manager"
DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024

# A frame ends at an empty line: a LF, then an optional CR, then a LF.
_FRAME_END: Final = re.compile(rb"\n\r?\n")
_BARE_LF_FRAME_END: Final = re.compile(rb"\n\n")
_EVENT_PREFIX: Final = b"Event: "


class NeedData:
    """Sentinel type: feed more bytes before asking for the next frame."""

    _instance: ClassVar[NeedData | None] = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line a manager connection starts with."""

    text: str

    @property
    def version(self) -> str:
        return self.text.rpartition("/")[2].strip()


class Message:
    """One AMI frame: an event, a response, or another keyed frame.

    Keys are matched case-insensitively; :meth:`get` returns the first value of
    a key and :meth:`get_all` every value in order (the ``Variable`` lines of a
    ``Newchannel`` with ``ChanVariable`` set, the ``Output`` lines of a command
    response).  Lines without a colon are kept in :attr:`free_lines`.

    A frame is split into fields only when asked for something unusual: the
    common lookup of a key spelled as Asterisk spells it is a substring search
    in the frame's text, several times cheaper than parsing every line of a
    frame of which a consumer reads four or five keys.  Building one is as
    cheap as it can be (the parser makes one for every wanted event): the
    text is kept as it came, with or without a final line end.
    """

    __slots__ = ("_event", "_fields", "_text")

    def __init__(self, text: str, event: str | None = None) -> None:
        self._text = text
        self._event = event  # the parser read the head line already; None: look it up
        self._fields: _Fields | None = None

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Message:
        """Build a frame from keys and values (tests, scripted servers)."""
        return cls("".join(f"{key}: {value}\r\n" for key, value in pairs))

    def __repr__(self) -> str:
        return f"Message({self.items()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._parsed() == other._parsed()

    __hash__ = None  # type: ignore[assignment]  # equal by content, not hashable

    @property
    def event(self) -> str | None:
        if self._event is None:
            self._event = self.get("Event") or ""  # "": looked, none (a response)
        return self._event or None

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def free_lines(self) -> tuple[str, ...]:
        return self._parsed().free_lines

    def items(self) -> list[tuple[str, str]]:
        """Every key with its first value, keys as the PBX spelled them."""
        return list(self._parsed().first.items())

    def encode(self) -> bytes:
        """The frame as it goes on the wire, CRLF line ends and closing blank line."""
        lines = self._text.replace("\r\n", "\n").strip("\r\n").split("\n")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def get(self, key: str, default: str | None = None) -> str | None:
        needle = _NEEDLES[key]
        text = self._text
        start = text.find(needle)
        if start < 0:
            return self._get_slowly(key, default)
        start += len(needle)
        end = text.find("\n", start)
        if end < 0:
            end = len(text)  # the last line, without its line end
        return text[start : end - 1 if text[end - 1] == "\r" else end]

    def get_all(self, key: str) -> tuple[str, ...]:
        return tuple(self._parsed().all.get(key.lower(), ()))

    def _get_slowly(self, key: str, default: str | None) -> str | None:
        """A key on the first line, spelled in another case, or absent."""
        if self._fields is None:
            # Most misses are keys simply absent (a DialEnd without Forward):
            # rule those out with a search before splitting the frame.
            lowered, line = self._text.lower(), key.lower() + ":"
            if not lowered.startswith(line) and "\n" + line not in lowered:
                return default
        values = self._parsed().all.get(key.lower())
        return values[0] if values else default

    def _parsed(self) -> _Fields:
        if self._fields is None:
            self._fields = _Fields.parse(self._text)
        return self._fields


class _Needles(dict[str, str]):
    """``\nKey: `` as searched for in a frame, made once per key."""

    def __missing__(self, key: str) -> str:
        needle = "\n" + key + ": "
        if len(self) < _MAX_NEEDLES:  # bounded: keys come from programs, not the wire
            self[key] = needle
        return needle


_MAX_NEEDLES: Final = 512
_NEEDLES: Final = _Needles()


@dataclass(frozen=True, slots=True)
class _Fields:
    first: dict[str, str]  # key as spelled on first sight -> first value
    all: dict[str, list[str]]  # lower-case key -> every value, in order
    free_lines: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> _Fields:
        first: dict[str, str] = {}
        every: dict[str, list[str]] = {}
        free: list[str] = []
        for raw_line in text.split("\n"):
            line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
            key, colon, value = line.partition(":")
            if not colon:
                if line.strip():
                    free.append(line)
                continue
            key = key.strip()
            value = value[1:] if value.startswith(" ") else value
            values = every.setdefault(key.lower(), [])
            if not values:
                first[key] = value
            values.append(value)
        return cls(first, every, tuple(free))


@dataclass(frozen=True, slots=True)
class FrameError:
    """A frame that could not be accepted; the stream goes on after it."""

    reason: str
    size: int
    preview: bytes = b""

    def describe(self) -> str:
        return f"{self.reason} ({self.size} bytes, starting {self.preview[:60]!r})"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a consumer wants, decided on raw bytes before decoding.

    ``wanted`` names event types kept whole.  ``conditional`` names event types
    kept only when the raw frame contains one of the given byte strings (for
    example ``Newexten`` only when it runs ``VoiceMail``).  Frames that are not
    events, or whose first line is not ``Event: ...``, are always decoded.
    """

    wanted: frozenset[str]
    conditional: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)

    def accepts(self, event_name: str, frame: bytes) -> bool:
        if event_name in self.wanted:
            return True
        needles = self.conditional.get(event_name)
        return needles is not None and any(needle in frame for needle in needles)

    def event_names(self) -> frozenset[str]:
        """Every event type that may pass: what to ask Asterisk to send."""
        return self.wanted | frozenset(self.conditional)

    def head_pattern(self) -> re.Pattern[bytes]:
        """Matches the first line of a frame that may pass."""
        names = b"|".join(re.escape(name.encode()) for name in sorted(self.event_names()))
        return re.compile(rb"Event: (?:" + names + rb")\r?\n")

    def next_candidate_pattern(self) -> re.Pattern[bytes]:
        """Finds the next frame boundary not followed by a complete unwanted head.

        A head line cut off by the end of the buffer is a candidate: it is
        looked at again once its line is complete.
        """
        names = b"|".join(re.escape(name.encode()) for name in sorted(self.event_names()))
        return re.compile(rb"\n\r?\n(?=Event: (?:" + names + rb")\r?\n|(?!Event: [^\n]*\n))")


def _head_lines(event_filter: EventFilter) -> tuple[bytes, ...]:
    """Every complete first line of a frame that may pass, CRLF and LF."""
    heads = (b"Event: " + name.encode() for name in sorted(event_filter.event_names()))
    return tuple(head + end for head in heads for end in (b"\r\n", b"\n"))


_UNWANTED: Final[tuple[None, tuple[bytes, ...]]] = (None, ())


@dataclass(frozen=True, slots=True)
class _Sieve:
    """An :class:`EventFilter` shaped for the parser's hot path.

    Every frame is cut to the same length, as long as the shortest passing
    name allows, so that the first sieve is one dictionary look-up: a frame
    whose first ``cut`` bytes are not in ``needle_of`` is an unwanted event;
    one that is passes if it contains the needle found there (empty for an
    event wanted whatever it says, or whose conditions need a closer look).
    ``passing`` then decides on the exact name: the name as text, and the
    needles one of which the frame must contain (none: wanted whole).
    """

    cut: int
    needle_of: dict[bytes, bytes]
    passing: dict[bytes, tuple[str, tuple[bytes, ...]]]

    @classmethod
    def of(cls, event_filter: EventFilter) -> _Sieve:
        wanted = event_filter.wanted
        passing: dict[bytes, tuple[str, tuple[bytes, ...]]] = {
            name.encode(): (name, tuple(needles))
            for name, needles in event_filter.conditional.items()
            if name not in wanted and needles
        } | {name.encode(): (name, ()) for name in wanted}
        cut = len(_EVENT_PREFIX) + min((len(name) for name in passing), default=0)
        needle_of: dict[bytes, bytes] = {}
        for name, (_, needles) in passing.items():
            head = (_EVENT_PREFIX + name)[:cut]
            single = needles[0] if len(needles) == 1 else b""
            needle_of[head] = single if needle_of.get(head, single) == single else b""
        return cls(cut, needle_of, passing)


def _last_boundary(buffer: bytes, start: int, search_from: int) -> int:
    """The last frame boundary from ``start`` on (-1: none) as a search from
    ``start`` forward finds it: of the overlapping ``\n\r\n\r\n`` of a stray
    blank line, that search finds the first ``\n\r\n``, not the second.
    There is none before ``search_from``."""
    last = buffer.rfind(b"\n\r\n", max(start, search_from))
    chain = last
    while chain - 2 >= start and buffer.startswith(b"\n\r\n", chain - 2):
        chain -= 2
    return last - 2 if (last - chain) % 4 else last


@dataclass(slots=True)
class ParserStats:
    frames: int = 0
    filtered: int = 0
    errors: int = 0
    bytes: int = 0


Frame = Banner | Message | FrameError


class AmiParser:
    """Turns AMI bytes into frames.  See the module docstring."""

    def __init__(
        self,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        event_filter: EventFilter | None = None,
        expect_banner: bool = True,
    ) -> None:
        if max_frame_bytes < 16:
            raise ValueError(f"max_frame_bytes must be at least 16, got {max_frame_bytes}")
        self._max = max_frame_bytes
        self._filter = event_filter
        self._wanted_head = event_filter.head_pattern() if event_filter else None
        self._next_candidate = event_filter.next_candidate_pattern() if event_filter else None
        self._wanted_heads = _head_lines(event_filter) if event_filter else ()
        self._sieve = _Sieve.of(event_filter) if event_filter else None
        self._ready: deque[Frame] = deque()
        self._buffer = b""
        self._pos = 0  # start of the unconsumed part of the buffer
        self._scan_from = 0  # where the search for the next frame end resumes
        self._skipping = False  # inside an oversized frame, discarding to its end
        self._banner_possible = expect_banner
        self.stats = ParserStats()

    def receive_data(self, data: bytes) -> None:
        if self._pos:
            self._buffer = self._buffer[self._pos :]
            self._scan_from = max(0, self._scan_from - self._pos)
            self._pos = 0
        self._buffer += data
        self.stats.bytes += len(data)

    def next_frame(self) -> Frame | NeedData:
        while True:
            if self._ready:
                return self._ready.popleft()
            if self._banner_possible:
                banner = self._take_banner()
                if banner is not None:
                    return banner
                if self._banner_possible:
                    return NEED_DATA
            if self._skipping or not self._take_complete_frames():
                return self._next_frame_carefully()

    def _next_frame_carefully(self) -> Frame | NeedData:
        """One frame at a time: the end of an oversized frame, or a partial one."""
        while True:
            pos = self._pos
            wanted_head = self._wanted_head
            if (
                wanted_head is not None
                and not self._skipping  # a line inside an oversized frame is no head
                and self._buffer.startswith(_EVENT_PREFIX, pos)
            ):
                if self._buffer.find(b"\n", pos) < 0:
                    return self._await_head_line()
                if not wanted_head.match(self._buffer, pos):
                    if not self._skip_unwanted():
                        return self._await_rest_of_unwanted()
                    continue
            match = _FRAME_END.search(self._buffer, max(pos, self._scan_from))
            if match is None:
                return self._await_more()
            frame = self._buffer[pos : match.start() + 1]
            self._pos = self._scan_from = match.end()
            if self._skipping:
                self._skipping = False
                continue
            result = self._decode(frame)
            if result is not None:
                return result

    def feed(self, data: bytes) -> list[Frame]:
        """Receive ``data`` and return every frame it completes."""
        self.receive_data(data)
        frames: list[Frame] = []
        while not isinstance(frame := self.next_frame(), NeedData):
            frames.append(frame)
            frames.extend(self._ready)  # the rest of a batch, without a call per frame
            self._ready.clear()
        return frames

    def close(self) -> FrameError | None:
        """End of stream: report a frame cut off by the connection's end."""
        leftover = self._buffer[self._pos :].strip()
        self._buffer = b""
        self._pos = self._scan_from = 0
        skipping, self._skipping = self._skipping, False
        if not leftover or skipping:
            return None
        self.stats.errors += 1
        return FrameError("truncated frame at end of stream", len(leftover), leftover[:80])

    # -- internals ---------------------------------------------------------

    def _take_complete_frames(self) -> bool:
        """Decode every complete frame in the buffer in one pass; False if there was none.

        The hot path.  One C-level split cuts the buffer into frames; a sieve
        (:class:`_Sieve`) drops most unwanted events with a dictionary look-up
        of their first bytes, without a Python statement of their own; the rest
        are looked at one by one.  A frame cut off by the end of a read, or an
        oversized one, goes the careful way.
        """
        buffer, start = self._buffer, self._pos
        if _BARE_LF_FRAME_END.search(buffer, start):  # faster than bytes.find here
            return self._take_complete_frames_mixed()
        last = _last_boundary(buffer, start, self._scan_from)
        if last < 0:
            return False
        self._pos = self._scan_from = last + 3
        frames = buffer[start:last].split(b"\n\r\n")  # each short of its final line feed
        sieve = self._sieve
        if sieve is None:
            for frame in frames:
                self._take(frame + b"\n")  # no filter to apply
            return True
        cut, needle_of = sieve.cut, sieve.needle_of.get
        candidates = [
            frame
            for frame in frames
            if ((needle := needle_of(frame[:cut])) is not None and needle in frame)
            or not frame.startswith(_EVENT_PREFIX)
        ]
        stats, ready, limit, passing = self.stats, self._ready, self._max, sieve.passing
        stats.filtered += len(frames) - len(candidates)
        for frame in candidates:
            if frame.startswith(_EVENT_PREFIX):
                name, needles = passing.get(frame[7 : frame.find(b"\r\n")], _UNWANTED)
                if name is None or (needles and not any(n in frame for n in needles)):
                    stats.filtered += 1
                    continue
                if len(frame) < limit:  # a wanted event of sane size: nothing more to check
                    stats.frames += 1
                    ready.append(Message(frame.decode("utf-8", errors="replace"), name))
                    continue
            self._take(frame + b"\n", filtered=True)
        return True

    def _take(self, frame: bytes, *, filtered: bool = False) -> None:
        """Decode a complete frame into the ready ones (see :meth:`_decode`)."""
        result = self._decode(frame, filtered=filtered)
        if result is not None:
            self._ready.append(result)

    def _take_complete_frames_mixed(self) -> bool:
        """The same for a stream with bare-LF line ends, found by regular expression."""
        buffer, start = self._buffer, self._pos
        for match in _FRAME_END.finditer(buffer, max(start, self._scan_from)):
            frame_start, start = start, match.end()
            if not self._unwanted_event(frame_start):
                self._take(buffer[frame_start : match.start() + 1])
        return self._advance_to(start)

    def _advance_to(self, start: int) -> bool:
        if start == self._pos:
            return False
        self._pos = self._scan_from = start
        return True

    def _unwanted_event(self, frame_start: int) -> bool:
        sieve, buffer = self._sieve, self._buffer
        if sieve is None or not buffer.startswith(_EVENT_PREFIX, frame_start):
            return False
        head = buffer[frame_start + 7 : buffer.find(b"\n", frame_start)]
        if (head[:-1] if head.endswith(b"\r") else head) in sieve.passing:
            return False
        self.stats.filtered += 1
        return True

    def _take_banner(self) -> Banner | None:
        """Consume the banner line if the stream starts with one."""
        buffer = self._buffer[self._pos :]
        head = buffer[: len(BANNER_PREFIX)]
        if not BANNER_PREFIX.startswith(head):
            self._banner_possible = False
            return None
        if len(head) < len(BANNER_PREFIX):
            return None  # too short to tell yet
        end = buffer.find(b"\n", 0, self._max + 1)  # a longer line is no banner, however it arrives
        if end < 0:
            if len(buffer) > self._max:
                self._banner_possible = False  # not a banner after all
            return None
        self._banner_possible = False
        self._pos += end + 1
        self._scan_from = self._pos
        return Banner(buffer[:end].rstrip(b"\r").decode("utf-8", errors="replace"))

    def _skip_unwanted(self) -> bool:
        """Jump past unwanted events at C speed; False when more data is needed."""
        assert self._next_candidate is not None
        buffer, pos = self._buffer, self._pos
        match = self._next_candidate.search(buffer, max(pos, self._scan_from))
        if match is not None:
            end = match.end()
        else:
            # No candidate yet: drop the complete unwanted frames, keep the tail.
            last = max(buffer.rfind(b"\n\r\n", pos), buffer.rfind(b"\n\n", pos))
            if last < 0:
                return False
            end = last + (3 if buffer[last + 1 : last + 2] == b"\r" else 2)
        self.stats.filtered += len(_FRAME_END.findall(buffer, pos, end))
        self._pos = self._scan_from = end
        return match is not None

    def _await_head_line(self) -> NeedData:
        """Wait for the rest of a head line, unless it can no longer name a wanted event.

        Judging by the complete line only, whatever the chunking, keeps the
        outcome the same as when the frame arrives in one piece.
        """
        partial = self._buffer[self._pos :]
        if any(head.startswith(partial) for head in self._wanted_heads):
            self._scan_from = max(self._pos, len(self._buffer) - 2)
            return NEED_DATA  # bounded: no longer than the longest wanted head line
        return self._await_rest_of_unwanted()

    def _await_rest_of_unwanted(self) -> NeedData:
        """Wait for the end of an unwanted event, forgetting it if it is oversized.

        An unwanted event is dropped whatever its size: when it arrives whole it
        is jumped over, so arriving in pieces must not turn it into an error.
        """
        self._scan_from = max(self._pos, len(self._buffer) - 2)
        if len(self._buffer) - self._pos > self._max:
            self._skipping = True
            self.stats.filtered += 1
            self._drop_all_but_tail()
        return NEED_DATA

    def _await_more(self) -> NeedData | FrameError:
        pending = len(self._buffer) - self._pos
        # The end marker is at most three bytes long and may straddle reads.
        self._scan_from = max(self._pos, len(self._buffer) - 2)
        # A frame of max bytes may be followed by the CR of its closing blank line.
        if self._skipping or pending <= self._max + 1:
            if self._skipping:
                self._drop_all_but_tail()
            return NEED_DATA
        self._skipping = True
        self.stats.errors += 1
        preview = self._buffer[self._pos : self._pos + 80]
        self._drop_all_but_tail()
        return FrameError(f"frame exceeds {self._max} bytes; skipped", pending, preview)

    def _drop_all_but_tail(self) -> None:
        """Forget an oversized frame's bytes, keeping what may start its end marker."""
        self._buffer = self._buffer[-2:]
        self._pos = self._scan_from = 0

    def _decode(self, frame: bytes, *, filtered: bool = False) -> Message | FrameError | None:
        """A complete frame; ``filtered`` when the event filter was applied already."""
        if len(frame) > self._max:
            self.stats.errors += 1
            return FrameError(f"frame exceeds {self._max} bytes; skipped", len(frame), frame[:80])
        if not filtered and self._filter is not None and frame.startswith(_EVENT_PREFIX):
            line_end = frame.find(b"\n")
            name = frame[len(_EVENT_PREFIX) : line_end].rstrip(b"\r").decode("ascii", "replace")
            if not self._filter.accepts(name, frame):
                self.stats.filtered += 1
                return None
        if b":" not in frame:
            stripped = frame.strip()
            if not stripped:
                return None  # stray blank lines between frames
            self.stats.errors += 1
            return FrameError("no 'Key: Value' line in frame", len(frame), stripped[:80])
        self.stats.frames += 1
        return Message(frame.decode("utf-8", errors="replace"))
