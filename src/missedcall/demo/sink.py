"""A local SMTP sink for the demo: accepts every mail on 127.0.0.1 into a Maildir."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP


async def start_sink(maildir: Path) -> tuple[asyncio.Server, int]:
    """Serve SMTP on a free loopback port; the server and its port."""
    handler = Mailbox(maildir)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="missedcall-demo-sink"), "127.0.0.1", 0
    )
    return server, int(server.sockets[0].getsockname()[1])
