"""Sessions, tokens and password hashes in a real database: what is stored (never a secret),
and the logons sessions stand for (SPEC §5)."""

from __future__ import annotations

import sqlite3

import pytest

from missedcall.auth.passwords import hash_password, verify_password
from missedcall.auth.sessions import SessionStore
from missedcall.auth.tokens import TokenStore
from missedcall.journal.store import StateStore

IDLE = 600.0
T0 = 1_800_000_000.0


@pytest.fixture
def presence(connection: sqlite3.Connection) -> StateStore:
    return StateStore(connection)


@pytest.fixture
def sessions(connection: sqlite3.Connection, presence: StateStore) -> SessionStore:
    return SessionStore(connection, presence, IDLE)


def test_a_session_is_a_logon_until_it_is_closed(
    sessions: SessionStore, presence: StateStore
) -> None:
    secret, session = sessions.open("anna", "user", "web", T0)
    assert presence.is_logged_on("anna", T0 + 1)
    assert sessions.find(secret, T0 + 1) == session
    assert session.session_id is not None and sessions.close(session.session_id, T0 + 5)
    assert not presence.is_logged_on("anna", T0 + 6)
    assert presence.is_logged_on("anna", T0 + 4)  # history stays as it was
    assert sessions.find(secret, T0 + 6) is None
    assert not sessions.close(session.session_id, T0 + 7)


def test_the_user_stays_logged_on_while_another_session_of_the_kind_lives(
    sessions: SessionStore, presence: StateStore
) -> None:
    _, laptop = sessions.open("anna", "user", "web", T0)
    _, phone = sessions.open("anna", "user", "web", T0 + 10)
    assert laptop.session_id is not None and phone.session_id is not None
    sessions.close(laptop.session_id, T0 + 20)
    assert presence.is_logged_on("anna", T0 + 30)
    sessions.close(phone.session_id, T0 + 40)
    assert not presence.is_logged_on("anna", T0 + 41)


def test_a_lapsed_session_logs_the_user_off_when_it_lapsed(
    sessions: SessionStore, presence: StateStore
) -> None:
    secret, _ = sessions.open("anna", "user", "client", T0)
    assert sessions.find(secret, T0 + IDLE + 1) is None
    assert sessions.expire(T0 + IDLE + 100) == 1
    assert presence.is_logged_on("anna", T0 + IDLE - 1)
    assert not presence.is_logged_on("anna", T0 + IDLE)


def test_using_a_session_pushes_its_lapse_back(sessions: SessionStore) -> None:
    secret, _ = sessions.open("anna", "user", "web", T0)
    used = sessions.find(secret, T0 + IDLE - 10)
    assert used is not None and used.expires_at == T0 + 2 * IDLE - 10
    assert sessions.find(secret, T0 + IDLE + 10) is not None


def test_the_administrators_session_is_no_users_logon(
    sessions: SessionStore, presence: StateStore
) -> None:
    _, session = sessions.open("admin", "admin", "web", T0)
    assert session.is_admin and session.csrf_token
    assert not presence.is_logged_on("admin", T0 + 1)


def test_only_hashes_of_session_and_token_secrets_are_stored(
    connection: sqlite3.Connection, sessions: SessionStore
) -> None:
    secret, _ = sessions.open("anna", "user", "web", T0)
    token_id, token = TokenStore(connection).create("anna", "user", "laptop", T0)
    dump = "\n".join(connection.iterdump())
    assert secret not in dump and token not in dump
    assert token.startswith("mct_") and len(token) > 40
    assert token_id == 1


def test_a_token_stands_for_its_account_until_revoked(connection: sqlite3.Connection) -> None:
    tokens = TokenStore(connection)
    token_id, secret = tokens.create("anna", "user", "laptop", T0)
    who = tokens.check(secret, T0 + 1)
    assert who is not None and (who.account, who.role, who.session_id) == ("anna", "user", None)
    assert tokens.check(secret + "x", T0 + 1) is None
    assert tokens.tokens("anna")[0].last_used_at == T0 + 1
    assert tokens.revoke(token_id, T0 + 2)
    assert not tokens.revoke(token_id, T0 + 3)
    assert tokens.check(secret, T0 + 4) is None
    assert tokens.tokens()[0].revoked_at == T0 + 2


def test_password_hashes_are_argon2id_and_checked() -> None:
    hashed = hash_password("s3cret words")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "s3cret words")
    assert not verify_password(hashed, "s3cret word")
    assert not verify_password(None, "")
    assert not verify_password("not a hash", "s3cret words")
