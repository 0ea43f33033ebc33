"""Redis ACL users: one per service that uses Redis, allowed only its own keys
(``<service>:*``, every key Sanad writes is prefixed with its service's name) and no
dangerous command; ``admin`` for the platform and tests; the password-less ``default``
user switched off, so an anonymous client can do nothing. Idempotent: run on every ``up``."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ResponseError

from sanad.shared.settings import REDIS_ADMIN_USER


def service_rules(user: str, password: str) -> list[str]:
    return [
        user,
        "reset",
        "on",
        f">{password}",
        f"~{user}:*",
        "resetchannels",
        "+@all",
        "-@dangerous",
    ]


def admin_rules(password: str) -> list[str]:
    return [REDIS_ADMIN_USER, "reset", "on", f">{password}", "~*", "&*", "+@all"]


async def _connect(url: str, admin_password: str) -> Redis:
    admin = Redis.from_url(url, username=REDIS_ADMIN_USER, password=admin_password)
    try:
        await admin.ping()
        return admin
    except (AuthenticationError, ResponseError):
        await admin.aclose()
    # A fresh server (ours keeps nothing across restarts) has only the password-less default.
    anonymous = Redis.from_url(url)
    await anonymous.ping()
    return anonymous


async def apply_users(url: str, admin_password: str, users: list[tuple[str, str]]) -> None:
    client = cast(Any, await _connect(url, admin_password))  # execute_command is untyped
    try:
        await client.execute_command("ACL", "SETUSER", *admin_rules(admin_password))
        for user, password in users:
            await client.execute_command("ACL", "SETUSER", *service_rules(user, password))
        await client.execute_command("ACL", "SETUSER", "default", "reset", "off")
    finally:
        await client.aclose()
