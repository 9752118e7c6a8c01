"""Tests of the funding line and the segment money summary against hand-worked cases.

Unless a test notes otherwise, initiatives are strategic and scored on one theme
of weight 1, so S = SAI = 10 * a and the rank follows the alignment score a.
Costs are written in currency units and compared in cents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from portfolio_files import load_rows, write_portfolio

from portfolio.errors import InvalidPortfolioError
from portfolio.funding import RESULT_COLUMNS, evaluate, fits_in_headroom, funding_line, segment_funding
from portfolio.importing import require_portfolio
from portfolio.scoring import ScoringParams, prepare, rank_within_segments

THEMES = [{"theme_id": "T1", "name": "Theme T1", "weight": 1}]


def initiative(initiative_id: str, cost: str, segment: str = "strategic", **fields: Any) -> dict[str, Any]:
    return {"initiative_id": initiative_id, "name": f"Initiative {initiative_id}", "segment": segment,
            "cost": cost, **fields}


def strategic_tables(rows: list[tuple], envelope: str | None) -> dict[str, Any]:
    """Build tables from (initiative_id, alignment score, cost, flags...) rows; flags are "must" or "out"."""
    initiatives = []
    alignment = []
    for initiative_id, score, cost, *flags in rows:
        initiatives.append(initiative(initiative_id, cost, must_fund="yes" if "must" in flags else "no",
                                      force_out="yes" if "out" in flags else "no"))
        alignment.append({"initiative_id": initiative_id, "theme_id": "T1", "score": score})
    tables: dict[str, Any] = {"themes": THEMES, "initiatives": initiatives, "alignment": alignment}
    if envelope is not None:
        tables["budget"] = [{"segment": "strategic", "envelope": envelope}]
    return tables


def run(folder: Path, **tables: Any) -> tuple[pd.DataFrame, ScoringParams, tuple[str, ...]]:
    """Load and evaluate a portfolio; return the result, its parameters and its segments."""
    portfolio = load_rows(folder, **tables)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    return evaluate(inputs, params), params, inputs.segments


def funded_by_id(result: pd.DataFrame) -> dict[str, bool | None]:
    return {i: (None if pd.isna(f) else bool(f)) for i, f in zip(result["initiative_id"], result["funded"],
                                                                 strict=True)}


LINE_CASES = [
    # Running totals 40, 90 <= 100, then 110 > 100.
    pytest.param("100.00", [("A", 9, "40.00"), ("B", 8, "50.00"), ("C", 7, "20.00")],
                 {"A": True, "B": True, "C": False}, id="cuts at envelope"),
    # Running totals 40, 100 <= 100: a total equal to the envelope is funded.
    pytest.param("100.00", [("A", 9, "40.00"), ("B", 8, "60.00")],
                 {"A": True, "B": True}, id="total equal to envelope"),
    # 40; B at 110 > 100 ends the line; C (10) would fit at 50 but is below the line.
    pytest.param("100.00", [("A", 9, "40.00"), ("B", 8, "70.00"), ("C", 7, "10.00")],
                 {"A": True, "B": False, "C": False}, id="first misfit ends line"),
    # Must-fund C goes first: C 40, A 90, B 120 > 100. By rank alone it would be A 50, B 80, C 120.
    pytest.param("100.00", [("A", 9, "50.00"), ("B", 8, "30.00"), ("C", 7, "40.00", "must")],
                 {"A": True, "B": False, "C": True}, id="must fund first"),
    # A 40; B is forced out and skipped although 500 would not fit; C 100 <= 100.
    pytest.param("100.00", [("A", 9, "40.00"), ("B", 8, "500.00", "out"), ("C", 7, "60.00")],
                 {"A": True, "B": False, "C": True}, id="force out skipped"),
    # A force_out that costs nothing is still never funded.
    pytest.param("100.00", [("A", 9, "0.00", "out"), ("B", 8, "10.00")],
                 {"A": False, "B": True}, id="force out zero cost"),
    # Must-fund M2 (a = 2) 50, M1 (a = 1) 130: both funded over the envelope; A at 140 > 100 is not.
    pytest.param("100.00", [("A", 9, "10.00"), ("M1", 1, "80.00", "must"), ("M2", 2, "50.00", "must")],
                 {"A": False, "M1": True, "M2": True}, id="must fund overrun"),
    # A 100; Z at 100 + 0 = 100 <= 100; C at 110 > 100.
    pytest.param("100.00", [("A", 9, "100.00"), ("Z", 8, "0.00"), ("C", 7, "10.00")],
                 {"A": True, "Z": True, "C": False}, id="zero cost at full envelope"),
    # A 100; C at 110 ends the line; Z costs nothing but ranks below the misfit.
    pytest.param("100.00", [("A", 9, "100.00"), ("C", 8, "10.00"), ("Z", 7, "0.00")],
                 {"A": True, "C": False, "Z": False}, id="zero cost below misfit"),
    # Envelope 0: Z at 0 <= 0; A at 10 > 0.
    pytest.param("0", [("Z", 9, "0.00"), ("A", 8, "10.00")],
                 {"Z": True, "A": False}, id="zero envelope"),
    # Cents count: 60.00 + 40.01 = 100.01 > 100.00.
    pytest.param("100.00", [("A", 9, "60.00"), ("B", 8, "40.01")],
                 {"A": True, "B": False}, id="one cent over"),
]


@pytest.mark.parametrize(("envelope", "rows", "expected"), LINE_CASES)
def test_funding_line(tmp_path: Path, envelope: str, rows: list[tuple], expected: dict[str, bool]) -> None:
    result, _, _ = run(tmp_path, **strategic_tables(rows, envelope))

    assert funded_by_id(result) == expected


def test_funding_line_per_segment(tmp_path: Path) -> None:
    tables = strategic_tables([("A", 9, "60.00"), ("B", 8, "30.00")], "100.00")
    tables["initiatives"] += [
        # S(C) = 0.5*90 + 0.5*90 = 90 ranks before S(D) = 0.5*50 + 0.5*50 = 50
        initiative("C", "40.00", segment="compliance", risk=9, urgency=9),
        initiative("D", "20.00", segment="compliance", risk=5, urgency=5),
    ]
    tables["budget"] = [{"segment": "strategic", "envelope": "100.00"},
                        {"segment": "compliance", "envelope": "50.00"}]

    result, _, _ = run(tmp_path, **tables)

    # Strategic: 60, 90 <= 100. Compliance on its own total: 40, then 60 > 50.
    assert funded_by_id(result) == {"A": True, "B": True, "C": True, "D": False}


def test_funding_line_without_envelope(tmp_path: Path) -> None:
    tables = strategic_tables([("A", 9, "60.00"), ("B", 8, "30.00", "must"), ("C", 7, "10.00", "out")], None)
    tables["initiatives"].append(initiative("D", "20.00", segment="compliance", risk=5, urgency=5))
    tables["budget"] = [{"segment": "compliance", "envelope": "50.00"}]

    result, params, segments = run(tmp_path, **tables)
    strategic = segment_funding(result, params, segments)[0]

    assert funded_by_id(result) == {"A": None, "B": None, "C": None, "D": True}
    assert strategic.envelope is None
    assert strategic.headroom is None
    assert strategic.overrun == 0
    # 60 + 30 + 10 proposed; nothing is funded without a line.
    assert strategic.proposed == 10_000
    assert strategic.funded == 0


def test_funding_unscored_is_unknown(tmp_path: Path) -> None:
    # No themes: SAI and the strategic S are undefined. Compliance is scored as usual.
    result, _, _ = run(
        tmp_path,
        initiatives=[
            initiative("M", "150.00", must_fund="yes"),
            initiative("X", "10.00"),
            initiative("Y", "200.00"),
            initiative("C", "40.00", segment="compliance", risk=5, urgency=5),
        ],
        budget=[{"segment": "strategic", "envelope": "100.00"}, {"segment": "compliance", "envelope": "50.00"}],
    )

    # M is must-fund, so funded even without S and over the envelope (150 > 100); X and Y cannot be placed.
    # C: 40 <= 50.
    assert funded_by_id(result) == {"M": True, "X": None, "Y": None, "C": True}


def test_funding_unscored_not_placed_against_line(tmp_path: Path) -> None:
    # S is set by hand so that one segment mixes scored and unscored initiatives.
    portfolio = load_rows(
        tmp_path,
        **strategic_tables([("M", 0, "50.00", "must"), ("A", 0, "40.00"), ("N", 0, "5.00"), ("B", 0, "10.00")],
                           "100.00"),
    )
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    segment_score = np.array([np.nan, 80.0, np.nan, 60.0])
    rank = rank_within_segments(inputs, segment_score, np.zeros(4))

    funded, known = funding_line(inputs, params, segment_score, rank)

    # Rank: A 1, B 2, then the unscored N (cost 5) 3 and M (cost 50) 4.
    assert rank.tolist() == [4, 1, 3, 2]
    # Must-fund M goes first and counts: M 50, A 90, B 100 <= 100. N is not placed, though 105 would not fit.
    assert funded.tolist() == [True, True, False, True]
    assert known.tolist() == [True, True, False, True]


def test_segment_funding_reports_overrun(tmp_path: Path) -> None:
    tables = strategic_tables([("A", 9, "10.00"), ("M1", 1, "80.00", "must"), ("M2", 2, "50.00", "must")],
                              "100.00")

    result, params, segments = run(tmp_path, **tables)
    strategic = segment_funding(result, params, segments)[0]

    assert strategic.segment == "strategic"
    assert strategic.envelope == 10_000
    # Proposed 10 + 80 + 50 = 140.00; funded M1 + M2 = 130.00; must-fund 130.00
    assert strategic.proposed == 14_000
    assert strategic.funded == 13_000
    assert strategic.must_fund == 13_000
    # Overrun 130.00 - 100.00 = 30.00; no headroom left
    assert strategic.overrun == 3_000
    assert strategic.headroom == 0
    assert strategic.count == 3
    assert strategic.funded_count == 2


def test_must_fund_overrun_is_flagged(tmp_path: Path) -> None:
    folder = write_portfolio(tmp_path, **strategic_tables([("M1", 1, "80.00", "must"), ("M2", 2, "50.00", "must")],
                                                          "100.00"))

    _, problems = require_portfolio(folder)

    assert [(p.severity, p.code) for p in problems if p.code == "must_fund_overrun"] == [
        ("warning", "must_fund_overrun")]


def test_fits_in_headroom(tmp_path: Path) -> None:
    # A 40; B at 110 ends the line; headroom 100 - 40 = 60. C (10) fits in it, B (70) does not,
    # and D is forced out.
    tables = strategic_tables([("A", 9, "40.00"), ("B", 8, "70.00"), ("C", 7, "10.00"), ("D", 6, "5.00", "out")],
                              "100.00")
    result, params, segments = run(tmp_path, **tables)
    strategic = segment_funding(result, params, segments)[0]

    fitting = fits_in_headroom(result, strategic)

    assert strategic.headroom == 6_000
    assert fitting["initiative_id"].tolist() == ["C"]


def test_fits_in_headroom_without_envelope(tmp_path: Path) -> None:
    result, params, segments = run(tmp_path, **strategic_tables([("A", 9, "40.00")], None))

    fitting = fits_in_headroom(result, segment_funding(result, params, segments)[0])

    assert fitting.empty


def test_must_fund_and_force_out_rejected(tmp_path: Path) -> None:
    # No alignment row, so that the rejected initiative is the only error.
    folder = write_portfolio(tmp_path, themes=THEMES,
                             initiatives=[initiative("A", "40.00", must_fund="yes", force_out="yes")])

    with pytest.raises(InvalidPortfolioError) as caught:
        require_portfolio(folder)

    assert [(p.code, p.initiative_id) for p in caught.value.problems if p.severity == "error"] == [
        ("must_fund_and_force_out", "A")]


def test_evaluate_keeps_file_order(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, **strategic_tables([("C", 7, "1.00"), ("A", 9, "1.00"), ("B", 8, "1.00")], None))

    assert result["initiative_id"].tolist() == ["C", "A", "B"]
    assert list(result.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert result["rank"].tolist() == [3, 1, 2]
    assert result["cost"].tolist() == [100, 100, 100]
