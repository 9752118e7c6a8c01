"""Re-alignment: what a new theme set (or any second portfolio) does to the same initiatives.

An initiative is **orphaned** when its SAI before was above zero and its SAI
after is zero or undefined (an undefined SAI counts as zero). The command
line's ``compare`` and the app's re-alignment view use this one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.funding import evaluate
from portfolio.models import Portfolio
from portfolio.reconcile import NO_LINK, attribute_spend
from portfolio.scoring import ScoringParams, prepare

COMPARE_COLUMNS: tuple[str, ...] = (
    "initiative_id",
    "segment",
    "sai_before",
    "sai_after",
    "rank_before",
    "rank_after",
    "funded_before",
    "funded_after",
    "orphaned",
)


def compare_portfolios(
    before: Portfolio,
    after: Portfolio,
    params_before: ScoringParams | None = None,
    params_after: ScoringParams | None = None,
) -> pd.DataFrame:
    """Score both portfolios and return one row per initiative with :data:`COMPARE_COLUMNS`.

    Rows follow the AFTER portfolio's order, then initiatives found only in
    BEFORE. A side where the initiative does not exist has empty values.
    ``segment`` is the AFTER segment where there is one.
    """
    result_before = evaluate(prepare(before), params_before or ScoringParams.from_portfolio(before))
    result_after = evaluate(prepare(after), params_after or ScoringParams.from_portfolio(after))
    left = result_before[["initiative_id", "segment", "sai", "rank", "funded"]].rename(
        columns={"segment": "segment_before", "sai": "sai_before", "rank": "rank_before",
                 "funded": "funded_before"})
    right = result_after[["initiative_id", "segment", "sai", "rank", "funded"]].rename(
        columns={"sai": "sai_after", "rank": "rank_after", "funded": "funded_after"})
    left["segment_before"] = left["segment_before"].astype(object)
    right["segment"] = right["segment"].astype(object)
    merged = right.merge(left, on="initiative_id", how="outer", sort=False, indicator=True)
    order = {iid: n for n, iid in enumerate(result_after["initiative_id"])}
    tail = {iid: len(order) + n for n, iid in enumerate(result_before["initiative_id"])}
    merged["_order"] = merged["initiative_id"].map(lambda i: order.get(i, tail.get(i)))
    merged = merged.sort_values("_order", kind="stable").reset_index(drop=True)
    merged["segment"] = merged["segment"].where(merged["segment"].notna(), merged["segment_before"])
    merged["orphaned"] = orphaned(merged["sai_before"].to_numpy(dtype=float), merged["sai_after"].to_numpy(dtype=float))
    for column in ("rank_before", "rank_after"):
        merged[column] = merged[column].astype("Int64")
    for column in ("funded_before", "funded_after"):
        merged[column] = merged[column].astype("boolean")
    return merged[list(COMPARE_COLUMNS)]


def orphaned(sai_before: np.ndarray, sai_after: np.ndarray) -> np.ndarray:
    """Mark initiatives whose SAI was above zero and now is zero or undefined (undefined counts as zero)."""
    before = np.nan_to_num(sai_before, nan=0.0)
    after = np.nan_to_num(sai_after, nan=0.0)
    return (before > 0) & (after <= 0)


@dataclass(frozen=True)
class Realignment:
    """Everything the re-alignment view shows about moving from one theme set to another."""

    rows: pd.DataFrame
    theme_spend: pd.DataFrame
    unserved_themes: pd.DataFrame
    funded_without_theme: pd.DataFrame
    worklist: pd.DataFrame
    added_themes: tuple[str, ...]
    retired_themes: tuple[str, ...]


def realign(before: Portfolio, after: Portfolio, params_before: ScoringParams | None = None,
            params_after: ScoringParams | None = None) -> Realignment:
    """Compare the same initiatives under two theme sets.

    ``theme_spend`` lists each theme of either set with its attributed
    proposed spend before and after (cents) and the shift. ``unserved_themes``
    are current themes no funded initiative serves; ``funded_without_theme``
    are funded initiatives aligned to no current theme. The ``worklist``
    names the initiatives to re-score, orphaned ones first, with sponsors.
    """
    params_before = params_before or ScoringParams.from_portfolio(before)
    params_after = params_after or ScoringParams.from_portfolio(after)
    rows = compare_portfolios(before, after, params_before, params_after)
    names = dict(zip(after.initiatives["initiative_id"], after.initiatives["name"], strict=True))
    sponsors = dict(zip(after.initiatives["initiative_id"], after.initiatives["sponsor"], strict=True))
    rows.insert(1, "name", rows["initiative_id"].map(names))

    inputs_before, inputs_after = prepare(before), prepare(after)
    spend_before = attribute_spend(inputs_before).set_index("theme_id")["spend"]
    spend_after = attribute_spend(inputs_after).set_index("theme_id")["spend"]
    theme_names = {**dict(zip(before.themes["theme_id"], before.themes["name"], strict=True)),
                   **dict(zip(after.themes["theme_id"], after.themes["name"], strict=True)), NO_LINK: NO_LINK}
    current = set(after.themes["theme_id"])
    order = [*after.themes["theme_id"], *[t for t in before.themes["theme_id"] if t not in current], NO_LINK]
    theme_spend = pd.DataFrame({
        "theme_id": order,
        "name": [theme_names[t] for t in order],
        "spend_before": [int(spend_before.get(t, 0)) for t in order],
        "spend_after": [int(spend_after.get(t, 0)) for t in order],
    })
    theme_spend["shift"] = theme_spend["spend_after"] - theme_spend["spend_before"]

    result_after = evaluate(inputs_after, params_after)
    funded = result_after["funded"].fillna(False).to_numpy(dtype=bool)
    funded_spend = attribute_spend(inputs_after, funded).set_index("theme_id")["spend"]
    unserved = after.themes[[int(funded_spend.get(t, 0)) == 0 for t in after.themes["theme_id"]]]
    unserved_themes = unserved[["theme_id", "name", "weight"]].reset_index(drop=True)

    aligned_after = inputs_after.alignment.sum(axis=1) > 0
    lonely = funded & ~aligned_after
    funded_without_theme = result_after.loc[lonely, ["initiative_id", "name", "segment", "cost"]].reset_index(drop=True)

    retired = tuple(t for t in before.themes["theme_id"] if t not in set(after.themes["theme_id"]))
    added = tuple(t for t in after.themes["theme_id"] if t not in set(before.themes["theme_id"]))
    scored_retired = set(before.alignment.loc[before.alignment["theme_id"].isin(retired)
                                               & (before.alignment["score"] > 0), "initiative_id"])
    work = rows[rows["orphaned"] | rows["initiative_id"].isin(scored_retired)].copy()
    work["reason"] = np.where(work["orphaned"], "orphaned: aligned only to retired or zero-weight themes",
                              "scored against a retired theme")
    work["sponsor"] = work["initiative_id"].map(sponsors)
    work = work.sort_values(["orphaned", "initiative_id"], ascending=[False, True], kind="stable")
    worklist = work[["initiative_id", "name", "segment", "sponsor", "reason"]].reset_index(drop=True)
    return Realignment(rows, theme_spend, unserved_themes, funded_without_theme, worklist, added, retired)
