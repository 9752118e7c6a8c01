"""Tests of single-theme sensitivity and the Monte Carlo of funding under sampled weights.

Sensitivity figures are checked by recomputing the funding line with the
existing ``evaluate`` at the reported weight: one step past it the initiative
has crossed the line, one step before it has not. The Monte Carlo's
vectorized counts are checked against a loop of ``evaluate`` over the same
samples.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
from portfolio_files import load_rows

from portfolio.funding import evaluate
from portfolio.importing import DEMO_PATH, require_portfolio
from portfolio.models import LENS_CRITERIA
from portfolio.robustness import (
    CONTESTED,
    ROBUST_FUNDED,
    ROBUST_UNFUNDED,
    RobustnessError,
    describe_change,
    funded_counts,
    funding_probability,
    label,
    sample_weights,
    smallest_changes,
    theme_sensitivity,
    weight_sensitivity,
)
from portfolio.scoring import ScoringParams, prepare


def initiative(initiative_id: str, cost: str, segment: str = "strategic", **fields: Any) -> dict[str, Any]:
    return {"initiative_id": initiative_id, "name": f"Initiative {initiative_id}", "segment": segment,
            "cost": cost, **fields}


def two_theme_tables() -> dict[str, Any]:
    """A: T1 8, T2 2 (SAI 50); B: T1 2, T2 6 (SAI 40); 60 each in an envelope of 100, so only A is funded.

    Raising T2's weight to 1.5 (share 50 % to 60 %) ties them; so does lowering T1's to 2/3 (50 % to 40 %).
    """
    return {
        "themes": [{"theme_id": "T1", "name": "One", "weight": 1}, {"theme_id": "T2", "name": "Two", "weight": 1}],
        "initiatives": [initiative("A", "60", urgency=5, risk=5), initiative("B", "60", urgency=4, risk=4)],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 8},
                      {"initiative_id": "A", "theme_id": "T2", "score": 2},
                      {"initiative_id": "B", "theme_id": "T1", "score": 2},
                      {"initiative_id": "B", "theme_id": "T2", "score": 6}],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }


def random_tables(seed: int, size: int = 24) -> dict[str, Any]:
    """A random portfolio with scores to three decimals, so that exact ties between initiatives are unlikely."""
    rng = random.Random(seed)
    themes = [{"theme_id": f"T{n}", "name": f"Theme {n}", "weight": rng.randint(1, 9)} for n in range(4)]
    initiatives, alignment = [], []
    for number in range(size):
        initiative_id = f"I{number:02d}"
        flag = rng.random()
        initiatives.append(initiative(
            initiative_id, f"{rng.randint(5, 60)}.{rng.randint(0, 99):02d}",
            segment=rng.choice(["strategic", "strategic", "compliance", "infrastructure"]),
            must_fund="yes" if flag < 0.08 else "no", force_out="yes" if 0.08 <= flag < 0.14 else "no",
            **{c: round(rng.uniform(0, 10), 3) for c in ("business_value", "urgency", "risk", "financial_return",
                                                          "technical_necessity")}))
        for theme in themes:
            if rng.random() < 0.75:
                alignment.append({"initiative_id": initiative_id, "theme_id": theme["theme_id"],
                                  "score": round(rng.uniform(0, 8.9), 3)})
    return {
        "themes": themes, "initiatives": initiatives, "alignment": alignment,
        "budget": [{"segment": "strategic", "envelope": "200"}, {"segment": "compliance", "envelope": "60"}],
        "lenses": [{"segment": "strategic", "criterion": "sai", "weight": 0.7},
                   {"segment": "strategic", "criterion": "business_value", "weight": 0.3},
                   {"segment": "compliance", "criterion": "risk", "weight": 0.5},
                   {"segment": "compliance", "criterion": "urgency", "weight": 0.3},
                   {"segment": "compliance", "criterion": "sai", "weight": 0.2}],
    }


def setup(folder, tables: dict[str, Any]):
    portfolio = load_rows(folder, **tables)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    return inputs, params, evaluate(inputs, params)


def funded_at(inputs, params: ScoringParams, theme_id: str, weight: float, initiative_id: str) -> bool:
    row = int(np.flatnonzero(inputs.ids == initiative_id)[0])
    result = evaluate(inputs, params.with_theme_weights({theme_id: max(weight, 0.0)}))
    return bool(result["funded"].iloc[row])


def assert_crossings_verified(inputs, params: ScoringParams, sensitivity: pd.DataFrame) -> int:
    """Recompute the line one step either side of every reported crossing; return how many were checked."""
    checked = 0
    for row in sensitivity.dropna(subset=["new_weight"]).itertuples():
        toward = 1.0 if row.side == "increase" else -1.0
        step = max(abs(row.new_weight), 1.0) * 1e-7
        before = row.new_weight - toward * step
        if (before - row.weight) * toward < 0:
            before = row.weight
        past = funded_at(inputs, params, row.theme_id, row.new_weight + toward * step, row.initiative_id)
        still = funded_at(inputs, params, row.theme_id, before, row.initiative_id)
        assert past != row.funded, (row.initiative_id, row.theme_id, row.side, "has not crossed past the change")
        assert still == row.funded, (row.initiative_id, row.theme_id, row.side, "crossed before the change")
        checked += 1
    return checked


# --- single-theme sensitivity ----------------------------------------------------------------------


def test_sensitivity_hand_computed(tmp_path):
    inputs, params, result = setup(tmp_path, two_theme_tables())
    sensitivity = weight_sensitivity(inputs, params, result).set_index(["initiative_id", "theme_id", "side"])

    assert sensitivity.loc[("B", "T2", "increase"), "new_weight"] == pytest.approx(1.5)
    assert sensitivity.loc[("B", "T2", "increase"), "change_pp"] == pytest.approx(10.0)
    assert sensitivity.loc[("B", "T1", "decrease"), "new_weight"] == pytest.approx(2 / 3)
    assert sensitivity.loc[("B", "T1", "decrease"), "change_pp"] == pytest.approx(-10.0)
    assert sensitivity.loc[("B", "T2", "increase"), "crossing"] == "into funding"
    assert sensitivity.loc[("A", "T2", "increase"), "crossing"] == "out of funding"
    assert np.isnan(sensitivity.loc[("B", "T2", "decrease"), "change_pp"])
    assert np.isnan(sensitivity.loc[("B", "T1", "increase"), "change_pp"])


def test_sensitivity_hand_case_recomputed(tmp_path):
    inputs, params, result = setup(tmp_path, two_theme_tables())

    assert assert_crossings_verified(inputs, params, weight_sensitivity(inputs, params, result)) == 4


@pytest.mark.parametrize("seed", range(6))
def test_sensitivity_recomputed_random(tmp_path, seed):
    inputs, params, result = setup(tmp_path, random_tables(seed))
    sensitivity = weight_sensitivity(inputs, params, result, window=None)

    assert assert_crossings_verified(inputs, params, sensitivity) > 0


def test_sensitivity_recomputed_demo():
    portfolio, _ = require_portfolio(DEMO_PATH)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    sensitivity = weight_sensitivity(inputs, params, window=4)

    assert assert_crossings_verified(inputs, params, sensitivity) > 10


def test_sensitivity_window_limits_rows(tmp_path):
    inputs, params, result = setup(tmp_path, random_tables(1, 40))
    narrow = weight_sensitivity(inputs, params, result, window=2)
    every = weight_sensitivity(inputs, params, result, window=None)

    assert narrow["initiative_id"].nunique() < every["initiative_id"].nunique()
    assert narrow["initiative_id"].nunique() <= 2 * 2 * 2


def test_smallest_changes_one_per_initiative(tmp_path):
    inputs, params, result = setup(tmp_path, two_theme_tables())
    smallest = smallest_changes(weight_sensitivity(inputs, params, result))

    assert sorted(smallest["initiative_id"]) == ["A", "B"]
    assert smallest["change_pp"].abs().tolist() == pytest.approx([10.0, 10.0])


def test_theme_sensitivity_counts_bands(tmp_path):
    inputs, params, result = setup(tmp_path, two_theme_tables())
    counts = theme_sensitivity(weight_sensitivity(inputs, params, result)).set_index("theme_id")

    assert counts.loc["T1", "within_5"] == 0
    assert counts.loc["T1", "within_10"] == 2
    assert counts.loc["T2", "within_10"] == 2
    assert counts.loc["T2", "nearest_pp"] == pytest.approx(10.0)


def test_sensitivity_undefined_sai(tmp_path):
    tables = two_theme_tables()
    tables["themes"] = [{**t, "weight": 0} for t in tables["themes"]]
    inputs, params, result = setup(tmp_path, tables)

    with pytest.raises(RobustnessError, match="SAI is undefined"):
        weight_sensitivity(inputs, params, result)


# --- Monte Carlo -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_monte_carlo_high_concentration_equals_line(tmp_path, seed):
    inputs, params, result = setup(tmp_path, random_tables(seed))
    frame = funding_probability(inputs, params, concentration=1e12, samples=50, seed=seed, result=result)
    known = frame["funded"].notna().to_numpy()

    assert set(np.unique(frame.loc[known, "probability"])) <= {0.0, 1.0}
    assert frame.loc[known, "probability"].tolist() == frame.loc[known, "funded"].astype(float).tolist()
    assert frame.loc[~known, "probability"].isna().all()


def test_monte_carlo_reproducible(tmp_path):
    inputs, params, result = setup(tmp_path, random_tables(2))
    first = funding_probability(inputs, params, concentration=20, samples=300, seed=42, result=result)
    second = funding_probability(inputs, params, concentration=20, samples=300, seed=42, result=result)

    assert first["probability"].equals(second["probability"])


def test_monte_carlo_chunks_do_not_change_counts(tmp_path):
    inputs, params, result = setup(tmp_path, random_tables(3))
    drawn = sample_weights(inputs, params, 10.0, 97, seed=5)

    assert np.array_equal(funded_counts(inputs, params, drawn, result, chunk=7),
                          funded_counts(inputs, params, drawn, result))


@pytest.mark.parametrize("seed", range(3))
def test_monte_carlo_matches_evaluate_loop(tmp_path, seed):
    inputs, params, result = setup(tmp_path, random_tables(seed))
    drawn = sample_weights(inputs, params, 5.0, 40, seed=seed)
    expected = np.zeros(inputs.size, dtype=np.int64)
    for sample in range(drawn.count):
        lenses = {segment: {c: float(w) for c, w in zip(LENS_CRITERIA, drawn.lenses[segment][sample], strict=True)
                            if w > 0} for segment in inputs.segments}
        themes = {t: float(w) for t, w in zip(inputs.theme_ids, drawn.themes[sample], strict=True)}
        sampled = params.model_copy(update={"theme_weights": themes, "lenses": lenses})
        expected += evaluate(inputs, sampled)["funded"].fillna(False).to_numpy(dtype=np.int64)

    assert np.array_equal(funded_counts(inputs, params, drawn, result), expected)


def test_monte_carlo_forced_and_unplaced(tmp_path):
    tables = random_tables(4)
    tables["initiatives"][0].update(segment="strategic", must_fund="yes", force_out="no")
    tables["initiatives"][1].update(segment="strategic", must_fund="no", force_out="yes")
    tables["initiatives"][2].update(segment="infrastructure", must_fund="no", force_out="no")
    inputs, params, result = setup(tmp_path, tables)
    frame = funding_probability(inputs, params, concentration=3, samples=200, seed=1, result=result)
    probability = frame.set_index("initiative_id")["probability"]

    assert probability["I00"] == 1.0
    assert probability["I01"] == 0.0
    assert np.isnan(probability["I02"])


def test_monte_carlo_low_concentration_contests(tmp_path):
    inputs, params, result = setup(tmp_path, random_tables(0, 40))
    frame = funding_probability(inputs, params, concentration=2, samples=400, seed=3, result=result)

    assert (frame["robustness"] == CONTESTED).any()


def test_monte_carlo_rejects_bad_settings(tmp_path):
    inputs, params, result = setup(tmp_path, random_tables(0))

    with pytest.raises(RobustnessError, match="concentration 0"):
        funding_probability(inputs, params, concentration=0, result=result)
    with pytest.raises(RobustnessError, match="sample count 0"):
        funding_probability(inputs, params, samples=0, result=result)


def test_monte_carlo_progress_reports_every_chunk(tmp_path):
    inputs, params, result = setup(tmp_path, random_tables(0))
    drawn = sample_weights(inputs, params, 10.0, 25, seed=0)
    calls: list[tuple[int, int]] = []
    funded_counts(inputs, params, drawn, result, progress=lambda done, total: calls.append((done, total)), chunk=10)

    assert calls == [(10, 25), (20, 25), (25, 25)]


def test_sample_weights_keep_zero_theme_at_zero(tmp_path):
    tables = random_tables(0)
    tables["themes"][0]["weight"] = 0
    inputs, params, _ = setup(tmp_path, tables)
    drawn = sample_weights(inputs, params, 10.0, 50, seed=0)

    assert np.all(drawn.themes[:, 0] == 0.0)
    assert np.allclose(drawn.themes.sum(axis=1), 1.0)


@pytest.mark.parametrize(("probability", "expected"), [
    (1.0, ROBUST_FUNDED), (0.9, ROBUST_FUNDED), (0.89, CONTESTED), (0.5, CONTESTED), (0.11, CONTESTED),
    (0.1, ROBUST_UNFUNDED), (0.0, ROBUST_UNFUNDED), (np.nan, ""),
])
def test_label_thresholds(probability, expected):
    assert label(np.array([probability]))[0] == expected


@pytest.mark.parametrize(("change", "expected"), [
    (0.8349, "raise Data by 0.83 pp"), (-4.75, "lower Data by 4.75 pp"), (0.001, "raise Data at all (tied now)"),
    (-0.0, "lower Data at all (tied now)"), (np.nan, ""),
])
def test_describe_change_words(change, expected):
    assert describe_change("Data", change) == expected
