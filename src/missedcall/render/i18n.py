"""Languages: the words of the message and how dates read, one TOML file per language.

The languages available are the files of the languages folder (SPEC §7): the
packaged ``en.toml`` and ``de.toml``, and whatever an administrator puts in
``notify.languages_dir`` (a file there replaces the packaged one of the same
name).  A language is looked up as Mailman looks up templates: the exact code
(``pt-BR``), then its base language (``pt``), then English, string by string,
so a partial translation still produces a complete mail.  A file that does not
load is reported with its name and line and the last good version stays in use.
"""

from __future__ import annotations

import logging
import re
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from string import Formatter

from missedcall.render.folders import ChangeCheck, Layers

__all__ = ["FALLBACK", "LANGUAGES_DIR", "Language", "LanguageError", "Languages", "When"]

log = logging.getLogger("missedcall.render")

LANGUAGES_DIR = Path(__file__).parent / "languages"
FALLBACK = "en"
SUFFIX = ".toml"

_KEY = re.compile(r"[a-z][a-z0-9-]{0,63}")
_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
# Text a mail and an XML document can carry: no control characters but tab and line breaks.
_TEXT = re.compile(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]*")
_PATTERNS: Mapping[str, frozenset[str]] = {
    "date": frozenset(
        {"weekday", "weekday_short", "day", "month", "month_name", "year"}
        | {"hour", "hour12", "minute", "second", "am_pm"}
    ),
    "time": frozenset({"hour", "hour12", "minute", "second", "am_pm"}),
    "date-time": frozenset({"date", "time"}),
    "duration-seconds": frozenset({"seconds"}),
    "duration-minutes": frozenset({"minutes", "seconds"}),
}
_NAMES: Mapping[str, int] = {"weekdays": 7, "weekdays-short": 7, "months": 12, "am-pm": 2}
_SAMPLE_FIELDS: Mapping[str, object] = {
    "weekday": "w", "weekday_short": "w", "day": 1, "month": 1, "month_name": "m", "year": 2026,
    "hour": 13, "hour12": 1, "minute": 5, "second": 0, "am_pm": "pm", "date": "d", "time": "t",
    "seconds": 5, "minutes": 1,
}  # fmt: skip


class LanguageError(Exception):
    """A language file that cannot be used; the message names the file and the key or line."""


@dataclass(frozen=True, slots=True)
class LanguageFile:
    """What one file says; any key may be missing (it then comes from the fallbacks)."""

    name: str | None = None
    formats: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    strings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class When:
    date: str
    time: str
    text: str


@dataclass(frozen=True, slots=True, eq=False)
class Language:
    """A complete language: every string and format, gaps filled from the fallbacks.

    Compared and hashed by identity: :class:`Languages` hands out one object per
    language until a file changes, so caches keyed by it stay right."""

    code: str
    name: str
    strings: Mapping[str, str]
    formats: Mapping[str, str | tuple[str, ...]]

    def when(self, moment: datetime) -> When:
        """The moment's date, time, and both together, as this language writes them."""
        fields = self._fields(moment)
        date = self._pattern("date").format(**fields)
        time = self._pattern("time").format(**fields)
        return When(date, time, self._pattern("date-time").format(date=date, time=time))

    def duration(self, seconds: float) -> str:
        whole = max(0, round(seconds))
        if whole < 60:
            return self._pattern("duration-seconds").format(seconds=whole)
        minutes, rest = divmod(whole, 60)
        return self._pattern("duration-minutes").format(minutes=minutes, seconds=rest)

    def _pattern(self, key: str) -> str:
        return str(self.formats[key])

    def _names(self, key: str) -> tuple[str, ...]:
        names = self.formats[key]
        return names if isinstance(names, tuple) else (names,)

    def _fields(self, moment: datetime) -> dict[str, object]:
        return {
            "weekday": self._names("weekdays")[moment.weekday()],
            "weekday_short": self._names("weekdays-short")[moment.weekday()],
            "day": moment.day,
            "month": moment.month,
            "month_name": self._names("months")[moment.month - 1],
            "year": moment.year,
            "hour": moment.hour,
            "hour12": (moment.hour - 1) % 12 + 1,
            "minute": moment.minute,
            "second": moment.second,
            "am_pm": self._names("am-pm")[moment.hour >= 12],
        }


class Languages:
    """The languages of the folders, reloaded when a file changes."""

    def __init__(
        self,
        layers: Layers,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._layers = layers
        self._changes = ChangeCheck(layers, check_interval, clock)
        self._files: dict[str, tuple[str, LanguageFile]] = {}  # key -> (code, file)
        self._merged: dict[str, Language] = {}
        self._problems: dict[str, str] = {}
        self._english = load_file(layers.packaged / (FALLBACK + SUFFIX))

    @property
    def problems(self) -> tuple[str, ...]:
        """Files rejected at the last reload, one message each."""
        self._refresh()
        return tuple(self._problems.values())

    def available(self) -> tuple[str, ...]:
        self._refresh()
        return tuple(sorted(code for code, _ in self._files.values()))

    def get(self, code: str | None) -> Language:
        """The language ``code`` (``de``, ``pt-BR``, ``pt_br``), else its base, else English."""
        self._refresh()
        wanted = _key(code or FALLBACK)
        language = self._merged.get(wanted)
        if language is None:
            language = self._merge(wanted)
            self._merged[wanted] = language
        return language

    def _merge(self, wanted: str) -> Language:
        chain = [_key(FALLBACK), wanted.partition("-")[0], wanted]
        found = [self._files[key] for key in dict.fromkeys(chain) if key in self._files]
        code = found[-1][0] if found else FALLBACK
        if wanted not in self._files:
            log.warning("language %r: no such language file; using %r", wanted, code)
        files = [self._english, *(language for _, language in found)]
        return Language(
            code=code,
            name=next(f.name for f in reversed(files) if f.name),
            strings={key: text for f in files for key, text in f.strings.items()},
            formats={key: value for f in files for key, value in f.formats.items()},
        )

    def _refresh(self) -> None:
        if not self._changes.changed():
            return
        self._merged.clear()
        self._problems.clear()
        loaded: dict[str, tuple[str, LanguageFile]] = {}
        for name in self._layers.names(SUFFIX):
            code = name.removesuffix(SUFFIX)
            path = self._layers.find(name)
            if path is None:
                continue
            try:
                if not _CODE.fullmatch(code):
                    raise LanguageError(f"{path}: the file name must be a language code and .toml")
                loaded[_key(code)] = (code, load_file(path))
            except LanguageError as error:
                self._problems[code] = str(error)
                log.error("%s (the last good version stays in use)", error)
                last_good = self._files.get(_key(code)) or self._packaged(name)
                if last_good is not None:
                    loaded[_key(code)] = last_good
        self._files = loaded

    def _packaged(self, name: str) -> tuple[str, LanguageFile] | None:
        """The packaged file an administrator's broken copy was meant to replace."""
        path = self._layers.packaged / name
        if not self._layers.is_overridden(name) or not path.is_file():
            return None
        return name.removesuffix(SUFFIX), load_file(path)


def _key(code: str) -> str:
    return code.strip().replace("_", "-").lower()


def load_file(path: Path) -> LanguageFile:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise LanguageError(f"{path}: cannot read: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise LanguageError(f"{path}: not UTF-8 (byte {error.start})") from error
    return parse_language(text, str(path))


def parse_language(text: str, origin: str) -> LanguageFile:
    """A language file's content, checked key by key; errors name the file and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LanguageError(f"{origin}: {error}") from error
    unknown = set(data) - {"language", "format", "strings"}
    if unknown:
        raise LanguageError(f"{origin}: unknown table {sorted(unknown)[0]!r}")
    raw_name = _table(data, "language", origin).get("name")
    name = None if raw_name is None else _check_text(raw_name, f"{origin}: language.name")
    formats = {
        key: _format(key, value, origin) for key, value in _table(data, "format", origin).items()
    }
    strings = {
        key: _string(key, value, origin) for key, value in _table(data, "strings", origin).items()
    }
    return LanguageFile(name=name, formats=formats, strings=strings)


def _table(data: Mapping[str, object], key: str, origin: str) -> Mapping[str, object]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise LanguageError(f"{origin}: {key}: must be a table")
    return table


def _string(key: str, value: object, origin: str) -> str:
    if not _KEY.fullmatch(key):
        raise LanguageError(
            f"{origin}: strings.{key}: a key must be lower-case letters, digits and '-'"
        )
    return _check_text(value, f"{origin}: strings.{key}")


def _check_text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise LanguageError(f"{where}: must be a string")
    if not _TEXT.fullmatch(value):
        raise LanguageError(f"{where}: must not contain control characters")
    return value


def _format(key: str, value: object, origin: str) -> str | tuple[str, ...]:
    where = f"{origin}: format.{key}"
    if key in _NAMES:
        count = _NAMES[key]
        if not isinstance(value, list) or len(value) != count:
            raise LanguageError(f"{where}: must be a list of {count} strings")
        return tuple(_check_text(item, where) for item in value)
    if key not in _PATTERNS:
        raise LanguageError(f"{where}: unknown key")
    pattern = _check_text(value, where)
    _check_pattern(pattern, _PATTERNS[key], where)
    return pattern


def _check_pattern(pattern: str, allowed: frozenset[str], where: str) -> None:
    try:
        used = {name for _, name, _, _ in Formatter().parse(pattern) if name is not None}
        unknown = used - allowed
        if unknown:
            raise LanguageError(
                f"{where}: unknown field {{{sorted(unknown)[0]}}}; "
                f"known: {', '.join(sorted(allowed))}"
            )
        pattern.format(**{name: _SAMPLE_FIELDS[name] for name in allowed})
    except (ValueError, IndexError, KeyError) as error:
        raise LanguageError(f"{where}: not a valid pattern: {error}") from error
