"""``missedcall passwd`` and ``missedcall token``: hashes for the configuration, tokens shown
once and kept only as hashes."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from missedcall.auth.passwords import verify_password
from missedcall.auth.tokens import TokenStore
from missedcall.cli import main
from missedcall.config import load_config, parse_config


def test_passwd_prints_a_hash_the_configuration_takes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    assert main(["passwd"]) == 0
    hashed = capsys.readouterr().out.strip()
    assert verify_password(hashed, "a long passphrase")
    config = parse_config(f'[api]\nadmin_password_hash = "{hashed}"\n')
    assert config.api.admin_password_hash == hashed


def test_passwd_refuses_a_short_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["passwd"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err


def test_tokens_are_created_listed_and_revoked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "missedcall.toml"
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path}"\n[[users]]\nid = "anna"\nlines = ["201"]\n'
    )
    assert main(["token", "create", "--config", str(config), "--user", "anna", "--name", "pc"]) == 0
    secret = capsys.readouterr().out.strip()
    assert main(["token", "create", "--config", str(config), "--user", "admin"]) == 0
    admins = capsys.readouterr().out.strip()
    assert main(["token", "create", "--config", str(config), "--user", "nobody"]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert main(["token", "list", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    assert "1 anna 'pc' created" in listing and "2 admin created" in listing
    assert secret not in listing
    assert main(["token", "revoke", "--config", str(config), "1"]) == 0
    assert main(["token", "revoke", "--config", str(config), "1"]) == 1
    database = Path(load_config(config).server.data_dir) / "missedcall.db"
    with sqlite3.connect(database) as connection:
        tokens = TokenStore(connection)
        assert tokens.check(secret, 0.0) is None  # revoked
        who = tokens.check(admins, 0.0)
        assert who is not None and who.is_admin
