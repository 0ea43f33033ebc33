"""PostgreSQL 15 for the local platform: reuse a reachable one, or run our own cluster.

Our own cluster lives in ``.local/postgres`` and runs as the ``postgres`` system user
(PostgreSQL refuses to run as root, and sessions here are root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from sanad.platform.layout import LOCAL, LOGS, PG_PORT, port
from sanad.platform.procs import port_open

PG_DIR = LOCAL / "postgres"
DATA = PG_DIR / "data"
SOCKETS = PG_DIR / "run"
OURS = PG_DIR / "started-by-sanad"
LOG = LOGS / "postgres.log"
DEV_ADMIN_PASSWORD = "sanad-dev-admin"  # the local cluster's superuser; dev only


class PlatformError(RuntimeError):
    """A part of the platform could not start; the message says which and where to look."""


# Also in docker-compose.yml's postgres command.
GROUP_COMMIT = "-c commit_delay=1000 -c commit_siblings=1"
# Every statement's calls, rows and time, per role (so per service): what the load benchmark
# reports per application (bench/pg_statements.py). A restart is needed to load it; the
# extension itself is created by ``provision``. Also in docker-compose.yml.
STATEMENT_STATS = "-c shared_preload_libraries=pg_stat_statements"


def admin_url() -> str:
    """A superuser URL: ``SANAD_PG_ADMIN_URL``, else ``DATABASE_URL``, else our own cluster."""
    default = f"postgresql://postgres:{DEV_ADMIN_PASSWORD}@127.0.0.1:{port(PG_PORT)}/postgres"
    return os.environ.get("SANAD_PG_ADMIN_URL") or os.environ.get("DATABASE_URL") or default


def server_address() -> tuple[str, int]:
    """Where the Postgres the services should use listens (from the admin URL)."""
    parsed = urlsplit(admin_url())
    return parsed.hostname or "127.0.0.1", parsed.port or 5432


def uses_given_server() -> bool:
    return bool(os.environ.get("SANAD_PG_ADMIN_URL") or os.environ.get("DATABASE_URL"))


def _bin(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/lib/postgresql/15/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    raise PlatformError(f"PostgreSQL 15's {name} not found: install postgresql-15")


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _chown_to_postgres(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam("postgres")
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def is_ours() -> bool:
    return OURS.exists() and (DATA / "postmaster.pid").exists()


def ensure_running() -> str:
    """Returns 'started', 'running' (ours, already up) or 'external' (reused)."""
    if uses_given_server():
        return "external"
    pg_port = port(PG_PORT)
    if port_open(pg_port):
        return "running" if is_ours() else "external"
    LOGS.mkdir(parents=True, exist_ok=True)
    for path in (PG_DIR, SOCKETS):
        path.mkdir(parents=True, exist_ok=True)
        _chown_to_postgres(path)
    LOG.touch()
    _chown_to_postgres(LOG)
    if not (DATA / "PG_VERSION").exists():
        pwfile = PG_DIR / "pwfile"
        pwfile.write_text(DEV_ADMIN_PASSWORD + "\n")
        _chown_to_postgres(pwfile)
        _run(
            _as_postgres(
                [
                    _bin("initdb"),
                    "-D",
                    str(DATA),
                    "-U",
                    "postgres",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            "initdb",
        )
        pwfile.unlink()
    # Group commit: a commit waits up to 1 ms for others to share its WAL flush while another
    # transaction is active. One fdatasync costs ~2 ms on this disk; at 500 events/s the
    # producer, relay and consumer each commit apart, and without it the flushes queue
    # (bench/event_pipe.py: p99 82-158 ms without, 35-48 ms with).
    options = (
        f"-p {pg_port} -k {SOCKETS} -c listen_addresses=127.0.0.1 -c max_connections=300"
        f" {GROUP_COMMIT} {STATEMENT_STATS}"
    )
    _run(
        _as_postgres(
            [
                _bin("pg_ctl"),
                "-D",
                str(DATA),
                "-l",
                str(LOG),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        "pg_ctl start",
    )
    OURS.touch()
    return "started"


def stop() -> bool:
    if not is_ours():
        return False
    subprocess.run(
        _as_postgres([_bin("pg_ctl"), "-D", str(DATA), "-m", "fast", "-w", "stop"]),
        capture_output=True,
        check=False,
    )
    OURS.unlink(missing_ok=True)
    return True


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PlatformError(
            f"PostgreSQL {what} failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-800:]}\n  log: {LOG}"
        )
