"""The client's settings: a small TOML file, and command-line flags over it.

Errors name the key like the server's configuration does (``smtp.port: must be
at most 65535; got 70000``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from missedcall.config import ConfigError, FilePath, Seconds, SmtpSettings, UserId, validate_model

__all__ = ["ClientSettings", "load_client_settings"]


class ClientSettings(BaseModel):
    """Where the server is, who logs on, and how this machine sends mail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: str
    user: UserId
    token: str | None = Field(default=None, repr=False)
    password: str | None = Field(default=None, repr=False)
    poll_seconds: Seconds = 60
    timeout_seconds: Seconds = 30
    smtp: SmtpSettings | None = None
    sendmail: str | None = None
    eml_dir: FilePath | None = None

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError("must be the server's URL such as 'http://pbx.example.com:8025'")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_of_each(self) -> Self:
        if (self.token is None) == (self.password is None):
            raise ValueError("give either token or password (one of them)")
        ways = [self.smtp is not None, self.sendmail is not None, self.eml_dir is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one way to send: [smtp], sendmail or eml_dir")
        return self


def load_client_settings(
    path: Path | None, flags: Mapping[str, object], smtp_flags: Mapping[str, object]
) -> ClientSettings:
    """The file's settings (if any) with the flags that were given laid over them."""
    data: dict[str, object] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError([f"{path}: cannot read: {error.strerror or error}"]) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError([f"{path}: {error}"]) from None
    data.update({key: value for key, value in flags.items() if value is not None})
    smtp = {key: value for key, value in smtp_flags.items() if value is not None}
    if smtp:
        file_smtp = data.get("smtp")
        data["smtp"] = {**(file_smtp if isinstance(file_smtp, dict) else {}), **smtp}
    return validate_model(ClientSettings, data, base_dir=path.parent if path else None)
