"""Money: integer minor units in, text for people out.

Prices and totals are stored and sent as integers in the currency's minor
unit (cents for EUR, yen for JPY, fils for KWD), so no rounding ever
happens on the way. Only here do they become text, through Babel's
``format_currency``, which knows each currency's symbol and its number of
decimals: hand-made formatting ("€" + str(cents / 100)) gets JPY and KWD
wrong.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision, is_currency, list_currencies

#: The locale prices are written in. One site, one language (the pages are English).
LOCALE = "en"
#: Prices given without a currency are in this one (see the OpenAPI description of POST /api/shows).
DEFAULT_CURRENCY = "EUR"


@functools.cache
def currency_codes() -> tuple[str, ...]:
    """Every ISO 4217 code Babel knows, sorted: what ``currency`` may be."""
    return tuple(sorted(code for code in list_currencies() if len(code) == 3 and is_currency(code)))


def is_known_currency(code: str) -> bool:
    return code in currency_codes()


def minor_unit_digits(currency: str) -> int:
    """Decimals of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD."""
    return get_currency_precision(currency)


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal of major units (1400 EUR cents -> Decimal('14.00'))."""
    return Decimal(amount).scaleb(-minor_unit_digits(currency))


def format_money(amount: int | None, currency: str | None) -> str:
    """``1400, "EUR"`` -> ``"€14.00"``; empty when there is no price."""
    if amount is None or currency is None:
        return ""
    return format_currency(to_major(amount, currency), currency, locale=LOCALE)
