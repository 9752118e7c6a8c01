"""Data frames shaped for display: whole currency units, readable labels, status text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from portfolio.formatting import money_column_format
from portfolio.funding import funding_status  # noqa: F401 - pages import it from here


def money_column(label: str, currency: str, help_text: str | None = None):
    return st.column_config.NumberColumn(label, format=money_column_format(currency), help=help_text)


def score_column(label: str, help_text: str | None = None):
    return st.column_config.NumberColumn(label, format="%.1f", help=help_text)


# The pandas Styler renders every cell in Python: about 0.4 ms a row, so 1 s for a list of 2,200 rows, which
# a slider move would pay each time (benchmarks/HISTORY.md). Longer lists are not shaded; the status column
# remains.
MAX_SHADED_ROWS = 500


def shade_rows(table: pd.DataFrame, mask, colour: str = "#E3F1E8"):
    """Return a Styler that shades the rows where ``mask`` is true, or the table itself when it is too long."""
    if len(table) > MAX_SHADED_ROWS:
        return table
    table = table.reset_index(drop=True)
    row_styles = np.where(np.asarray(mask, dtype=bool), f"background-color: {colour}", "")
    styles = pd.DataFrame(np.repeat(row_styles[:, None], table.shape[1], axis=1), index=table.index,
                          columns=table.columns)
    return table.style.apply(lambda _: styles, axis=None)


# A list longer than this shows a window of it, because sending 40,000 rows on every slider move costs seconds
# in the browser (benchmarks/HISTORY.md). The rows that matter to a funding decision are at the top and around
# the funding line, and the Export page has every row.
MAX_LISTED_ROWS = 2000


def list_window(funded: np.ndarray, limit: int = MAX_LISTED_ROWS) -> np.ndarray | None:
    """Return the positions to list from a long list in funding order, or None to list every row.

    The window is the first half of ``limit`` rows and the other half centred on the last funded row,
    where the funding line runs. The two parts meet when the line is near the top.
    """
    count = len(funded)
    if count <= limit:
        return None
    head = limit // 2
    around = limit - head
    funded_positions = np.flatnonzero(np.asarray(funded, dtype=bool))
    line = int(funded_positions[-1]) + 1 if len(funded_positions) else 0
    end = min(count, max(head + around, line + around // 2))
    start = max(head, end - around)
    return np.r_[0:head, start:end]
