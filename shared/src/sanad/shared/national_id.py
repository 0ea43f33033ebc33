"""Saudi-style national ID / residence (iqama) numbers: 10 digits, first digit 1 (citizen) or
2 (resident), the last a Luhn check digit over the whole number (1000000008 is valid).

Shared so that every service validating an ID (identity for accounts, profile for
dependents) applies the same rule and the same messages.
"""

from __future__ import annotations

LENGTH = 10
# The format for an OpenAPI document (the check digit is beyond a pattern); surrounding
# spaces are stripped.
PATTERN = r"^\s*[12][0-9]{9}\s*$"
CITIZEN_PREFIX = "1"
RESIDENT_PREFIX = "2"


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of digits, check digit last."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:  # every second digit from the right is doubled
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def validate_national_id(value: str) -> str:
    """The ID, stripped of surrounding spaces; ValueError saying precisely what is wrong."""
    candidate = value.strip() if isinstance(value, str) else ""
    if not candidate.isascii() or not candidate.isdigit():
        raise ValueError("must contain digits only")
    if len(candidate) != LENGTH:
        raise ValueError(f"must be exactly {LENGTH} digits (got {len(candidate)})")
    if candidate[0] not in (CITIZEN_PREFIX, RESIDENT_PREFIX):
        raise ValueError("must start with 1 (citizen) or 2 (resident)")
    if not luhn_valid(candidate):
        raise ValueError("has an invalid check digit")
    return candidate


def is_valid_national_id(value: str) -> bool:
    try:
        validate_national_id(value)
    except ValueError:
        return False
    return True


def is_citizen_id(value: str) -> bool:
    """A valid ID of a citizen (as opposed to a resident)."""
    return is_valid_national_id(value) and value.strip()[0] == CITIZEN_PREFIX
