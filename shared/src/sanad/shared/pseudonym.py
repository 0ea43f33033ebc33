"""Keyed pseudonyms of national IDs: what leaves identity on the bus instead of the number.

A national ID's pseudonym is HMAC-SHA256 over the ID under a platform key that only identity
(which makes them) and profile (which compares a dependent a citizen types in with the family
register, the accounts and the staff) hold. The same ID always gives the same pseudonym, so
profile matches as it would on the number; without the key nobody can go back from a
pseudonym to the ID, not even by trying the billion possible IDs — which anyone could do
against a plain hash. The key is therefore as sensitive as the IDs on the topics: a leak
makes every pseudonym ever published reversible by trial.

Keys have ids, so the key can be rotated (README, Security, "The pseudonym key"): the
current key makes every new pseudonym, and each pseudonym is published with its key's id;
the previous keys are kept to match and re-key what was made under them. Events published
before keys had ids (``CitizenRegistered`` v3, ``StaffAccountCreated`` v2) are under
``ORIGINAL_KEY_ID``, the id of the key a deployment had before it ever rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Self

from pydantic import AliasChoices, BaseModel, Field, PrivateAttr, SecretStr, model_validator

from sanad.shared.settings import dev_secret, is_placeholder, reveal

# Made once with secrets.token_urlsafe(32); refused outside dev/test (a dev_secret).
DEV_PSEUDONYM_KEY = "jqTWrEgMcg2-0lpO_kvFKkwDlpj4fFVI3XW4cJ2WlBw"
MIN_KEY_LENGTH = 32
# The id of the key every pseudonym published without one was made with.
ORIGINAL_KEY_ID = "k0"
# Short, printable and free of the list's separators (":" and ",").
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
# Separates these pseudonyms from any other use of the same key.
_CONTEXT = b"sanad:national-id:v1:"


class PseudonymKeyError(ValueError):
    """Pseudonym key settings that cannot be used; the message names what is wrong, never a
    key."""


def _aliases(service: str, name: str) -> AliasChoices:
    """``SANAD_<SERVICE>_<NAME>``, else the platform-wide ``SANAD_<NAME>`` (identity and
    profile must hold the same keys)."""
    return AliasChoices(f"SANAD_{service.upper()}_{name}", f"SANAD_{name}")


def pseudonym_key_field(service: str) -> SecretStr:
    """The current key: ``SANAD_<SERVICE>_PSEUDONYM_KEY`` / ``SANAD_PSEUDONYM_KEY``."""
    return Field(
        SecretStr(dev_secret(DEV_PSEUDONYM_KEY)),
        validation_alias=_aliases(service, "PSEUDONYM_KEY"),
    )


def pseudonym_key_id_field(service: str) -> str:
    """The current key's id: ``SANAD_<SERVICE>_PSEUDONYM_KEY_ID`` / ``SANAD_PSEUDONYM_KEY_ID``
    (``k0``, the original key's, until the first rotation)."""
    return Field(ORIGINAL_KEY_ID, validation_alias=_aliases(service, "PSEUDONYM_KEY_ID"))


def previous_pseudonym_keys_field(service: str) -> SecretStr | None:
    """The previous keys, ``id:key,id:key``: ``SANAD_<SERVICE>_PSEUDONYM_PREVIOUS_KEYS`` /
    ``SANAD_PSEUDONYM_PREVIOUS_KEYS``. Unset before the first rotation."""
    return Field(None, validation_alias=_aliases(service, "PSEUDONYM_PREVIOUS_KEYS"))


def _checked_id(key_id: str) -> str:
    if not KEY_ID.fullmatch(key_id):
        raise PseudonymKeyError(
            f"pseudonym key id {key_id!r}: 1 to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return key_id


class PseudonymKey:
    """One key and its id."""

    def __init__(self, key: str | SecretStr, key_id: str = ORIGINAL_KEY_ID) -> None:
        raw = reveal(key.get_secret_value() if isinstance(key, SecretStr) else key)
        self.key_id = _checked_id(key_id)
        if len(raw) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(
                f"pseudonym key {key_id!r}: a key has at least {MIN_KEY_LENGTH} characters"
            )
        self._key = raw.encode()

    def of(self, national_id: str) -> str:
        """The ID's pseudonym under this key: 64 hex digits."""
        message = _CONTEXT + national_id.strip().encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def same_key(self, other: PseudonymKey) -> bool:
        return hmac.compare_digest(self._key, other._key)


class Pseudonyms:
    """The key ring: the current key, which makes every new pseudonym, and the previous keys,
    which still match (and re-key) what was made under them."""

    def __init__(
        self,
        key: str | SecretStr | PseudonymKey,
        key_id: str = ORIGINAL_KEY_ID,
        previous: Iterable[PseudonymKey] = (),
    ) -> None:
        self.current = key if isinstance(key, PseudonymKey) else PseudonymKey(key, key_id)
        self.previous = tuple(previous)
        self._by_id: dict[str, PseudonymKey] = {}
        for each in (self.current, *self.previous):
            if each.key_id in self._by_id:
                raise PseudonymKeyError(f"pseudonym key id {each.key_id!r} is given twice")
            if any(each.same_key(other) for other in self._by_id.values()):
                raise PseudonymKeyError(
                    f"pseudonym key {each.key_id!r} is the same key as another id's"
                )
            self._by_id[each.key_id] = each

    @classmethod
    def from_settings(
        cls,
        key: SecretStr,
        key_id: str,
        previous: SecretStr | None,
        *,
        allow_dev: bool,
    ) -> Pseudonyms:
        """The ring the settings describe; outside dev/test the repo's dev key is refused as
        a previous key too (the current key is refused by the settings' own check)."""
        keys = [] if previous is None else parse_previous_keys(previous.get_secret_value())
        if not allow_dev:
            for each_id, each_key in keys:
                if is_placeholder(each_key):
                    raise PseudonymKeyError(
                        f"pseudonym key {each_id!r}: the repo's dev key or a placeholder, "
                        "refused outside dev/test"
                    )
        return cls(key, key_id, [PseudonymKey(k, i) for i, k in keys])

    @property
    def key_id(self) -> str:
        """The current key's id: what every new pseudonym is published with."""
        return self.current.key_id

    @property
    def previous_ids(self) -> tuple[str, ...]:
        return tuple(each.key_id for each in self.previous)

    def holds(self, key_id: str) -> bool:
        return key_id in self._by_id

    def of(self, national_id: str) -> str:
        """The ID's pseudonym under the current key."""
        return self.current.of(national_id)

    def under(self, key_id: str, national_id: str) -> str:
        """The ID's pseudonym under the key ``key_id`` (KeyError: not held)."""
        return self._by_id[key_id].of(national_id)

    def every(self, national_id: str) -> dict[str, str]:
        """The ID's pseudonym under every key held, by key id."""
        return {key_id: each.of(national_id) for key_id, each in self._by_id.items()}

    def matches(self, national_id: str, pseudonym: str) -> bool:
        """Whether ``pseudonym`` is ``national_id``'s under any key held: each comparison in
        constant time, and every key tried (no early exit telling which key matched)."""
        found = False
        for each in self._by_id.values():
            found |= hmac.compare_digest(each.of(national_id), pseudonym)
        return found


def parse_previous_keys(text: str) -> list[tuple[str, str]]:
    """``id:key,id:key`` as (id, key) pairs; a key holds neither ``,`` nor surrounding
    blanks. The messages name the entry by position or id, never the key."""
    pairs: list[tuple[str, str]] = []
    for position, entry in enumerate(text.split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        key_id, colon, key = entry.partition(":")
        if not colon:
            raise PseudonymKeyError(
                f"previous pseudonym keys: entry {position} is not 'id:key' (entries are "
                "separated by ',')"
            )
        pairs.append((_checked_id(key_id.strip()), key.strip()))
    return pairs


class HoldsPseudonymKeys(BaseModel):
    """Settings of a service that holds the pseudonym keys (identity, profile): it declares
    the three fields with its own names (``pseudonym_key_field("identity")`` …) and gets the
    key ring, checked when the settings load — bad keys stop the service at start-up, not at
    the first registration."""

    pseudonym_key: SecretStr
    pseudonym_key_id: str
    pseudonym_previous_keys: SecretStr | None
    _pseudonyms: Pseudonyms | None = PrivateAttr(None)
    if TYPE_CHECKING:
        environment: str  # ServiceSettings'

    @model_validator(mode="after")
    def _pseudonym_keys_usable(self) -> Self:
        self._pseudonyms = Pseudonyms.from_settings(
            self.pseudonym_key,
            self.pseudonym_key_id,
            self.pseudonym_previous_keys,
            allow_dev=self.environment in ("dev", "test"),
        )
        return self

    @property
    def pseudonyms(self) -> Pseudonyms:
        """The key ring: the current key and the previous ones."""
        assert self._pseudonyms is not None
        return self._pseudonyms
