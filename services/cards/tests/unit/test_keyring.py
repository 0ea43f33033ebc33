"""Rotating the key-encryption key: the ring seals with the current key, opens with it or a
previous one, and re-seals what a previous key sealed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from sanad.cards.domain.token import SigningKey
from sanad.cards.service import KeyRing

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


def test_a_key_sealed_with_the_previous_kek_opens_and_is_resealed_with_the_current() -> None:
    key = SigningKey.generate("c2611-aaaaaa")
    sealed_old = KeyRing(OLD).seal(key)
    rotating = KeyRing(NEW, [OLD])
    assert not rotating.sealed_with_current(sealed_old)
    assert rotating.open(key.kid, key.public, sealed_old).seed == key.seed
    resealed = rotating.reseal(key.kid, sealed_old)
    assert rotating.sealed_with_current(resealed)
    # Once every key is re-sealed the previous key can go: the current one alone opens it.
    assert KeyRing(NEW).open(key.kid, key.public, resealed).seed == key.seed
    with pytest.raises(RuntimeError, match="does not open"):
        KeyRing(OLD).open(key.kid, key.public, resealed)


def test_new_keys_are_sealed_with_the_current_kek_only() -> None:
    key = SigningKey.generate("c2611-bbbbbb")
    sealed = KeyRing(NEW, [OLD]).seal(key)
    assert KeyRing(NEW).open(key.kid, key.public, sealed).seed == key.seed
    with pytest.raises(RuntimeError, match="does not open"):
        KeyRing(OLD).open(key.kid, key.public, sealed)


def test_a_key_sealed_with_an_unknown_kek_fails_loudly_and_is_not_resealed() -> None:
    key = SigningKey.generate("c2611-cccccc")
    sealed = KeyRing(OTHER).seal(key)
    with pytest.raises(RuntimeError, match="c2611-cccccc does not open"):
        KeyRing(NEW, [OLD]).reseal(key.kid, sealed)
