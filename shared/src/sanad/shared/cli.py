"""The command line every service shares: ``python -m sanad.<service> serve|migrate``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from sanad.shared.logging import configure_logging
from sanad.shared.migrations import upgrade
from sanad.shared.server import head_deadline_protocol
from sanad.shared.settings import ServiceSettings


def service_main(
    settings_factory: Callable[[], ServiceSettings],
    app_factory: Callable[[ServiceSettings], FastAPI],
    migrations_dir: Path | None,
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP API, the Kafka consumers and the outbox relay")
    sub.add_parser("migrate", help="bring this service's schema to the newest migration")
    args = parser.parse_args(argv)
    try:
        settings = settings_factory()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.service, settings.log_level)
    if args.command == "migrate":
        if migrations_dir is None:
            print(f"{settings.service} has no database; nothing to migrate")
            return 0
        upgrade(migrations_dir, settings.database_url, settings.db_schema)
        print(f"{settings.service}: schema {settings.db_schema} is at the newest migration")
        return 0
    # One process builds the app itself; several are spawned by uvicorn, each building it
    # from the factory's import path with the same environment (so the same settings).
    app: FastAPI | str = (
        f"{app_factory.__module__}:{app_factory.__qualname__}"
        if settings.workers > 1
        else app_factory(settings)
    )
    uvicorn.run(
        app,
        factory=settings.workers > 1,
        workers=settings.workers,
        # A worker busy starting up on a loaded machine is not dead: uvicorn's 5 s default
        # restarted healthy ones in a loop on the shared dev box.
        timeout_worker_healthcheck=60,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        # The request head within header_read_timeout, the body by RequestGuard's deadline.
        http=head_deadline_protocol(settings.header_read_timeout),
        # X-Forwarded-For is believed only from proxies named in settings (none by default):
        # uvicorn's default trusts loopback, which lets any local client pick its address.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )
    return 0
