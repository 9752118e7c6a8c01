"""Data frames shaped for display: whole currency units, readable labels, status text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from portfolio.formatting import money_column_format
from portfolio.funding import funding_status  # noqa: F401 - pages import it from here


def money_column(label: str, currency: str, help_text: str | None = None):
    return st.column_config.NumberColumn(label, format=money_column_format(currency), help=help_text)


def score_column(label: str, help_text: str | None = None):
    return st.column_config.NumberColumn(label, format="%.1f", help=help_text)


# Shading every row of a very long list costs more than it tells; the status column remains.
MAX_SHADED_ROWS = 3000


def shade_rows(table: pd.DataFrame, mask, colour: str = "#E3F1E8"):
    """Return a Styler that shades the rows where ``mask`` is true, or the table itself when it is too long."""
    if len(table) > MAX_SHADED_ROWS:
        return table
    table = table.reset_index(drop=True)
    flags = list(mask)

    def paint(row: pd.Series) -> list[str]:
        return [f"background-color: {colour}" if flags[row.name] else "" for _ in row]

    return table.style.apply(paint, axis=1)
