"""``missedcall demo`` as a real process: with ``--no-serve`` it prints the summary and exits;
without, it then serves the web page with the mails that came out, until SIGTERM.

The demo is a child process, signalled and killed only by its own PID; its temporary data
goes under the test's folder (TMPDIR).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from missedcall import demo

CALLS = len(demo.traces())
MAILS = 15  # what the bundled recordings make (tests/e2e/test_server.py counts them one by one)
START_SECONDS = 60.0
STOP_SECONDS = 15.0
URL = re.compile(r"(http://127\.0\.0\.1:\d+)/#/mails")
PASSWORD = re.compile(r"password: (\S+)")


def demo_command(*flags: str) -> list[str]:
    return [sys.executable, "-m", "missedcall.cli", "demo", *flags]


def test_the_demo_without_serving_prints_the_summary_and_exits(tmp_path: Path) -> None:
    result = subprocess.run(
        demo_command("--no-serve"),
        capture_output=True, text=True, timeout=START_SECONDS, check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{CALLS} calls replayed from real Asterisk recordings" in result.stdout
    assert f"{MAILS} mails arrived at the local SMTP sink" in result.stdout
    assert "mail to carla@example.com: Missed call from +49 89 1234567" in result.stdout
    assert "no mail for anyone: hidden_number" in result.stdout
    assert "web page" not in result.stdout


async def read_until_password(process: asyncio.subprocess.Process) -> str:
    """The demo's output up to and including the line with the password."""
    assert process.stdout is not None
    seen = []
    while not seen or not PASSWORD.search(seen[-1]):
        line = await process.stdout.readline()
        assert line, "the demo ended before it printed its web page:\n" + "".join(seen)
        seen.append(line.decode())
    return "".join(seen)


async def test_the_demo_serves_the_mails_on_its_web_page_until_sigterm(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *demo_command(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        output = await asyncio.wait_for(read_until_password(process), START_SECONDS)
        assert f"{MAILS} mails arrived at the local SMTP sink" in output
        url, password = URL.search(output), PASSWORD.search(output)
        assert url is not None and password is not None, output
        async with httpx.AsyncClient(base_url=url[1], timeout=10) as web:
            page = await web.get("/")
            assert page.status_code == 200
            assert "script-src 'self'" in page.headers["content-security-policy"]
            login = await web.post(
                "/api/v1/session", json={"user": "admin", "password": password[1]}
            )
            assert login.status_code == 200, login.text
            mails = (await web.get("/api/v1/mails", params={"limit": 500})).json()
            assert len(mails) == MAILS
            assert {mail["state"] for mail in mails} == {"sent"}
            newest = (await web.get(f"/api/v1/mails/{mails[0]['id']}")).json()
            assert newest["headers"]["Subject"] == newest["subject"] == mails[0]["subject"]
            assert "+49 89 1234567" in newest["html"]  # the HTML part, for the iframe
        async with httpx.AsyncClient(base_url=url[1], timeout=10) as web:
            login = await web.post(
                "/api/v1/session", json={"user": "anna", "password": password[1]}
            )
            assert login.status_code == 200, login.text
            assert (await web.get("/api/v1/journal")).json(), "anna has unanswered calls"

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), STOP_SECONDS) == 0
    finally:
        if process.returncode is None:
            process.kill()  # this test's own child, by its PID
            await process.wait()
