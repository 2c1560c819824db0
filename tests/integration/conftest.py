"""Fixtures shared by the integration tests: an outbox in a SQLite file on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from missedcall.db import open_database
from missedcall.outbox.store import Outbox


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "missedcall.db"


@pytest.fixture
def outbox(database: Path) -> Iterator[Outbox]:
    connection = open_database(database)
    yield Outbox(connection)
    connection.close()
