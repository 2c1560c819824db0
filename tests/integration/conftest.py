"""Fixtures shared by the integration tests: the database in a SQLite file on disk, and the
outbox over it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from missedcall.db import open_database
from missedcall.outbox.store import Outbox


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "missedcall.db"


@pytest.fixture
def connection(database: Path) -> Iterator[sqlite3.Connection]:
    connection = open_database(database)
    yield connection
    connection.close()


@pytest.fixture
def outbox(connection: sqlite3.Connection) -> Outbox:
    return Outbox(connection)
