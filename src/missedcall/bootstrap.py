"""The composition root: the one place that builds real adapters from the configuration.

Commands and the server ask here for what they need; tests build the same
objects from fakes through the same constructors.
"""

from __future__ import annotations

from pathlib import Path

from missedcall.config import Config
from missedcall.directory.contacts import ContactDirectory, build_sources
from missedcall.directory.users import Directory
from missedcall.journal.store import StateStore
from missedcall.pipeline import CallHandler
from missedcall.rules import Judge, Policy

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
