"""Settings changed at run time: an administrator's policy changes and users' own choices.

Theory of operation: the configuration file is the base and is never written.
The database keeps overrides on top of it -- ``settings_overrides`` (a dotted
key such as ``notify.recipients`` and its JSON value) and ``user_overrides``
(a user's ``notify``, ``language`` or ``when``).  The configuration in force is
the file with the overrides laid over it, validated as a whole by the file's own
schema, so an override can never make a configuration the file could not be,
and every error names the key as the file would.

:class:`LiveSettings` holds the configuration in force and tells its listeners
(the composition root, which gives the server's handler a new judge and
directory) when it changes.  Only the policy keys of :data:`SETTINGS_KEYS` and
the user keys of :data:`USER_KEYS` may change; everything else needs a restart.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from missedcall.config import (
    Config,
    ConfigError,
    NotifyExceptions,
    UserSettings,
    validate_model,
)
from missedcall.db import transaction

__all__ = ["SETTINGS_KEYS", "USER_KEYS", "LiveSettings", "OverrideStore", "overridden"]

log = logging.getLogger("missedcall.settings")

_POLICY_KEYS = (
    "recipients",
    "when_answered_elsewhere",
    *(f"exceptions.{key}" for key in NotifyExceptions.model_fields),
)
SETTINGS_KEYS: tuple[str, ...] = tuple(
    f"{section}.{key}" for section in ("notify", "journal") for key in _POLICY_KEYS
)
"""What an administrator may change while the server runs: the notify and journal policies."""
USER_KEYS: tuple[str, ...] = ("notify", "language", "when")
"""What users may change for themselves."""

Changes = Mapping[str, object]  # key -> new value; None puts the file's value back


class OverrideStore:
    """The two override tables over one open database; values are stored as JSON."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def settings(self) -> dict[str, object]:
        rows = self._db.execute("SELECT key, value_json FROM settings_overrides ORDER BY key")
        return {key: json.loads(value) for key, value in rows}

    def users(self) -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = {}
        rows = self._db.execute("SELECT user_id, key, value_json FROM user_overrides")
        for user, key, value in rows:
            found.setdefault(user, {})[key] = json.loads(value)
        return found

    def save_settings(self, changes: Changes, at: float, by: str) -> None:
        with transaction(self._db):
            for key, value in changes.items():
                self._db.execute("DELETE FROM settings_overrides WHERE key = ?", (key,))
                if value is not None:
                    self._db.execute(
                        "INSERT INTO settings_overrides (key, value_json, changed_at, changed_by)"
                        " VALUES (?, ?, ?, ?)",
                        (key, json.dumps(value), at, by),
                    )

    def save_user(self, user: str, changes: Changes, at: float, by: str) -> None:
        with transaction(self._db):
            for key, value in changes.items():
                self._db.execute(
                    "DELETE FROM user_overrides WHERE user_id = ? AND key = ?", (user, key)
                )
                if value is not None:
                    self._db.execute(
                        "INSERT INTO user_overrides (user_id, key, value_json, changed_at,"
                        " changed_by) VALUES (?, ?, ?, ?, ?)",
                        (user, key, json.dumps(value), at, by),
                    )


def overridden(config: Config, settings: Changes, users: Mapping[str, Changes]) -> Config:
    """The file's configuration with the overrides laid over it, validated as a whole."""
    data = config.model_dump(by_alias=True)
    for key, value in settings.items():
        _put(data, key.split("."), value)
    for user in data["users"]:
        user.update(users.get(user["id"], {}))
    return validate_model(Config, data)


def _put(data: dict[str, Any], path: list[str], value: object) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


class LiveSettings:
    """The configuration in force; listeners hear of every change."""

    def __init__(self, base: Config, store: OverrideStore) -> None:
        self.base = base
        self._store = store
        self._listeners: list[Callable[[Config], None]] = []
        self.config = self._load()

    def on_change(self, listener: Callable[[Config], None]) -> None:
        self._listeners.append(listener)

    def overrides(self) -> dict[str, object]:
        """The administrator's overrides in force, by dotted key."""
        return self._store.settings()

    def user_overrides(self, user_id: str) -> dict[str, object]:
        """What the user (or the administrator for him) chose instead of the file's values."""
        return self._store.users().get(user_id, {})

    def change_settings(self, changes: Changes, at: float, by: str) -> Config:
        """Apply an administrator's changes; :class:`ConfigError` names each refused key."""
        refused = [
            f"{key}: cannot be changed at run time" for key in changes if key not in SETTINGS_KEYS
        ]
        if refused:
            raise ConfigError(refused)
        settings = _merged(self._store.settings(), changes)
        config = overridden(self.base, settings, self._store.users())
        self._store.save_settings(changes, at, by)
        return self._now_in_force(config)

    def change_user(self, user_id: str, changes: Changes, at: float, by: str) -> UserSettings:
        """Apply a user's own choices; :class:`ConfigError` names each refused key."""
        refused = [f"{key}: cannot be changed here" for key in changes if key not in USER_KEYS]
        if refused:
            raise ConfigError(refused)
        user = next((u for u in self.config.users if u.id == user_id), None)
        if user is None:
            raise ConfigError([f"users: no user {user_id!r}"])
        validate_model(UserSettings, _merged(user.model_dump(), changes))  # names "language", …
        users = self._store.users()
        users[user_id] = _merged(users.get(user_id, {}), changes)
        config = overridden(self.base, self._store.settings(), users)
        self._store.save_user(user_id, changes, at, by)
        self._now_in_force(config)
        return next(u for u in config.users if u.id == user_id)

    def _now_in_force(self, config: Config) -> Config:
        self.config = config
        for listener in self._listeners:
            listener(config)
        return config

    def _load(self) -> Config:
        """The stored overrides that still fit the file (it may have changed since)."""
        settings, users = self._store.settings(), self._store.users()
        kept = {k: v for k, v in settings.items() if k in SETTINGS_KEYS and self._fits({k: v}, {})}
        kept_users = {user: c for user, c in users.items() if self._fits({}, {user: c})}
        dropped = sorted(settings.keys() - kept.keys()) + sorted(users.keys() - kept_users.keys())
        if dropped:
            log.error("stored settings that no longer fit the configuration are ignored: %s",
                      ", ".join(dropped))  # fmt: skip
        return overridden(self.base, kept, kept_users)

    def _fits(self, settings: Changes, users: Mapping[str, Changes]) -> bool:
        try:
            overridden(self.base, settings, users)
        except (ConfigError, KeyError, TypeError):
            return False
        return True


def _merged(old: Mapping[str, object], changes: Changes) -> dict[str, object]:
    merged = {**old, **changes}
    return {key: value for key, value in merged.items() if value is not None}
