"""The verified-token cache (keyed by the token's hash, until its expiry, bounded) and the
conditional-read helpers."""

from __future__ import annotations

import pytest

from sanad.shared.auth import (
    JwksVerifier,
    Principal,
    Role,
    TokenSigner,
    VerifiedTokens,
    generate_signing_key,
)
from sanad.shared.etags import json_answer, none_match
from sanad.shared.problems import Problem

ALICE = Principal("citizen-1", Role.CITIZEN, "jti-1")


def test_a_cached_token_is_known_until_its_expiry_and_then_forgotten() -> None:
    cache = VerifiedTokens()
    key = VerifiedTokens.key("token-a")
    cache.put(key, ALICE, expires_at=1000.0)
    assert cache.get(key, now=999.9) == ALICE
    assert cache.get(VerifiedTokens.key("token-b"), now=999.9) is None
    assert cache.get(key, now=1000.0) is None  # expired exactly at exp, as PyJWT rules
    assert len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    cache = VerifiedTokens(max_entries=10)
    keys = [VerifiedTokens.key(f"token-{n}") for n in range(25)]
    for key in keys:
        cache.put(key, ALICE, expires_at=10**10)
    assert len(cache) <= 10
    assert cache.get(keys[-1], now=0) == ALICE
    assert cache.get(keys[0], now=0) is None


async def test_a_verified_token_is_served_from_the_cache_but_a_tampered_one_is_not() -> None:
    signer = TokenSigner(generate_signing_key())
    verifier = JwksVerifier(jwks=signer.jwks())
    token, jti, _ = signer.issue("citizen-7", Role.CITIZEN, 60)
    first = await verifier.verify(token)
    assert len(verifier.verified) == 1
    assert await verifier.verify(token) == first == Principal("citizen-7", Role.CITIZEN, jti)
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(Problem) as refused:
        await verifier.verify(tampered)
    assert refused.value.status == 401


async def test_an_expired_token_is_never_cached() -> None:
    signer = TokenSigner(generate_signing_key())
    verifier = JwksVerifier(jwks=signer.jwks())
    expired, _, _ = signer.issue("citizen-7", Role.CITIZEN, -5)
    for _ in range(2):
        with pytest.raises(Problem):
            await verifier.verify(expired)
    assert len(verifier.verified) == 0


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"3"', True),
        ('W/"3"', True),
        ('"2", "3"', True),
        ("*", True),
        ('"4"', False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_compares_weakly(header: str | None, matches: bool) -> None:
    assert none_match(header, '"3"') is matches


def test_a_matching_etag_answers_304_without_a_body() -> None:
    fresh = json_answer(b'{"a":1}', '"3"', '"3"')
    assert (fresh.status_code, fresh.body, fresh.headers["etag"]) == (304, b"", '"3"')
    changed = json_answer(b'{"a":1}', '"4"', '"3"')
    assert (changed.status_code, changed.body, changed.headers["etag"]) == (200, b'{"a":1}', '"4"')
    assert changed.media_type == "application/json"
