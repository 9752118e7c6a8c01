"""Row shading of the ranked lists."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ui.tables import MAX_SHADED_ROWS, list_window, shade_rows


def test_shade_rows_funded_only() -> None:
    table = pd.DataFrame({"rank": [1, 2, 3], "name": ["a", "b", "c"]}, index=[10, 11, 12])
    styled = shade_rows(table, [True, False, True], colour="#ABCDEF")

    html = styled.to_html()
    cells = styled._compute().ctx  # (row, column) -> [(property, value)] for the styled cells
    assert sorted(cells) == [(0, 0), (0, 1), (2, 0), (2, 1)]
    assert all(value == [("background-color", "#ABCDEF")] for value in cells.values())
    assert "#ABCDEF" in html


def test_long_list_is_returned_unstyled() -> None:
    table = pd.DataFrame({"rank": range(MAX_SHADED_ROWS + 1)})
    assert shade_rows(table, [True] * len(table)) is table


def test_short_list_is_listed_whole() -> None:
    assert list_window(np.ones(2000, dtype=bool), limit=2000) is None


def test_window_top_and_funding_line() -> None:
    funded = np.zeros(10_000, dtype=bool)
    funded[:6_000] = True  # the funding line runs under row 5,999
    window = list_window(funded, limit=2000)

    assert len(window) == 2000
    assert window[:1000].tolist() == list(range(1000))
    assert window[1000:].tolist() == list(range(5500, 6500))
    # The last funded row and the first unfunded one are both listed, as the line's two sides.
    assert {5999, 6000} <= set(window.tolist())


def test_window_line_near_ends() -> None:
    near_top = np.zeros(5_000, dtype=bool)
    near_top[:300] = True
    assert list_window(near_top, limit=2000).tolist() == list(range(2000))

    near_end = np.ones(5_000, dtype=bool)
    window = list_window(near_end, limit=2000)
    assert window[1000:].tolist() == list(range(4000, 5000))

    nothing_funded = np.zeros(5_000, dtype=bool)
    assert list_window(nothing_funded, limit=2000).tolist() == list(range(2000))
