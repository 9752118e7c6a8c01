"""Tests of SAI, urgency, segment scores, rank and quadrant against hand-computed values.

Every expected number comes from the scoring contract, worked out by hand in
the comment beside it. Scores are rounded to 9 decimal places by contract, so
values with a short decimal expansion are compared exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from portfolio_files import load_rows, write_portfolio

from portfolio.errors import UnknownThemeError
from portfolio.funding import evaluate
from portfolio.importing import require_portfolio
from portfolio.scoring import (
    QUADRANTS,
    ScoringParams,
    compute_sai,
    compute_segment_scores,
    prepare,
    quadrant_codes,
    rank_within_segments,
    sai_notice,
)


def theme(theme_id: str, weight: float) -> dict[str, Any]:
    return {"theme_id": theme_id, "name": f"Theme {theme_id}", "weight": weight}


def initiative(initiative_id: str, segment: str = "strategic", cost: str = "100.00", **fields: Any) -> dict[str, Any]:
    return {"initiative_id": initiative_id, "name": f"Initiative {initiative_id}", "segment": segment,
            "cost": cost, **fields}


def alignment(initiative_id: str, scores: dict[str, float]) -> list[dict[str, Any]]:
    return [{"initiative_id": initiative_id, "theme_id": t, "score": s} for t, s in scores.items()]


def evaluate_rows(folder: Path, **tables: Any) -> pd.DataFrame:
    """Load a portfolio written from rows and score it with its committed parameters, indexed by id."""
    portfolio = load_rows(folder, **tables)
    result = evaluate(prepare(portfolio), ScoringParams.from_portfolio(portfolio))
    return result.set_index("initiative_id")


# --- SAI ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "scores", "expected"),
    [
        # W = 3/4, 1/4: SAI = 100 * (0.75*10 + 0.25*5) / 10 = 87.5
        pytest.param({"T1": 3, "T2": 1}, {"T1": 10, "T2": 5}, 87.5, id="weights 3:1"),
        # Raw weights 30, 10 normalize to the same 0.75, 0.25: 87.5
        pytest.param({"T1": 30, "T2": 10}, {"T1": 10, "T2": 5}, 87.5, id="raw weights scale out"),
        # W = 1/2, 1/2, T2 absent counts 0: 100 * (0.5*4 + 0.5*0) / 10 = 20
        pytest.param({"T1": 1, "T2": 1}, {"T1": 4}, 20.0, id="absent score is zero"),
        # W = 0.25, 0.25, 0.5: 100 * (0.25*8 + 0.25*4 + 0.5*6) / 10 = 100 * 6 / 10 = 60
        pytest.param({"T1": 2, "T2": 2, "T3": 4}, {"T1": 8, "T2": 4, "T3": 6}, 60.0, id="three themes"),
        # W = 0, 1: the 10 on the zero-weight theme adds nothing: 100 * (1*6) / 10 = 60
        pytest.param({"T1": 0, "T2": 5}, {"T1": 10, "T2": 6}, 60.0, id="zero-weight theme"),
        # W = 1: 100 * 7.25 / 10 = 72.5
        pytest.param({"T1": 1}, {"T1": 7.25}, 72.5, id="decimal score"),
        # W = 1/8, 7/8: 100 * (10/8 + 70/8) / 10 = 100
        pytest.param({"T1": 1, "T2": 7}, {"T1": 10, "T2": 10}, 100.0, id="all tens"),
        # No alignment row at all: every a(i,t) = 0, so SAI = 0
        pytest.param({"T1": 1}, {}, 0.0, id="no alignment"),
    ],
)
def test_sai_normalizes_weights(tmp_path: Path, weights: dict[str, float], scores: dict[str, float],
                                expected: float) -> None:
    result = evaluate_rows(
        tmp_path,
        themes=[theme(t, w) for t, w in weights.items()],
        initiatives=[initiative("A")],
        alignment=alignment("A", scores),
    )

    assert result.loc["A", "sai"] == expected


def test_sai_rounds_exact_fifty(tmp_path: Path) -> None:
    # Weights 1, 1, 1 give W = 1/3 each. SAI = 100 * (4/3 + 10/3 + 1/3) / 10 = 100 * 5 / 10 = 50 exactly,
    # but binary floating point computes 49.999999999999986, which would fall below the threshold of 50.
    third = 1 / 3
    assert 100 * (third * 4 + third * 10 + third * 1) / 10 < 50

    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1), theme("T2", 1), theme("T3", 1)],
        # U = 100 * (0.5*5 + 0.5*5) / 10 = 50, exactly at the urgency threshold too
        initiatives=[initiative("A", urgency=5, risk=5)],
        alignment=alignment("A", {"T1": 4, "T2": 10, "T3": 1}),
    )

    assert result.loc["A", "sai"] == 50.0
    assert result.loc["A", "quadrant"] == "fund_now"


# --- urgency score -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency_rows", "criteria", "expected"),
    [
        # Default u = urgency 0.5, risk 0.5: 100 * (0.5*8 + 0.5*6) / (10 * 1) = 70
        pytest.param(None, {"urgency": 8, "risk": 6}, 70.0, id="default"),
        # 100 * (0.5*10 + 0.5*10) / 10 = 100
        pytest.param(None, {"urgency": 10, "risk": 10}, 100.0, id="default maximum"),
        # Missing risk counts 0: 100 * (0.5*7) / 10 = 35
        pytest.param(None, {"urgency": 7}, 35.0, id="default missing risk"),
        # Other criteria do not enter: 100 * (0.5*2 + 0.5*4) / 10 = 30
        pytest.param(None, {"urgency": 2, "risk": 4, "business_value": 10, "financial_return": 10,
                            "technical_necessity": 10}, 30.0, id="default ignores other criteria"),
        # u = urgency 3, risk 1: 100 * (3*8 + 1*4) / (10 * 4) = 2800 / 40 = 70
        pytest.param({"urgency": 3, "risk": 1}, {"urgency": 8, "risk": 4}, 70.0, id="custom 3:1"),
        # The file replaces the defaults: 100 * (1*6 + 1*9) / (10 * 2) = 75; urgency and risk of 10 do not count
        pytest.param({"business_value": 1, "technical_necessity": 1},
                     {"business_value": 6, "technical_necessity": 9, "urgency": 10, "risk": 10}, 75.0,
                     id="custom replaces defaults"),
        # u = urgency 2 only: 100 * (2*3.5) / (10 * 2) = 35
        pytest.param({"urgency": 2}, {"urgency": 3.5, "risk": 10}, 35.0, id="custom single criterion"),
        # u = urgency 1, risk 0: 100 * (1*6 + 0*10) / (10 * 1) = 60
        pytest.param({"urgency": 1, "risk": 0}, {"urgency": 6, "risk": 10}, 60.0, id="custom zero weight"),
    ],
)
def test_urgency_score(tmp_path: Path, urgency_rows: dict[str, float] | None, criteria: dict[str, float],
                       expected: float) -> None:
    tables: dict[str, Any] = {
        "themes": [theme("T1", 1)],
        "initiatives": [initiative("A", segment="compliance", **criteria)],
    }
    if urgency_rows is not None:
        tables["urgency"] = [{"criterion": c, "weight": w} for c, w in urgency_rows.items()]

    result = evaluate_rows(tmp_path, **tables)

    assert result.loc["A", "urgency"] == expected


# --- segment scores ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "lens_rows", "criteria", "scores", "expected"),
    [
        # Default strategic lens is sai 1.0. With W = 0.75, 0.25: S = SAI = 100 * (0.75*10 + 0.25*5) / 10 = 87.5
        pytest.param("strategic", [], {}, {"T1": 10, "T2": 5}, 87.5, id="strategic default"),
        # Default compliance lens risk 0.5, urgency 0.5: S = 0.5 * 10*6 + 0.5 * 10*9 = 30 + 45 = 75
        pytest.param("compliance", [], {"risk": 6, "urgency": 9}, {}, 75.0, id="compliance default"),
        # Default infrastructure lens: S = 0.5 * 10*4 + 0.5 * 10*7 = 20 + 35 = 55
        pytest.param("infrastructure", [], {"financial_return": 4, "technical_necessity": 7}, {}, 55.0,
                     id="infrastructure default"),
        # Lens run: technical_necessity 2, risk 1 normalize to 2/3, 1/3: S = 2/3 * 10*9 + 1/3 * 10*3 = 60 + 10 = 70
        pytest.param("run", [("run", "technical_necessity", 2), ("run", "risk", 1)],
                     {"technical_necessity": 9, "risk": 3}, {}, 70.0, id="run custom lens"),
        # Strategic lens sai 1, business_value 1: S = 0.5 * 87.5 + 0.5 * 10*4 = 43.75 + 20 = 63.75
        pytest.param("strategic", [("strategic", "sai", 1), ("strategic", "business_value", 1)],
                     {"business_value": 4}, {"T1": 10, "T2": 5}, 63.75, id="strategic lens with sai"),
        # Compliance lens replaced by risk 1 alone: S = 10*3 = 30; urgency 10 no longer counts
        pytest.param("compliance", [("compliance", "risk", 1)], {"risk": 3, "urgency": 10}, {}, 30.0,
                     id="compliance replaced"),
        # Infrastructure lens financial_return 1, technical_necessity 3: S = 0.25 * 80 + 0.75 * 40 = 20 + 30 = 50
        pytest.param("infrastructure", [("infrastructure", "financial_return", 1),
                                        ("infrastructure", "technical_necessity", 3)],
                     {"financial_return": 8, "technical_necessity": 4}, {}, 50.0, id="infrastructure 1:3"),
        # Lens run: risk 0.5, urgency 0.5 with urgency missing: S = 0.5 * 10*8 + 0.5 * 0 = 40
        pytest.param("run", [("run", "risk", 0.5), ("run", "urgency", 0.5)], {"risk": 8}, {}, 40.0,
                     id="missing criterion is zero"),
    ],
)
def test_segment_score(tmp_path: Path, segment: str, lens_rows: list[tuple[str, str, float]],
                       criteria: dict[str, float], scores: dict[str, float], expected: float) -> None:
    tables: dict[str, Any] = {
        "themes": [theme("T1", 3), theme("T2", 1)],
        "initiatives": [initiative("A", segment=segment, **criteria)],
        "alignment": alignment("A", scores),
    }
    if lens_rows:
        tables["lenses"] = [{"segment": s, "criterion": c, "weight": w} for s, c, w in lens_rows]

    result = evaluate_rows(tmp_path, **tables)

    assert result.loc["A", "segment_score"] == expected


def test_lenses_file_keeps_other_defaults(tmp_path: Path) -> None:
    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[
            initiative("R", segment="run", technical_necessity=9, risk=3),
            initiative("C", segment="compliance", risk=6, urgency=9),
        ],
        lenses=[{"segment": "run", "criterion": "technical_necessity", "weight": 2},
                {"segment": "run", "criterion": "risk", "weight": 1}],
    )

    # S(R) = 2/3 * 90 + 1/3 * 30 = 70
    assert result.loc["R", "segment_score"] == 70.0
    # Compliance keeps risk 0.5, urgency 0.5: S(C) = 0.5*60 + 0.5*90 = 75
    assert result.loc["C", "segment_score"] == 75.0


def test_segment_score_rounds_exact_fifty(tmp_path: Path) -> None:
    # Lens run: business_value, urgency, risk at 1/3 each. S = (40 + 100 + 10) / 3 = 50 exactly for Y,
    # and (100 + 40 + 10) / 3 = 50 for X; floating point gives 49.99999999999999 for Y.
    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[
            initiative("Y", segment="run", cost="200.00", business_value=4, urgency=10, risk=1),
            initiative("X", segment="run", cost="100.00", business_value=10, urgency=4, risk=1),
        ],
        lenses=[{"segment": "run", "criterion": c, "weight": 1} for c in ("business_value", "urgency", "risk")],
    )

    assert result.loc["Y", "segment_score"] == 50.0
    assert result.loc["X", "segment_score"] == 50.0


def test_missing_criterion_counts_as_zero(tmp_path: Path) -> None:
    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[initiative("C", segment="compliance", risk=8)],
    )

    # S = 0.5 * 10*8 + 0.5 * 10*0 = 40
    assert result.loc["C", "segment_score"] == 40.0
    # U = 100 * (0.5*0 + 0.5*8) / 10 = 40
    assert result.loc["C", "urgency"] == 40.0


def test_missing_criterion_is_flagged(tmp_path: Path) -> None:
    folder = write_portfolio(tmp_path, themes=[theme("T1", 1)],
                             initiatives=[initiative("C", segment="compliance", risk=8)])

    _, problems = require_portfolio(folder)

    flagged = [(p.severity, p.code, p.initiative_id, p.column) for p in problems if p.code == "missing_criterion"]
    assert flagged == [("warning", "missing_criterion", "C", "urgency")]


# --- rank ----------------------------------------------------------------------------

# Strategic initiatives scored on one theme of weight 1, so S = SAI = 10 * a and
# U = 100 * (0.5*urgency + 0.5*risk) / 10 = 5 * (urgency + risk).
RANK_CASES = [
    # S(X) = 60 < S(Y) = 80
    pytest.param([("X", 6, 5, 5, "100.00"), ("Y", 8, 5, 5, "100.00")], {"Y": 1, "X": 2}, id="score descending"),
    # S = 50 both; U(X) = 5*(4+4) = 40 < U(Y) = 5*(6+6) = 60
    pytest.param([("X", 5, 4, 4, "100.00"), ("Y", 5, 6, 6, "100.00")], {"Y": 1, "X": 2}, id="ties break on urgency"),
    # S = 50, U = 50 both; cost 200 > 100
    pytest.param([("X", 5, 5, 5, "200.00"), ("Y", 5, 5, 5, "100.00")], {"Y": 1, "X": 2}, id="ties break on cost"),
    # S, U and cost equal; "A" < "B" whatever the file order
    pytest.param([("B", 5, 5, 5, "100.00"), ("A", 5, 5, 5, "100.00")], {"A": 1, "B": 2}, id="ties break on id"),
    # S(X) = 60 beats S(Y) = 50 even though U(Y) = 100 > U(X) = 10
    pytest.param([("X", 6, 1, 1, "100.00"), ("Y", 5, 10, 10, "100.00")], {"X": 1, "Y": 2}, id="score before urgency"),
    # S equal; U(X) = 60 beats U(Y) = 50 even though X costs 900 and Y 0.01
    pytest.param([("X", 5, 6, 6, "900.00"), ("Y", 5, 5, 5, "0.01")], {"X": 1, "Y": 2}, id="urgency before cost"),
    # S, U equal; cost 0.01 beats id: "Z" ranks before "A"
    pytest.param([("A", 5, 5, 5, "0.02"), ("Z", 5, 5, 5, "0.01")], {"Z": 1, "A": 2}, id="cost before id"),
]


@pytest.mark.parametrize(("rows", "expected"), RANK_CASES)
def test_rank_order(tmp_path: Path, rows: list[tuple[str, float, float, float, str]],
                    expected: dict[str, int]) -> None:
    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[initiative(i, cost=cost, urgency=u, risk=r) for i, _, u, r, cost in rows],
        alignment=[row for i, a, _, _, _ in rows for row in alignment(i, {"T1": a})],
    )

    assert result["rank"].to_dict() == expected


def test_rank_consecutive_per_segment(tmp_path: Path) -> None:
    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[
            initiative("S1"),
            initiative("C1", segment="compliance", risk=2, urgency=2),
            initiative("S2"),
            initiative("C2", segment="compliance", risk=9, urgency=9),
            initiative("S3"),
        ],
        # S(S1) = 10*7 = 70, S(S2) = 90, S(S3) = 80; S(C1) = 20, S(C2) = 90
        alignment=[*alignment("S1", {"T1": 7}), *alignment("S2", {"T1": 9}), *alignment("S3", {"T1": 8})],
    )

    assert result["rank"].to_dict() == {"S1": 3, "C1": 2, "S2": 1, "C2": 1, "S3": 2}


def test_rank_ties_survive_float_noise(tmp_path: Path) -> None:
    # S(Y) = S(X) = 50 exactly (see test_segment_score_rounds_exact_fifty), though floats put Y a hair below.
    # The tie then breaks on U: U(Y) = 5 * (10 + 1) = 55 > U(X) = 5 * (4 + 1) = 25. Cost (Y 200 > X 100)
    # and id ("X" < "Y") would both favour X, so only the urgency tie-break ranks Y first.
    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[
            initiative("Y", segment="run", cost="200.00", business_value=4, urgency=10, risk=1),
            initiative("X", segment="run", cost="100.00", business_value=10, urgency=4, risk=1),
        ],
        lenses=[{"segment": "run", "criterion": c, "weight": 1} for c in ("business_value", "urgency", "risk")],
    )

    assert result["rank"].to_dict() == {"Y": 1, "X": 2}


def test_rank_puts_unscored_last(tmp_path: Path) -> None:
    portfolio = load_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[
            initiative("P", cost="100.00"),
            initiative("Q", cost="100.00"),
            initiative("R", cost="100.00"),
            initiative("S", cost="100.00"),
            initiative("T", cost="50.00"),
            initiative("V", cost="50.00"),
        ],
    )
    inputs = prepare(portfolio)
    # Scored P (80) and R (60) first. Unscored, by U: S (70), then T, V, Q at U 30: T and V cost 50 < Q's 100,
    # and "T" < "V".
    segment_score = np.array([80.0, np.nan, 60.0, np.nan, np.nan, np.nan])
    urgency = np.array([10.0, 30.0, 90.0, 70.0, 30.0, 30.0])

    rank = rank_within_segments(inputs, segment_score, urgency)

    assert dict(zip(inputs.ids, rank.tolist(), strict=True)) == {"P": 1, "R": 2, "S": 3, "T": 4, "V": 5, "Q": 6}


# --- quadrant ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sai", "urgency", "tau_a", "tau_u", "expected"),
    [
        pytest.param(50.0, 50.0, 50, 50, "fund_now", id="both at threshold"),
        pytest.param(50.0, 49.999999999, 50, 50, "can_wait", id="urgency just below"),
        pytest.param(49.999999999, 50.0, 50, 50, "fund_regardless", id="sai just below"),
        pytest.param(49.999999999, 49.999999999, 50, 50, "challenge", id="both just below"),
        pytest.param(100.0, 0.0, 50, 50, "can_wait", id="aligned not urgent"),
        pytest.param(0.0, 100.0, 50, 50, "fund_regardless", id="urgent not aligned"),
        pytest.param(60.0, 40.0, 60, 40, "fund_now", id="custom thresholds met"),
        pytest.param(55.0, 45.0, 60, 40, "fund_regardless", id="custom alignment threshold"),
        pytest.param(0.0, 0.0, 0, 0, "fund_now", id="zero thresholds"),
    ],
)
def test_quadrant_boundaries(sai: float, urgency: float, tau_a: float, tau_u: float, expected: str) -> None:
    codes = quadrant_codes(np.array([sai]), np.array([urgency]), tau_a, tau_u)

    assert QUADRANTS[codes[0]] == expected


def test_quadrant_undefined_without_sai() -> None:
    codes = quadrant_codes(np.array([np.nan, 70.0]), np.array([80.0, 80.0]), 50, 50)

    assert codes.tolist() == [-1, QUADRANTS.index("fund_now")]


@pytest.mark.parametrize(
    ("scores", "criteria", "expected"),
    [
        # SAI = 10*6 = 60 >= 60, U = 5*(4+4) = 40 >= 40
        pytest.param({"T1": 6}, {"urgency": 4, "risk": 4}, "fund_now", id="at both thresholds"),
        # SAI = 10*5.999 = 59.99 < 60, U = 40
        pytest.param({"T1": 5.999}, {"urgency": 4, "risk": 4}, "fund_regardless", id="sai below"),
        # SAI = 60, U = 5*(3.999+4) = 39.995 < 40
        pytest.param({"T1": 6}, {"urgency": 3.999, "risk": 4}, "can_wait", id="urgency below"),
        # SAI = 50 < 60, U = 5*(3+3) = 30 < 40
        pytest.param({"T1": 5}, {"urgency": 3, "risk": 3}, "challenge", id="both below"),
    ],
)
def test_quadrant_uses_settings_thresholds(tmp_path: Path, scores: dict[str, float], criteria: dict[str, float],
                                           expected: str) -> None:
    result = evaluate_rows(
        tmp_path,
        themes=[theme("T1", 1)],
        initiatives=[initiative("A", **criteria)],
        alignment=alignment("A", scores),
        settings=[{"key": "alignment_threshold", "value": 60}, {"key": "urgency_threshold", "value": 40}],
    )

    assert result.loc["A", "quadrant"] == expected


# --- unjustified high scores -----------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "score", "justification", "expected"),
    [
        # One theme of weight 1, so SAI = 10 * a.
        # cap: an unjustified 10 counts as 8: SAI = 80
        pytest.param({"unjustified_high_scores": "cap"}, 10, None, 80.0, id="cap unjustified ten"),
        # cap: a justified 10 stays: SAI = 100
        pytest.param({"unjustified_high_scores": "cap"}, 10, "Moves the key result.", 100.0, id="cap justified ten"),
        # count: an unjustified 10 counts as given: SAI = 100
        pytest.param({"unjustified_high_scores": "count"}, 10, None, 100.0, id="count unjustified ten"),
        # No settings file: the default is count: SAI = 100
        pytest.param({}, 10, None, 100.0, id="default counts"),
        # cap: an unjustified 9 is at the default threshold 9 and counts as 8: SAI = 80
        pytest.param({"unjustified_high_scores": "cap"}, 9, None, 80.0, id="cap unjustified nine"),
        # cap with threshold 10: an unjustified 9 needs no justification and stays: SAI = 90
        pytest.param({"unjustified_high_scores": "cap", "justification_threshold": 10}, 9, None, 90.0,
                     id="cap below threshold"),
        # cap with threshold 8.5: an unjustified 8.5 counts as 8: SAI = 80
        pytest.param({"unjustified_high_scores": "cap", "justification_threshold": 8.5}, 8.5, None, 80.0,
                     id="cap custom threshold"),
        # cap with threshold 6: an unjustified 7 is flagged but capping at 8 leaves it 7: SAI = 70
        pytest.param({"unjustified_high_scores": "cap", "justification_threshold": 6}, 7, None, 70.0,
                     id="cap never raises a score"),
    ],
)
def test_unjustified_high_scores(tmp_path: Path, settings: dict[str, Any], score: float, justification: str | None,
                                 expected: float) -> None:
    tables: dict[str, Any] = {
        "themes": [theme("T1", 1)],
        "initiatives": [initiative("A")],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": score, "justification": justification}],
    }
    if settings:
        tables["settings"] = [{"key": k, "value": v} for k, v in settings.items()]

    result = evaluate_rows(tmp_path, **tables)

    assert result.loc["A", "sai"] == expected


# --- what-if weights ---------------------------------------------------------------------


def two_theme_inputs(tmp_path: Path) -> tuple[Any, ScoringParams]:
    portfolio = load_rows(
        tmp_path,
        themes=[theme("T1", 1), theme("T2", 1)],
        initiatives=[initiative("A")],
        alignment=alignment("A", {"T1": 10, "T2": 5}),
    )
    return prepare(portfolio), ScoringParams.from_portfolio(portfolio)


def test_with_theme_weights_overrides_weight(tmp_path: Path) -> None:
    inputs, params = two_theme_inputs(tmp_path)

    changed = params.with_theme_weights({"T1": 3})

    # Committed W = 1/2, 1/2: SAI = 100 * (0.5*10 + 0.5*5) / 10 = 75
    assert compute_sai(inputs, params).tolist() == [75.0]
    # What-if W = 3/4, 1/4: SAI = 100 * (0.75*10 + 0.25*5) / 10 = 87.5
    assert compute_sai(inputs, changed).tolist() == [87.5]
    assert changed.theme_weights == {"T1": 3.0, "T2": 1.0}
    assert params.theme_weights == {"T1": 1.0, "T2": 1.0}


def test_with_theme_weights_rejects_unknown_theme(tmp_path: Path) -> None:
    _, params = two_theme_inputs(tmp_path)

    with pytest.raises(UnknownThemeError, match="T9") as caught:
        params.with_theme_weights({"T9": 2})

    assert isinstance(caught.value, LookupError)


def test_with_theme_weights_rejects_negative(tmp_path: Path) -> None:
    _, params = two_theme_inputs(tmp_path)

    with pytest.raises(ValueError, match="negative"):
        params.with_theme_weights({"T1": -1})


def test_with_theme_weights_all_zero(tmp_path: Path) -> None:
    inputs, params = two_theme_inputs(tmp_path)

    changed = params.with_theme_weights({"T1": 0, "T2": 0})

    assert np.isnan(compute_sai(inputs, changed)).all()
    assert sai_notice(inputs, changed)
    assert sai_notice(inputs, params) is None


# --- SAI undefined -------------------------------------------------------------------------

UNDEFINED_CASES = [
    pytest.param([], [], id="no themes"),
    pytest.param([theme("T1", 0), theme("T2", 0)],
                 [*alignment("S1", {"T1": 9, "T2": 4}), *alignment("S2", {"T1": 3})], id="all weights zero"),
]


@pytest.mark.parametrize(("themes", "alignment_rows"), UNDEFINED_CASES)
def test_sai_undefined(tmp_path: Path, themes: list[dict[str, Any]], alignment_rows: list[dict[str, Any]]) -> None:
    portfolio = load_rows(
        tmp_path,
        themes=themes,
        initiatives=[
            # U(S1) = 5*(6+4) = 50, U(S2) = 5*(7+7) = 70
            initiative("S1", urgency=6, risk=4),
            initiative("S2", urgency=7, risk=7),
            # S(C1) = 0.5*60 + 0.5*90 = 75, U(C1) = 5*(9+6) = 75
            initiative("C1", segment="compliance", risk=6, urgency=9),
            # S(F1) = 0.5*40 + 0.5*70 = 55, U(F1) = 0 (urgency and risk missing)
            initiative("F1", segment="infrastructure", financial_return=4, technical_necessity=7),
        ],
        alignment=alignment_rows,
    )
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)

    result = evaluate(inputs, params).set_index("initiative_id")

    assert result["sai"].isna().all()
    assert result.loc[["S1", "S2"], "segment_score"].isna().all()
    assert result.loc["C1", "segment_score"] == 75.0
    assert result.loc["F1", "segment_score"] == 55.0
    assert result["urgency"].to_dict() == {"S1": 50.0, "S2": 70.0, "C1": 75.0, "F1": 0.0}
    assert result["quadrant"].isna().all()
    # Without S the strategic initiatives rank by U alone: S2 (70) before S1 (50).
    assert result.loc[["S1", "S2"], "rank"].to_dict() == {"S1": 2, "S2": 1}
    assert sai_notice(inputs, params)


@pytest.mark.parametrize(("themes", "alignment_rows"), UNDEFINED_CASES)
def test_sai_undefined_lens_without_sai(tmp_path: Path, themes: list[dict[str, Any]],
                                        alignment_rows: list[dict[str, Any]]) -> None:
    # A strategic lens that does not use sai still scores: S = 10 * 6 = 60.
    portfolio = load_rows(
        tmp_path,
        themes=themes,
        initiatives=[initiative("S1", business_value=6), initiative("S2", business_value=6)],
        alignment=alignment_rows,
        lenses=[{"segment": "strategic", "criterion": "business_value", "weight": 1}],
    )
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    sai = compute_sai(inputs, params)

    segment_score = compute_segment_scores(inputs, params, sai)

    assert segment_score.tolist() == [60.0, 60.0]

