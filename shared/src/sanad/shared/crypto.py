"""Sealed boxes: encrypt for one recipient's public key (X25519 + HKDF-SHA256 + AES-GCM).

Identity seals each OTP for the notifications service, which alone holds the private key:
the code crosses Kafka encrypted, and a producer that is compromised cannot read old ones.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_INFO = b"sanad-sealed-box-v1"
_RAW = serialization.Encoding.Raw
_PUBLIC_RAW = serialization.PublicFormat.Raw


class SealedBoxError(ValueError):
    """The token is malformed, or was not sealed for this key."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_keypair() -> tuple[str, str]:
    """(private key, public key), each base64url of the raw 32 bytes."""
    private = X25519PrivateKey.generate()
    private_raw = private.private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return _b64(private_raw), _b64(private.public_key().public_bytes(_RAW, _PUBLIC_RAW))


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=_INFO + ephemeral + recipient).derive(shared)


def seal(public_key: str, plaintext: bytes) -> str:
    recipient = X25519PublicKey.from_public_bytes(_unb64(public_key))
    ephemeral = X25519PrivateKey.generate()
    ephemeral_pub = ephemeral.public_key().public_bytes(_RAW, _PUBLIC_RAW)
    recipient_raw = recipient.public_bytes(_RAW, _PUBLIC_RAW)
    key = _key(ephemeral.exchange(recipient), ephemeral_pub, recipient_raw)
    nonce = os.urandom(12)
    return f"{_VERSION}.{_b64(ephemeral_pub + nonce + AESGCM(key).encrypt(nonce, plaintext, None))}"


def unseal(private_key: str, token: str) -> bytes:
    version, _, body = token.partition(".")
    if version != _VERSION or not body:
        raise SealedBoxError("not a sealed box")
    raw = _unb64(body)
    if len(raw) < 32 + 12 + 16:
        raise SealedBoxError("sealed box too short")
    ephemeral_pub, nonce, ciphertext = raw[:32], raw[32:44], raw[44:]
    private = X25519PrivateKey.from_private_bytes(_unb64(private_key))
    recipient_raw = private.public_key().public_bytes(_RAW, _PUBLIC_RAW)
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_pub))
    try:
        return AESGCM(_key(shared, ephemeral_pub, recipient_raw)).decrypt(nonce, ciphertext, None)
    except InvalidTag:
        raise SealedBoxError("sealed for another key, or tampered with") from None
