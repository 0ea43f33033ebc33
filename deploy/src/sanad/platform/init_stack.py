"""The compose stack's one-shot ``init`` job: every service's Postgres role and schema, every
Kafka topic and ACL, every Redis user. ``python -m sanad.platform.init_stack``; reads
``SANAD_PG_ADMIN_URL``, ``SANAD_KAFKA_BOOTSTRAP_SERVERS``, ``SANAD_REDIS_URL`` and the
platform's secrets (``PlatformSettings``), waits (bounded) for each server to answer, exits 0."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka.errors import KafkaError

from sanad.platform.provision import provision
from sanad.platform.redis_users import apply_users
from sanad.platform.services import platform_settings, redis_users_of_services
from sanad.shared.kafka_acls import sync_acls
from sanad.shared.kafka_admin import ensure_topics

ATTEMPTS = 60
DELAY_SECONDS = 2.0
# Not up yet (refused, unresolvable, timed out, still starting), as opposed to a real error.
NOT_READY = (OSError, asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError, KafkaError)


async def retry(what: str, step: Callable[[], Awaitable[list[str]]]) -> list[str]:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await step()
        except NOT_READY as exc:
            if attempt == ATTEMPTS:
                raise
            print(f"init: {what} not ready ({exc!r}), try {attempt}/{ATTEMPTS}", flush=True)
            await asyncio.sleep(DELAY_SECONDS)
    raise AssertionError("unreachable")


async def main() -> int:
    admin_url = os.environ["SANAD_PG_ADMIN_URL"]
    secrets = platform_settings()
    schemas = await retry("postgres", lambda: provision(admin_url))
    topics = await retry("kafka", lambda: ensure_topics(secrets.kafka))
    added, _ = await sync_acls(secrets.kafka)
    redis_url = os.environ.get("SANAD_REDIS_URL", "redis://redis:6379/0")
    await apply_users(
        redis_url, secrets.redis_admin_password.get_secret_value(), redis_users_of_services()
    )
    print(
        f"init: schemas {', '.join(schemas)}; topics created: {len(topics)}; ACLs added: {added}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
