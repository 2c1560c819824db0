"""`missedcall check-smtp` against a real SMTP server: the conversation step by step,
the verdict, and the exit code."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from missedcall.commands import check_smtp
from tests.support.smtp import Certificates, SmtpSink, serving_in_a_thread


def configure(folder: Path, port: int, **smtp: str) -> Path:
    keys = {
        "host": '"127.0.0.1"',
        "port": str(port),
        "from": '"Phone system <pbx@example.com>"',
        "timeout_seconds": "5.0",
        **smtp,
    }
    path = folder / "missedcall.toml"
    path.write_text(
        "[smtp]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items()),
        encoding="utf-8",
    )
    return path


def check(config: Path, to: str | None = None, *, verbose: bool = False) -> int:
    return check_smtp.run(argparse.Namespace(config=str(config), to=to, verbose=verbose))


def test_a_test_mail_over_starttls_with_login(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = Certificates()
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.authority_file(tmp_path)))
    sink = SmtpSink(security="starttls", certificates=certificates, logins={"pbx": "secret"})
    with serving_in_a_thread(sink):
        config = configure(
            tmp_path, sink.port, security='"starttls"', username='"pbx"', password='"secret"'
        )
        code = check(config)
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"smtp 127.0.0.1:{sink.port} security=starttls, login as pbx"
    assert [line.split()[0] for line in lines[1:-1]] == [
        "connect",
        "EHLO",
        "STARTTLS",
        "EHLO",
        "AUTH",
        "MAIL",
        "RCPT",
        "DATA",
    ]
    assert "RCPT TO <pbx@example.com>" in out  # to the From address by default
    assert "235 2.7.0 Authentication successful" in out
    assert lines[-1].startswith("OK: accepted for pbx@example.com (Message-ID <")
    [received] = sink.received
    assert (received.tls, received.login) == (True, "pbx")
    assert b"Subject: missedcall: test mail (check-smtp)" in received.data


def test_a_refused_recipient_is_shown_with_the_reply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = SmtpSink(refuse={"gone@example.com": "550 5.1.1 <gone@example.com>: no such user"})
    with serving_in_a_thread(sink):
        code = check(configure(tmp_path, sink.port), "gone@example.com")
    out = capsys.readouterr().out
    assert code == 1
    assert "RCPT TO <gone@example.com>" in out
    assert out.splitlines()[-1] == (
        "FAILED at RCPT TO: 550 5.1.1 <gone@example.com>: no such user (permanent)"
    )
    assert sink.received == []


def test_verbose_shows_the_replies_in_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving_in_a_thread(SmtpSink()) as sink:
        assert check(configure(tmp_path, sink.port), verbose=True) == 0
    assert "8BITMIME" in capsys.readouterr().out  # from the second line of the EHLO reply


def test_a_server_that_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serving_in_a_thread(SmtpSink()) as sink:
        port = sink.port
    assert check(configure(tmp_path, port)) == 1
    verdict = capsys.readouterr().out.splitlines()[-1]
    assert verdict.startswith("FAILED at connect: no reply Error connecting to 127.0.0.1")
    assert verdict.endswith("(temporary, would be retried)")


def test_a_configuration_without_smtp(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "missedcall.toml"
    config.write_text('[notify]\ndispatch = "client"\n', encoding="utf-8")
    assert check(config) == 2
    assert "no [smtp] section" in capsys.readouterr().err
