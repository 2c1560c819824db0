"""Files that code under test watches for changes."""

from __future__ import annotations

import os
from pathlib import Path


def write_changed(path: Path, text: str) -> None:
    """Write and move the time stamp on, so that a rewrite is always seen as a change
    (however coarse the file system's clock, however fast the test)."""
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 1_000_000_000 * (1 + hash(text) % 1000)
    os.utime(path, ns=(stamp, stamp))
