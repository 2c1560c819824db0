"""Schemathesis against the published OpenAPI document of a running server: generated
requests (valid and not) as the administrator and as a user, every answer checked against
the document -- no server error, only documented status codes, bodies and headers as
described, bad input refused, nothing readable without the credentials.

Bounded: a fixed seed, a few examples per operation, loopback only, a time limit.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from missedcall.auth.principal import Role
from tests.support.running import running, trace

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
TIME_LIMIT = 90.0


# The coverage phase (boundary values of every parameter) and the password login (slow on
# purpose: argon2) once; fuzzing of the rest for both accounts.
@pytest.mark.parametrize(
    ("account", "role", "options"),
    [
        ("admin", "admin", ["--phases", "examples,coverage,fuzzing,stateful", "-n", "10"]),
        (
            "anna",
            "user",
            [
                *("--phases", "examples,fuzzing,stateful", "-n", "5"),
                *("--exclude-operation-id", "log_in_api_v1_session_post"),
            ],
        ),
    ],
)
async def test_the_api_keeps_to_its_openapi_document(
    tmp_path: Path, account: str, role: Role, options: list[str]
) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"), trace("03-ringgroup-missed"))
        token = run.token(account, role)
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "run",
            f"{run.base_url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--seed",
            "1",
            "--workers",
            "1",
            "--no-shrink",
            "--request-timeout",
            "5",
            *options,
            "--checks",
            "all",
            # Valid by the schema but refused by rules the schema cannot say (a settings key
            # that does not exist, a language without a file); OPTIONS is not served.
            "--exclude-checks",
            "positive_data_acceptance,allow_header_conformance",
            "--report-dir",
            str(tmp_path / "report"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        output, _ = await asyncio.wait_for(process.communicate(), TIME_LIMIT)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
