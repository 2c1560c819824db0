"""``missedcall demo``: the whole server on an embedded default, no configuration at all.

A loopback AMI server replays the bundled real recordings, the server decides,
renders and sends, and a local SMTP sink stores what arrives in a Maildir; then
the calls and the mails that came out are listed with their files.  Unless
``--no-serve``, the server then goes on running with its web page on 127.0.0.1,
and the demo prints its address and a password made up for this run (for the
administrator and every lab user), until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import secrets
import signal
import socket
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

from missedcall import demo
from missedcall.auth.passwords import hash_password
from missedcall.bootstrap import BuiltServer, build_server
from missedcall.commands.describe import describe
from missedcall.config import Config, validate_model
from missedcall.demo.sink import start_sink
from missedcall.logs import configure_logging
from missedcall.pipeline import Handled
from missedcall.render.message import message_id
from missedcall.sources.ami.replay_server import ReplayServer

AMI_USER, AMI_SECRET = "missedcall", "demo-secret"  # the lab config logs in as missedcall
SERVER_ADDRESS = "pbx@example.com"
SETTLE_TIMEOUT = 120.0
LISTEN_TIMEOUT = 10.0
WEB_HOST = "127.0.0.1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--speed",
        type=float,
        metavar="FACTOR",
        help="replay in real time sped up by FACTOR (default: as fast as possible)",
    )
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="exit after the summary instead of serving the web page (for scripts)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="PORT",
        help=f"the web page's port on {WEB_HOST} (default: a free one)",
    )


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    return asyncio.run(_demo(args.speed, serve=not args.no_serve, port=args.port))


def demo_config(
    data_dir: Path,
    ami_port: int,
    smtp_port: int,
    *,
    api_port: int | None = None,
    password_hash: str | None = None,
) -> Config:
    """The lab's users, pointed at the local replay and sink; with ``password_hash`` the
    administrator and every user log in with that password on ``api_port``."""
    text = demo.lab_config_text(
        data_dir, ami_port, smtp_port, ami_secret=AMI_SECRET, server_address=SERVER_ADDRESS
    )
    data = tomllib.loads(text)
    if api_port is not None:
        data["api"] = {"host": WEB_HOST, "port": api_port, "admin_password_hash": password_hash}
        for user in data["users"]:
            user["password_hash"] = password_hash
    return validate_model(Config, data, base_dir=data_dir)


async def _demo(speed: float | None, *, serve: bool = False, port: int = 0) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="missedcall-demo-"))
    maildir = data_dir / "maildir"
    sink, smtp_port = await start_sink(maildir)
    traces = demo.traces()  # one call each
    recordings = b"".join(path.read_bytes() for path in traces)
    replay = ReplayServer(
        [recordings],
        stream_after="CoreShowChannels",
        username=AMI_USER,
        secret=AMI_SECRET,
        keep_last_open=True,
        pace="asap" if speed is None else "realtime",
        speed=speed or 1.0,
    )
    _, ami_port = await replay.start()
    password = secrets.token_urlsafe(12)  # this run's, for the administrator and every user
    api_port = (port or _free_port()) if serve else None
    password_hash = hash_password(password) if serve else None
    config = demo_config(
        data_dir, ami_port, smtp_port, api_port=api_port, password_hash=password_hash
    )
    built = build_server(config, web=serve)
    built.server.keep_decisions = True
    stop, stopping = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(built.server.serve(stop))
    try:
        with _on_signals(stopping.set):
            settled = await _settle(built, replay, len(traces), stopping)
            _report(built.server.decided, maildir, data_dir)
            if settled and api_port is not None and not stopping.is_set():
                await _serve_page(config, api_port, password, data_dir, stopping)
    finally:
        stop.set()
        await serving
        built.close()
        await replay.stop()
        sink.close()
        await sink.wait_closed()
    return 0


async def _settle(
    built: BuiltServer, replay: ReplayServer, calls: int, stopping: asyncio.Event
) -> bool:
    """Wait for the replay to settle; False when stopped first or it took too long."""
    settle = asyncio.create_task(_settled(built, replay, calls))
    stopped = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait(
        {settle, stopped}, timeout=SETTLE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    for task in (settle, stopped):
        task.cancel()
    if settle in done:
        return True
    if not stopping.is_set():
        print("missedcall demo: the replay did not settle in time", file=sys.stderr)
    return False


async def _settled(built: BuiltServer, replay: ReplayServer, calls: int) -> None:
    """Every recording played, every call decided, every mail out of the outbox.

    The replay is over when it has written the last event, which may not have
    been read yet: the server has settled once it decided as many calls.
    """
    await replay.finished.wait()
    server = built.server
    while server.health.calls_decided < calls or server.correlator.in_flight or _undelivered(built):
        await asyncio.sleep(0.05)


def _undelivered(built: BuiltServer) -> int:
    counts = built.server.outbox.counts_by_state()
    return sum(counts.get(state, 0) for state in ("queued", "sending", "retry"))


async def _serve_page(
    config: Config, port: int, password: str, data_dir: Path, stopping: asyncio.Event
) -> None:
    """Say where the web page is and how to log in; serve it until Ctrl-C or SIGTERM."""
    if not await _listening(port):
        print(f"missedcall demo: the web page did not start on port {port}", file=sys.stderr)
        return
    users = ", ".join(user.id for user in config.users)
    print(
        f"\nThe mails, the journal and the calls on the web page: http://{WEB_HOST}:{port}/#/mails\n"
        f"  log in as admin (everything, and the mails) or as {users} (their own),\n"
        f"  password: {password}\n"
        f"Serving until Ctrl-C (the data stays in {data_dir}).",
        flush=True,
    )
    await stopping.wait()


async def _listening(port: int) -> bool:
    deadline = time.monotonic() + LISTEN_TIMEOUT
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection(WEB_HOST, port)
        except OSError:
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return True
    return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((WEB_HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _on_signals(handler: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``handler`` (a clean stop) instead of ending the process."""
    loop = asyncio.get_running_loop()
    wanted = (signal.SIGINT, signal.SIGTERM)
    for number in wanted:
        loop.add_signal_handler(number, handler)
    try:
        yield
    finally:
        for number in wanted:
            loop.remove_signal_handler(number)


def _report(decided: list[Handled], maildir: Path, data_dir: Path) -> None:
    files = _mail_files(maildir)
    print(f"\n{len(decided)} calls replayed from real Asterisk recordings:\n")
    for handled in decided:
        print(describe(handled.verdict.record))
        for target in handled.decision.email:
            found = files.get(
                message_id(handled.verdict.record.call_id, target.user, SERVER_ADDRESS)
            )
            where = f"{found[1]}\n        {found[0]}" if found else "(not delivered)"
            print(f"    mail to {target.to}: {where}")
        for skip in handled.decision.skipped:
            if skip.channel == "email":
                print(f"    no mail for {skip.user or 'anyone'}: {skip.reason}")
        print()
    print(f"{len(files)} mails arrived at the local SMTP sink: {maildir / 'new'}")
    print(f"state (journal, outbox) in {data_dir / 'missedcall.db'}", flush=True)


def _mail_files(maildir: Path) -> dict[str, tuple[Path, str]]:
    """Delivered mails by Message-ID (derived from call and recipient), with their subject."""
    found: dict[str, tuple[Path, str]] = {}
    for path in sorted((maildir / "new").glob("*")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[str(message.get("Message-ID", ""))] = (path, str(message.get("Subject", "")))
    return found
