"""`missedcall run` as a real process: health check, clean stop, and kill -9.

The PBX (a loopback replay of real recordings) and the SMTP server (aiosmtpd)
run in the test; the server is a child process, killed only by its own PID.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

from missedcall.demo import lab_config_text
from missedcall.render.message import message_id
from missedcall.sources.ami.replay_server import ReplayServer, renumbered
from tests.e2e.test_server import ALL_RECORDINGS, EXPECTED_MAILS, SERVER_ADDRESS
from tests.support.smtp import SmtpSink, serving_in_a_thread

COPIES = 67  # 67 copies of the recordings make 1,005 mails
KILLS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, ami_port: int, smtp_port: int, api_port: int) -> Path:
    config = folder / "missedcall.toml"
    text = lab_config_text(
        folder / "data", ami_port, smtp_port, ami_secret="secret", server_address=SERVER_ADDRESS
    )
    config.write_text(f"[api]\nport = {api_port}\n" + text)
    return config


async def start_server(config: Path) -> asyncio.subprocess.Process:
    """The server, logging to a file beside its config (a pipe nobody reads would block it)."""
    with (config.parent / "server.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "missedcall.cli", "run", "--config", str(config),
            "--log-level", "info",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip


def health(port: int) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return answer.status, answer.read()
    except OSError as error:
        status = getattr(error, "code", 0)
        return int(status), b""


async def wait_for(condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_the_server_reports_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with (
        SmtpSink() as sink,
        ReplayServer(
            [ALL_RECORDINGS], secret="secret", stream_after="CoreShowChannels", keep_last_open=True
        ) as replay,
    ):
        ami_port = replay._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        api_port = free_port()
        process = await start_server(write_config(tmp_path, ami_port, sink.port, api_port))
        try:
            await wait_for(lambda: health(api_port)[0] == 200, timeout=20)
            await wait_for(lambda: len(sink.received) == len(EXPECTED_MAILS), timeout=20)
            status, body = health(api_port)
            assert status == 200 and b'"pbx_connected":true' in body
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 15)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = (tmp_path / "server.log").read_text()
    assert process.returncode == 0, log
    assert "server stopped" in log


async def test_kill_9_at_random_moments_loses_no_mail_and_duplicates_only_in_flight_ones(
    tmp_path: Path,
) -> None:
    stream = b"".join(renumbered(ALL_RECORDINGS, copy) for copy in range(COPIES))
    expected = {
        message_id(f"{copy}-{call}", user, SERVER_ADDRESS)
        for copy in range(COPIES)
        for call, user in EXPECTED_MAILS
    }
    rng = random.Random(20261128)
    # Every connection replays the whole stream: after a restart the server sees
    # again what it saw before the kill, and must queue only what it had not.
    # The sink answers from a thread of its own: the replay keeps this loop busy.
    with serving_in_a_thread(SmtpSink()) as sink:
        async with ReplayServer(
            [stream] * (KILLS + 1), secret="secret", stream_after="CoreShowChannels",
            keep_last_open=True,
        ) as replay:  # fmt: skip
            ami_port = replay._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            api_port = free_port()
            config = write_config(tmp_path, ami_port, sink.port, api_port)
            for _ in range(KILLS):
                delivered = len(sink.received)
                process = await start_server(config)
                # Killed while it delivers: some time after its first mail of this run
                # (or once all are out, when an earlier run got that far).
                await wait_for(
                    lambda n=delivered: (
                        len(sink.received) > n or expected <= {m.message_id for m in sink.received}
                    ),
                    timeout=60,
                )
                await asyncio.sleep(rng.uniform(0.0, 1.5))
                os.kill(process.pid, signal.SIGKILL)
                await process.wait()
            await finish_delivery(config, api_port, sink, expected)
    ids = [m.message_id for m in sink.received]
    assert set(ids) == expected  # none lost, nothing invented
    # A duplicate can only be a mail the killed server had in flight (claimed,
    # maybe accepted, not yet recorded as sent); the next start recovers those.
    log = (tmp_path / "server.log").read_text()
    in_flight = sum(int(n) for n in re.findall(r"outbox recovered rows=(\d+)", log))
    duplicates = len(ids) - len(set(ids))
    assert duplicates <= in_flight
    assert log.count("server stopped") == 1  # only the last run stopped by itself


async def finish_delivery(config: Path, api_port: int, sink: SmtpSink, expected: set[str]) -> None:
    """A last start that runs until every expected mail arrived, then stops cleanly."""
    process = await start_server(config)
    try:
        await wait_for(lambda: health(api_port)[0] == 200, timeout=30)  # up and listening
        await wait_for(lambda: expected <= {m.message_id for m in sink.received}, timeout=90)
        await asyncio.sleep(0.5)  # anything still to come would be a duplicate
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


async def test_a_refused_pbx_login_is_a_clear_error_and_a_nonzero_exit(tmp_path: Path) -> None:
    async with SmtpSink() as sink, ReplayServer([b""], secret="not-the-configured-one") as replay:
        ami_port = replay._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        process = await start_server(write_config(tmp_path, ami_port, sink.port, free_port()))
        await asyncio.wait_for(process.wait(), 30)
    log = (tmp_path / "server.log").read_text()
    assert process.returncode == 2
    assert "the PBX refused the login" in log
    assert "Traceback" not in log
