"""Spend by segment and by theme, the reconciliation invariants and the alignment gap.

An initiative with alignment total ``A(i) = sum_t a(i, t) > 0`` attributes
``c(i) * a(i, t) / A(i)`` to each theme; one with ``A(i) = 0`` goes to the
"no OKR link" bucket. Amounts are integer cents split by largest remainder
(equal remainders go to the lower ``theme_id``), so each initiative's parts
add up exactly to its cost. Scores enter as exact integers (score × 1000),
which validation guarantees by allowing at most 3 decimal places.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.scoring import ScoringInputs, ScoringParams

NO_LINK = "no OKR link"


def attribute_spend(inputs: ScoringInputs, selected: np.ndarray | None = None) -> pd.DataFrame:
    """Attribute the cost of the selected initiatives to themes, in cents.

    Returns one row per theme in file order (zero-weight and unattributed
    themes included) plus a last row for :data:`NO_LINK`, with columns
    ``theme_id`` and ``spend`` (int cents).
    """
    if selected is None:
        selected = np.ones(inputs.size, dtype=bool)
    theme_count = len(inputs.theme_ids)

    keep = selected[inputs.align_rows] & (inputs.alignment_milli > 0) if inputs.size else np.zeros(0, bool)
    rows = inputs.align_rows[keep]
    cols = inputs.align_cols[keep]
    milli = inputs.alignment_milli[keep]

    alignment_total = np.zeros(inputs.size, dtype=np.int64)
    np.add.at(alignment_total, rows, milli)
    cost = inputs.cost
    # cost * milli / A would overflow int64 for costs above about 9e12 units; with
    # cost = q * A + r it is q * milli + r * milli / A, where r * milli < A * 10_000.
    totals = alignment_total[rows]
    whole, rest = np.divmod(cost[rows], totals)
    parts = whole * milli + (rest * milli) // totals
    remainders = (rest * milli) % totals

    given = np.zeros(inputs.size, dtype=np.int64)
    np.add.at(given, rows, parts)
    leftover = cost - given

    # Largest remainder first, ties to the lower theme_id: one sort over all entries.
    theme_rank = np.argsort(np.argsort(np.array(inputs.theme_ids, dtype=str), kind="stable"), kind="stable")
    order = np.lexsort((theme_rank[cols] if len(cols) else cols, -remainders, rows))
    sorted_rows = rows[order]
    starts = np.r_[True, sorted_rows[1:] != sorted_rows[:-1]] if len(order) else np.zeros(0, bool)
    positions = np.arange(len(order))
    within = positions - np.maximum.accumulate(np.where(starts, positions, 0)) if len(order) else positions
    bonus = np.zeros(len(order), dtype=np.int64)
    bonus[order] = (within < leftover[sorted_rows]).astype(np.int64)
    parts = parts + bonus

    spend = np.zeros(theme_count, dtype=np.int64)
    np.add.at(spend, cols, parts)
    unlinked = selected & (alignment_total == 0)
    no_link = int(cost[unlinked].sum())
    return pd.DataFrame({
        "theme_id": [*inputs.theme_ids, NO_LINK],
        "spend": np.append(spend, no_link).astype(np.int64),
    })


@dataclass(frozen=True)
class Check:
    """One reconciliation invariant with the two totals compared, in cents."""

    name: str
    expected: int
    actual: int

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


def reconcile(
    result: pd.DataFrame,
    attribution: pd.DataFrame,
    selected: np.ndarray,
    stored_total: int | None = None,
) -> list[Check]:
    """Check that segments and themes (plus "no OKR link") each add up to the total cost.

    ``stored_total`` is the same total summed by the database as DECIMAL; when
    given, it is compared too, so the Python and SQL paths check each other.
    """
    costs = result["cost"].to_numpy(dtype=np.int64)[selected]
    total = int(costs.sum())
    by_segment = result.loc[selected].groupby("segment", observed=True)["cost"].sum()
    checks = [
        Check("sum over segments = total cost", total, int(sum(int(v) for v in by_segment))),
        Check('sum over themes + "no OKR link" = total cost', total,
              int(sum(int(v) for v in attribution["spend"]))),
    ]
    if stored_total is not None:
        checks.append(Check("total cost = database total", stored_total, total))
    return checks


def alignment_gap(attribution: pd.DataFrame, params: ScoringParams, theme_names: dict[str, str]) -> pd.DataFrame:
    """Compare each theme's share of attributed spend with its normalized weight.

    Columns: ``theme_id``, ``name``, ``spend`` (cents), ``spend_share`` and
    ``weight_share`` (percent), ``gap`` (percentage points, spend share minus
    weight share; NaN when either share is undefined). The "no OKR link"
    bucket is left out here and reported beside the table.
    """
    themes = attribution[attribution["theme_id"] != NO_LINK].copy()
    attributed = int(themes["spend"].sum())
    weights = params.normalized_theme_weights()
    themes["name"] = themes["theme_id"].map(theme_names)
    spend = themes["spend"].to_numpy(dtype=float)
    themes["spend_share"] = spend / attributed * 100 if attributed else np.full(len(themes), np.nan)
    themes["weight_share"] = np.array([weights[t] * 100 if weights else np.nan for t in themes["theme_id"]],
                                      dtype=float)
    themes["gap"] = themes["spend_share"] - themes["weight_share"]
    return themes[["theme_id", "name", "spend", "spend_share", "weight_share", "gap"]].reset_index(drop=True)
