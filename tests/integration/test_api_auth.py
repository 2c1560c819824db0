"""Who may read and change what, over real HTTP: no credentials, wrong ones, another user's
data, a forged CSRF token, a brute-force login, tokens, logoff."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.running import CSRF_HEADER, PASSWORD, running, trace

ANNAS_CALL = "1795849570.0"  # 01-missed-direct: rang 201 (anna) only

# Every endpoint a request without credentials must be refused, as (method, path).
PROTECTED = [
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/session"),
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me/settings"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/calls"),
    ("GET", f"/api/v1/calls/{ANNAS_CALL}"),
    ("GET", "/api/v1/journal"),
    ("POST", "/api/v1/journal/1/done"),
    ("GET", "/api/v1/outbox"),
    ("POST", "/api/v1/outbox/1/retry"),
    ("GET", "/api/v1/settings"),
    ("PATCH", "/api/v1/settings"),
    ("GET", "/api/v1/templates"),
    ("GET", "/api/v1/preview"),
    ("GET", "/api/v1/client/mails"),
    ("POST", "/api/v1/client/mails/1/confirm"),
    ("GET", "/metrics"),
]


async def test_nothing_but_health_is_readable_without_logging_in(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"))
        anonymous = run.client()
        assert (await anonymous.get("/health")).status_code == 200
        for method, path in PROTECTED:
            answer = await anonymous.request(method, path, json={})
            assert answer.status_code == 401, (method, path, answer.text)
        forged = run.client(cookies={"missedcall_session": "made-up"})
        assert (await forged.get("/api/v1/journal")).status_code == 401
        garbage = run.client(headers={"Authorization": "Bearer mct_made-up"})
        assert (await garbage.get("/api/v1/journal")).status_code == 401


async def test_a_wrong_password_or_an_unknown_user_is_refused_alike(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        client = run.client()
        for user, password in [("anna", "wrong"), ("nobody", PASSWORD), ("admin", "wrong")]:
            answer = await client.post("/api/v1/session", json={"user": user, "password": password})
            assert answer.status_code == 401
            assert answer.json() == {"detail": "wrong user or password"}
            assert "missedcall_session" not in answer.cookies


async def test_the_session_cookie_is_httponly_and_strict(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        form = {"user": "anna", "password": PASSWORD}  # what a form on another site can send
        assert (await run.client().post("/api/v1/session", data=form)).status_code == 422
        answer = await run.client().post(
            "/api/v1/session", json={"user": "anna", "password": PASSWORD}
        )
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert answer.json()["account"] == "anna" and answer.json()["csrf_token"]


async def test_a_user_sees_only_his_own_journal_calls_and_mails(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"))
        await run.until(lambda: len(run.sink.received) == 1)
        bernd = await run.login("bernd")
        assert (await bernd.get("/api/v1/journal", params={"user": "anna"})).status_code == 403
        assert (await bernd.get("/api/v1/journal")).json() == []
        annas_entry = run.server.handler.store.journal_entries("anna")[0]
        answer = await bernd.post(f"/api/v1/journal/{annas_entry.id}/done")
        assert answer.status_code == 404
        assert (await bernd.get(f"/api/v1/calls/{ANNAS_CALL}")).status_code == 404
        assert (await bernd.get("/api/v1/calls")).json() == []
        assert (await bernd.get("/api/v1/calls", params={"user": "anna"})).status_code == 403
        assert (await bernd.get("/api/v1/outbox", params={"user": "anna"})).status_code == 403
        assert (await bernd.get("/api/v1/outbox")).json()["rows"] == []
        annas_mail = run.server.outbox.rows(user="anna")[0]
        assert (await bernd.get(f"/api/v1/outbox/{annas_mail.id}")).status_code == 404
        assert (await bernd.get("/api/v1/preview", params={"user": "anna"})).status_code == 403
        preview = await bernd.get("/api/v1/preview", params={"call_id": ANNAS_CALL})
        assert preview.status_code == 404
        anna = await run.login("anna")
        assert [e["call_id"] for e in (await anna.get("/api/v1/journal")).json()] == [ANNAS_CALL]


async def test_a_user_cannot_do_what_only_the_administrator_may(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        anna = await run.login("anna")
        for method, path in [
            ("GET", "/api/v1/users"),
            ("GET", "/api/v1/settings"),
            ("PATCH", "/api/v1/settings"),
            ("PATCH", "/api/v1/users/bernd/settings"),
            ("GET", "/api/v1/templates"),
            ("GET", "/api/v1/templates/html.xsl"),
            ("POST", "/api/v1/outbox/1/retry"),
            ("GET", "/metrics"),
        ]:
            answer = await anna.request(method, path, json={})
            assert answer.status_code == 403, (method, path, answer.text)
        admin = await run.login("admin")
        assert (await admin.get("/api/v1/client/mails")).status_code == 403  # no mailbox


async def test_changes_need_the_sessions_csrf_token(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        anna = await run.login("anna")
        real = anna.headers.pop(CSRF_HEADER)
        change = {"notify": False}
        assert (await anna.patch("/api/v1/me/settings", json=change)).status_code == 403
        bernd = await run.login("bernd")  # a real token, of another session
        for forged in ["forged", bernd.headers[CSRF_HEADER], real[:-1]]:
            answer = await anna.patch(
                "/api/v1/me/settings", json=change, headers={CSRF_HEADER: forged}
            )
            assert answer.status_code == 403
            assert "X-CSRF-Token" in answer.json()["detail"]
        assert run.server.handler.directory.users["anna"].notify is True
        answer = await anna.patch("/api/v1/me/settings", json=change, headers={CSRF_HEADER: real})
        assert answer.status_code == 200
        assert (await anna.get("/api/v1/me")).status_code == 200  # reading needs no token


async def test_brute_force_logins_are_slowed_per_account_and_per_address(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as run:
        client = run.client()

        async def login(user: str, password: str) -> int:
            body = {"user": user, "password": password}
            return (await client.post("/api/v1/session", json=body)).status_code

        assert [await login("anna", f"guess {n}") for n in range(5)] == [401] * 5
        answer = await client.post("/api/v1/session", json={"user": "anna", "password": PASSWORD})
        assert answer.status_code == 429  # even the right password, for now
        assert 0 < int(answer.headers["Retry-After"]) <= 300
        assert await login("bernd", PASSWORD) == 200  # another account from here: still fine
        for user in ("carla", "dora", "emil"):
            assert [await login(user, "guess") for _ in range(4)] == [401] * 4
        assert [await login("bernd", "guess") for _ in range(3)] == [401] * 3  # 20 in all
        assert await login("dora", PASSWORD) == 429  # now every account, from this address


async def test_api_tokens_stand_for_their_account_until_revoked(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"))
        secret = run.token("anna")
        anna = run.client(headers={"Authorization": f"Bearer {secret}"})
        assert (await anna.get("/api/v1/me")).json()["account"] == "anna"
        assert len((await anna.get("/api/v1/journal")).json()) == 1
        assert (await anna.patch("/api/v1/me/settings", json={"when": "always"})).status_code == 200
        assert (await anna.get("/api/v1/settings")).status_code == 403
        admin = run.client(headers={"Authorization": f"Bearer {run.token('admin', 'admin')}"})
        assert (await admin.get("/api/v1/settings")).status_code == 200
        from missedcall.auth.tokens import TokenStore

        tokens = TokenStore(run.built.connection)
        token_id = next(t.id for t in tokens.tokens("anna"))
        assert tokens.revoke(token_id, 0.0)
        assert (await anna.get("/api/v1/me")).status_code == 401


@pytest.mark.parametrize("via", ["web", "api"])
async def test_logging_off_ends_the_session_and_the_logon(tmp_path: Path, via: str) -> None:
    async with running(tmp_path) as run:
        client = run.client()
        body = {"user": "anna", "password": PASSWORD, "via": via}
        session = (await client.post("/api/v1/session", json=body)).json()
        client.headers[CSRF_HEADER] = session["csrf_token"]
        assert (await client.get("/api/v1/me")).json()["user"]["logged_on"] is True
        store = run.server.handler.store
        assert store.is_logged_on("anna", run.server.clock())
        assert (await client.delete("/api/v1/session")).json() == {"logged_off": True}
        assert not store.is_logged_on("anna", run.server.clock())
        assert (await client.get("/api/v1/me")).status_code == 401
