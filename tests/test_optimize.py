"""Tests of the optimal selection and the efficient frontier, against brute force over every subset.

The brute force applies the rules of :mod:`portfolio.optimize` on its own.
Forced initiatives (must-fund and what they require) are in, and forced-out
or unscored ones are out unless forced. Every dependency of a funded
initiative is funded, and a requirement in a segment without an envelope is
met only when it is must-fund. Each envelope is respected, unless the forced
initiatives alone exceed it: then the segment's selection is the forced set.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from portfolio_files import load_rows, write_portfolio
from streamlit.testing.v1 import AppTest

from portfolio.cli import main
from portfolio.funding import evaluate
from portfolio.models import Portfolio
from portfolio.optimize import (
    FRONTIER_STEPS,
    OBJECTIVES,
    dependency_pairs,
    efficient_frontier,
    frontier_budgets,
    objective_values,
    optimize,
)
from portfolio.scoring import ScoringParams, prepare

THEMES = [{"theme_id": "T1", "name": "Theme 1", "weight": 3}, {"theme_id": "T2", "name": "Theme 2", "weight": 1}]


def initiative(initiative_id: str, cost: str, segment: str = "strategic", **fields: Any) -> dict[str, Any]:
    return {"initiative_id": initiative_id, "name": f"Initiative {initiative_id}", "segment": segment,
            "cost": cost, **fields}


def random_tables(seed: int, size: int) -> dict[str, Any]:
    """Build a small random portfolio: two segments with envelopes, one without, ties and zero costs likely."""
    rng = random.Random(seed)
    segments = ["strategic", "compliance", "infrastructure"]
    initiatives, alignment = [], []
    for number in range(size):
        initiative_id = f"I{number:02d}"
        flag = rng.random()
        must, out = flag < 0.15, 0.15 <= flag < 0.25
        initiatives.append(initiative(
            initiative_id, f"{rng.choice([0, 10, 20, 20, 30, 40, 50, 70])}.{rng.choice(['00', '50'])}",
            segment=rng.choice(segments), must_fund="yes" if must else "no", force_out="yes" if out else "no",
            urgency=rng.randint(0, 10), risk=rng.randint(0, 10), financial_return=rng.randint(0, 10),
            technical_necessity=rng.randint(0, 10), business_value=rng.randint(0, 10)))
        for theme in ("T1", "T2"):
            if rng.random() < 0.7:
                alignment.append({"initiative_id": initiative_id, "theme_id": theme, "score": rng.randint(0, 8)})

    ids = [row["initiative_id"] for row in initiatives]
    pairs = set()
    for _ in range(rng.randint(0, size // 2 + 2)):
        a, b = rng.sample(ids, 2)
        pairs.add((a, b))
    dependencies = [{"initiative_id": a, "requires_id": b} for a, b in sorted(pairs)]

    budget = [{"segment": "strategic", "envelope": f"{rng.choice([0, 40, 60, 90, 120])}.00"},
              {"segment": "compliance", "envelope": f"{rng.choice([0, 30, 50, 80])}.00"}]
    # Every fifth portfolio has no theme weight, so its strategic initiatives have no segment score.
    themes = [{**t, "weight": 0} for t in THEMES] if seed % 5 == 4 else THEMES
    tables: dict[str, Any] = {"themes": themes, "initiatives": initiatives, "alignment": alignment,
                              "budget": budget}
    if dependencies:
        tables["dependencies"] = dependencies
    return tables


def brute_force(portfolio: Portfolio, params: ScoringParams, objective: str) -> tuple[float, list[set[int]]]:
    """Return the best total value over every feasible selection, and every selection reaching it."""
    inputs = prepare(portfolio)
    result = evaluate(inputs, params)
    score = result["segment_score"].to_numpy(dtype=float)
    values = np.nan_to_num(objective_values(score, inputs.cost, objective), nan=0.0)
    decided = [s in params.envelopes for s in np.array(inputs.segments)[inputs.segment_codes]]
    size = inputs.size
    pairs = [tuple(p) for p in dependency_pairs(inputs, portfolio.dependencies)]

    forced = {i for i in range(size) if inputs.must_fund[i]}
    conflicts = set()
    changed = True
    while changed:
        changed = False
        for i, j in pairs:
            if i in forced and j not in forced:
                if decided[j] and not inputs.force_out[j]:
                    forced.add(j)
                    changed = True
                else:
                    conflicts.add((i, j))

    def feasible(chosen: set[int]) -> bool:
        if not forced & set(np.flatnonzero(decided)) <= chosen:
            return False
        for i in chosen:
            if inputs.force_out[i] or (np.isnan(score[i]) and i not in forced):
                return False
        for i, j in pairs:
            if i in chosen and (i, j) not in conflicts:
                if decided[j] and j not in chosen:
                    return False
                if not decided[j] and not inputs.must_fund[j]:
                    return False
        for code, segment in enumerate(inputs.segments):
            if segment not in params.envelopes:
                continue
            rows = {i for i in range(size) if inputs.segment_codes[i] == code}
            forced_cost = sum(int(inputs.cost[i]) for i in forced & rows)
            if forced_cost > params.envelopes[segment]:
                if chosen & rows != forced & rows:
                    return False
            elif sum(int(inputs.cost[i]) for i in chosen & rows) > params.envelopes[segment]:
                return False
        return True

    candidates = [i for i in range(size) if decided[i]]
    best, winners = -np.inf, []
    for count in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, count):
            chosen = set(subset)
            if not feasible(chosen):
                continue
            total = float(values[list(chosen)].sum()) if chosen else 0.0
            if total > best + 1e-9:
                best, winners = total, [chosen]
            elif total >= best - 1e-9:
                winners.append(chosen)
    return best, winners


def solve_folder(folder: Path, objective: str = "score", **tables: Any):
    portfolio = load_rows(folder, **tables)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    return portfolio, params, optimize(inputs, params, portfolio.dependencies, objective)


def funded_set(frame: pd.DataFrame) -> set[int]:
    return set(np.flatnonzero(frame["funded_optimal"].fillna(False).to_numpy(dtype=bool)))


@pytest.mark.parametrize("objective", list(OBJECTIVES))
@pytest.mark.parametrize("seed", range(30))
def test_optimize_matches_brute_force(tmp_path, seed, objective):
    size = 6 + seed % 7
    portfolio, params, optimization = solve_folder(tmp_path, objective, **random_tables(seed, size))
    best, winners = brute_force(portfolio, params, objective)
    chosen = funded_set(optimization.frame)

    total = sum(s.value_optimal for s in optimization.segments)
    assert total == pytest.approx(best, abs=1e-6)
    assert chosen in winners


def test_optimize_fills_gap_line_leaves(tmp_path):
    # Line: A (40) fits, B (70) does not and ends it; the optimum is A + C + D = 100.
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "40"), initiative("B", "70"), initiative("C", "30"), initiative("D", "30")],
        "alignment": [{"initiative_id": i, "theme_id": "T1", "score": s} for i, s in
                      (("A", 9), ("B", 8), ("C", 7), ("D", 6))],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)
    summary = optimization.segment("strategic")

    assert summary.added == ("C", "D")
    assert summary.dropped == ()
    assert summary.value_rank == pytest.approx(90.0)
    assert summary.value_optimal == pytest.approx(220.0)
    assert summary.value_gained == pytest.approx(130.0)
    assert summary.cost_optimal == 10_000
    assert summary.money_change == 6_000


def test_optimize_swaps_for_more_value(tmp_path):
    # The line funds A (60, score 90); B and C (50 each, 80 and 70) are worth more together.
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "60"), initiative("B", "50"), initiative("C", "50")],
        "alignment": [{"initiative_id": i, "theme_id": "T1", "score": s} for i, s in (("A", 9), ("B", 8), ("C", 7))],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)
    summary = optimization.segment("strategic")

    assert summary.added == ("B", "C")
    assert summary.dropped == ("A",)
    assert summary.value_optimal == pytest.approx(150.0)


def test_optimize_score_cost_prefers_size(tmp_path):
    # Score × cost: B (score 50, cost 100) is worth 50 × 100 / 100 = 50 against A's 90 × 10 / 100 = 9.
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "10"), initiative("B", "100")],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 9},
                      {"initiative_id": "B", "theme_id": "T1", "score": 5}],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }
    _, _, by_score = solve_folder(tmp_path / "score", "score", **tables)
    _, _, by_size = solve_folder(tmp_path / "size", "score_cost", **tables)

    assert funded_ids(by_score) == {"A"}
    assert funded_ids(by_size) == {"B"}
    assert by_size.segment("strategic").value_optimal == pytest.approx(50.0 * 10_000 / 100)


def funded_ids(optimization) -> set[str]:
    frame = optimization.frame
    return set(frame.loc[frame["funded_optimal"].fillna(False).to_numpy(dtype=bool), "initiative_id"])


def test_optimize_must_fund_overrun(tmp_path):
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "70", must_fund="yes"), initiative("B", "60", must_fund="yes"),
                        initiative("C", "10"), initiative("D", "0")],
        "alignment": [{"initiative_id": i, "theme_id": "T1", "score": 9} for i in "ABCD"],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)
    summary = optimization.segment("strategic")

    assert funded_ids(optimization) == {"A", "B"}
    assert summary.overrun == 3_000
    assert summary.cost_optimal == 13_000


def test_optimize_dependency_forces_requirement_of_must_fund(tmp_path):
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "50", must_fund="yes"), initiative("B", "40"), initiative("C", "40")],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 5},
                      {"initiative_id": "B", "theme_id": "T1", "score": 1},
                      {"initiative_id": "C", "theme_id": "T1", "score": 9}],
        "budget": [{"segment": "strategic", "envelope": "100"}],
        "dependencies": [{"initiative_id": "A", "requires_id": "B"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)

    assert funded_ids(optimization) == {"A", "B"}
    assert optimization.segment("strategic").forced_cost == 9_000


def test_optimize_unmet_dependency_reported(tmp_path):
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "50", must_fund="yes"), initiative("B", "40", force_out="yes")],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 5}],
        "budget": [{"segment": "strategic", "envelope": "100"}],
        "dependencies": [{"initiative_id": "A", "requires_id": "B"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)

    assert funded_ids(optimization) == {"A"}
    assert optimization.unmet == (("A", "B"),)


def test_optimize_requirement_without_envelope(tmp_path):
    # B's requirement sits in a segment without an envelope: it holds only because C is must-fund.
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "10"), initiative("B", "10"),
                        initiative("C", "10", segment="infrastructure", must_fund="yes"),
                        initiative("D", "10", segment="infrastructure")],
        "alignment": [{"initiative_id": i, "theme_id": "T1", "score": 5} for i in "AB"],
        "budget": [{"segment": "strategic", "envelope": "100"}],
        "dependencies": [{"initiative_id": "A", "requires_id": "D"}, {"initiative_id": "B", "requires_id": "C"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)

    assert funded_ids(optimization) == {"B"}
    frame = optimization.frame.set_index("initiative_id")
    assert pd.isna(frame.loc["C", "funded_optimal"])


def test_optimize_cross_segment_dependency_holds(tmp_path):
    # A (strategic) requires X (compliance); X is worth little in its own lens, but A is worth a lot.
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "50"), initiative("B", "50"),
                        initiative("X", "30", segment="compliance", urgency=1, risk=1),
                        initiative("Y", "30", segment="compliance", urgency=6, risk=6)],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 10, "justification": "core"},
                      {"initiative_id": "B", "theme_id": "T1", "score": 2}],
        "budget": [{"segment": "strategic", "envelope": "60"}, {"segment": "compliance", "envelope": "30"}],
        "dependencies": [{"initiative_id": "A", "requires_id": "X"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)

    assert funded_ids(optimization) == {"A", "X"}
    assert optimization.segment("strategic").linked == ("compliance",)
    assert optimization.segment("compliance").linked == ("strategic",)


def test_optimize_forces_in_unscored_requirement(tmp_path):
    # No theme weight, so strategic initiatives are unscored; must-fund X (compliance) requires A.
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 0}],
        "initiatives": [initiative("A", "10"), initiative("B", "10"),
                        initiative("X", "10", segment="compliance", must_fund="yes", urgency=5, risk=5)],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 5}],
        "budget": [{"segment": "strategic", "envelope": "100"}, {"segment": "compliance", "envelope": "100"}],
        "dependencies": [{"initiative_id": "X", "requires_id": "A"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)
    frame = optimization.frame.set_index("initiative_id")

    assert funded_ids(optimization) == {"A", "X"}
    assert pd.isna(frame.loc["B", "funded_optimal"])
    assert optimization.unmet == ()


def test_optimize_unscored_left_unknown(tmp_path):
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 0}],
        "initiatives": [initiative("A", "10"), initiative("B", "10", must_fund="yes")],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 5}],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)
    frame = optimization.frame.set_index("initiative_id")

    assert pd.isna(frame.loc["A", "funded_optimal"])
    assert bool(frame.loc["B", "funded_optimal"])


def tie_tables(order: list[int]) -> dict[str, Any]:
    """Six initiatives with equal scores and costs, so every pair of two is equally good; rows in ``order``."""
    rows = [initiative(f"I{n}", "50", urgency=n, risk=n) for n in range(6)]
    alignment = [{"initiative_id": f"I{n}", "theme_id": "T1", "score": 5} for n in range(6)]
    return {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [rows[n] for n in order],
        "alignment": [alignment[n] for n in order],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }


def test_optimize_tie_prefers_rank_line(tmp_path):
    _, _, optimization = solve_folder(tmp_path, **tie_tables(list(range(6))))

    assert funded_ids(optimization) == {"I5", "I4"}
    assert optimization.segment("strategic").added == ()


def test_optimize_deterministic_twice(tmp_path):
    tables = random_tables(7, 12)
    _, _, first = solve_folder(tmp_path / "a", **tables)
    _, _, second = solve_folder(tmp_path / "b", **tables)

    assert funded_ids(first) == funded_ids(second)


@pytest.mark.parametrize("seed", range(5))
def test_optimize_independent_of_row_order(tmp_path, seed):
    # Equal values everywhere, so the tie-break alone decides the selection.
    order = list(range(6))
    random.Random(seed).shuffle(order)
    _, _, shuffled = solve_folder(tmp_path / "shuffled", **tie_tables(order))
    _, _, ordered = solve_folder(tmp_path / "ordered", **tie_tables(list(range(6))))

    assert funded_ids(shuffled) == funded_ids(ordered)


@pytest.mark.parametrize("seed", range(4))
def test_optimize_random_order_independent(tmp_path, seed):
    tables = random_tables(100 + seed, 12)
    shuffled = dict(tables)
    rows = list(tables["initiatives"])
    random.Random(seed).shuffle(rows)
    shuffled["initiatives"] = rows
    _, _, first = solve_folder(tmp_path / "a", **tables)
    _, _, second = solve_folder(tmp_path / "b", **shuffled)

    assert funded_ids(first) == funded_ids(second)


def test_optimize_unknown_objective(tmp_path):
    portfolio = load_rows(tmp_path, **tie_tables(list(range(6))))
    inputs = prepare(portfolio)

    with pytest.raises(ValueError, match="unknown objective"):
        optimize(inputs, ScoringParams.from_portfolio(portfolio), objective="size")


# --- the efficient frontier ------------------------------------------------------------------------


def test_frontier_budgets_every_step():
    fractions, budgets = frontier_budgets(1_000_000)

    assert len(budgets) == FRONTIER_STEPS
    assert budgets[0] == 0
    assert budgets[1] == 75_000
    assert budgets[-1] == 1_500_000
    assert fractions[-1] == pytest.approx(1.5)


@pytest.mark.parametrize("objective", list(OBJECTIVES))
@pytest.mark.parametrize("seed", range(8))
def test_frontier_monotone_and_matches_optimizer(tmp_path, seed, objective):
    portfolio = load_rows(tmp_path, **random_tables(seed, 12))
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    optimization = optimize(inputs, params, portfolio.dependencies, objective)

    for summary in optimization.segments:
        frontier = efficient_frontier(inputs, params, portfolio.dependencies, summary.segment, objective,
                                      optimization=optimization)
        at_envelope = frontier.loc[frontier["at_envelope"], "value"]

        assert (~frontier["at_envelope"]).sum() == FRONTIER_STEPS
        assert frontier["at_envelope"].sum() == 1
        assert np.all(np.diff(frontier["value"].to_numpy()) >= -1e-9)
        assert at_envelope.iloc[0] == pytest.approx(summary.value_optimal, abs=1e-6)


def test_frontier_points_are_optima(tmp_path):
    tables = random_tables(3, 10)
    portfolio = load_rows(tmp_path, **tables)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    frontier = efficient_frontier(inputs, params, portfolio.dependencies, "strategic")

    for budget, value in zip(frontier["budget"], frontier["value"], strict=True):
        at_budget = params.model_copy(update={"envelopes": {**params.envelopes, "strategic": int(budget)}})
        best, _ = brute_force(portfolio, at_budget, "score")
        optimization = optimize(inputs, at_budget, portfolio.dependencies)
        other = sum(s.value_optimal for s in optimization.segments if s.segment != "strategic")
        assert value == pytest.approx(best - other, abs=1e-6)


def test_frontier_lists_funded_ids(tmp_path):
    _, _, _ = solve_folder(tmp_path, **tie_tables(list(range(6))))
    portfolio = load_rows(tmp_path, **tie_tables(list(range(6))))
    inputs = prepare(portfolio)
    frontier = efficient_frontier(inputs, ScoringParams.from_portfolio(portfolio), None, "strategic")
    at_envelope = frontier.loc[frontier["at_envelope"]].iloc[0]

    assert at_envelope["funded"] == ("I5", "I4")
    assert at_envelope["count"] == 2
    assert frontier["funded"].iloc[0] == ()


def test_frontier_without_envelope_raises(tmp_path):
    portfolio = load_rows(tmp_path, **tie_tables(list(range(6))))
    inputs = prepare(portfolio)

    with pytest.raises(LookupError, match="no envelope"):
        efficient_frontier(inputs, ScoringParams.from_portfolio(portfolio), None, "compliance")


# --- the command line ------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_optimize_csv_columns(capsys, tmp_path):
    folder = write_portfolio(tmp_path / "p", **random_tables(5, 10))
    code, out, err = run_cli(capsys, "optimize", str(folder))
    lines = out.splitlines()

    assert code == 0, err
    assert lines[0] == "initiative_id,segment,funded_by_rank,funded_optimal"
    assert len(lines) == 11


def test_cli_optimize_json_matches_api(capsys, tmp_path):
    tables = random_tables(9, 11)
    folder = write_portfolio(tmp_path / "p", **tables)
    code, out, _ = run_cli(capsys, "optimize", str(folder), "--format", "json")
    rows = json.loads(out)
    _, _, optimization = solve_folder(tmp_path / "q", **tables)
    expected = [None if pd.isna(v) else bool(v) for v in optimization.frame["funded_optimal"]]

    assert code == 0
    assert [set(r) for r in rows] == [{"initiative_id", "segment", "funded_by_rank", "funded_optimal"}] * 11
    assert [r["funded_optimal"] for r in rows] == expected


def test_cli_optimize_overrun_notice(capsys, tmp_path):
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "70", must_fund="yes"), initiative("B", "60", must_fund="yes")],
        "alignment": [],
        "budget": [{"segment": "strategic", "envelope": "100"}],
    }
    folder = write_portfolio(tmp_path / "p", **tables)
    code, out, err = run_cli(capsys, "optimize", str(folder))

    assert code == 0
    assert "must-fund initiatives alone exceed the strategic envelope by 30.00" in err
    assert out.splitlines()[1:] == ["A,strategic,true,true", "B,strategic,true,true"]


def test_cli_optimize_theme_weight_and_objective(capsys, tmp_path):
    folder = write_portfolio(tmp_path / "p", **random_tables(4, 10))
    code, out, err = run_cli(capsys, "optimize", str(folder), "--theme-weight", "T2=5", "--objective",
                             "score_cost")

    assert code == 0, err
    assert out.startswith("initiative_id,segment,funded_by_rank,funded_optimal")


def test_cli_optimize_unknown_theme(capsys, tmp_path):
    folder = write_portfolio(tmp_path / "p", **random_tables(4, 10))
    code, out, err = run_cli(capsys, "optimize", str(folder), "--theme-weight", "T9=5")

    assert code == 1
    assert out == ""
    assert err.startswith('error: unknown theme "T9"')
    assert len(err.strip().splitlines()) == 1


# --- the Optimize page through AppTest -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/optimize.py"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Point the app at a fresh workspace database seeded from the demo."""
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "workspace.duckdb"))
    monkeypatch.delenv("PORTFOLIO_LENS_DATA", raising=False)
    return tmp_path


def open_page() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_page_renders_on_demo(workspace):
    app = open_page()

    assert app.title[0].value == "Optimize"
    assert any(OBJECTIVES["score"] in m.value for m in app.markdown)
    assert [t.label for t in app.tabs][:3] == ["strategic", "compliance", "infrastructure"]
    assert {"Robustly funded", "Contested", "Robustly unfunded"} <= {m.label for m in app.metric}


def test_page_objective_switch(workspace):
    app = open_page()
    app.radio(key="optimize_objective").set_value("score_cost").run()

    assert not app.exception, [e.value for e in app.exception]
    assert any(OBJECTIVES["score_cost"] in m.value for m in app.markdown)


def test_page_monte_carlo_settings(workspace):
    app = open_page()
    app.select_slider(key="optimize_concentration").set_value(10).run()
    app.select_slider(key="optimize_samples").set_value(200).run()

    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state["optimize_monte_carlo"][0][2:4] == (10, 200)


def test_page_dependencies_and_overrun(tmp_path, monkeypatch):
    tables = random_tables(11, 12)
    tables["dependencies"] = [{"initiative_id": "I00", "requires_id": "I01"},
                              {"initiative_id": "I02", "requires_id": "I03"}]
    folder = write_portfolio(tmp_path / "portfolio", **tables)
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "workspace.duckdb"))
    monkeypatch.setenv("PORTFOLIO_LENS_DATA", str(folder))
    app = open_page()

    assert app.title[0].value == "Optimize"


def test_page_without_sai(tmp_path, monkeypatch):
    tables = random_tables(12, 10)
    tables["themes"] = [{**t, "weight": 0} for t in THEMES]
    folder = write_portfolio(tmp_path / "portfolio", **tables)
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "workspace.duckdb"))
    monkeypatch.setenv("PORTFOLIO_LENS_DATA", str(folder))
    app = open_page()

    assert any("SAI undefined" in i.value for i in app.info)


def test_optimize_counts_line_breaking_dependencies(tmp_path):
    # The line funds A (rank 1) but not B, which A requires; the optimizer never breaks the dependency.
    tables = {
        "themes": [{"theme_id": "T1", "name": "T", "weight": 1}],
        "initiatives": [initiative("A", "60"), initiative("B", "50")],
        "alignment": [{"initiative_id": "A", "theme_id": "T1", "score": 8},
                      {"initiative_id": "B", "theme_id": "T1", "score": 2}],
        "budget": [{"segment": "strategic", "envelope": "100"}],
        "dependencies": [{"initiative_id": "A", "requires_id": "B"}],
    }
    _, _, optimization = solve_folder(tmp_path, **tables)
    summary = optimization.segment("strategic")

    assert summary.rank_breaks == 1
    assert funded_ids(optimization) == {"B"}


def reference_value(values: np.ndarray, costs: np.ndarray, budget: int, pairs: np.ndarray) -> float:
    """Solve the plain program with SciPy's milp on every variable, without any fixing: the value to match."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    rows = [costs.astype(float)]
    upper = [float(budget)]
    for needer, needed in pairs:
        row = np.zeros(len(values))
        row[needer], row[needed] = 1.0, -1.0
        rows.append(row)
        upper.append(0.0)
    result = milp(-values, integrality=np.ones(len(values)), bounds=Bounds(0, 1),
                  constraints=[LinearConstraint(np.array(rows), -np.inf, np.array(upper))],
                  options={"mip_rel_gap": 0.0})
    return float(values @ np.rint(result.x))


@pytest.mark.parametrize("objective", list(OBJECTIVES))
@pytest.mark.parametrize("seed", range(3))
def test_optimize_matches_plain_milp(tmp_path, seed, objective):
    # 150 initiatives: large enough for the kernel and reduced-cost fixing to matter.
    rng = random.Random(seed)
    size = 150
    initiatives = [initiative(f"I{n:03d}", f"{rng.randint(1, 400)}.{rng.randint(0, 99):02d}") for n in range(size)]
    alignment = [{"initiative_id": f"I{n:03d}", "theme_id": t, "score": round(rng.uniform(0, 8.9), 2)}
                 for n in range(size) for t in ("T1", "T2") if rng.random() < 0.8]
    pairs = {tuple(rng.sample(range(size), 2)) for _ in range(30)}
    tables = {"themes": THEMES, "initiatives": initiatives, "alignment": alignment,
              "budget": [{"segment": "strategic", "envelope": "8000"}],
              "dependencies": [{"initiative_id": f"I{a:03d}", "requires_id": f"I{b:03d}"} for a, b in sorted(pairs)]}
    portfolio, _, optimization = solve_folder(tmp_path, objective, **tables)
    inputs = prepare(portfolio)
    values = np.nan_to_num(optimization.frame["value"].to_numpy(dtype=float))
    expected = reference_value(values, inputs.cost, 800_000, dependency_pairs(inputs, portfolio.dependencies))
    chosen = optimization.frame["funded_optimal"].fillna(False).to_numpy(dtype=bool)

    assert optimization.segment("strategic").value_optimal == pytest.approx(expected, rel=1e-8)
    assert int(inputs.cost[chosen].sum()) <= 800_000
