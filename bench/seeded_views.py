"""Status views for drafts copied in bulk (``sanad.platform.bulk_seed.copy_drafts``).

A draft made through the API has its status view from the start, so its submit brings the
stored view up to date from what it wrote. The bulk copies have none, and without this each
submit would assemble its view from the tables (five more reads) — a path no citizen's
submit takes, which made the benches' submits dearer than real ones. The views are stored
by applications' own code (``service.views.refresh``), byte for byte as it stores them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from sanad.platform.testing import Infra
from sanad.shared.db import create_engine, session_factory

CHUNK = 200  # views per transaction
SESSIONS = 4  # transactions at once


async def store_views(infra: Infra, application_ids: Sequence[uuid.UUID]) -> None:
    from sanad.applications.service.views import refresh

    engine = create_engine(
        infra.database_admin_url(), "applications", application_name="bench-views"
    )
    sessions = session_factory(engine)
    gate = asyncio.Semaphore(SESSIONS)

    async def store(chunk: Sequence[uuid.UUID]) -> None:
        async with gate, sessions.begin() as session:
            for application_id in chunk:
                await refresh(session, application_id)

    try:
        await asyncio.gather(
            *(
                store(application_ids[start : start + CHUNK])
                for start in range(0, len(application_ids), CHUNK)
            )
        )
    finally:
        await engine.dispose()
