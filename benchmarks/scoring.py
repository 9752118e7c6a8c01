"""Section 1: the scoring core against a NumPy floor and a row-by-row pandas implementation.

The floor is one matrix-vector product over the same dense alignment matrix
that :func:`portfolio.scoring.compute_sai` multiplies. The row-by-row
reference computes the same contract with ``itertuples`` loops, Python sorts
and a Python funding-line loop; it is checked against :func:`evaluate`
before it is timed, so both compute the same thing.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from benchmarks.common import Figure, Report, median_time
from portfolio.funding import evaluate
from portfolio.generate import draw, to_portfolio
from portfolio.models import CRITERIA, Portfolio
from portfolio.scoring import (
    ScoringInputs,
    ScoringParams,
    compute_sai,
    compute_scores,
    compute_segment_scores,
    compute_urgency,
    prepare,
)

SECTION = "scoring"
THEMES = 12
SEED = 2027
# Row-by-row runs over at most this many initiatives; larger sizes are extrapolated linearly from it.
ROW_BY_ROW_MAX = 100_000


def moved_params(portfolio: Portfolio) -> ScoringParams:
    """Return the committed parameters with the first theme's weight raised by 1, as one slider step does."""
    params = ScoringParams.from_portfolio(portfolio)
    first = next(iter(params.theme_weights))
    return params.with_theme_weights({first: params.theme_weights[first] + 1})


def row_by_row(portfolio: Portfolio, params: ScoringParams, scores_of: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Score, rank and draw the funding line one initiative at a time, as a first pandas version would."""
    weights = params.normalized_theme_weights()
    urgency_total = sum(params.urgency.values())
    records = []
    for row in portfolio.initiatives.itertuples(index=False):
        values = {c: (0.0 if pd.isna(getattr(row, c)) else getattr(row, c)) for c in CRITERIA}
        alignment = scores_of.get(row.initiative_id, {})
        sai = (round(100 * sum(w * alignment.get(t, 0.0) for t, w in weights.items()) / 10, 9)
               if weights else math.nan)
        urgency = round(100 * sum(w * values[c] for c, w in params.urgency.items()) / (10 * urgency_total), 9)
        lens = params.lenses[row.segment]
        lens_total = sum(lens.values())
        parts = [w * (sai if c == "sai" else 10 * values[c]) for c, w in lens.items()]
        segment_score = round(sum(parts) / lens_total, 9)
        records.append({"initiative_id": row.initiative_id, "segment": row.segment, "sai": sai, "urgency": urgency,
                        "segment_score": segment_score, "cost": row.cost, "must_fund": row.must_fund,
                        "force_out": row.force_out})
    result = pd.DataFrame(records)

    rank = {}
    for _, group in result.groupby("segment", sort=False):
        keyed = sorted(group.itertuples(index=False), key=lambda r: (
            math.inf if math.isnan(r.segment_score) else -r.segment_score, -r.urgency, r.cost, r.initiative_id))
        for position, item in enumerate(keyed, start=1):
            rank[item.initiative_id] = position
    result["rank"] = result["initiative_id"].map(rank)

    funded = {}
    for segment, group in result.groupby("segment", sort=False):
        envelope = params.envelopes.get(segment)
        if envelope is None:
            continue
        total = 0
        for item in group.sort_values(["must_fund", "rank"], ascending=[False, True]).itertuples(index=False):
            if item.force_out or math.isnan(item.segment_score) and not item.must_fund:
                funded[item.initiative_id] = False if item.force_out else None
                continue
            total += item.cost
            funded[item.initiative_id] = bool(item.must_fund or total <= envelope)
    result["funded"] = result["initiative_id"].map(funded)
    return result


def alignment_dict(portfolio: Portfolio) -> dict[str, dict[str, float]]:
    scores_of: dict[str, dict[str, float]] = {}
    current = set(portfolio.themes["theme_id"])
    for row in portfolio.alignment.itertuples(index=False):
        if row.theme_id in current:
            scores_of.setdefault(row.initiative_id, {})[row.theme_id] = row.score
    return scores_of


def check_row_by_row(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    """Raise AssertionError when the row-by-row reference disagrees with evaluate()."""
    for column in ("sai", "urgency", "segment_score"):
        np.testing.assert_allclose(actual[column].to_numpy(float), expected[column].to_numpy(float), atol=1e-9)
    assert (actual["rank"].to_numpy() == expected["rank"].to_numpy()).all(), "ranks differ"
    known = expected["funded"].notna().to_numpy()
    assert (actual["funded"].to_numpy()[known].astype(bool) == expected["funded"].to_numpy()[known]).all()


def run(report: Report, sizes: tuple[int, ...], quick: bool = False) -> None:
    for size in sizes:
        label = f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"
        start = time.perf_counter()
        portfolio = to_portfolio(draw(size, THEMES, SEED))
        inputs = prepare(portfolio)
        params = moved_params(portfolio)
        report.note(SECTION, f"{label}: generated and prepared in {time.perf_counter() - start:.1f} s "
                             f"({len(portfolio.alignment):,} alignment scores over {THEMES} themes).")
        _measure(report, label, portfolio, inputs, params, quick)


def _repeats(size: int, quick: bool) -> int:
    if quick:
        return 3
    return 30 if size <= 10_000 else 15 if size <= 100_000 else 7


def _measure(report: Report, label: str, portfolio: Portfolio, inputs: ScoringInputs, params: ScoringParams,
             quick: bool) -> None:
    size = inputs.size
    repeats = _repeats(size, quick)
    weights = np.array([params.theme_weights[t] for t in inputs.theme_ids], dtype=float)
    normalized = weights / weights.sum()
    # The floor is the faster of NumPy's two single-call products: BLAS (@), whose threads can cost more
    # than they save on a narrow matrix, and einsum's single-threaded loop.
    blas, _ = median_time(lambda: inputs.alignment @ normalized, repeats)
    loop, _ = median_time(lambda: np.einsum("ij,j->i", inputs.alignment, normalized), repeats)
    floor = min(blas, loop)
    floor_name = "floor: alignment @ w" if blas <= loop else "floor: einsum(alignment, w)"
    report.note(SECTION, f"{label}: one product alignment @ w takes {blas * 1e6:,.0f} µs through BLAS and "
                         f"{loop * 1e6:,.0f} µs through einsum; the floor is the faster of the two.")

    sai = compute_sai(inputs, params)
    for name, function in (
        ("SAI (compute_sai)", lambda: compute_sai(inputs, params)),
        ("urgency (compute_urgency)", lambda: compute_urgency(inputs, params)),
        ("segment scores (compute_segment_scores)", lambda: compute_segment_scores(inputs, params, sai)),
    ):
        value, _ = median_time(function, repeats)
        report.add(Figure(SECTION, name, label, value, "s", floor_name, floor, "within 5× the floor",
                          value <= 5 * floor, f"median of {repeats}"))
    value, _ = median_time(lambda: compute_scores(inputs, params), repeats)
    report.add(Figure(SECTION, "SAI + urgency + segment (compute_scores)", label, value, "s", floor_name, floor,
                      note=f"median of {repeats}; three products, so no single-product target"))

    pipeline, _ = median_time(lambda: evaluate(inputs, params), repeats)
    limit = {100_000: 0.1, 1_000_000: 1.0}.get(size)
    report.add(Figure(SECTION, "whole pipeline (evaluate)", label, pipeline, "s", floor_name, floor,
                      f"within {limit * 1000:.0f} ms" if limit else "", pipeline <= limit if limit else None,
                      f"median of {repeats}; ranks, funding lines, quadrants, result frame"))

    subset = portfolio if size <= ROW_BY_ROW_MAX else _head(portfolio, ROW_BY_ROW_MAX)
    scores_of = alignment_dict(subset)
    start = time.perf_counter()
    slow = row_by_row(subset, params, scores_of)
    slow_time = time.perf_counter() - start
    if size <= ROW_BY_ROW_MAX:
        check_row_by_row(evaluate(inputs, params), slow)
        note = "row-by-row run once over every initiative and checked equal to evaluate()"
    else:
        slow_time *= size / ROW_BY_ROW_MAX
        note = f"row-by-row run once over the first {ROW_BY_ROW_MAX:,} initiatives, scaled linearly to {label}"
    report.add(Figure(SECTION, "whole pipeline vs row-by-row", label, pipeline, "s", "row-by-row pandas", slow_time,
                      "at least 50× faster (ratio ≤ 0.02×)", pipeline * 50 <= slow_time, note))


def _head(portfolio: Portfolio, count: int) -> Portfolio:
    from dataclasses import replace

    items = portfolio.initiatives.iloc[:count]
    alignment = portfolio.alignment[portfolio.alignment["initiative_id"].isin(set(items["initiative_id"]))]
    return replace(portfolio, initiatives=items, alignment=alignment)
