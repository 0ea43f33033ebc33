"""Recipient checks done before any provider is called: a bad address fails permanently."""

from __future__ import annotations

import re

# E.164: '+', a country code that does not start with 0, at most 15 digits in all.
# [0-9], not \d: \d also matches Arabic-Indic digits, which no provider takes.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# Deliberately plain: the mail server is the judge; this only refuses what cannot be one.
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")


def is_e164(mobile: str) -> bool:
    return _E164.fullmatch(mobile) is not None


def is_email(address: str) -> bool:
    return len(address) <= 254 and _EMAIL.fullmatch(address) is not None


def mask_mobile(mobile: str) -> str:
    """For logs: enough to tell numbers apart, not enough to call one."""
    return mobile[:4] + "*" * max(len(mobile) - 7, 0) + mobile[-3:] if len(mobile) > 7 else "***"
