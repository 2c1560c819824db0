"""``missedcall demo``: the whole server on an embedded default, no configuration at all.

A loopback AMI server replays the bundled real recordings, the server decides,
renders and sends, and a local SMTP sink stores what arrives in a Maildir; at
the end the calls and the mails that came out are listed with their files.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import sys
import tempfile
from pathlib import Path

from missedcall import demo
from missedcall.bootstrap import BuiltServer, build_server
from missedcall.commands.describe import describe
from missedcall.commands.run import configure_logging
from missedcall.config import Config, parse_config
from missedcall.demo.sink import start_sink
from missedcall.pipeline import Handled
from missedcall.render.message import message_id
from missedcall.sources.ami.replay_server import ReplayServer

AMI_USER, AMI_SECRET = "missedcall", "demo-secret"  # the lab config logs in as missedcall
SERVER_ADDRESS = "pbx@example.com"
SETTLE_TIMEOUT = 120.0


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    return asyncio.run(_demo(args.speed))


def demo_config(data_dir: Path, ami_port: int, smtp_port: int) -> Config:
    """The lab's users, pointed at the local replay and sink."""
    text = demo.lab_config_text(
        data_dir, ami_port, smtp_port, ami_secret=AMI_SECRET, server_address=SERVER_ADDRESS
    )
    return parse_config(text, source="<demo>", base_dir=data_dir)


async def _demo(speed: float | None) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="missedcall-demo-"))
    maildir = data_dir / "maildir"
    sink, smtp_port = await start_sink(maildir)
    recordings = b"".join(path.read_bytes() for path in demo.traces())
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
    built = build_server(demo_config(data_dir, ami_port, smtp_port), web=False)
    built.server.keep_decisions = True
    stop = asyncio.Event()
    serving = asyncio.create_task(built.server.serve(stop))
    try:
        await asyncio.wait_for(_settled(built, replay), SETTLE_TIMEOUT)
    except TimeoutError:
        print("missedcall demo: the replay did not settle in time", file=sys.stderr)
    finally:
        stop.set()
        await serving
        built.close()
        await replay.stop()
        sink.close()
        await sink.wait_closed()
    _report(built.server.decided, maildir, data_dir)
    return 0


async def _settled(built: BuiltServer, replay: ReplayServer) -> None:
    """Every recording played, every call decided, every mail out of the outbox."""
    await replay.finished.wait()
    server = built.server
    while server.correlator.in_flight or _undelivered(built):
        await asyncio.sleep(0.05)


def _undelivered(built: BuiltServer) -> int:
    counts = built.server.outbox.counts_by_state()
    return sum(counts.get(state, 0) for state in ("queued", "sending", "retry"))


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
    print(f"state (journal, outbox) in {data_dir / 'missedcall.db'}")


def _mail_files(maildir: Path) -> dict[str, tuple[Path, str]]:
    """Delivered mails by Message-ID (derived from call and recipient), with their subject."""
    found: dict[str, tuple[Path, str]] = {}
    for path in sorted((maildir / "new").glob("*")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[str(message.get("Message-ID", ""))] = (path, str(message.get("Subject", "")))
    return found
