"""Mobile numbers Sanad accepts: Saudi (05XXXXXXXX / +9665XXXXXXXX) and Iraqi
(07XXXXXXXXX / +9647XXXXXXXXX) mobiles, stored in E.164."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

# Country calling code -> region, and the leading digit of a mobile's national number.
_MOBILE_PREFIX = {966: ("SA", "5"), 964: ("IQ", "7")}
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _parse(raw: str) -> phonenumbers.PhoneNumber | None:
    text = raw.strip().replace(" ", "").replace("-", "")
    if text.startswith("00"):
        text = "+" + text[2:]
    # A local number is Saudi if it is 05 + 8 digits, Iraqi if 07 + 9 digits.
    regions = ["SA", "IQ"] if not text.startswith("+") else [None]
    for region in regions:
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def normalize_mobile(raw: str) -> str:
    """The number in E.164, or ValueError saying why it is not accepted."""
    number = _parse(raw)
    if number is None:
        raise ValueError(
            "must be a Saudi (05XXXXXXXX or +9665XXXXXXXX) or Iraqi "
            "(07XXXXXXXXX or +9647XXXXXXXXX) mobile number"
        )
    prefix = _MOBILE_PREFIX.get(number.country_code or 0)
    national = phonenumbers.national_significant_number(number)
    if (
        prefix is None
        or not national.startswith(prefix[1])
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise ValueError("must be a Saudi or Iraqi mobile number (landlines are not accepted)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_digits(e164: str) -> str:
    """The national significant number of an E.164 mobile (the digits a person types)."""
    return phonenumbers.national_significant_number(phonenumbers.parse(e164))
