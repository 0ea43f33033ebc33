from __future__ import annotations

import time

import jwt
import pytest

from sanad.shared.auth import ISSUER, JwksVerifier, Role, TokenSigner, generate_signing_key
from sanad.shared.crypto import SealedBoxError, generate_keypair, seal, unseal
from sanad.shared.problems import Problem


def test_sealed_box_opens_only_with_the_recipient_key() -> None:
    private, public = generate_keypair()
    other_private, _ = generate_keypair()
    token = seal(public, b"493817")
    assert "493817" not in token
    assert unseal(private, token) == b"493817"
    with pytest.raises(SealedBoxError):
        unseal(other_private, token)
    with pytest.raises(SealedBoxError):
        unseal(private, token[:-4] + "AAAA")


async def test_verifier_accepts_a_good_token() -> None:
    signer = TokenSigner(generate_signing_key())
    token, jti, _ = signer.issue("citizen-1", Role.CITIZEN, 60)
    principal = await JwksVerifier(jwks=signer.jwks()).verify(token)
    assert (principal.subject, principal.role, principal.token_id) == (
        "citizen-1",
        Role.CITIZEN,
        jti,
    )


async def _refused(verifier: JwksVerifier, token: str) -> str:
    with pytest.raises(Problem) as raised:
        await verifier.verify(token)
    assert raised.value.status == 401
    return raised.value.detail or ""


async def test_verifier_refuses_forged_expired_and_alg_none_tokens() -> None:
    signer = TokenSigner(generate_signing_key())
    verifier = JwksVerifier(jwks=signer.jwks())
    forged, _, _ = TokenSigner(generate_signing_key()).issue("x", Role.ADMIN, 60)
    assert "known key" in await _refused(verifier, forged)
    none = jwt.encode(
        {
            "sub": "x",
            "role": "admin",
            "jti": "1",
            "iat": 1,
            "exp": int(time.time()) + 60,
            "iss": ISSUER,
            "aud": "sanad",
        },
        key=None,
        algorithm="none",
    )
    assert "algorithm" in await _refused(verifier, none)
    expired, _, _ = signer.issue("x", Role.CITIZEN, -120)
    assert "expired" in await _refused(verifier, expired)
    assert "malformed" in await _refused(verifier, "not-a-jwt")
