"""The gateway's merged OpenAPI document is the truth: Schemathesis (every check) against the
running gateway, anonymously and as a citizen, finds no 5xx and no check failure — every
status and media type answered is documented, answers match their schemas, invalid input
is refused, undeclared methods answer 405 with the right ``Allow``, operations that need a
token refuse a missing one.

Bounded so it fits CI: a few examples per operation, no shrinking, a fixed seed (a failure
reproduces with ``st replay`` from the output).

Its thousands of requests come from one address and would meet the platform gateway's
per-address and per-citizen rate limits (a 429 where the contract says 401). So it runs
against a second gateway process — the same code and routes in front of the same services
— started here with those two limits raised; every other setting is the platform's."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sanad.platform import procs
from sanad.platform.layout import SERVICES, SMS_SINK_PORT, port
from sanad.platform.services import command, platform_env
from sanad.platform.testing import eventually, register_citizen

PLATFORM_GATEWAY = next(s for s in SERVICES if s.name == "gateway")
CONTRACT_PORT = PLATFORM_GATEWAY.port + 40  # beside the platform's ports, in the same range
GATEWAY = f"http://127.0.0.1:{CONTRACT_PORT}"
SMS_SINK = f"http://127.0.0.1:{port(SMS_SINK_PORT)}"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 3
SEED = 14


@pytest.fixture(scope="module")
async def contract_gateway() -> AsyncIterator[str]:
    """A gateway with the rate limits raised, for this module only."""
    name = "gateway-contract"
    assert not procs.port_open(CONTRACT_PORT), f"port {CONTRACT_PORT} is taken"
    procs.spawn(
        name,
        command(PLATFORM_GATEWAY, "serve"),
        env=platform_env()
        | {
            PLATFORM_GATEWAY.port_variable: str(CONTRACT_PORT),
            "SANAD_GATEWAY_WORKERS": "1",
            "SANAD_GATEWAY_RATE_LIMIT_PER_IP": "100000000",
            "SANAD_GATEWAY_RATE_LIMIT_PER_USER": "100000000",
        },
        marker="sanad.gateway",
    )
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def ready() -> int:
                try:
                    return (await client.get(f"{GATEWAY}/readyz")).status_code
                except httpx.TransportError:
                    return 0

            await eventually(
                ready,
                until=lambda status: status == 200,
                timeout=120,
                interval=0.5,
                what=f"the contract test's gateway on :{CONTRACT_PORT} (log: "
                f"{procs.log_path(name)})",
            )
        yield GATEWAY
    finally:
        procs.stop(name)


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
async def test_schemathesis_finds_no_server_error_and_no_contract_violation(
    caller: str, contract_gateway: str
) -> None:
    await complete_document()
    headers = []
    if caller == "citizen":
        citizen = await register_citizen(GATEWAY, SMS_SINK, platform_env())
        headers.append(f"Authorization: Bearer {citizen.access_token}")
    code, output = await schemathesis(*headers)
    # The whole report, beside the platform's logs: a failure's request and answer are in it.
    report = procs.log_path(f"schemathesis-{caller}")
    report.write_text(output)
    summary = output[output.find("=== SUMMARY") :] if "=== SUMMARY" in output else output
    assert code == 0, f"full report: {report}\n{output[-20000:]}"
    assert "Selected: " in summary
