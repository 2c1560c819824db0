"""Builds the package; compiles its hot path with mypyc where it can.

The modules in ``COMPILED`` are plain, strictly typed Python.  mypyc turns
them into C extensions at install time (the AMI parser and the correlator run
about 1.7 times as fast: ``python -m bench correlation``; compiling the
document and MIME modules makes a whole message about 8 % faster to render:
``python -m bench render``).  Without a C compiler or Python's headers, or
with ``MISSEDCALL_PURE_PYTHON=1``, the same sources are installed to run
interpreted: nothing else depends on the build.

An extension shadows its source: after editing a compiled module, install
again (``make`` does, ``pip install -e .`` by hand) or tests see the old code
(``tests/unit/test_compiled.py`` says so).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from mypyc.build import mypycify  # a build requirement (pyproject.toml)
from setuptools import setup

COMPILED = [
    "src/missedcall/sources/ami/protocol.py",
    "src/missedcall/calls/asterisk.py",
    "src/missedcall/calls/assemble.py",
    "src/missedcall/calls/channels.py",
    "src/missedcall/calls/lines.py",
    "src/missedcall/calls/record.py",
    "src/missedcall/render/xmlwriter.py",
    "src/missedcall/render/document.py",
    "src/missedcall/render/mime.py",
    "src/missedcall/render/headers.py",
    "src/missedcall/render/assemble.py",
]


def why_not_compiled() -> str | None:
    if os.environ.get("MISSEDCALL_PURE_PYTHON") == "1":
        return "MISSEDCALL_PURE_PYTHON=1"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h)"
    return None


def compiled_modules() -> list[object]:
    reason = why_not_compiled()
    if reason is not None:
        print(f"missedcall: installing pure Python: {reason}", file=sys.stderr)
        return []
    # mypy checks only these files here: the config's other sections go unused.  pip
    # builds in an environment of its own, without lxml, pydantic and the rest: their
    # types count as Any here (``make typecheck`` checks them, against the real ones).
    flags = ["--no-warn-unused-configs", "--ignore-missing-imports", "--follow-imports=silent"]
    return list(mypycify([*flags, *COMPILED], opt_level="3", group_name="missedcall"))


setup(ext_modules=compiled_modules())
