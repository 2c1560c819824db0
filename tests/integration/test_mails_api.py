"""The administrator's mail viewer over real HTTP: the mails the server made, each with its
headers, text and HTML, and as an .eml file; users get none of it."""

from __future__ import annotations

from pathlib import Path

from tests.support.running import running, trace


async def test_the_administrator_lists_and_reads_the_mails(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("03-ringgroup-missed"))
        await run.until(lambda: run.server.outbox.counts_by_state()["sent"] == 3)
        admin = await run.login("admin")
        mails = (await admin.get("/api/v1/mails")).json()
        assert [(m["user"], m["state"]) for m in mails] == [
            ("carla", "sent"), ("bernd", "sent"), ("anna", "sent")
        ]  # fmt: skip
        assert mails[0]["subject"] == "Missed call from +49 89 1234567"
        assert mails[2]["subject"] == "Verpasster Anruf von +49 89 1234567"
        carla = (await admin.get(f"/api/v1/mails/{mails[0]['id']}")).json()
        assert carla["headers"]["To"] == "Carla Gamma <carla@example.com>"
        assert carla["headers"]["Subject"] == carla["subject"]
        assert carla["html"].startswith("<!DOCTYPE html>")
        assert "Missed call" in carla["text"]
        eml = await admin.get(f"/api/v1/mails/{mails[0]['id']}/eml")
        assert eml.headers["content-type"] == "message/rfc822"
        assert eml.headers["content-disposition"] == (
            f'attachment; filename="missedcall-{mails[0]["id"]}.eml"'
        )
        assert b"To: Carla Gamma <carla@example.com>\r\n" in eml.content
        assert carla["headers"]["Message-ID"].encode() in eml.content
        assert (await admin.get("/api/v1/mails/999")).status_code == 404
        assert (await admin.get("/api/v1/mails/999/eml")).status_code == 404
        failed = (await admin.get("/api/v1/mails", params={"state": "failed"})).json()
        assert failed == []


async def test_users_read_no_mails_here_but_the_languages(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"))
        anna = await run.login("anna")
        for path in ["/api/v1/mails", "/api/v1/mails/1", "/api/v1/mails/1/eml"]:
            assert (await anna.get(path)).status_code == 403, path
        assert (await anna.get("/api/v1/languages")).json() == ["de", "en"]
        assert (await run.client().get("/api/v1/languages")).status_code == 401
