"""Password rules after NIST SP 800-63B: length, not a common password, nothing the
attacker already knows (the national ID, the mobile). No composition rules."""

from __future__ import annotations

from functools import cache
from importlib import resources

MIN_LENGTH = 8
MAX_LENGTH = 128  # long enough for passphrases; bounds the cost of hashing


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("sanad.identity.data").joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def password_problem(
    password: str, *, national_id: str = "", mobile_digits: str = ""
) -> str | None:
    """Why ``password`` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if password.lower() in common_passwords():
        return "is too common; choose a less predictable password"
    if national_id and national_id in password:
        return "must not contain your national ID"
    if mobile_digits and mobile_digits in password:
        return "must not contain your mobile number"
    return None
