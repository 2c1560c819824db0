"""The REST API over real HTTP against a running server and a loopback PBX: the journal, the
outbox, runtime settings and self-service reaching the next call's verdict, logons, previews."""

from __future__ import annotations

from pathlib import Path

from tests.support.running import PASSWORD, Running, retimed, running, trace
from tests.support.smtp import SmtpSink

MISSED_DIRECT = "1795849570.0"  # 201 (anna) rang, nobody answered
RINGGROUP_MISSED = "1795849613.8"  # 201, 202, 203 rang, nobody answered
RINGGROUP_ANSWERED = "1795849644.16"  # 201, 202, 203 rang, 202 (bernd) answered


# (key, value, what the refusal says): the refusal names the key (or its first item).
BAD_SETTINGS = [
    ("notify.recipients", "every", "must be one of none, first, last, all; got 'every'"),
    ("notify.when_answered_elsewhere", "yes", "must be true or false"),
    ("journal.exceptions.min_ring_seconds", -1, "must be at least 0"),
    ("notify.exceptions.excluded_numbers", ["abc"], "a prefix ending in '*'"),
    ("notify.dispatch", "client", "cannot be changed at run time"),
    ("smtp.host", "elsewhere", "cannot be changed at run time"),
]


async def why(run: Running, call_id: str) -> dict[str, tuple[str, str]]:
    admin = await run.login("admin")
    call = (await admin.get(f"/api/v1/calls/{call_id}")).json()
    return {w["user"]: (w["email"], w["journal"]) for w in call["why"]}


async def test_the_journal_lists_open_entries_and_marks_them_done(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"), trace("03-ringgroup-missed"))
        anna = await run.login("anna")
        entries = (await anna.get("/api/v1/journal")).json()
        assert [e["call_id"] for e in entries] == [RINGGROUP_MISSED, MISSED_DIRECT]
        assert entries[1]["caller"]["number"] == "+49891234567"
        assert entries[1]["reason"] == "missed" and entries[1]["state"] == "open"
        done = await anna.post(f"/api/v1/journal/{entries[1]['id']}/done")
        assert done.status_code == 200
        assert done.json()["state"] == "done" and done.json()["done_by"] == "hand"
        open_now = (await anna.get("/api/v1/journal")).json()
        assert [e["call_id"] for e in open_now] == [RINGGROUP_MISSED]
        finished = (await anna.get("/api/v1/journal", params={"state": "done"})).json()
        assert [e["call_id"] for e in finished] == [MISSED_DIRECT]
        again = await anna.post(f"/api/v1/journal/{entries[1]['id']}/done")
        assert again.json()["done_at"] == done.json()["done_at"]
        admin = await run.login("admin")
        everyone = (await admin.get("/api/v1/journal", params={"state": "all"})).json()
        assert {e["user"] for e in everyone} == {"anna", "bernd", "carla"}


async def test_calls_say_per_user_why_a_mail_was_or_was_not_sent(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("04-ringgroup-answered"))
        admin = await run.login("admin")
        calls = (await admin.get("/api/v1/calls")).json()
        assert [c["call"]["call_id"] for c in calls] == [RINGGROUP_ANSWERED]
        assert calls[0]["call"]["answered_by"] == "202"
        assert await why(run, RINGGROUP_ANSWERED) == {
            "anna": ("answered", "notified"),
            "bernd": ("answered", "answered"),
            "carla": ("answered", "notified"),
        }
        carla = await run.login("carla")
        mine = (await carla.get(f"/api/v1/calls/{RINGGROUP_ANSWERED}")).json()
        assert mine["why"] == [{"user": "carla", "email": "answered", "journal": "notified"}]
        named = {
            e.get("user")
            for part in ("email", "journal", "skipped")
            for e in mine["decision"][part]
        }
        assert named <= {"carla", None}


async def test_the_administrator_retries_a_failed_mail_and_it_goes_out(tmp_path: Path) -> None:
    sink = SmtpSink(refuse={"anna@example.com": "550 5.1.1 mailbox full"})
    async with running(tmp_path, sink=sink) as run:
        await run.play(trace("01-missed-direct"))
        admin = await run.login("admin")
        await run.until(lambda: run.server.outbox.counts_by_state()["failed"] == 1)
        failed = (await admin.get("/api/v1/outbox", params={"state": "failed"})).json()
        row = failed["rows"][0]
        assert failed["counts"]["failed"] == 1
        assert row["user"] == "anna" and row["reply_code"] == 550 and "mailbox full" in row["reply"]
        anna = await run.login("anna")
        assert (await anna.get(f"/api/v1/outbox/{row['id']}")).json()["state"] == "failed"
        sink.refuse.clear()
        retried = await admin.post(f"/api/v1/outbox/{row['id']}/retry")
        assert retried.status_code == 200 and retried.json()["state"] in (
            "queued",
            "sending",
            "sent",
        )
        await run.until(lambda: len(run.sink.received) == 1)
        await run.until(lambda: run.server.outbox.counts_by_state()["sent"] == 1)
        again = await admin.post(f"/api/v1/outbox/{row['id']}/retry")
        assert again.status_code == 409  # sent: nothing to retry
        assert (await admin.post("/api/v1/outbox/999/retry")).status_code == 404


async def test_bad_settings_are_refused_naming_the_key(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        admin = await run.login("admin")
        for key, value, says in BAD_SETTINGS:
            answer = await admin.patch("/api/v1/settings", json={key: value})
            assert answer.status_code == 422, key
            [error] = answer.json()["detail"]
            assert error["key"] in (key, f"{key}[0]") and error["loc"] == ["body", error["key"]]
            assert says in error["msg"], error
        assert (await admin.get("/api/v1/settings")).json()["overrides"] == {}
        assert (await admin.patch("/api/v1/settings", json=[1])).status_code == 422


async def test_a_settings_change_judges_the_next_call_and_outlives_a_restart(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as run:
        admin = await run.login("admin")
        change = {"notify.when_answered_elsewhere": True, "journal.recipients": "none"}
        answer = await admin.patch("/api/v1/settings", json=change)
        assert answer.status_code == 200
        assert answer.json()["overrides"] == change
        assert answer.json()["settings"]["notify"]["when_answered_elsewhere"] is True
        await run.play(trace("04-ringgroup-answered"))
        assert await why(run, RINGGROUP_ANSWERED) == {
            "anna": ("notified", "policy_none"),
            "bernd": ("answered", "policy_none"),
            "carla": ("notified", "policy_none"),
        }
        await run.until(lambda: len(run.sink.received) == 2)
    async with running(tmp_path) as again:
        assert again.server.handler.judge.email_policy.when_answered_elsewhere is True
        admin = await again.login("admin")
        back = await admin.patch("/api/v1/settings", json={"journal.recipients": None})
        assert back.json()["overrides"] == {"notify.when_answered_elsewhere": True}
        assert again.server.handler.judge.journal_policy.recipients == "all"


async def test_settings_are_shown_with_their_secrets_hidden(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        admin = await run.login("admin")
        shown = (await admin.get("/api/v1/settings")).json()
        settings = shown["settings"]
        assert settings["asterisk"]["password"] == "(hidden)"
        assert settings["api"]["admin_password_hash"] == "(hidden)"
        assert {u["password_hash"] for u in settings["users"]} == {"(hidden)"}
        assert settings["smtp"]["password"] is None  # not set: nothing to hide
        assert "notify.recipients" in shown["changeable"]
        assert "$argon2" not in str(shown)


async def test_a_user_who_opts_out_gets_no_mail_for_the_next_call(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        anna = await run.login("anna")
        answer = await anna.patch("/api/v1/me/settings", json={"notify": False, "language": "en"})
        assert answer.status_code == 200
        assert answer.json()["settings"] == {"notify": False, "language": "en", "when": "always"}
        assert answer.json()["own_choices"] == ["language", "notify"]
        await run.play(trace("03-ringgroup-missed"))
        assert (await why(run, RINGGROUP_MISSED))["anna"] == ("opted_out", "notified")
        await run.until(lambda: len(run.sink.received) == 2)
        assert sorted(run.sink.recipients) == ["bernd@example.com", "carla@example.com"]
        admin = await run.login("admin")
        users = {u["id"]: u for u in (await admin.get("/api/v1/users")).json()}
        assert users["anna"]["settings"]["notify"] is False
        assert users["bernd"]["own_choices"] == []


async def test_self_service_values_are_checked(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        anna = await run.login("anna")
        for change, key in [
            ({"language": "xx"}, "language"),
            ({"when": "sometimes"}, "when"),
            ({"notify": "no"}, "notify"),
            ({"lines": ["299"]}, "lines"),
        ]:
            answer = await anna.patch("/api/v1/me/settings", json=change)
            assert answer.status_code == 422, change
            assert answer.json()["detail"][0]["loc"][-1] == key
        admin = await run.login("admin")
        answer = await admin.patch("/api/v1/users/nobody/settings", json={"notify": False})
        assert answer.status_code == 404
        answer = await admin.patch("/api/v1/users/carla/settings", json={"language": "de"})
        assert answer.json()["settings"]["language"] == "de"


async def test_a_logged_on_user_with_when_logged_off_gets_mail_only_after_logging_off(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as run:
        anna = await run.login("anna")  # a logon via the web page
        await anna.patch("/api/v1/me/settings", json={"when": "logged_off"})
        await run.play(retimed(trace("01-missed-direct")))
        assert await why(run, MISSED_DIRECT) == {"anna": ("logged_on", "notified")}
        assert (await anna.delete("/api/v1/session")).json() == {"logged_off": True}
        await run.play(retimed(trace("03-ringgroup-missed")))
        assert (await why(run, RINGGROUP_MISSED))["anna"] == ("notified", "notified")
        await run.until(lambda: len(run.sink.received) == 3)
        assert run.sink.recipients.count("anna@example.com") == 1


async def test_a_logon_counts_for_repeated_until_logon(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        admin = await run.login("admin")
        await admin.patch("/api/v1/settings", json={"notify.exceptions.repeated_until_logon": True})
        await run.play(retimed(trace("01-missed-direct")))
        await run.play(retimed(trace("03-ringgroup-missed")))
        assert (await why(run, RINGGROUP_MISSED))["anna"][0] == "repeated_until_logon"
        await run.login("anna")
        await run.play(retimed(trace("05-huntgroup-missed")))
        verdicts = await why(run, "1795849660.24")
        assert verdicts["anna"][0] == "notified"  # she logged on since her last mail
        assert verdicts["bernd"][0] == "repeated_until_logon"  # he did not


async def test_templates_are_listed_shown_and_previewed(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"))
        admin = await run.login("admin")
        listing = (await admin.get("/api/v1/templates")).json()
        assert {"html.xsl", "subject.xsl", "text.xsl"} <= {t["name"] for t in listing["templates"]}
        assert listing["languages"] == ["de", "en"] and listing["problems"] == []
        source = (await admin.get("/api/v1/templates/subject.xsl")).json()["source"]
        assert "xsl:stylesheet" in source
        assert (await admin.get("/api/v1/templates/nothing.xsl")).status_code == 404
        assert (await admin.get("/api/v1/templates/..%2Fconfig.toml")).status_code in (404, 422)
        params = {"user": "anna", "call_id": MISSED_DIRECT, "language": "en"}
        preview = (await admin.get("/api/v1/preview", params=params)).json()
        assert preview["subject"].startswith("Missed call") and preview["language"] == "en"
        assert "+49 89 1234567" in preview["text"] and "<html" in preview["html"].lower()
        assert preview["to"] == "anna@example.com"
        anna = await run.login("anna")
        sample = (await anna.get("/api/v1/preview")).json()  # her own language: German
        assert sample["call_id"] == "sample" and sample["language"] == "de"
        assert "Jane Doe" in sample["subject"]
        bad = await anna.get("/api/v1/preview", params={"language": "klingon"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["key"] == "language"
        assert (await admin.get("/api/v1/preview")).status_code == 422  # for whom?


async def test_metrics_count_events_calls_verdicts_and_mails(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"), trace("04-ringgroup-answered"))
        await run.until(lambda: len(run.sink.received) == 1)
        admin = run.client(headers={"Authorization": f"Bearer {run.token('admin', 'admin')}"})
        text = (await admin.get("/metrics")).text
        values = _samples(text)
        assert values["missedcall_ami_events_total"] == run.server.health.events_received > 50
        assert "# TYPE missedcall_ami_events_total counter" in text
        assert values['missedcall_calls_total{complete="true",direction="inbound"}'] == 2
        assert values['missedcall_decisions_total{channel="email",reason="notified"}'] == 1
        assert values['missedcall_decisions_total{channel="email",reason="answered"}'] == 3
        assert values["missedcall_mails_queued_total"] == 1
        assert values['missedcall_mails_delivered_total{dispatch="server"}'] == 1
        assert values['missedcall_outbox_mails{state="sent"}'] == 1
        assert values["missedcall_outbox_depth"] == 0
        assert values["missedcall_ami_connected"] == 1
        assert values["missedcall_lag_queued_seconds_count"] == 1
        assert values["missedcall_lag_delivered_seconds_count"] == 1


async def test_metrics_can_be_public(tmp_path: Path) -> None:
    async with running(tmp_path, api={"metrics_public": True}) as run:
        answer = await run.client().get("/metrics")
        assert answer.status_code == 200 and "missedcall_outbox_depth" in answer.text
        assert (await run.client().get("/api/v1/journal")).status_code == 401


async def test_the_openapi_document_is_published_to_accounts(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        anna = await run.login("anna")
        document = (await anna.get("/api/v1/openapi.json")).json()
        assert document["info"]["title"] == "missedcall"
        assert {"/api/v1/session", "/api/v1/journal", "/api/v1/settings"} <= set(document["paths"])
        schemes = document["components"]["securitySchemes"]
        assert {"HTTPBearer", "APIKeyCookie"} <= set(schemes)
        assert PASSWORD not in str(document)


def _samples(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
