"""Free-text search over initiatives."""

from __future__ import annotations

import numpy as np
import pandas as pd

SEARCHED_COLUMNS: tuple[str, ...] = ("initiative_id", "name", "sponsor", "business_unit", "description")


def search_initiatives(initiatives: pd.DataFrame, query: str) -> np.ndarray:
    """Return a mask of initiatives whose id, name, sponsor, unit or description contain every word of ``query``.

    Matching ignores case; the words are plain text, never patterns.
    """
    mask = np.ones(len(initiatives), dtype=bool)
    words = query.lower().split()
    if not words:
        return mask
    text = initiatives[list(SEARCHED_COLUMNS)].fillna("").astype(str).agg(" ".join, axis=1).str.lower()
    for word in words:
        mask &= text.str.contains(word, regex=False).to_numpy()
    return mask
