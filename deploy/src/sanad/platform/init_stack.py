"""The compose stack's one-shot ``init`` job: every service's Postgres role and schema, and
every Kafka topic. ``python -m sanad.platform.init_stack``; reads ``SANAD_PG_ADMIN_URL`` and
``SANAD_KAFKA_BOOTSTRAP_SERVERS``, waits (bounded) for each server to answer, exits 0."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka.errors import KafkaError

from sanad.platform.provision import provision
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
    bootstrap = os.environ.get("SANAD_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    schemas = await retry("postgres", lambda: provision(admin_url))
    topics = await retry("kafka", lambda: ensure_topics(bootstrap))
    print(f"init: schemas {', '.join(schemas)}; topics created: {len(topics)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
