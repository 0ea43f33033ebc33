"""Payment destinations: a Saudi IBAN (ISO 13616, mod-97) or an Iraqi-style payment card
(16 digits with a Luhn check digit, or an 8-digit card number). Checked with python-stdnum."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError

PaymentMethod = Literal["iban", "card"]
_SEPARATORS = re.compile(r"[\s-]")
SAUDI_IBAN = re.compile(r"SA[0-9]{22}")


@dataclass(frozen=True)
class InvalidPayment(ValueError):
    message: str
    code: str

    def __str__(self) -> str:
        return self.message


def normalise_iban(value: str) -> str:
    """The IBAN in its electronic form: no spaces or dashes, upper case."""
    compact = _SEPARATORS.sub("", value).upper()
    if not SAUDI_IBAN.fullmatch(compact):
        raise InvalidPayment("must be a Saudi IBAN: SA followed by 22 digits", "iban_format")
    try:
        stdnum_iban.validate(compact)
    except StdnumError:
        raise InvalidPayment(
            "is not a valid IBAN (its check digits do not match)", "iban_check"
        ) from None
    return compact


def normalise_card(value: str) -> str:
    """The card number, digits only: 16 digits passing the Luhn check, or 8 digits."""
    compact = _SEPARATORS.sub("", value)
    if not compact.isascii() or not compact.isdigit() or len(compact) not in (8, 16):
        raise InvalidPayment("must be 16 digits (or an 8-digit card number)", "card_format")
    if len(compact) == 16 and not luhn.is_valid(compact):
        raise InvalidPayment("is not a valid card number (its check digit is wrong)", "card_check")
    return compact


def masked(method: PaymentMethod, number: str) -> str:
    """What responses show of a destination: its last four characters."""
    if method == "iban":
        return f"SA** **** **** **** **** {number[-4:]}"
    return f"**** {number[-4:]}"
