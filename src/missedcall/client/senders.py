"""The ways a client machine sends a mail: its SMTP account, a local ``sendmail``, or a folder
of ``.eml`` files.  Each says whether the mail went out, and if not, why."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from dataclasses import dataclass, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from missedcall.client.settings import ClientSettings
from missedcall.config import SmtpSettings
from missedcall.outbox.mail import OutgoingMail
from missedcall.outbox.smtp import SmtpDelivery

__all__ = ["FolderSender", "Sender", "SendmailSender", "Sent", "SmtpSender", "build_sender"]


@dataclass(frozen=True, slots=True)
class Sent:
    ok: bool
    detail: str


class Sender(Protocol):
    async def send(self, mail: OutgoingMail) -> Sent: ...

    async def close(self) -> None: ...


class SmtpSender:
    """Through the user's own SMTP account; the envelope sender is its ``from`` address."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._delivery = SmtpDelivery(settings)
        self._envelope_from = parseaddr(settings.from_)[1]

    async def send(self, mail: OutgoingMail) -> Sent:
        result = await self._delivery.send(replace(mail, envelope_from=self._envelope_from))
        accepted = result.outcome == "accepted" and not result.refused
        return Sent(accepted, str(result.reply))

    async def close(self) -> None:
        await self._delivery.close()


class SendmailSender:
    """Handed to a local ``sendmail`` (``-i``, the recipients after ``--``); exit 0 is sent."""

    def __init__(self, command: str, timeout: float) -> None:
        self._command = shlex.split(command)
        self._timeout = timeout

    async def send(self, mail: OutgoingMail) -> Sent:
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command,
                "-i",
                "--",
                *mail.envelope_to,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            return Sent(False, f"{self._command[0]}: {error.strerror or error}")
        try:
            _, errors = await asyncio.wait_for(process.communicate(mail.data), self._timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return Sent(False, f"{self._command[0]}: no answer in {self._timeout:g} s")
        said = errors.decode("utf-8", errors="replace").strip()
        return Sent(process.returncode == 0, f"exit {process.returncode} {said}".strip())

    async def close(self) -> None:
        return None


class FolderSender:
    """Written as ``<message-id>.eml`` into a folder (for a mail program to pick up)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def send(self, mail: OutgoingMail) -> Sent:
        name = re.sub(r"[^A-Za-z0-9@._-]+", "_", mail.message_id).strip("._") or "mail"
        path = self._folder / f"{name}.eml"
        partial = path.with_suffix(".eml.part")
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(mail.data)
            os.replace(partial, path)  # whole or not at all
        except OSError as error:
            return Sent(False, f"{path}: {error.strerror or error}")
        return Sent(True, str(path))

    async def close(self) -> None:
        return None


def build_sender(settings: ClientSettings) -> Sender:
    if settings.smtp is not None:
        return SmtpSender(settings.smtp)
    if settings.sendmail is not None:
        return SendmailSender(settings.sendmail, settings.timeout_seconds)
    assert settings.eml_dir is not None  # the settings have exactly one way to send
    return FolderSender(settings.eml_dir)
