"""Tests of the theme attribution of spend, the reconciliation checks and the alignment gap.

Amounts are in cents. Each split is worked out by hand in the comment beside
it: floor of c * a / A per theme, then the leftover cents one each to the
largest remainders, equal remainders to the lower theme_id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from portfolio_files import load_rows

from portfolio.funding import evaluate
from portfolio.models import Portfolio
from portfolio.reconcile import NO_LINK, alignment_gap, attribute_spend, reconcile
from portfolio.scoring import ScoringInputs, ScoringParams, prepare

# File order T3, T1, T2, so that "lower theme_id" and "first in the file" differ.
THREE_THEMES = [{"theme_id": t, "name": f"Theme {t}", "weight": 1} for t in ("T3", "T1", "T2")]


def initiative(initiative_id: str, cost: str, segment: str = "strategic", **fields: Any) -> dict[str, Any]:
    return {"initiative_id": initiative_id, "name": f"Initiative {initiative_id}", "segment": segment,
            "cost": cost, **fields}


def alignment(initiative_id: str, scores: dict[str, float]) -> list[dict[str, Any]]:
    return [{"initiative_id": initiative_id, "theme_id": t, "score": s} for t, s in scores.items()]


def spend_by_theme(attribution: pd.DataFrame) -> dict[str, int]:
    return {t: int(s) for t, s in zip(attribution["theme_id"], attribution["spend"], strict=True)}


def select(inputs: ScoringInputs, ids: list[str]) -> np.ndarray:
    return np.isin(inputs.ids, ids)


# --- attribution ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "scores", "expected"),
    [
        # 10000 / 3 = 3333 r 1/3 for each; 1 cent left, equal remainders: to T1, the lowest theme_id.
        pytest.param("100.00", {"T1": 1, "T2": 1, "T3": 1}, {"T1": 3334, "T2": 3333, "T3": 3333},
                     id="equal remainders"),
        # 5 / 3 = 1 r 2/3 for each; 2 cents left: to T1 and T2.
        pytest.param("0.05", {"T1": 1, "T2": 1, "T3": 1}, {"T1": 2, "T2": 2, "T3": 1}, id="two cents left"),
        # 1 / 3 = 0 r 1/3 for each; 1 cent left: to T1.
        pytest.param("0.01", {"T1": 1, "T2": 1, "T3": 1}, {"T1": 1, "T2": 0, "T3": 0}, id="one cent"),
        # A = 7: T1 40000/7 = 5714 r 2/7, T2 20000/7 = 2857 r 1/7, T3 10000/7 = 1428 r 4/7; 1 cent left to T3.
        pytest.param("100.00", {"T1": 4, "T2": 2, "T3": 1}, {"T1": 5714, "T2": 2857, "T3": 1429},
                     id="largest remainder on highest id"),
        # A = 7: T1 30/7 = 4 r 2/7, T2 4 r 2/7, T3 10/7 = 1 r 3/7; 1 cent left to T3.
        pytest.param("0.10", {"T1": 3, "T2": 3, "T3": 1}, {"T1": 4, "T2": 4, "T3": 2}, id="largest beats lower id"),
        # A = 7: T1 10/7 = 1 r 3/7, T2 20/7 = 2 r 6/7, T3 40/7 = 5 r 5/7; 2 cents left to T2 and T3.
        pytest.param("0.10", {"T1": 1, "T2": 2, "T3": 4}, {"T1": 1, "T2": 3, "T3": 6}, id="two largest remainders"),
        # A = 10: 100 * 2.5 / 10 = 25, 100 * 7.5 / 10 = 75, nothing left; T3 has no score.
        pytest.param("1.00", {"T1": 2.5, "T2": 7.5}, {"T1": 25, "T2": 75, "T3": 0}, id="decimal scores"),
        # A = 3.001: T1 = T2 = 150/3.001 = 49 r 2.951/3.001, T3 = 0.1/3.001 = 0 r 0.1/3.001; 2 cents left to T1, T2.
        pytest.param("1.00", {"T1": 1.5, "T2": 1.5, "T3": 0.001}, {"T1": 50, "T2": 50, "T3": 0},
                     id="thousandth score"),
    ],
)
def test_attribution_largest_remainder(tmp_path: Path, cost: str, scores: dict[str, float],
                                       expected: dict[str, int]) -> None:
    # Alignment rows go in descending theme_id order, so that neither file's order matches theme_id order.
    descending = dict(sorted(scores.items(), reverse=True))
    portfolio = load_rows(tmp_path, themes=THREE_THEMES, initiatives=[initiative("A", cost)],
                          alignment=alignment("A", descending))

    spend = spend_by_theme(attribute_spend(prepare(portfolio)))

    assert spend == {"T3": expected["T3"], "T1": expected["T1"], "T2": expected["T2"], NO_LINK: 0}


def test_attribution_rows_in_file_order(tmp_path: Path) -> None:
    portfolio = load_rows(tmp_path, themes=THREE_THEMES, initiatives=[initiative("A", "1.00")])

    attribution = attribute_spend(prepare(portfolio))

    assert attribution["theme_id"].tolist() == ["T3", "T1", "T2", NO_LINK]


def test_attribution_no_okr_link(tmp_path: Path) -> None:
    portfolio = load_rows(
        tmp_path,
        themes=THREE_THEMES,
        initiatives=[initiative("NONE", "10.00"), initiative("ZERO", "5.00"), initiative("LINKED", "20.00")],
        # ZERO has only a score of 0, so A = 0 as for NONE, which has no row at all.
        alignment=[*alignment("ZERO", {"T1": 0}), *alignment("LINKED", {"T1": 5})],
    )

    spend = spend_by_theme(attribute_spend(prepare(portfolio)))

    # "no OKR link" = 1000 + 500; T1 = 2000
    assert spend == {"T3": 0, "T1": 2000, "T2": 0, NO_LINK: 1500}


def test_attribution_zero_weight_theme(tmp_path: Path) -> None:
    portfolio = load_rows(
        tmp_path,
        themes=[{"theme_id": "T1", "name": "Theme T1", "weight": 1},
                {"theme_id": "T2", "name": "Theme T2", "weight": 0}],
        initiatives=[initiative("A", "10.00")],
        alignment=alignment("A", {"T1": 5, "T2": 5}),
    )

    spend = spend_by_theme(attribute_spend(prepare(portfolio)))

    # A = 10: 1000 * 5 / 10 = 500 each, whatever the weights.
    assert spend == {"T1": 500, "T2": 500, NO_LINK: 0}


def test_attribution_without_themes(tmp_path: Path) -> None:
    portfolio = load_rows(tmp_path,
                          initiatives=[initiative("A", "12.34"), initiative("B", "1.00", segment="compliance")])

    spend = spend_by_theme(attribute_spend(prepare(portfolio)))

    # Everything goes to "no OKR link": 1234 + 100
    assert spend == {NO_LINK: 1334}


def test_attribution_large_cost(tmp_path: Path) -> None:
    # 10,000,000,000,000.00 is a large but possible programme cost in a high-denomination currency such as IDR.
    portfolio = load_rows(tmp_path, themes=THREE_THEMES, initiatives=[initiative("A", "10000000000000.00")],
                          alignment=alignment("A", {"T1": 10, "T2": 10, "T3": 10}))

    spend = spend_by_theme(attribute_spend(prepare(portfolio)))

    # 10^15 cents / 3 = 333333333333333 r 1/3 for each; 1 cent left to T1.
    assert spend == {"T3": 333_333_333_333_333, "T1": 333_333_333_333_334, "T2": 333_333_333_333_333, NO_LINK: 0}


AWKWARD_ROWS = [
    ("PENNY", "0.01", {"T1": 3, "T2": 7, "T3": 9.5}),
    ("THIRDS", "999.99", {"T1": 1, "T2": 1, "T3": 1}),
    ("MILLION", "1234567.89", {"T1": 2.333, "T2": 4.667, "T3": 0.001}),
    ("FREE", "0.00", {"T1": 5, "T2": 5, "T3": 5}),
    ("SEVENTHS", "1000.01", {"T1": 1, "T2": 2, "T3": 4}),
]


def awkward_portfolio(folder: Path) -> Portfolio:
    return load_rows(
        folder,
        themes=THREE_THEMES,
        initiatives=[initiative(i, cost) for i, cost, _ in AWKWARD_ROWS],
        alignment=[row for i, _, scores in AWKWARD_ROWS for row in alignment(i, scores)],
    )


@pytest.mark.parametrize(
    ("initiative_id", "cost_cents"),
    [("PENNY", 1), ("THIRDS", 99_999), ("MILLION", 123_456_789), ("FREE", 0), ("SEVENTHS", 100_001)],
)
def test_attribution_parts_add_to_cost(tmp_path: Path, initiative_id: str, cost_cents: int) -> None:
    inputs = prepare(awkward_portfolio(tmp_path))

    attribution = attribute_spend(inputs, select(inputs, [initiative_id]))

    assert int(attribution["spend"].sum()) == cost_cents


def test_attribution_total_adds_to_cost(tmp_path: Path) -> None:
    inputs = prepare(awkward_portfolio(tmp_path))

    attribution = attribute_spend(inputs)

    # 1 + 99999 + 123456789 + 0 + 100001
    assert int(attribution["spend"].sum()) == 123_656_790


# --- reconciliation ------------------------------------------------------------------


def mixed_portfolio(folder: Path) -> Portfolio:
    """Three segments with envelopes; T1 weight 3, T2 weight 1 (W = 0.75, 0.25)."""
    return load_rows(
        folder,
        themes=[{"theme_id": "T1", "name": "Theme T1", "weight": 3},
                {"theme_id": "T2", "name": "Theme T2", "weight": 1}],
        initiatives=[
            initiative("S1", "400.00"),
            initiative("S2", "300.01"),
            initiative("S3", "250.00"),
            initiative("C1", "0.99", segment="compliance", risk=9, urgency=9),
            initiative("C2", "5.00", segment="compliance", risk=1, urgency=1),
            initiative("F1", "1000.00", segment="infrastructure", must_fund="yes",
                       financial_return=5, technical_necessity=5),
        ],
        alignment=[
            # SAI(S1) = 10 * 0.75*8 = 60; SAI(S2) = 10 * (0.75*7 + 0.25*6) = 67.5; SAI(S3) = 10 * 0.25*2 = 5
            *alignment("S1", {"T1": 8}),
            *alignment("S2", {"T1": 7, "T2": 6}),
            *alignment("S3", {"T2": 2}),
            *alignment("C2", {"T2": 3}),
            *alignment("F1", {"T1": 1, "T2": 2}),
        ],
        # Strategic: S2 300.01, S1 700.01 <= 700.01, S3 950.01 > 700.01.
        # Compliance: C1 (S 90) 0.99, C2 5.99 > 1.00. Infrastructure: F1 is must-fund over its envelope.
        budget=[{"segment": "strategic", "envelope": "700.01"},
                {"segment": "compliance", "envelope": "1.00"},
                {"segment": "infrastructure", "envelope": "500.00"}],
    )


def test_mixed_portfolio_funded_set(tmp_path: Path) -> None:
    portfolio = mixed_portfolio(tmp_path)

    result = evaluate(prepare(portfolio), ScoringParams.from_portfolio(portfolio))

    assert result.loc[result["funded"].fillna(False), "initiative_id"].tolist() == ["S1", "S2", "C1", "F1"]


# Per initiative: S1 40000 to T1. S2 (A = 13): T1 30001*7/13 = 16154 r 5/13, T2 30001*6/13 = 13846 r 8/13,
# 1 cent left to T2: 16154 and 13847. S3 25000 to T2. C1 99 to "no OKR link". C2 500 to T2.
# F1 (A = 3): T1 100000/3 = 33333 r 1/3, T2 200000/3 = 66666 r 2/3, 1 cent left to T2: 33333 and 66667.
SUBSETS = [
    # T1 = 40000 + 16154 + 33333 = 89487; T2 = 13847 + 25000 + 500 + 66667 = 106014;
    # total 40000 + 30001 + 25000 + 99 + 500 + 100000 = 195600
    pytest.param(None, {"T1": 89_487, "T2": 106_014, NO_LINK: 99}, 195_600, id="proposed"),
    # S1, S2, C1, F1: T1 = 89487; T2 = 13847 + 66667 = 80514; total 40000 + 30001 + 99 + 100000 = 170100
    pytest.param(["S1", "S2", "C1", "F1"], {"T1": 89_487, "T2": 80_514, NO_LINK: 99}, 170_100, id="funded"),
]


@pytest.mark.parametrize(("ids", "expected_spend", "total"), SUBSETS)
def test_attribution_of_subset(tmp_path: Path, ids: list[str] | None, expected_spend: dict[str, int],
                               total: int) -> None:
    inputs = prepare(mixed_portfolio(tmp_path))
    selected = np.ones(inputs.size, dtype=bool) if ids is None else select(inputs, ids)

    spend = spend_by_theme(attribute_spend(inputs, selected))

    assert spend == expected_spend


@pytest.mark.parametrize(("ids", "expected_spend", "total"), SUBSETS)
def test_reconcile_passes(tmp_path: Path, ids: list[str] | None, expected_spend: dict[str, int],
                          total: int) -> None:
    portfolio = mixed_portfolio(tmp_path)
    inputs = prepare(portfolio)
    result = evaluate(inputs, ScoringParams.from_portfolio(portfolio))
    selected = np.ones(inputs.size, dtype=bool) if ids is None else result["funded"].fillna(False).to_numpy()

    checks = reconcile(result, attribute_spend(inputs, selected), selected, stored_total=total)

    assert [check.name for check in checks if not check.passed] == []
    assert [check.expected for check in checks] == [total, total, total]
    assert [check.actual for check in checks] == [total, total, total]


def test_reconcile_detects_theme_mismatch(tmp_path: Path) -> None:
    portfolio = mixed_portfolio(tmp_path)
    inputs = prepare(portfolio)
    result = evaluate(inputs, ScoringParams.from_portfolio(portfolio))
    selected = np.ones(inputs.size, dtype=bool)
    attribution = attribute_spend(inputs, selected)
    attribution.loc[attribution["theme_id"] == "T1", "spend"] += 1

    checks = reconcile(result, attribution, selected)

    # Segments still add up to 195600; themes now add up to 195601.
    assert [(check.passed, check.expected, check.actual) for check in checks] == [
        (True, 195_600, 195_600), (False, 195_600, 195_601)]


def test_reconcile_detects_stored_total_mismatch(tmp_path: Path) -> None:
    portfolio = mixed_portfolio(tmp_path)
    inputs = prepare(portfolio)
    result = evaluate(inputs, ScoringParams.from_portfolio(portfolio))
    selected = np.ones(inputs.size, dtype=bool)

    checks = reconcile(result, attribute_spend(inputs, selected), selected, stored_total=195_599)

    assert [check.passed for check in checks] == [True, True, False]


# --- alignment gap -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "costs", "expected_weight", "expected_share", "expected_gap"),
    [
        # W = 75 %, 25 %. Attributed 2000 + 6000 = 8000 (the 1000.00 with no link is left out):
        # shares 25 %, 75 %; gaps 25 - 75 = -50, 75 - 25 = +50 percentage points.
        pytest.param({"T1": 3, "T2": 1}, {"T1": "20.00", "T2": "60.00", None: "1000.00"},
                     {"T1": 75.0, "T2": 25.0}, {"T1": 25.0, "T2": 75.0}, {"T1": -50.0, "T2": 50.0},
                     id="weights 3:1"),
        # W = 50 %, 50 %, 0 %. Attributed 5000 + 2500 + 2500: shares 50, 25, 25; gaps 0, -25, +25.
        pytest.param({"T1": 1, "T2": 1, "T3": 0}, {"T1": "50.00", "T2": "25.00", "T3": "25.00"},
                     {"T1": 50.0, "T2": 50.0, "T3": 0.0}, {"T1": 50.0, "T2": 25.0, "T3": 25.0},
                     {"T1": 0.0, "T2": -25.0, "T3": 25.0},
                     id="zero-weight theme"),
        # W = 20 %, 80 %. Attributed 0 + 1000: shares 0, 100; gaps -20, +20.
        pytest.param({"T1": 1, "T2": 4}, {"T2": "10.00"}, {"T1": 20.0, "T2": 80.0}, {"T1": 0.0, "T2": 100.0},
                     {"T1": -20.0, "T2": 20.0}, id="theme without spend"),
    ],
)
def test_alignment_gap(tmp_path: Path, weights: dict[str, float], costs: dict[str | None, str],
                       expected_weight: dict[str, float], expected_share: dict[str, float],
                       expected_gap: dict[str, float]) -> None:
    # One initiative per theme, scored 5 on that theme only; the key None is an initiative with no link.
    initiatives = [initiative(f"I-{theme_id or 'none'}", cost) for theme_id, cost in costs.items()]
    alignment_rows = [row for theme_id in costs if theme_id for row in alignment(f"I-{theme_id}", {theme_id: 5})]
    portfolio = load_rows(
        tmp_path,
        themes=[{"theme_id": t, "name": f"Theme {t}", "weight": w} for t, w in weights.items()],
        initiatives=initiatives,
        alignment=alignment_rows,
    )
    inputs = prepare(portfolio)
    names = {t: f"Theme {t}" for t in weights}

    gap = alignment_gap(attribute_spend(inputs), ScoringParams.from_portfolio(portfolio), names)
    gap = gap.set_index("theme_id")

    assert list(gap.index) == list(weights)
    assert gap["weight_share"].to_dict() == pytest.approx(expected_weight)
    assert gap["spend_share"].to_dict() == pytest.approx(expected_share)
    assert gap["gap"].to_dict() == pytest.approx(expected_gap)
    assert gap["gap"].sum() == pytest.approx(0.0, abs=1e-9)
    assert gap["name"].to_dict() == names


def test_alignment_gap_without_themes(tmp_path: Path) -> None:
    portfolio = load_rows(tmp_path, initiatives=[initiative("A", "12.34")])
    inputs = prepare(portfolio)

    gap = alignment_gap(attribute_spend(inputs), ScoringParams.from_portfolio(portfolio), {})

    # No themes: an empty table, and the 12.34 of "no OKR link" is reported beside it.
    assert gap.empty
    assert list(gap.columns) == ["theme_id", "name", "spend", "spend_share", "weight_share", "gap"]
