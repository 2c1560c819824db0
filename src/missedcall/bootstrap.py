"""The composition root: the one place that builds real adapters from the configuration.

Commands and the server ask here for what they need; tests build the same
objects from fakes through the same constructors.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from missedcall.api.app import build_app
from missedcall.calls.asterisk import WANTED_EVENTS, AsteriskCorrelator
from missedcall.config import Config
from missedcall.db import open_database
from missedcall.directory.contacts import ContactDirectory, build_sources
from missedcall.directory.users import Directory
from missedcall.journal.store import StateStore
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.runner import Backoff, DeliveryRunner
from missedcall.outbox.smtp import SmtpDelivery
from missedcall.outbox.store import Outbox
from missedcall.pipeline import CallHandler
from missedcall.render import LANGUAGES_DIR, TEMPLATES_DIR, Languages, Renderer, Templates
from missedcall.render.folders import Layers
from missedcall.rules import Judge, Policy
from missedcall.server import Server, Source
from missedcall.sources.ami.client import AmiClient, AmiSettings

DATABASE_NAME = "missedcall.db"


def state_path(config: Config) -> Path:
    return Path(config.server.data_dir) / DATABASE_NAME


def build_contacts(config: Config, directory: Directory) -> ContactDirectory | None:
    sources = build_sources(config.contacts, directory.numbering)
    if not sources:
        return None
    return ContactDirectory(sources, directory.numbering, config.contacts.cache_ttl_seconds)


def build_judge(config: Config, directory: Directory, store: StateStore) -> Judge:
    return Judge(
        email_policy=Policy.from_settings(config.notify),
        journal_policy=Policy.from_settings(config.journal),
        users=directory,
        numbering=directory.numbering,
        timezone=config.server.zone,
        history=store,
        presence=store,
    )


def build_handler(config: Config, store: StateStore) -> CallHandler:
    directory = Directory.from_config(config)
    return CallHandler(
        judge=build_judge(config, directory, store),
        store=store,
        directory=directory,
        contacts=build_contacts(config, directory),
    )


# ---------------------------------------------------------------------------
# The message (render/): templates and languages laid over the packaged ones

NO_SERVER_MAILBOX = "missedcall <missedcall@missedcall.invalid>"
"""From when there is no [smtp] section (notify.dispatch = "client"): the client sends."""


def build_renderer(config: Config, directory: Directory) -> Renderer:
    notify = config.notify
    return Renderer(
        notify=notify,
        server_mailbox=config.smtp.from_ if config.smtp else NO_SERVER_MAILBOX,
        zone=config.server.zone,
        directory=directory,
        templates=Templates(Layers(TEMPLATES_DIR, notify.templates_dir)),
        languages=Languages(Layers(LANGUAGES_DIR, notify.languages_dir)),
    )


# ---------------------------------------------------------------------------
# The running server: PBX source, correlator, pipeline, renderer, outbox, delivery, web


@dataclass
class BuiltServer:
    server: Server
    connection: sqlite3.Connection

    def close(self) -> None:
        self.connection.close()


def startup_problems(config: Config) -> list[str]:
    """What keeps a configuration that loads from running a server."""
    problems = []
    if config.notify.dispatch == "server" and config.smtp is None:
        problems.append('notify.dispatch is "server" but there is no [smtp] section to send with')
    if not config.asterisk.username:
        problems.append("asterisk.username is needed to log in to the PBX")
    return problems


def ami_settings(config: Config) -> AmiSettings:
    asterisk = config.asterisk
    return AmiSettings(
        host=asterisk.host,
        port=asterisk.port,
        username=asterisk.username or "",
        secret=asterisk.password or "",
        auth=asterisk.auth,
        events=",".join(asterisk.events),
        keepalive_seconds=asterisk.keepalive_seconds,
        reconnect_max=asterisk.reconnect_max_seconds,
        max_frame_bytes=asterisk.max_frame_bytes,
    )


def build_server(
    config: Config,
    *,
    source: Source | None = None,
    clock: Callable[[], float] = time.time,
    web: bool = True,
    backoff: Backoff | None = None,
) -> BuiltServer:
    connection = open_database(state_path(config))
    outbox = Outbox(connection)
    committer = GroupCommitter(outbox)
    handler = build_handler(config, StateStore(connection))
    dispatch = config.notify.dispatch
    runner = None
    if dispatch == "server" and config.smtp is not None:
        runner = DeliveryRunner(
            outbox, SmtpDelivery(config.smtp), clock, committer=committer, backoff=backoff
        )
    server = Server(
        source=source or AmiClient(ami_settings(config), event_filter=WANTED_EVENTS),
        correlator=AsteriskCorrelator(
            handler.directory, max_call_age=config.asterisk.max_call_age_seconds
        ),
        handler=handler,
        renderer=build_renderer(config, handler.directory),
        outbox=outbox,
        committer=committer,
        dispatch=dispatch,
        runner=runner,
        clock=clock,
    )
    if web:
        app = build_app(server.health, outbox, clock)
        server.web = uvicorn.Config(
            app, host=config.api.host, port=config.api.port, log_level="warning", lifespan="off"
        )
    return BuiltServer(server, connection)
