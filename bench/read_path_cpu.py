"""CPU per request of the services' hot reads, in process: each app called as ASGI.

``bench/http_path.py`` measures the whole path with real servers and wrk; on a loaded shared
machine its rates say little, and even its CPU per request moves with wrk's timeouts. This
bench times what the service itself spends on one read — routing, the token check, the
query and its driver, the encoding, the middlewares — with ``time.process_time`` around
thousands of requests made by the same process (no HTTP parsing: uvicorn's share, the same
for every tree, is left out). Trees are run alternately, each in its own interpreter
(``<tree>/.venv/bin/python``), against the running platform's Postgres (``./sanad up``), on
a citizen and an application that already exist (run ``bench/http_path.py`` once first).

    uv run python bench/read_path_cpu.py --tree /path/to/main --tree . --label x
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
Headers = dict[str, str]


async def call(app: Any, path: str, headers: Headers) -> tuple[int, Headers, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    status, answer, body = 0, {}, b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answer, body
        if message["type"] == "http.response.start":
            status = message["status"]
            answer = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return status, answer, body


async def cpu_ms(app: Any, path: str, headers: Headers, requests: int, rounds: int) -> list[float]:
    status, _, body = await call(app, path, headers)
    assert status in (200, 304), (path, status, body)
    for _ in range(100):  # warm: the statement prepared, the token verified once
        await call(app, path, headers)
    runs = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            await call(app, path, headers)
        runs.append(round((time.process_time() - started) / requests * 1000, 4))
    return runs


async def measure(requests: int, rounds: int) -> dict[str, list[float]]:
    """Run inside the tree's interpreter: that tree's services, this machine's platform."""
    os.environ.setdefault("SANAD_ENV", "dev")
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from sanad.applications.main import create_app as applications_app
    from sanad.platform.testing import local_infra, trust_test_tokens
    from sanad.profile.main import create_app as profile_app
    from sanad.shared.auth import Role
    from sanad.shared.logging import configure_logging

    admin = create_async_engine(local_infra().database_admin_url())
    async with admin.connect() as conn:
        citizen = (
            await conn.execute(
                text("SELECT citizen_id FROM profile.profiles ORDER BY version DESC LIMIT 1")
            )
        ).scalar()
        application = (
            await conn.execute(
                text(
                    "SELECT application_id, citizen_id FROM applications.application_views LIMIT 1"
                )
            )
        ).first()
    await admin.dispose()
    if citizen is None or application is None:
        raise SystemExit("no citizen or application yet: run bench/http_path.py once first")

    figures: dict[str, list[float]] = {}
    profile = profile_app()
    configure_logging("profile", "INFO")
    token, _, _ = trust_test_tokens(profile).issue(str(citizen), Role.CITIZEN, 3600)
    auth = {"authorization": f"Bearer {token}", "host": "bench"}
    figures["health"] = await cpu_ms(profile, "/healthz", {"host": "bench"}, requests, rounds)
    figures["profile"] = await cpu_ms(profile, "/v1/profile", auth, requests, rounds)
    etag = (await call(profile, "/v1/profile", auth))[1]["etag"]
    figures["profile_304"] = await cpu_ms(
        profile, "/v1/profile", auth | {"if-none-match": etag}, requests, rounds
    )

    apps = applications_app()
    token, _, _ = trust_test_tokens(apps).issue(str(application.citizen_id), Role.CITIZEN, 3600)
    auth = {"authorization": f"Bearer {token}", "host": "bench"}
    path = f"/v1/applications/{application.application_id}"
    figures["application"] = await cpu_ms(apps, path, auth, requests, rounds)
    figures["applications_list"] = await cpu_ms(apps, "/v1/applications", auth, requests, rounds)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, action="append", help="source trees (repeat)")
    parser.add_argument("--label", default="run")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=2, help="each tree this many times")
    parser.add_argument("--output", type=Path, default=RESULTS / "read_path_cpu.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.requests, args.rounds))))
        return

    trees = [tree.resolve() for tree in (args.tree or [REPO])]
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.passes):
        for tree in trees:
            commit = subprocess.run(
                ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            load = os.getloadavg()[0]
            child = subprocess.run(
                [
                    str(tree / ".venv" / "bin" / "python"),
                    __file__,
                    "--child",
                    *("--requests", str(args.requests), "--rounds", str(args.rounds)),
                ],
                cwd=tree,
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            runs = results.setdefault(commit, {})
            for case, values in figures.items():
                runs.setdefault(case, []).extend(values)
            print(
                f"[{commit}] load {load:.1f}: "
                + "  ".join(f"{case} {min(values):.3f}" for case, values in figures.items())
            )
    run = {
        "label": args.label,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_1m": round(os.getloadavg()[0], 1),
        "requests_per_round": args.requests,
        # Per tree and case: the lowest round (least disturbed by the other work on the
        # machine) and the median, in ms of CPU per request.
        "cpu_ms_per_request": {
            commit: {
                case: {"min": min(values), "median": round(statistics.median(values), 4)}
                for case, values in cases.items()
            }
            for commit, cases in results.items()
        },
    }
    for commit, cases in run["cpu_ms_per_request"].items():
        print(
            f"{commit}: "
            + "  ".join(f"{c} {v['min']:.3f}/{v['median']:.3f}" for c, v in cases.items())
        )
    previous = json.loads(args.output.read_text()) if args.output.exists() else {"runs": []}
    previous["runs"].append(run)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
