"""An administrator's folder laid over the packaged one, file by file.

Templates and language files ship inside the package; an administrator who
wants to change one copies it into his own folder (``notify.templates_dir``,
``notify.languages_dir``) and edits the copy.  A file there hides the packaged
file of the same name; every other file still comes from the package.  The
folders' :meth:`~Layers.signature` tells when something changed, so that
edits take effect without a restart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChangeCheck", "Layers"]

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class Layers:
    """``override`` (may be None or missing) first, then ``packaged``."""

    packaged: Path
    override: Path | None = None

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders, the one that wins first."""
        return (self.packaged,) if self.override is None else (self.override, self.packaged)

    def find(self, name: str) -> Path | None:
        """The file that is in force for ``name`` (a plain file name, no folders)."""
        if not name or os.sep in name or (os.altsep and os.altsep in name) or name[0] == ".":
            return None
        for root in self.roots:
            path = root / name
            if path.is_file():
                return path
        return None

    def names(self, suffix: str) -> list[str]:
        """The file names with ``suffix`` in either folder, sorted."""
        found = {path.name for root in self.roots for path in _files(root) if path.suffix == suffix}
        return sorted(found)

    def is_overridden(self, name: str) -> bool:
        return self.override is not None and (self.override / name).is_file()

    def signature(self) -> Signature:
        """Names, times and sizes of every file: changes whenever a file is edited."""
        entries = []
        for root in self.roots:
            for path in _files(root):
                try:
                    status = path.stat()
                except OSError:
                    continue
                entries.append((str(path), status.st_mtime_ns, status.st_size))
        return tuple(entries)


class ChangeCheck:
    """Tells whether the folders changed, looking at most once every ``interval`` seconds
    (a look costs a directory listing; mails may be rendered by the thousand)."""

    def __init__(
        self, layers: Layers, interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._layers = layers
        self._interval = interval
        self._clock = clock
        self._next_look = float("-inf")
        self._seen: Signature | None = None

    def changed(self) -> bool:
        """True the first time, then whenever a file was added, removed or edited."""
        now = self._clock()
        if now < self._next_look:
            return False
        self._next_look = now + self._interval
        signature = self._layers.signature()
        if signature == self._seen:
            return False
        self._seen = signature
        return True


def _files(root: Path) -> Iterator[Path]:
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    yield from (entry for entry in entries if entry.is_file() and not entry.name.startswith("."))
