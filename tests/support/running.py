"""A whole missedcall server for tests, over real HTTP on 127.0.0.1.

``async with running(tmp_path) as run:`` builds the server from
:func:`missedcall.bootstrap.build_server` with the lab's users
(``tests/fixtures/asterisk/config.toml``), each with the password
:data:`PASSWORD`, and an administrator (``admin``, same password); it serves
the API with uvicorn on a free loopback port, sends mail to an aiosmtpd sink
(:class:`~tests.support.smtp.SmtpSink`), and reads a loopback PBX whose calls
the test plays when it wants::

    await run.play(trace("01-missed-direct"))      # waits until the call is decided
    anna = await run.login("anna")                 # an httpx client with cookie and CSRF
    entries = (await anna.get("/api/v1/journal")).json()

:meth:`LivePbx.play` replays a recorded trace as a new PBX session on the same
port (the server's AMI client reconnects within a fraction of a second);
:func:`retimed` moves a trace's clock so that its call has just ended, for rules
that compare the call with logons made by the test.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from missedcall.auth.principal import Role
from missedcall.auth.tokens import TokenStore
from missedcall.bootstrap import BuiltServer, ami_settings, build_server
from missedcall.calls.asterisk import WANTED_EVENTS
from missedcall.config import Config, validate_model
from missedcall.outbox.runner import Backoff
from missedcall.server import Server
from missedcall.sources.ami.client import AmiClient
from missedcall.sources.ami.replay_server import ReplayServer, split_frames
from tests.support.smtp import SmtpSink
from tests.support.waiting import WAIT_SECONDS, until

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk"
AMI_USER, AMI_SECRET = "missedcall", "secret"
SERVER_ADDRESS = "pbx@example.com"
PASSWORD = "correct horse battery staple"
# Cheap argon2 parameters: a test logs in often; the server reads them from the hash.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
FAST_BACKOFF = Backoff(initial=0.05, cap=0.2)
CSRF_HEADER = "X-CSRF-Token"
_TIMESTAMP = re.compile(rb"Timestamp: ([0-9.]+)")


def trace(name: str) -> bytes:
    """A recorded trace of ``tests/fixtures/asterisk`` by name, e.g. ``01-missed-direct``."""
    return (FIXTURES / f"{name}.ami").read_bytes()


def retimed(data: bytes, end: float | None = None) -> bytes:
    """The trace with every ``Timestamp`` moved so that its last hang-up happens at ``end``
    (default: now): its call has just ended when it is played, after every logon and every
    call before it.  The call ids stay as recorded."""
    hangups = [frame for frame in split_frames(data) if b"Event: Hangup\r\n" in frame]
    last = _TIMESTAMP.search(hangups[-1])
    assert last is not None, "a trace without timestamps"
    shift = (time.time() if end is None else end) - float(last.group(1))
    return _TIMESTAMP.sub(lambda m: b"Timestamp: %.6f" % (float(m.group(1)) + shift), data)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LivePbx:
    """A loopback PBX: each :meth:`play` is a new session streaming one recording."""

    def __init__(self) -> None:
        self.port = 0
        self._replay: ReplayServer | None = None

    async def start(self) -> None:
        await self._listen([])

    async def play(self, data: bytes) -> None:
        """Drop the current session and stream ``data`` to the client's next one."""
        await self.stop()
        replay = await self._listen([data])
        await asyncio.wait_for(replay.finished.wait(), WAIT_SECONDS)

    async def stop(self) -> None:
        if self._replay is not None:
            await self._replay.stop()
            self._replay = None

    async def _listen(self, segments: list[bytes]) -> ReplayServer:
        self._replay = ReplayServer(
            segments,
            username=AMI_USER,
            secret=AMI_SECRET,
            stream_after="CoreShowChannels",
            keep_last_open=True,
            port=self.port,
        )
        _, self.port = await self._replay.start()
        return self._replay


def lab_config(
    data_dir: Path,
    ami_port: int,
    smtp_port: int,
    api_port: int,
    **sections: Mapping[str, Any] | None,
) -> Config:
    """The lab's users with passwords, pointed at the loopback PBX, sink and API port.

    ``sections`` are laid over the result table by table, e.g.
    ``notify={"dispatch": "client"}``; ``smtp=None`` leaves ``[smtp]`` out.
    """
    data: dict[str, Any] = tomllib.loads((FIXTURES / "config.toml").read_text())
    data["server"] = {"data_dir": str(data_dir), "timezone": "UTC"}
    data["asterisk"].update(host="127.0.0.1", port=ami_port, username=AMI_USER, password=AMI_SECRET)
    data["smtp"] = {"port": smtp_port, "from": f"Phone system <{SERVER_ADDRESS}>"}
    data["api"] = {"port": api_port, "admin_password_hash": PASSWORD_HASH}
    for user in data["users"]:
        user["password_hash"] = PASSWORD_HASH
    for name, table in sections.items():
        if table is None:
            data.pop(name, None)
        else:
            data[name] = {**data.get(name, {}), **table}
    return validate_model(Config, data, base_dir=data_dir)


@dataclass
class Running:
    """A running server and what surrounds it."""

    built: BuiltServer
    config: Config
    pbx: LivePbx
    sink: SmtpSink
    base_url: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def server(self) -> Server:
        return self.built.server

    async def play(self, *recordings: bytes) -> None:
        """Play the recordings (one call each) and wait until every call is decided."""
        expected = self.server.health.calls_decided + len(recordings)
        await self.pbx.play(b"".join(recordings))
        await self.until(lambda: self.server.health.calls_decided >= expected)

    async def until(self, condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
        await until(condition, timeout, step=0.02)

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An HTTP client for the server (closed when the server stops)."""
        client = httpx.AsyncClient(base_url=self.base_url, timeout=10, **options)
        self.clients.append(client)
        return client

    async def login(self, user: str, password: str = PASSWORD) -> httpx.AsyncClient:
        """A client logged in by password, sending the session's CSRF token with every request."""
        client = self.client()
        answer = await client.post("/api/v1/session", json={"user": user, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers[CSRF_HEADER] = answer.json()["csrf_token"]
        return client

    def token(self, user: str, role: Role = "user") -> str:
        """A fresh API token for ``user`` (``role="admin"`` for the administrator's)."""
        _, secret = TokenStore(self.built.connection).create(user, role, "test", time.time())
        return secret


@asynccontextmanager
async def running(
    tmp_path: Path, *, sink: SmtpSink | None = None, **sections: Mapping[str, Any] | None
) -> AsyncIterator[Running]:
    """The server, its PBX and its SMTP sink, all on 127.0.0.1; ``sections`` as in
    :func:`lab_config`."""
    sink = sink or SmtpSink()
    await sink.start()
    pbx = LivePbx()
    await pbx.start()
    api_port = free_port()
    config = lab_config(tmp_path, pbx.port, sink.port, api_port, **sections)
    source = AmiClient(
        replace(ami_settings(config), reconnect_initial=0.05, reconnect_max=0.2),
        event_filter=WANTED_EVENTS,
    )
    built = build_server(config, source=source, backoff=FAST_BACKOFF)
    stop = asyncio.Event()
    serving = asyncio.create_task(built.server.serve(stop))
    run = Running(built, config, pbx, sink, f"http://127.0.0.1:{api_port}")
    try:
        await _until_listening(run, serving)
        yield run
    finally:
        for client in run.clients:
            await client.aclose()
        stop.set()
        await asyncio.wait_for(serving, 30)
        built.close()
        await pbx.stop()
        await sink.stop()


async def _until_listening(run: Running, serving: asyncio.Task[None]) -> None:
    async with httpx.AsyncClient(base_url=run.base_url, timeout=1) as probe:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and not serving.done():
            try:
                await probe.get("/health")
            except httpx.TransportError:
                await asyncio.sleep(0.02)
            else:
                return
    if serving.done():
        serving.result()  # raises what stopped the server
    raise AssertionError("the API did not start listening")
