"""The portal in-process (its routes, middleware and templates) in front of the running
platform's real gateway."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from sanad.platform.services import platform_env
from sanad.portal.main import create_app
from sanad.portal.settings import PortalSettings

from ..e2e.platform_people import Person, registered_by_api, registry_person

GATEWAY = platform_env()["SANAD_GATEWAY_URL"]
SMS_SINK = platform_env()["SANAD_SMS_BASE_URL"]
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def portal_client(base_url: str = "http://portal.test", **settings: object) -> httpx.AsyncClient:
    app = create_app(PortalSettings(gateway_url=GATEWAY, **settings))  # type: ignore[arg-type]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, follow_redirects=False
    )


@pytest.fixture
async def portal() -> AsyncIterator[httpx.AsyncClient]:
    async with portal_client() as client:
        yield client


async def csrf_of(client: httpx.AsyncClient, path: str = "/login") -> str:
    """The token a page's forms carry (the browser's cookie holds the same)."""
    page = await client.get(path)
    found = CSRF_INPUT.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


@dataclass
class Citizen:
    person: Person


@pytest.fixture(scope="session")
async def citizen() -> Citizen:
    """One registered citizen for the module's sign-ins."""
    person = await registry_person("Noor Salem", "نور سالم")
    async with (
        httpx.AsyncClient(base_url=GATEWAY, timeout=30) as api,
        httpx.AsyncClient(base_url=SMS_SINK, timeout=10) as sms,
    ):
        await registered_by_api(api, sms, person)
    return Citizen(person)
