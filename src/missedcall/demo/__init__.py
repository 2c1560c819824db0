"""Bundled demo material: real Asterisk recordings and the lab's users."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def traces() -> list[Path]:
    folder = resources.files(__package__) / "traces"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".ami"))


def lab_config() -> Path:
    return Path(str(resources.files(__package__) / "lab.toml"))


def lab_config_text(
    data_dir: Path, ami_port: int, smtp_port: int, *, ami_secret: str, server_address: str
) -> str:
    """The lab's users with a PBX and an SMTP server on 127.0.0.1 (demo, tests, benchmarks).

    Ours go first: the lab file opens with its own tables, and keys after a
    table header belong to it.
    """
    local = f"""
[server]
data_dir = "{data_dir.as_posix()}"
timezone = "UTC"

[asterisk]
host = "127.0.0.1"
port = {ami_port}
username = "missedcall"
password = "{ami_secret}"
reconnect_max_seconds = 1

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "Phone system <{server_address}>"
timeout_seconds = 5
"""
    return local + lab_config().read_text(encoding="utf-8")
