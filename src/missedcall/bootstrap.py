"""The composition root: the one place that builds real adapters from the configuration.

Commands and the server ask here for what they need; tests build the same
objects from fakes through the same constructors.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from missedcall.api.app import build_app
from missedcall.api.context import ApiContext
from missedcall.auth.accounts import Accounts
from missedcall.auth.ratelimit import LoginLimiter
from missedcall.auth.sessions import SessionStore
from missedcall.auth.tokens import TokenStore
from missedcall.calls.asterisk import WANTED_EVENTS, AsteriskCorrelator
from missedcall.config import Config
from missedcall.db import open_database
from missedcall.directory.contacts import ContactDirectory, build_sources
from missedcall.directory.users import Directory
from missedcall.journal.pending import PendingHistory
from missedcall.journal.store import StateStore
from missedcall.metrics import Metrics
from missedcall.outbox.commit import GroupCommitter
from missedcall.outbox.runner import Backoff, DeliveryRunner
from missedcall.outbox.smtp import SmtpDelivery
from missedcall.outbox.store import Outbox
from missedcall.overrides import LiveSettings, OverrideStore
from missedcall.pipeline import CallHandler
from missedcall.render import LANGUAGES_DIR, TEMPLATES_DIR, Languages, Renderer, Templates
from missedcall.render.folders import Layers
from missedcall.retention import Retention
from missedcall.rules import Judge, Policy
from missedcall.rules.ports import History
from missedcall.server import Server, Source
from missedcall.sources.ami.client import AmiClient, AmiSettings

DATABASE_NAME = "missedcall.db"
# Intake yields after every call and delivery after every SMTP reply: without a
# delay each of those turns would commit its one write alone.  Two milliseconds
# gather a busy server's writes into a commit several calls and mails share,
# and add as little to the time a mail takes.
COMMIT_DELAY_SECONDS = 0.002


def state_path(config: Config) -> Path:
    return Path(config.server.data_dir) / DATABASE_NAME


def build_contacts(config: Config, directory: Directory) -> ContactDirectory | None:
    sources = build_sources(config.contacts, directory.numbering)
    if not sources:
        return None
    return ContactDirectory(sources, directory.numbering, config.contacts.cache_ttl_seconds)


def build_judge(
    config: Config, directory: Directory, store: StateStore, history: History | None = None
) -> Judge:
    """``history``: where the rules look up earlier notifications, the store by default."""
    return Judge(
        email_policy=Policy.from_settings(config.notify),
        journal_policy=Policy.from_settings(config.journal),
        users=directory,
        numbering=directory.numbering,
        timezone=config.server.zone,
        history=store if history is None else history,
        presence=store,
    )


def build_handler(
    config: Config,
    store: StateStore,
    live: LiveSettings | None = None,
    history: History | None = None,
) -> CallHandler:
    """Judges by the configuration in force: the file's, with what was changed at run time
    (kept in the store's database; ``live`` if the caller holds it already)."""
    in_force = (live or LiveSettings(config, OverrideStore(store.connection))).config
    directory = Directory.from_config(in_force)
    return CallHandler(
        judge=build_judge(in_force, directory, store, history),
        store=store,
        directory=directory,
        contacts=build_contacts(config, directory),
    )


def follow_settings(
    server: Server, store: StateStore, history: History | None = None
) -> Callable[[Config], None]:
    """What a settings change does to a running server: the next call meets a new judge
    and a directory with the users' own choices."""

    def apply(config: Config) -> None:
        directory = Directory.from_config(config)
        judge = build_judge(config, directory, store, history)
        server.handler = replace(server.handler, judge=judge, directory=directory)

    return apply


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


def build_api(
    config: Config,
    server: Server,
    live: LiveSettings,
    store: StateStore,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The REST API over a built server: accounts, sessions and tokens in its database."""
    tokens = TokenStore(store.connection)
    context = ApiContext(
        server=server,
        live=live,
        store=store,
        sessions=SessionStore(store.connection, store, config.api.session_idle_seconds),
        tokens=tokens,
        accounts=Accounts(config, tokens),
        limiter=LoginLimiter(),
        clock=clock,
    )
    return build_app(context)


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
    committer = GroupCommitter(outbox, max_delay=COMMIT_DELAY_SECONDS)
    store = StateStore(connection)
    live = LiveSettings(config, OverrideStore(connection))
    pending = PendingHistory(store)
    handler = build_handler(config, store, live, pending)
    metrics = Metrics()
    dispatch = config.notify.dispatch
    runner = None
    if dispatch == "server" and config.smtp is not None:
        runner = DeliveryRunner(
            outbox,
            SmtpDelivery(config.smtp),
            clock,
            # Claim little more than what is sent at once: a claimed row a crash
            # leaves behind counts against the crash-loop cap of that row.
            batch=2 * config.smtp.max_connections,
            committer=committer,
            backoff=backoff,
            metrics=metrics,
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
        metrics=metrics,
        pending=pending,
        retention=(
            Retention(committer, config.server.keep_days, clock)
            if config.server.keep_days
            else None
        ),
    )
    live.on_change(follow_settings(server, store, pending))
    if web:
        server.web = uvicorn.Config(
            build_api(config, server, live, store, clock),
            host=config.api.host,
            port=config.api.port,
            log_level="warning",
            lifespan="on",
        )
    return BuiltServer(server, connection)
