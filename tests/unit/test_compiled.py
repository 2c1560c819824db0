"""The modules setup.py compiles with mypyc: what runs is their source as it is now."""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def compiled_sources() -> list[Path]:
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "COMPILED" for target in node.targets
        ):
            return [ROOT / source for source in ast.literal_eval(node.value)]
    raise AssertionError("setup.py names no COMPILED modules")


def loaded_file(source: Path) -> Path:
    name = ".".join(source.relative_to(ROOT / "src").with_suffix("").parts)
    return Path(str(importlib.import_module(name).__file__))


@pytest.mark.parametrize("source", compiled_sources(), ids=lambda path: path.stem)
def test_a_compiled_module_is_not_older_than_its_source(source: Path) -> None:
    loaded = loaded_file(source)
    if loaded.suffix == ".py":
        assert loaded == source
        return
    assert loaded.parent == source.parent
    assert loaded.stat().st_mtime >= source.stat().st_mtime, (
        f"{loaded.name} was built before {source.name} last changed: what runs is the old"
        " code; install again (make test does, or pip install -e .)"
    )


@pytest.mark.skipif(
    os.environ.get("CI") != "true" or os.environ.get("MISSEDCALL_PURE_PYTHON") == "1",
    reason="CI builds with a C compiler at hand: there the hot path must be compiled",
)
def test_ci_runs_the_compiled_hot_path() -> None:
    interpreted = [s.name for s in compiled_sources() if loaded_file(s).suffix == ".py"]
    assert not interpreted, f"setup.py did not compile {interpreted}"
