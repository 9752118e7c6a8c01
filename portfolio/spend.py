"""Capex/opex splits and actual spend against plan, in cents."""

from __future__ import annotations

import numpy as np
import pandas as pd


def capex_opex_by_segment(initiatives: pd.DataFrame, segments: tuple[str, ...]) -> pd.DataFrame:
    """Sum capex, opex and the cost of initiatives without a split per segment (cents).

    An initiative counts as split only when both capex and opex are given;
    validation guarantees that they then add up to its cost.
    """
    split = initiatives["capex"].notna() & initiatives["opex"].notna()
    rows = []
    for segment in segments:
        mask = initiatives["segment"] == segment
        rows.append({
            "segment": segment,
            "capex": int(initiatives.loc[mask & split, "capex"].astype("int64").sum()),
            "opex": int(initiatives.loc[mask & split, "opex"].astype("int64").sum()),
            "unsplit": int(initiatives.loc[mask & ~split, "cost"].sum()),
        })
    return pd.DataFrame(rows, columns=["segment", "capex", "opex", "unsplit"])


def actual_against_plan(initiatives: pd.DataFrame) -> pd.DataFrame:
    """List initiatives with an actual spend, their plan (cost) and variance (actual − plan), largest overrun first."""
    rows = initiatives[initiatives["actual_spend"].notna()]
    frame = pd.DataFrame({
        "initiative_id": rows["initiative_id"].to_numpy(),
        "name": rows["name"].to_numpy(),
        "cost": rows["cost"].to_numpy(dtype=np.int64),
        "actual_spend": rows["actual_spend"].astype("int64").to_numpy(),
    })
    frame["variance"] = frame["actual_spend"] - frame["cost"]
    return frame.sort_values("variance", ascending=False, kind="stable").reset_index(drop=True)
