"""``./sanad up|down|status|test|demo|dlq``: the whole platform on this machine, without Docker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table

from sanad.platform import dead_letters, kafka, postgres, procs, redis_users
from sanad.platform.layout import (
    KAFKA_PORT,
    LOCAL,
    MAIL_HTTP_PORT,
    MAIL_SMTP_PORT,
    REDIS_PORT,
    REPO,
    SERVICES,
    SMS_SINK_PORT,
    ServiceInfo,
    port,
    service_info,
)
from sanad.platform.postgres import PlatformError
from sanad.platform.provision import provision
from sanad.platform.services import (
    command,
    kafka_users,
    migrations_dir,
    platform_env,
    platform_settings,
    redis_users_of_services,
    settings_of,
)
from sanad.shared.kafka_acls import sync_acls
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.migrations import upgrade
from sanad.shared.topics import SUBSCRIPTIONS

console = Console(highlight=False)
STARTUP_TIMEOUT = float(os.environ.get("SANAD_STARTUP_TIMEOUT", "120"))


def wait_for(
    what: str,
    ready: Callable[[], bool],
    *,
    log: str,
    timeout: float = STARTUP_TIMEOUT,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll ``ready`` with a spinner; fail naming the part and its log."""
    started = time.monotonic()
    with console.status(f"waiting for {what}…"):
        while not ready():
            elapsed = time.monotonic() - started
            if alive is not None and not alive():
                raise PlatformError(f"{what} exited while starting; its log: {log}")
            if elapsed > timeout:
                raise PlatformError(f"{what} was not ready after {timeout:.0f}s; its log: {log}")
            time.sleep(0.25)
    console.print(f"  [green]✓[/] {what} ready ({time.monotonic() - started:.1f}s)")


def start_postgres() -> None:
    state = postgres.ensure_running()
    host, pg_port = postgres.server_address()
    console.print(f"  [green]✓[/] postgres {state} on {host}:{pg_port} (log: {postgres.LOG})")
    try:
        done = asyncio.run(provision(postgres.admin_url()))
    except (OSError, asyncpg.PostgresError) as exc:
        raise PlatformError(
            f"cannot set up the database as a superuser on {host}:{pg_port} ({exc}); "
            "set SANAD_PG_ADMIN_URL (or DATABASE_URL) to a superuser URL of that server"
        ) from exc
    console.print(f"  [green]✓[/] database sanad: schemas and roles for {', '.join(done)}")


def start_redis() -> None:
    redis_port = port(REDIS_PORT)
    if procs.running_pid("redis") or procs.port_open(redis_port):
        console.print(f"  [green]✓[/] redis already answering on 127.0.0.1:{redis_port}")
    else:
        _spawn_redis(redis_port)
    users = redis_users_of_services()
    asyncio.run(
        redis_users.apply_users(
            f"redis://127.0.0.1:{redis_port}/0",
            platform_settings().redis_admin_password.get_secret_value(),
            users,
        )
    )
    console.print(f"  [green]✓[/] redis users: admin, {', '.join(user for user, _ in users)}")


def _spawn_redis(redis_port: int) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        raise PlatformError(
            "redis-server not found: ./sanad installs it with apt-get; run it again"
        )
    data = LOCAL / "redis"
    data.mkdir(parents=True, exist_ok=True)
    procs.spawn(
        "redis",
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(redis_port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        marker="redis-server",
    )
    wait_for(
        f"redis on :{redis_port}",
        lambda: procs.port_open(redis_port),
        log=str(procs.log_path("redis")),
        alive=lambda: procs.is_alive("redis"),
    )


def start_kafka() -> None:
    with console.status("fetching the Kafka jars from Maven Central (first run only)…"):
        fetched = kafka.ensure_jars()
    if fetched:
        console.print(f"  [green]✓[/] Kafka jars fetched into {kafka.LIBS}")
    admin = platform_settings().kafka_admin
    state = kafka.start(kafka_users(), admin)
    kafka_port = port(KAFKA_PORT)
    log = str(procs.log_path(kafka.NAME))
    if state == "started":
        wait_for(
            f"kafka on :{kafka_port}",
            lambda: procs.port_open(kafka_port) and kafka.started_line_seen(),
            log=log,
            alive=lambda: procs.is_alive(kafka.NAME),
        )
    else:
        console.print(f"  [green]✓[/] kafka {state} on 127.0.0.1:{kafka_port}")
    access = KafkaAccess(f"127.0.0.1:{kafka_port}", admin)
    created = asyncio.run(ensure_topics(access))
    console.print(f"  [green]✓[/] topics in place ({len(created)} created)")
    added, removed = asyncio.run(sync_acls(access))
    console.print(f"  [green]✓[/] ACLs in place ({added} added, {removed} removed)")


def start_sink(name: str, module: str, args: list[str], check_port: int) -> None:
    if procs.running_pid(name):
        console.print(f"  [green]✓[/] {name} already running on :{check_port}")
        return
    if procs.port_open(check_port):
        raise PlatformError(f"port {check_port} for {name} is taken by another program")
    procs.spawn(name, [sys.executable, "-m", module, *args], marker=module)
    wait_for(
        f"{name} on :{check_port}",
        lambda: _http_ok(f"http://127.0.0.1:{check_port}/healthz"),
        log=str(procs.log_path(name)),
        alive=lambda: procs.is_alive(name),
    )


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def migrate(services: list[ServiceInfo], env: dict[str, str]) -> None:
    """Bring each service's schema to its newest migration, all in this one process (a
    process per service would spend seconds importing each)."""
    os.environ.update(env)
    for service in services:
        settings = settings_of(service)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                upgrade(migrations_dir(service), settings.database_url, settings.db_schema)
        except Exception as exc:
            raise PlatformError(f"migrating {service.name} failed: {exc}") from exc


def start_services() -> None:
    env = platform_env()
    # A running service was migrated when it started; restart one to migrate it again.
    to_start = [service for service in SERVICES if not procs.running_pid(service.name)]
    with console.status("migrating schemas…"):
        migrate([service for service in to_start if service.uses_database], env)
    if to_start:
        console.print(f"  [green]✓[/] schemas migrated for {', '.join(s.name for s in to_start)}")
    for service in to_start:
        if procs.port_open(service.port):
            raise PlatformError(
                f"port {service.port} for {service.name} is taken by another program"
            )
        procs.spawn(
            service.name,
            command(service, "serve"),
            env=env,
            cwd=REPO,
            marker=f"sanad.{service.name}",
        )
    for service in SERVICES:
        wait_for(
            f"{service.name} /readyz on :{service.port}",
            functools.partial(_http_ok, f"http://127.0.0.1:{service.port}/readyz"),
            log=str(procs.log_path(service.name)),
            alive=functools.partial(procs.is_alive, service.name),
        )


def up() -> None:
    started = time.monotonic()
    console.print(f"[bold]Starting the Sanad platform[/] (logs in {procs.log_path('x').parent})")
    start_postgres()
    start_redis()
    start_kafka()
    start_sink(
        "sms-sink",
        "sanad.platform.sinks.sms_sink",
        ["--host", "127.0.0.1", "--port", str(port(SMS_SINK_PORT))],
        port(SMS_SINK_PORT),
    )
    start_sink(
        "mail-catcher",
        "sanad.platform.sinks.mail_catcher",
        [
            "--host",
            "127.0.0.1",
            "--smtp-port",
            str(port(MAIL_SMTP_PORT)),
            "--http-port",
            str(port(MAIL_HTTP_PORT)),
        ],
        port(MAIL_HTTP_PORT),
    )
    start_services()
    console.print(
        f"[bold green]Sanad is up[/] in {time.monotonic() - started:.1f}s: "
        f"gateway http://127.0.0.1:{service_info('gateway').port}  ·  "
        f"portal http://127.0.0.1:{service_info('portal').port}  ·  ./sanad status  ·  ./sanad down"
    )


def down() -> None:
    for service in reversed(SERVICES):
        if procs.stop(service.name):
            console.print(f"  stopped {service.name}")
    for name in ("mail-catcher", "sms-sink", kafka.NAME, "redis"):
        if procs.stop(name, timeout=30):
            console.print(f"  stopped {name}")
    if postgres.stop():
        console.print("  stopped postgres")
    console.print("Sanad is down (only what ./sanad up started was stopped).")


def status() -> int:
    table = Table(title="Sanad local platform")
    for column in ("part", "state", "address", "restarts", "last exit", "log"):
        table.add_column(column)
    rows: list[tuple[str, bool, str, str]] = []
    pg_state = "ours" if postgres.is_ours() else "external"
    pg_host, pg_port = postgres.server_address()
    rows.append(
        (
            f"postgres ({pg_state})",
            procs.port_open(pg_port, pg_host),
            f"{pg_host}:{pg_port}",
            str(postgres.LOG),
        )
    )
    for name, p in (
        ("redis", port(REDIS_PORT)),
        (kafka.NAME, port(KAFKA_PORT)),
        ("sms-sink", port(SMS_SINK_PORT)),
        ("mail-catcher", port(MAIL_HTTP_PORT)),
    ):
        rows.append((name, procs.port_open(p), f"127.0.0.1:{p}", str(procs.log_path(name))))
    for service in SERVICES:
        ready = _http_ok(f"http://127.0.0.1:{service.port}/readyz")
        rows.append(
            (
                service.name,
                ready,
                f"http://127.0.0.1:{service.port}",
                str(procs.log_path(service.name)),
            )
        )
    for name, ok, address, log in rows:
        shown = log.removeprefix(f"{REPO}/")
        restarts, last_exit = _supervision_columns(name)
        table.add_row(
            name, "[green]up[/]" if ok else "[red]down[/]", address, restarts, last_exit, shown
        )
    console.print(table)
    return 0 if all(ok for _, ok, _, _ in rows) else 1


def _supervision_columns(name: str) -> tuple[str, str]:
    """Restarts since ``./sanad up`` started it, and how (and when) it last exited."""
    state = procs.supervision(name)
    if state is None:
        return "–", "–"  # not supervised by us (postgres: pg_ctl), or not running
    last = state.get("last_exit")
    when = str(state.get("last_exit_at") or "").replace("T", " ")
    return str(state.get("restarts", 0)), f"{last} at {when}" if last else "–"


def dead_letters_command(group: str, replay_all: bool, at: list[str]) -> int:
    """List a consumer group's dead letters, or replay them to their original topics."""
    bootstrap = KafkaAccess(f"127.0.0.1:{port(KAFKA_PORT)}", platform_settings().kafka_admin)
    if replay_all or at:
        positions = {_position(text) for text in at} if at else None
        count = asyncio.run(dead_letters.replay(bootstrap, group, positions))
        console.print(f"replayed {count} dead letter(s) of {group} to their original topics")
        return 0
    letters = asyncio.run(dead_letters.read(bootstrap, group))
    table = Table(title=f"dead letters of {group} ({len(letters)})")
    for column in ("at", "original topic", "event", "attempts", "error"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            f"{letter.partition}:{letter.offset}",
            letter.original_topic,
            letter.headers.get("event_type", "?"),
            letter.headers.get("dlq_attempts", "?"),
            letter.error[:120],
        )
    console.print(table)
    return 0


def _position(text: str) -> tuple[int, int]:
    partition, _, offset = text.partition(":")
    if not (partition.isdigit() and offset.isdigit()):
        raise PlatformError(f"--at takes PARTITION:OFFSET as listed, not {text!r}")
    return int(partition), int(offset)


def lint() -> bool:
    """ruff and mypy over the whole tree: style and types are part of the test command."""
    ok = True
    for what, argv in (
        ("ruff", [sys.executable, "-m", "ruff", "check", "."]),
        ("mypy", [sys.executable, "-m", "mypy"]),
    ):
        result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            console.print(f"  [green]✓[/] {what} clean")
        else:
            ok = False
            console.print(f"  [red]✗[/] {what}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return ok


def test(pytest_args: list[str]) -> int:
    up()
    console.print("[bold]Linting[/] (ruff, mypy)")
    linted = lint()
    console.print("[bold]Running the tests[/] (unit, integration, e2e, faults)")
    status = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=REPO)
    return status or (0 if linted else 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./sanad", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start everything (safe to run twice)")
    sub.add_parser("down", help="stop what ./sanad up started")
    sub.add_parser("status", help="what is running, where, and its log")
    sub.add_parser("test", help="start the platform if needed, lint, then run every test tier")
    demo = sub.add_parser(
        "demo", help="a few citizens through the running platform, step by step (about a minute)"
    )
    demo.add_argument(
        "--out", type=Path, default=None, help="where card pictures go (default .local/demo)"
    )
    dlq = sub.add_parser("dlq", help="list a consumer group's dead letters, or replay them")
    dlq.add_argument("group", choices=sorted(SUBSCRIPTIONS))
    dlq.add_argument(
        "--replay", action="store_true", help="replay the dead letters not replayed before"
    )
    dlq.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="PARTITION:OFFSET",
        help="replay only this one (repeatable)",
    )
    sub.add_parser(
        "audit",
        help="python -m sanad.audit against this platform (replay, verify, reproduce, …)",
        add_help=False,
    )
    argv = sys.argv[1:] if argv is None else argv
    # The local platform is a development environment: its services and its provisioning
    # use the repo's dev secrets, which settings refuse unless SANAD_ENV says so.
    os.environ.setdefault("SANAD_ENV", "dev")
    # Everything after `test` belongs to pytest (after `audit`, to the audit's CLI).
    args = parser.parse_args(argv[:1] if argv[:1] in (["test"], ["audit"]) else argv)
    try:
        if args.command == "up":
            up()
        elif args.command == "down":
            down()
        elif args.command == "status":
            return status()
        elif args.command == "test":
            return test(argv[1:])
        elif args.command == "demo":
            from sanad.platform.demo import demo as run_demo

            return run_demo(args.out)
        elif args.command == "dlq":
            return dead_letters_command(args.group, args.replay, args.at)
        elif args.command == "audit":
            return subprocess.call(
                [sys.executable, "-m", "sanad.audit", *argv[1:]],
                env=os.environ | platform_env(),
                cwd=REPO,
            )
    except PlatformError as exc:
        console.print(f"[bold red]✗ {exc}[/]")
        return 1
    return 0
