"""The gateway's merged OpenAPI document is the truth: Schemathesis (every check) against the
running gateway, anonymously and as a citizen, finds no 5xx and no check failure — every
status and media type answered is documented, answers match their schemas, invalid input
is refused, undeclared methods answer 405 with the right ``Allow``, operations that need a
token refuse a missing one.

Bounded so it fits CI: a few examples per operation, no shrinking, a fixed seed (a failure
reproduces with ``st replay`` from the output)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from sanad.platform.layout import SERVICES, SMS_SINK_PORT, port
from sanad.platform.services import platform_env
from sanad.platform.testing import eventually, register_citizen

GATEWAY = f"http://127.0.0.1:{next(s.port for s in SERVICES if s.name == 'gateway')}"
SMS_SINK = f"http://127.0.0.1:{port(SMS_SINK_PORT)}"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 3
SEED = 14


async def complete_document() -> dict[str, Any]:
    """The merged document once every service is in it (a loaded service may miss one
    refresh)."""

    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            doc: dict[str, Any] = (await client.get(f"{GATEWAY}/openapi.json")).json()
            return doc

    return await eventually(
        fetch,
        until=lambda doc: doc["x-unavailable"] == [],
        timeout=120,
        interval=2,
        what="every service in the merged OpenAPI document",
    )


async def schemathesis(*headers: str) -> tuple[int, str]:
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(CONFIG),
        "run", f"{GATEWAY}/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--no-shrink",
        "--workers", "2",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
    ]  # fmt: skip
    for header in headers:
        command += ["--header", header]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("caller", ["anonymous", "citizen"])
async def test_schemathesis_finds_no_server_error_and_no_contract_violation(caller: str) -> None:
    await complete_document()
    headers = []
    if caller == "citizen":
        citizen = await register_citizen(GATEWAY, SMS_SINK, platform_env())
        headers.append(f"Authorization: Bearer {citizen.access_token}")
    code, output = await schemathesis(*headers)
    summary = output[output.find("=== SUMMARY") :] if "=== SUMMARY" in output else output
    assert code == 0, output[-20000:]
    assert "Selected: " in summary
