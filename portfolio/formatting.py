"""Money and score formatting shared by pages, charts and exports."""

from __future__ import annotations

import math

CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "GBP": "£",
    "EUR": "€",
    "JPY": "¥",
    "CHF": "CHF ",
    "CAD": "CA$",
    "AUD": "A$",
    "INR": "₹",
}


def currency_symbol(currency: str) -> str:
    """Return the symbol for an ISO currency code, or the code and a space when unknown."""
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def money(cents: int | None, currency: str, exact: bool = False) -> str:
    """Format integer cents as money: ``$1,250,000`` (whole units) or, exact, ``$1,250,000.00``.

    Negative amounts get a leading minus; None is shown as an em dash.
    """
    if cents is None:
        return "—"
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    symbol = currency_symbol(currency)
    if exact:
        units, rest = divmod(abs(cents), 100)
        return f"{sign}{symbol}{units:,}.{rest:02d}"
    return f"{sign}{symbol}{round(abs(cents) / 100):,}"


def money_short(cents: int | None, currency: str) -> str:
    """Format money compactly for tight places such as chart labels: ``$1.25M``, ``$980K``."""
    if cents is None:
        return "—"
    value = abs(int(cents)) / 100
    sign = "-" if cents < 0 else ""
    symbol = currency_symbol(currency)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= limit:
            return f"{sign}{symbol}{value / limit:.3g}{suffix}"
    return f"{sign}{symbol}{value:,.0f}"


def money_column_format(currency: str) -> str:
    """Return a printf format for Streamlit number columns holding whole currency units."""
    return currency_symbol(currency).replace("%", "%%") + "%,.0f"


def score(value: float | None, digits: int = 1) -> str:
    """Format a 0–100 score; undefined (None or NaN) shows as an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"
