"""What the journeys share: a client of the running platform through its gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sanad.platform.journey import Platform


@pytest.fixture
async def platform() -> AsyncIterator[Platform]:
    async with Platform(wait=60) as client:
        yield client
