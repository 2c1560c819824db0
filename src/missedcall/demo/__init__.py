"""Bundled demo material: real Asterisk recordings and the lab's users."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def traces() -> list[Path]:
    folder = resources.files(__package__) / "traces"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".ami"))


def lab_config() -> Path:
    return Path(str(resources.files(__package__) / "lab.toml"))
