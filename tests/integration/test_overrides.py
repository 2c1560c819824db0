"""Settings changed at run time: laid over the file, validated like it, kept in the database,
heard by listeners, and dropped (not fatal) when the file no longer fits them."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from missedcall.config import Config, ConfigError, parse_config
from missedcall.overrides import SETTINGS_KEYS, LiveSettings, OverrideStore

FILE = """
[notify]
recipients = "last"
[[users]]
id = "anna"
email = "anna@example.com"
language = "de"
lines = ["201"]
"""
T0 = 1_800_000_000.0


@pytest.fixture
def config() -> Config:
    return parse_config(FILE)


def test_a_change_is_validated_kept_and_heard(
    connection: sqlite3.Connection, config: Config
) -> None:
    live = LiveSettings(config, OverrideStore(connection))
    heard: list[Config] = []
    live.on_change(heard.append)
    changed = live.change_settings({"notify.recipients": "first"}, T0, "admin")
    assert changed.notify.recipients == "first" and live.config is changed
    assert [c.notify.recipients for c in heard] == ["first"]
    assert config.notify.recipients == "last"  # the file's settings are never changed
    again = LiveSettings(config, OverrideStore(connection))
    assert again.config.notify.recipients == "first"
    assert again.overrides() == {"notify.recipients": "first"}
    live.change_settings({"notify.recipients": None}, T0, "admin")
    assert LiveSettings(config, OverrideStore(connection)).config.notify.recipients == "last"


def test_a_refused_change_changes_nothing(connection: sqlite3.Connection, config: Config) -> None:
    live = LiveSettings(config, OverrideStore(connection))
    with pytest.raises(ConfigError) as refused:
        live.change_settings(
            {"journal.exceptions.min_ring_seconds": "2", "notify.recipients": "first"}, T0, "admin"
        )
    assert refused.value.messages == [
        "journal.exceptions.min_ring_seconds: must be a number; got '2'"
    ]
    with pytest.raises(ConfigError, match=r"server\.data_dir: cannot be changed at run time"):
        live.change_settings({"server.data_dir": "/tmp"}, T0, "admin")
    assert live.overrides() == {} and live.config == config


def test_every_policy_key_and_no_other_is_changeable() -> None:
    assert "notify.exceptions.excluded_numbers" in SETTINGS_KEYS
    assert "journal.when_answered_elsewhere" in SETTINGS_KEYS
    assert not [key for key in SETTINGS_KEYS if key.split(".")[0] not in ("notify", "journal")]
    assert "notify.dispatch" not in SETTINGS_KEYS and "notify.language" not in SETTINGS_KEYS


def test_a_users_choices_lie_over_his_file_settings(
    connection: sqlite3.Connection, config: Config
) -> None:
    live = LiveSettings(config, OverrideStore(connection))
    anna = live.change_user("anna", {"notify": False, "language": "en"}, T0, "anna")
    assert (anna.notify, anna.language, anna.email) == (False, "en", "anna@example.com")
    anna = live.change_user("anna", {"language": None}, T0, "anna")  # the file's value again
    assert (anna.notify, anna.language) == (False, "de")
    assert live.user_overrides("anna") == {"notify": False}
    with pytest.raises(ConfigError, match="when: must be one of always, logged_off"):
        live.change_user("anna", {"when": "never"}, T0, "anna")
    with pytest.raises(ConfigError, match="email: cannot be changed here"):
        live.change_user("anna", {"email": "x@example.com"}, T0, "anna")


def test_stored_settings_that_no_longer_fit_the_file_are_ignored(
    connection: sqlite3.Connection, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    store = OverrideStore(connection)
    store.save_settings({"notify.recipients": "first", "notify.gone": 1}, T0, "admin")
    store.save_user("anna", {"when": "logged_off"}, T0, "anna")
    store.save_user("bernd", {"notify": False}, T0, "bernd")  # no longer in the file
    with caplog.at_level(logging.ERROR):
        live = LiveSettings(config, store)
    assert live.config.notify.recipients == "first"
    assert live.config.users[0].when == "logged_off"
    assert "notify.gone" in caplog.text
