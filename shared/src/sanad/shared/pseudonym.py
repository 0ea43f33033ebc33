"""Keyed pseudonyms of national IDs: what leaves identity on the bus instead of the number.

A national ID's pseudonym is HMAC-SHA256 over the ID under a platform key that only identity
(which makes them) and profile (which compares a dependent a citizen types in with the family
register, the accounts and the staff) hold. The same ID always gives the same pseudonym, so
profile matches as it would on the number; without the key nobody can go back from a
pseudonym to the ID, not even by trying the billion possible IDs — which anyone could do
against a plain hash. The key is therefore as sensitive as the IDs on the topics: a leak
makes every pseudonym ever published reversible by trial (see the README's Security section
on rotating it).
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import AliasChoices, Field, SecretStr

from sanad.shared.settings import dev_secret, reveal

# Made once with secrets.token_urlsafe(32); refused outside dev/test (a dev_secret).
DEV_PSEUDONYM_KEY = "jqTWrEgMcg2-0lpO_kvFKkwDlpj4fFVI3XW4cJ2WlBw"
MIN_KEY_LENGTH = 32
# Separates these pseudonyms from any other use of the same key.
_CONTEXT = b"sanad:national-id:v1:"


def pseudonym_key_field(service: str) -> SecretStr:
    """The setting holding the key: ``SANAD_<SERVICE>_PSEUDONYM_KEY``, else the platform-wide
    ``SANAD_PSEUDONYM_KEY`` (identity and profile must hold the same key)."""
    return Field(
        SecretStr(dev_secret(DEV_PSEUDONYM_KEY)),
        validation_alias=AliasChoices(
            f"SANAD_{service.upper()}_PSEUDONYM_KEY", "SANAD_PSEUDONYM_KEY"
        ),
    )


class Pseudonyms:
    """Pseudonyms of national IDs under one key."""

    def __init__(self, key: str | SecretStr) -> None:
        raw = reveal(key.get_secret_value() if isinstance(key, SecretStr) else key)
        if len(raw) < MIN_KEY_LENGTH:
            raise ValueError(f"a pseudonym key has at least {MIN_KEY_LENGTH} characters")
        self._key = raw.encode()

    def of(self, national_id: str) -> str:
        """The ID's pseudonym: 64 hex digits."""
        message = _CONTEXT + national_id.strip().encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def matches(self, national_id: str, pseudonym: str) -> bool:
        """Whether ``pseudonym`` is ``national_id``'s, compared in constant time."""
        return hmac.compare_digest(self.of(national_id), pseudonym)
