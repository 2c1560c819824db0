"""The new keys of the configuration (passwords, sessions) and of the client's settings:
bad values are errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from missedcall.client.settings import load_client_settings
from missedcall.config import ConfigError, parse_config

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def test_password_hashes_must_be_argon2_and_admin_is_no_user_id() -> None:
    config = parse_config(
        f'[api]\nadmin_password_hash = "{HASH}"\nsession_idle_seconds = 60\n'
        f'[[users]]\nid = "anna"\npassword_hash = "{HASH}"\n'
    )
    assert config.users[0].password_hash == HASH and config.api.session_idle_seconds == 60
    assert HASH not in repr(config)
    with pytest.raises(ConfigError) as bad:
        parse_config('[api]\nadmin_password_hash = "secret"\n[[users]]\nid = "admin"\n')
    assert sorted(bad.value.messages) == [
        "api.admin_password_hash: must be an argon2 hash such as"
        " '$argon2id$v=19$m=65536,t=3,p=4$…' (make one with 'missedcall passwd'); got 'secret'",
        "users[0].id: 'admin' is reserved for the administrator's login",
    ]


def test_client_settings_come_from_the_file_with_flags_over_them(tmp_path: Path) -> None:
    path = tmp_path / "client.toml"
    path.write_text(
        'server = "http://pbx:8025/"\nuser = "anna"\ntoken = "mct_x"\n'
        '[smtp]\nhost = "mail.example.com"\nport = 587\nsecurity = "starttls"\n'
        'from = "anna@example.com"\n'
    )
    settings = load_client_settings(path, {"poll_seconds": 5}, {"port": 2525})
    assert settings.server == "http://pbx:8025" and settings.poll_seconds == 5
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "mail.example.com",
        2525,
        "starttls",
    )
    assert "mct_x" not in repr(settings)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"server": "pbx:8025"}, "server: must be the server's URL"),
        ({"token": None}, "give either token or password"),
        ({"password": "pw"}, "give either token or password"),
        ({"sendmail": "/usr/sbin/sendmail"}, "exactly one way to send"),
        ({"eml_dir": None}, "exactly one way to send"),
        ({"poll_seconds": 0}, "poll_seconds: must be greater than 0"),
    ],
)
def test_bad_client_settings_name_the_key(flags: dict[str, object], message: str) -> None:
    good = {"server": "http://pbx:8025", "user": "anna", "token": "t", "eml_dir": "mails"}
    with pytest.raises(ConfigError, match=message):
        load_client_settings(None, {**good, **flags}, {})
