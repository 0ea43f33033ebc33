"""Money is exact: integer halalas inside the engine (CEL has no decimal type, and integers
never round), ``Decimal`` riyals at the edges. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTS = Decimal("0.01")


class NotMoney(ValueError):
    pass


def to_halalas(value: object) -> int:
    """``"1100"``, ``"4200.50"``, ``1100`` or ``Decimal`` riyals → halalas; a float, more than
    two decimal places or anything else is refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise NotMoney("give an amount as a decimal string or an integer, never a float")
    if not isinstance(value, str | int | Decimal):
        raise NotMoney("is not an amount of money")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise NotMoney(f"{value!r} is not an amount of money") from None
    if not amount.is_finite():
        raise NotMoney(f"{value!r} is not an amount of money")
    halalas = amount * 100
    if halalas != halalas.to_integral_value():
        raise NotMoney(f"{value!r} has more than two decimal places")
    return int(halalas)


def to_riyals(halalas: int) -> Decimal:
    return (Decimal(halalas) / 100).quantize(CENTS)


def round_to_riyal(halalas: int) -> int:
    """Half up, to whole riyals (in halalas)."""
    riyals = (Decimal(halalas) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(riyals) * 100


CURRENCY_WORDS = {"SAR": ("ريال", "SAR"), "IQD": ("دينار", "IQD")}


def plain(halalas: int) -> str:
    """4200.00, -3.50: riyals with two decimals, by integer arithmetic."""
    riyals, rest = divmod(abs(halalas), 100)
    return f"{'-' if halalas < 0 else ''}{riyals}.{rest:02d}"


def show(halalas: int, currency: str, language: str) -> str:
    """4,200 SAR · 4,200.50 SAR · 4,200 ريال (Western digits in both languages)."""
    riyals, rest = divmod(abs(halalas), 100)
    text = f"{'-' if halalas < 0 else ''}{riyals:,}" + (f".{rest:02d}" if rest else "")
    ar, en = CURRENCY_WORDS.get(currency, (currency, currency))
    return f"{text} {ar if language == 'ar' else en}"
