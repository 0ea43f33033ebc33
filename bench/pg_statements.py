"""The Postgres statements a piece of work causes, per service, from ``pg_stat_statements``.

The platform's Postgres loads the extension (``./sanad up``, ``docker compose``: see
``deploy/src/sanad/platform/postgres.py``) and ``provision`` creates it in the ``sanad``
database. Statistics are per role, and every service connects as its own role, so the
difference of two snapshots taken around a load says which service ran which statement how
often, returning how many rows, in how much time (execution inside Postgres; the commit's WAL
flush is in ``COMMIT``'s). ``bench/journey_load.py`` takes the snapshots around its load and
divides by the completed applications; the idle work in between (relays' polls, health
checks) is counted too.

    uv run python bench/pg_statements.py bench/results/journey_load.json   # print its table
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import asyncpg

Snapshot = dict[tuple[str, int], dict[str, Any]]
TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK")

_READ = """
SELECT r.rolname AS service, s.queryid, s.query, s.calls, s.rows, s.total_exec_time
FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database()
"""


async def snapshot(admin_url: str, database: str = "sanad") -> Snapshot | None:
    """Every statement's totals so far, or None if the server has no pg_stat_statements."""
    conn = await asyncpg.connect(admin_url, database=database)
    try:
        if not await conn.fetchval(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
        ):
            return None
        rows = await conn.fetch(_READ)
    finally:
        await conn.close()
    return {(row["service"], row["queryid"]): dict(row) for row in rows}


async def sessions(admin_url: str, database: str = "sanad") -> int:
    """Connections opened to the database so far (a pool that closes and reopens them under
    load forks a backend, authenticates and prepares its statements again each time)."""
    conn = await asyncpg.connect(admin_url, database=database)
    try:
        return int(
            await conn.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = $1", database
            )
        )
    finally:
        await conn.close()


def _kind(query: str) -> str:
    word = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
    return word if word in TRANSACTION else "statement"


def per_application(
    before: Snapshot, after: Snapshot, applications: int, *, top: int = 100
) -> dict[str, Any]:
    """Per service: transactions and statements per application; and the statements, most
    called first, each with its calls, rows and execution time per application."""
    services: dict[str, dict[str, float]] = {}
    statements = []
    for key, now in after.items():
        was = before.get(key, {"calls": 0, "rows": 0, "total_exec_time": 0.0})
        calls = now["calls"] - was["calls"]
        if calls <= 0:
            continue
        rows = now["rows"] - was["rows"]
        ms = now["total_exec_time"] - was["total_exec_time"]
        totals = services.setdefault(
            now["service"],
            {"transactions": 0.0, "statements": 0.0, "rows": 0.0, "exec_ms": 0.0},
        )
        kind = _kind(now["query"])
        if kind == "COMMIT":
            totals["transactions"] += calls / applications
        if kind == "statement":
            totals["statements"] += calls / applications
        totals["rows"] += rows / applications
        totals["exec_ms"] += ms / applications
        statements.append(
            {
                "service": now["service"],
                "query": " ".join(now["query"].split())[:240],
                "calls": round(calls / applications, 3),
                "rows": round(rows / applications, 3),
                "exec_ms": round(ms / applications, 4),
            }
        )
    statements.sort(key=lambda s: (-s["calls"], -s["exec_ms"]))
    return {
        "applications": applications,
        "services": {
            name: {k: round(v, 3) for k, v in totals.items()}
            for name, totals in sorted(services.items(), key=lambda kv: -kv[1]["statements"])
        },
        "statements": statements[:top],
    }


def table(found: dict[str, Any]) -> str:
    lines = [
        f"per application ({found['applications']} completed):",
        f"{'service':<14}{'transactions':>13}{'statements':>12}{'rows':>9}{'exec ms':>10}",
    ]
    for name, t in found["services"].items():
        lines.append(
            f"{name:<14}{t['transactions']:>13.2f}{t['statements']:>12.2f}"
            f"{t['rows']:>9.1f}{t['exec_ms']:>10.3f}"
        )
    lines.append("")
    lines.append(f"{'calls':>7}{'rows':>8}{'ms':>8}  service        statement")
    for s in found["statements"]:
        lines.append(
            f"{s['calls']:>7.2f}{s['rows']:>8.2f}{s['exec_ms']:>8.3f}  "
            f"{s['service']:<14} {s['query'][:110]}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", type=Path, help="a journey_load result (JSON)")
    args = parser.parse_args()
    found = json.loads(args.result.read_text()).get("postgres_statements")
    if not found:
        raise SystemExit(f"{args.result} has no postgres_statements")
    print(table(found))


if __name__ == "__main__":
    main()
