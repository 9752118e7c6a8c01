"""What changed between two scorings of the same initiatives: ranks, funding line, money."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ChangeSummary:
    """Counts and money (cents) of a comparison between a baseline and a what-if."""

    moved: int
    crossed_in: int
    crossed_out: int
    money_in: int
    money_out: int

    @property
    def crossed(self) -> int:
        return self.crossed_in + self.crossed_out


def compare_results(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, ChangeSummary]:
    """Compare two results of :func:`portfolio.funding.evaluate` over the same initiatives.

    Returns the initiatives whose rank or funding changed, sorted by the size
    of the move, with ``rank_before``, ``rank_after``, ``rank_change``
    (positive means it moved up), ``funded_before``, ``funded_after`` and
    ``crossing`` ("into funding", "out of funding" or ""), and the summary.
    """
    rank_before = before["rank"].to_numpy()
    rank_after = after["rank"].to_numpy()
    funded_before = before["funded"].fillna(False).to_numpy(dtype=bool)
    funded_after = after["funded"].fillna(False).to_numpy(dtype=bool)
    crossed_in = ~funded_before & funded_after
    crossed_out = funded_before & ~funded_after
    changed = (rank_before != rank_after) | crossed_in | crossed_out

    frame = after.loc[changed, ["initiative_id", "name", "segment", "cost"]].copy()
    frame["rank_before"] = rank_before[changed]
    frame["rank_after"] = rank_after[changed]
    frame["rank_change"] = frame["rank_before"] - frame["rank_after"]
    frame["funded_before"] = before["funded"].to_numpy()[changed]
    frame["funded_after"] = after["funded"].to_numpy()[changed]
    frame["crossing"] = np.where(crossed_in[changed], "into funding",
                                 np.where(crossed_out[changed], "out of funding", ""))
    frame = frame.assign(_order=(frame["crossing"] == "").astype(int), _size=-frame["rank_change"].abs())
    frame = frame.sort_values(["_order", "_size", "segment", "rank_after"]).drop(columns=["_order", "_size"])

    cost = after["cost"].to_numpy(dtype=np.int64)
    summary = ChangeSummary(
        moved=int((rank_before != rank_after).sum()),
        crossed_in=int(crossed_in.sum()),
        crossed_out=int(crossed_out.sum()),
        money_in=int(cost[crossed_in].sum()),
        money_out=int(cost[crossed_out].sum()),
    )
    return frame.reset_index(drop=True), summary
