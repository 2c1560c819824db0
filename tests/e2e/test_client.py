"""``missedcall client`` against a real running server (``notify.dispatch = "client"``) and a
real SMTP server: it logs on as the user, sends his mails its own way, confirms each; what it
could not send stays queued."""

from __future__ import annotations

import asyncio
import email
import sys
from pathlib import Path

from missedcall.client.settings import ClientSettings, load_client_settings
from missedcall.commands.client import serve
from tests.support.running import PASSWORD, Running, retimed, running, trace
from tests.support.smtp import SmtpSink

RINGGROUP_MISSED = "1795849613.8"  # anna, bernd and carla each missed it
CLIENT_DISPATCH = {"notify": {"dispatch": "client"}, "smtp": None}


def settings(run: Running, user: str = "anna", **ways: object) -> ClientSettings:
    flags = {"server": run.base_url, "user": user, "token": run.token(user), **ways}
    return load_client_settings(None, flags, {})


def smtp_settings(sink: SmtpSink, user: str = "anna") -> dict[str, object]:
    return {"smtp": {"port": sink.port, "from": f"{user}@example.com", "timeout_seconds": 5}}


def states(run: Running) -> dict[str, str]:
    return {row.user: row.state for row in run.server.outbox.rows()}


async def test_the_client_sends_the_users_mails_through_his_smtp_account(tmp_path: Path) -> None:
    async with SmtpSink() as annas_provider, running(tmp_path, **CLIENT_DISPATCH) as run:
        await run.play(trace("03-ringgroup-missed"))
        assert states(run) == {"anna": "queued", "bernd": "queued", "carla": "queued"}
        assert await serve(settings(run, **smtp_settings(annas_provider))) == 0
        [mail] = annas_provider.received
        assert mail.envelope_to == ("anna@example.com",)
        assert mail.envelope_from == "anna@example.com"
        assert RINGGROUP_MISSED in mail.message_id
        assert states(run) == {"anna": "sent", "bernd": "queued", "carla": "queued"}
        logons = run.built.connection.execute(
            "SELECT user_id, via, logged_off_at IS NOT NULL FROM logons"
        ).fetchall()
        assert logons == [("anna", "client", 1)]  # logged on while it ran, off after
        assert await serve(settings(run, **smtp_settings(annas_provider))) == 0
        assert len(annas_provider.received) == 1  # nothing twice


async def test_a_mail_the_client_could_not_send_stays_queued(tmp_path: Path) -> None:
    refusing = SmtpSink(refuse={"anna@example.com": "550 5.7.1 relaying denied"})
    async with refusing, running(tmp_path, **CLIENT_DISPATCH) as run:
        await run.play(trace("01-missed-direct"))
        assert await serve(settings(run, **smtp_settings(refusing))) == 1
        assert states(run) == {"anna": "queued"}
        await refusing.stop()
        assert await serve(settings(run, **smtp_settings(refusing))) == 1  # nobody answers
        assert states(run) == {"anna": "queued"}
        refusing.refuse.clear()
        await refusing.start()
        assert await serve(settings(run, **smtp_settings(refusing))) == 0
        assert states(run) == {"anna": "sent"}
        assert len(refusing.received) == 1


async def test_the_client_command_writes_eml_files_into_a_folder(tmp_path: Path) -> None:
    async with running(tmp_path / "server", **CLIENT_DISPATCH) as run:
        await run.play(trace("03-ringgroup-missed"))
        password_file = tmp_path / "password"
        password_file.write_text(PASSWORD + "\n")
        folder = tmp_path / "mails"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "missedcall.cli",
            "client",
            *("--server", run.base_url, "--user", "bernd"),
            *("--password-file", str(password_file), "--eml-dir", str(folder), "--once"),
            stderr=asyncio.subprocess.PIPE,
        )
        _, errors = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, errors.decode()
        [path] = folder.glob("*.eml")
        message = email.message_from_bytes(path.read_bytes())
        assert message["To"] == "Bernd Beta <bernd@example.com>"
        assert states(run) == {"anna": "queued", "bernd": "sent", "carla": "queued"}
        assert b"sent message_id=" in errors


async def test_the_client_can_hand_mails_to_a_sendmail_command(tmp_path: Path) -> None:
    fake_sendmail = tmp_path / "sendmail.py"
    fake_sendmail.write_text(
        "import sys, pathlib\n"
        "out = pathlib.Path(sys.argv[0]).with_name('sent.eml')\n"
        "out.write_bytes(sys.stdin.buffer.read())\n"
        "pathlib.Path(sys.argv[0]).with_name('args').write_text(' '.join(sys.argv[1:]))\n"
    )
    async with running(tmp_path / "server", **CLIENT_DISPATCH) as run:
        await run.play(trace("01-missed-direct"))
        command = f"{sys.executable} {fake_sendmail}"
        assert await serve(settings(run, sendmail=command)) == 0
        assert (tmp_path / "args").read_text() == "-i -- anna@example.com"
        assert b"Message-ID:" in (tmp_path / "sent.eml").read_bytes()
        assert states(run) == {"anna": "sent"}
        failing = f"{sys.executable} -c 'import sys; sys.exit(75)'"
        await run.play(trace("05-huntgroup-missed"))
        assert await serve(settings(run, sendmail=failing)) == 1
        newest = run.server.outbox.rows(user="anna")[0]
        assert newest.call_id == "1795849660.24" and newest.state == "queued"


async def test_a_polling_client_keeps_the_user_logged_on_until_it_stops(tmp_path: Path) -> None:
    async with running(tmp_path / "server", **CLIENT_DISPATCH) as run:
        anna = await run.login("anna")
        await anna.patch("/api/v1/me/settings", json={"when": "logged_off"})
        await anna.delete("/api/v1/session")
        folder = tmp_path / "mails"
        client = settings(run, eml_dir=str(folder), poll_seconds=0.1)
        stop = asyncio.Event()
        polling = asyncio.create_task(serve(client, stop))
        store = run.server.handler.store
        await run.until(lambda: store.is_logged_on("anna", run.server.clock()))
        await run.play(retimed(trace("01-missed-direct")))
        assert states(run) == {}  # logged on through the client: no mail for anna
        stop.set()
        assert await asyncio.wait_for(polling, 10) == 0
        assert not store.is_logged_on("anna", run.server.clock())
        await run.play(retimed(trace("03-ringgroup-missed")))
        assert states(run)["anna"] == "queued"


async def test_the_client_says_when_the_server_refuses_it(tmp_path: Path) -> None:
    async with running(tmp_path, **CLIENT_DISPATCH) as run:
        flags = {"server": run.base_url, "user": "anna", "password": "wrong", "eml_dir": "x"}
        assert await serve(load_client_settings(None, flags, {})) == 3
        stolen = {
            "server": run.base_url,
            "user": "bernd",
            "token": run.token("anna"),
            "eml_dir": "x",
        }
        assert await serve(load_client_settings(None, stolen, {})) == 3
    gone = {"server": run.base_url, "user": "anna", "token": "mct_x", "eml_dir": "x"}
    assert await serve(load_client_settings(None, gone, {})) == 3
