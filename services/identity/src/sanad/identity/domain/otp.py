"""One-time codes: 6 random digits, compared in constant time against a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODE_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(registration_id: str, code: str) -> str:
    # Keyed by the registration so a stored digest is useless for any other registration.
    return hmac.new(registration_id.encode(), code.encode(), hashlib.sha256).hexdigest()


def code_matches(registration_id: str, code: str, digest: str) -> bool:
    return hmac.compare_digest(code_digest(registration_id, code), digest)


def is_well_formed(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()
