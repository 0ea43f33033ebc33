"""The card's QR payload: a CWT signed with Ed25519 (COSE_Sign1), zlib-compressed and
Base45-encoded behind the prefix ``SC1:`` — the layering of the EU digital COVID
certificate (``HC1:``) and the MOSIP Claim 169 identity QR, so the same tooling reads it.

Claims (CBOR map, integer keys keep it small):
  1 (iss) issuer · 4 (exp) end of the expiry day, epoch seconds · 6 (iat) when this state of
  the card was signed · -70001 the card: {1: card id (16 bytes), 2: last 4 digits of the card
  number, 3: holder's name in Arabic, 4: in English, 5: program code, 6: status}.
The COSE protected header carries the algorithm (EdDSA, -8) and the key id (``kid``), which
names the public key in ``GET /v1/cards/keys`` that verifies it.

Pure: keys and ``now`` are passed in.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID

import base45
import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt import COSE, COSEKey

PREFIX = "SC1:"
CARD_CLAIM = -70001
MAX_TOKEN_CHARS = 2000  # a QR holds at most 4296 alphanumerics; ours are ~350

Result = Literal["valid", "invalid", "expired", "suspended", "revoked"]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key pair: ``seed`` is the 32-byte private key, ``public`` its 32-byte half."""

    kid: str
    seed: bytes
    public: bytes

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(kid, seed, public)

    def __repr__(self) -> str:  # never print the private half
        return f"SigningKey(kid={self.kid!r})"


def public_jwk(kid: str, public: bytes) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": kid,
        "x": b64u(public),
    }


@dataclass(frozen=True)
class CardClaims:
    card_id: UUID
    last4: str
    holder_name_ar: str
    holder_name_en: str
    program_code: str
    status: str
    expires_on: date
    signed_at: datetime
    issuer: str

    def to_cbor_map(self) -> dict[int, Any]:
        exp = datetime.combine(self.expires_on + timedelta(days=1), time(), UTC)
        return {
            1: self.issuer,
            4: int(exp.timestamp()),
            6: int(self.signed_at.timestamp()),
            CARD_CLAIM: {
                1: self.card_id.bytes,
                2: self.last4,
                3: self.holder_name_ar,
                4: self.holder_name_en,
                5: self.program_code,
                6: self.status,
            },
        }

    @classmethod
    def from_cbor_map(cls, claims: Mapping[int, Any]) -> CardClaims:
        card = claims[CARD_CLAIM]
        exp = datetime.fromtimestamp(claims[4], UTC)
        return cls(
            card_id=UUID(bytes=card[1]),
            last4=str(card[2]),
            holder_name_ar=str(card[3]),
            holder_name_en=str(card[4]),
            program_code=str(card[5]),
            status=str(card[6]),
            expires_on=(exp - timedelta(days=1)).date(),
            signed_at=datetime.fromtimestamp(claims[6], UTC),
            issuer=str(claims[1]),
        )

    def as_json(self) -> dict[str, str]:
        return {
            "card_id": str(self.card_id),
            "card_number_last4": self.last4,
            "holder_name_ar": self.holder_name_ar,
            "holder_name_en": self.holder_name_en,
            "program_code": self.program_code,
            "status": self.status,
            "expires_on": self.expires_on.isoformat(),
            "signed_at": self.signed_at.isoformat(),
            "issuer": self.issuer,
        }


def _cose() -> COSE:
    cose: COSE = COSE.new(alg_auto_inclusion=True, kid_auto_inclusion=True)
    return cose


def sign(claims: CardClaims, key: SigningKey) -> str:
    """The QR text of ``claims`` signed with ``key``."""
    cose_key = COSEKey.from_jwk(public_jwk(key.kid, key.public) | {"d": b64u(key.seed)})
    message = _cose().encode_and_sign(cbor2.dumps(claims.to_cbor_map()), cose_key)
    assert isinstance(message, bytes)
    encoded: bytes = base45.b45encode(zlib.compress(message, 9))
    return PREFIX + encoded.decode("ascii")


@dataclass(frozen=True)
class Verification:
    result: Result
    reason: str
    claims: CardClaims | None = None
    kid: str | None = None


def _invalid(reason: str, kid: str | None = None) -> Verification:
    return Verification("invalid", reason, None, kid)


def verify(
    token: str, public_keys: Mapping[str, bytes], *, now: datetime, issuer: str
) -> Verification:
    """Checks ``token`` with nothing but the public keys (key id → 32 raw bytes): its
    encoding, its key id, its Ed25519 signature, its issuer, its expiry and the status it was
    signed with. The answer says which check failed."""
    if not token.startswith(PREFIX):
        return _invalid(f"not a Sanad card token (it does not start with {PREFIX})")
    if len(token) > MAX_TOKEN_CHARS:
        return _invalid("too long to be a card token")
    try:
        message = zlib.decompress(base45.b45decode(token[len(PREFIX) :]))
        envelope = cbor2.loads(message)
    except Exception:
        return _invalid("not Base45 over a zlib-compressed COSE message")
    try:
        value = envelope.value if isinstance(envelope, cbor2.CBORTag) else envelope
        protected = cbor2.loads(value[0]) if value[0] else {}
        kid_raw = protected.get(4) or value[1].get(4)
        kid = kid_raw.decode() if isinstance(kid_raw, bytes) else str(kid_raw)
    except Exception:
        return _invalid("not a COSE_Sign1 message with a key id")
    public = public_keys.get(kid)
    if public is None:
        return _invalid(f"signed with key {kid!r}, which is not one of the issuer's keys", kid)
    try:
        payload = _cose().decode(message, COSEKey.from_jwk(public_jwk(kid, public)))
    except Exception:
        return _invalid("the signature does not match the payload (altered, or another key)", kid)
    try:
        claims = CardClaims.from_cbor_map(cbor2.loads(payload))
    except Exception:
        return _invalid("signed, but not a card payload", kid)
    if claims.issuer != issuer:
        return _invalid(f"issued by {claims.issuer!r}, not {issuer!r}", kid)
    if now.date() > claims.expires_on:
        return Verification("expired", f"the card expired on {claims.expires_on}", claims, kid)
    if claims.status == "revoked":
        return Verification("revoked", "the card was revoked when this code was made", claims, kid)
    if claims.status == "suspended":
        return Verification(
            "suspended", "the card was suspended when this code was made", claims, kid
        )
    return Verification("valid", "signature, issuer and expiry check out", claims, kid)
