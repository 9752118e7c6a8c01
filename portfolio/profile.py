"""The portfolio's alignment profile: where the money meets the themes, by segment and quadrant."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.reconcile import attribute_spend
from portfolio.scoring import QUADRANTS, ScoringInputs


def theme_segment_spend(inputs: ScoringInputs, selected: np.ndarray | None = None) -> pd.DataFrame:
    """Attributed spend (cents) with one row per theme plus "no OKR link" and one column per segment."""
    if selected is None:
        selected = np.ones(inputs.size, dtype=bool)
    columns = {}
    for code, segment in enumerate(inputs.segments):
        mask = selected & (inputs.segment_codes == code)
        columns[segment] = attribute_spend(inputs, mask).set_index("theme_id")["spend"]
    return pd.DataFrame(columns)


def spend_weighted_sai(result: pd.DataFrame) -> dict[str, float]:
    """Return the cost-weighted mean SAI per segment and ``"all"``; NaN where no initiative has SAI and cost."""
    values: dict[str, float] = {}
    scored = result[result["sai"].notna()]
    groups = [("all", scored), *((str(s), scored[scored["segment"] == s]) for s in result["segment"].unique())]
    for label, rows in groups:
        cost = rows["cost"].to_numpy(dtype=float)
        values[label] = float((rows["sai"].to_numpy() * cost).sum() / cost.sum()) if cost.sum() > 0 else np.nan
    return values


def spend_by_quadrant(result: pd.DataFrame, segment: str | None = "strategic") -> pd.DataFrame:
    """Sum cost (cents) and count initiatives per quadrant, for one segment or (None) all; "no SAI" last."""
    rows = result if segment is None else result[result["segment"] == segment]
    labels = rows["quadrant"].astype(object).where(rows["quadrant"].notna(), "no_sai")
    frame = pd.DataFrame({"quadrant": labels.to_numpy(), "cost": rows["cost"].to_numpy(dtype=np.int64)})
    summary = frame.groupby("quadrant")["cost"].agg(["sum", "count"])
    order = [*QUADRANTS, "no_sai"]
    summary = summary.reindex(order, fill_value=0).reset_index()
    summary.columns = ["quadrant", "spend", "initiatives"]
    return summary
