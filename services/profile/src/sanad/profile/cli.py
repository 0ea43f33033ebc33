"""Operator commands: how far a rotation of the pseudonym key has come.

python -m sanad.profile pseudonym-keys
    (profile's stored pseudonyms by table and key id; exit status 0 once none is under a
    key other than the current one, 3 while some are)
"""

from __future__ import annotations

import asyncio
import sys

from sanad.profile import repository
from sanad.profile.settings import ProfileSettings
from sanad.shared.db import engine_for, session_factory

COMMANDS = ("pseudonym-keys",)
# Distinct from an error's 1: rows are still under another key (a script can wait on it).
NOT_DONE = 3


async def _counts(settings: ProfileSettings) -> dict[str, dict[str, int]]:
    engine = engine_for(settings)
    try:
        async with session_factory(engine, producer=settings.service)() as session:
            return await repository.pseudonyms_by_key(session)
    finally:
        await engine.dispose()


def pseudonym_keys(settings: ProfileSettings) -> int:
    current = settings.pseudonyms.key_id
    counts = asyncio.run(_counts(settings))
    others = 0
    for table, by_key in counts.items():
        shown = ", ".join(f"{n} under {key_id}" for key_id, n in sorted(by_key.items()))
        print(f"{table}: {shown or 'empty'}")
        others += sum(n for key_id, n in by_key.items() if key_id != current)
    if others:
        print(f"{others} pseudonyms not yet under the current key {current}")
        return NOT_DONE
    print(f"every pseudonym is under the current key {current}")
    return 0


def run(argv: list[str]) -> int:
    if argv != ["pseudonym-keys"]:
        print("usage: python -m sanad.profile pseudonym-keys", file=sys.stderr)
        return 2
    return pseudonym_keys(ProfileSettings())
