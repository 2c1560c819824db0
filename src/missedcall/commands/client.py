"""``missedcall client``: fetch the user's prepared mails from the server, send them with this
machine's own means, confirm each (SPEC §9, ``notify.dispatch = "client"``).

``--once`` (the default) does one round and exits: 0 when every mail went out,
1 when one could not be sent (it stays queued), 2 for bad settings, 3 when the
server cannot be reached or refuses the login.  ``--poll`` keeps the user
logged on and does a round every ``poll_seconds`` until SIGTERM or SIGINT,
then logs off.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from missedcall.client.senders import Sender, Sent, build_sender
from missedcall.client.session import ServerError, ServerSession
from missedcall.client.settings import ClientSettings, load_client_settings
from missedcall.config import ConfigError
from missedcall.logs import configure_logging
from missedcall.outbox.mail import OutgoingMail

__all__ = ["add_arguments", "run", "serve"]

log = logging.getLogger("missedcall.client")

EXIT_NOT_SENT, EXIT_SETTINGS, EXIT_SERVER = 1, 2, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="the client's settings (TOML)")
    parser.add_argument("--server", metavar="URL", help="the server, e.g. http://pbx:8025")
    parser.add_argument("--user", metavar="USER", help="your user id")
    parser.add_argument("--token-file", metavar="FILE", help="a file holding your API token")
    parser.add_argument("--password-file", metavar="FILE", help="a file holding your password")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one round, then exit (the default)")
    mode.add_argument(
        "--poll",
        type=float,
        nargs="?",
        const=0.0,  # given without SECONDS: the settings' poll_seconds
        metavar="SECONDS",
        help="stay logged on; a round every SECONDS (default: poll_seconds, 60)",
    )
    how = parser.add_argument_group("how to send (one of them; or in the settings file)")
    how.add_argument("--smtp-host", metavar="HOST")
    how.add_argument("--smtp-port", type=int, metavar="PORT")
    how.add_argument("--smtp-security", choices=["none", "starttls", "tls"])
    how.add_argument("--smtp-user", metavar="NAME")
    how.add_argument("--smtp-password-file", metavar="FILE")
    how.add_argument("--smtp-from", metavar="ADDRESS", help="your address (envelope sender)")
    how.add_argument("--sendmail", metavar="COMMAND", help="e.g. /usr/sbin/sendmail")
    how.add_argument("--eml-dir", metavar="DIR", help="write each mail as an .eml file here")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        settings = _settings(args)
    except ConfigError as error:
        print(f"missedcall client: invalid settings:\n{error}", file=sys.stderr)
        return EXIT_SETTINGS
    return asyncio.run(_main(settings, poll=args.poll is not None))


def _settings(args: argparse.Namespace) -> ClientSettings:
    flags = {
        "server": args.server,
        "user": args.user,
        "token": _secret(args.token_file),
        "password": _secret(args.password_file),
        "poll_seconds": args.poll or None,
        "sendmail": args.sendmail,
        "eml_dir": args.eml_dir,
    }
    smtp = {
        "host": args.smtp_host,
        "port": args.smtp_port,
        "security": args.smtp_security,
        "username": args.smtp_user,
        "password": _secret(args.smtp_password_file),
        "from": args.smtp_from,
    }
    return load_client_settings(Path(args.config) if args.config else None, flags, smtp)


def _secret(path: str | None) -> str | None:
    """The first line of a file: secrets stay off the command line (and out of ``ps``)."""
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read a secret from it: {error}"]) from None


async def _main(settings: ClientSettings, *, poll: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await serve(settings, stop if poll else None)


async def serve(settings: ClientSettings, stop: asyncio.Event | None = None) -> int:
    """One round (``stop`` None), or rounds until ``stop`` is set; the exit code."""
    sender = build_sender(settings)
    try:
        async with ServerSession(settings) as server:
            if stop is None:
                return EXIT_NOT_SENT if await send_round(server, sender) else 0
            await _poll(server, sender, settings.poll_seconds, stop)
            return 0
    except ServerError as error:
        log.error("server: %s", error)
        return EXIT_SERVER
    finally:
        await sender.close()


async def _poll(server: ServerSession, sender: Sender, seconds: float, stop: asyncio.Event) -> None:
    """A server that went away for a while is tried again at the next round."""
    while not stop.is_set():
        try:
            await send_round(server, sender)
        except ServerError as error:
            log.warning("server: %s; trying again in %g s", error, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def send_round(server: ServerSession, sender: Sender) -> int:
    """Send every waiting mail and confirm each that went out; how many did not."""
    unsent = 0
    for row_id, mail in await server.pending():
        sent = await _send(sender, mail)
        if not sent.ok:
            unsent += 1
            log.warning("not sent, stays queued message_id=%s why=%s", mail.message_id, sent.detail)
            continue
        await server.confirm(row_id)
        log.info("sent message_id=%s to=%s via=%s",
                 mail.message_id, ",".join(mail.envelope_to), sent.detail)  # fmt: skip
    return unsent


async def _send(sender: Sender, mail: OutgoingMail) -> Sent:
    """Whatever goes wrong with one mail leaves it queued; the others still go."""
    try:
        return await sender.send(mail)
    except Exception as error:
        log.exception("sending failed message_id=%s", mail.message_id)
        return Sent(False, f"{type(error).__name__}: {error}")
