"""Tests of the synthetic portfolio generator and the ``generate`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio.cli import main
from portfolio.errors import InvalidPortfolioError
from portfolio.generate import SEGMENTS, draw, generate, to_portfolio
from portfolio.importing import load_portfolio
from portfolio.models import errors_of

SIZE = 3000
THEMES = 12
SEED = 42


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    """One generated portfolio folder, loaded through the canonical reader, with its draw."""
    folder = tmp_path_factory.mktemp("generated") / "portfolio"
    data = generate(folder, SIZE, THEMES, SEED)
    portfolio, problems = load_portfolio(folder)
    return folder, data, portfolio, problems


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_generate_same_seed_gives_identical_bytes(tmp_path):
    generate(tmp_path / "first", 500, 6, 7)
    generate(tmp_path / "second", 500, 6, 7)

    first = file_bytes(tmp_path / "first")
    second = file_bytes(tmp_path / "second")
    assert list(first) == ["alignment.csv", "budget.csv", "initiatives.csv", "settings.csv", "themes.csv"]
    assert first == second


def test_generate_other_seed_differs(tmp_path):
    generate(tmp_path / "first", 500, 6, 7)
    generate(tmp_path / "second", 500, 6, 8)

    assert file_bytes(tmp_path / "first")["initiatives.csv"] != file_bytes(tmp_path / "second")["initiatives.csv"]


def test_generate_loads_without_errors(generated):
    _, _, portfolio, problems = generated

    assert portfolio is not None
    assert errors_of(problems) == []


def test_generate_respects_counts(generated):
    _, data, portfolio, _ = generated

    assert len(portfolio.initiatives) == SIZE
    assert len(portfolio.themes) == THEMES
    assert data.size == SIZE
    assert portfolio.initiatives["initiative_id"].is_unique


def test_generate_has_every_segment(generated):
    _, _, portfolio, _ = generated
    shares = portfolio.initiatives["segment"].value_counts(normalize=True)

    assert set(shares.index) == set(SEGMENTS)
    for segment in SEGMENTS:
        assert shares[segment] > 0.15, segment


def test_generate_costs_are_skewed(generated):
    _, _, portfolio, _ = generated
    cost = portfolio.initiatives["cost"].to_numpy()

    assert cost.max() / np.median(cost) > 20
    assert (cost >= 0).all()


def test_generate_money_has_two_decimals(generated):
    folder, _, _, _ = generated
    frame = pd.read_csv(folder / "initiatives.csv", dtype=str, keep_default_na=False)

    for column in ("cost", "capex", "opex", "actual_spend"):
        filled = frame[column][frame[column] != ""]
        assert filled.str.fullmatch(r"\d+\.\d\d").all(), column


def test_generate_alignment_is_sparse(generated):
    _, _, portfolio, _ = generated
    pairs = len(portfolio.alignment)
    per_initiative = portfolio.alignment.groupby("initiative_id").size()

    assert 0 < pairs < 0.25 * SIZE * THEMES
    assert per_initiative.max() < THEMES
    assert len(per_initiative) < SIZE


def test_generate_has_unjustified_high_scores(generated):
    _, _, portfolio, problems = generated
    flagged = [p for p in problems if p.code == "unjustified_high_score"]
    high = portfolio.alignment[portfolio.alignment["score"] >= 9]

    assert len(flagged) > 0
    assert all(float(p.value) >= 9 for p in flagged)
    assert len(flagged) < 0.2 * len(high)


def test_generate_has_must_fund_and_envelopes(generated):
    _, _, portfolio, _ = generated
    items = portfolio.initiatives

    assert items["must_fund"].any()
    assert not (items["must_fund"] & items["force_out"]).any()
    assert set(portfolio.envelopes) == set(SEGMENTS)
    for segment, envelope in portfolio.envelopes.items():
        assert 0 < envelope < items.loc[items["segment"] == segment, "cost"].sum(), segment


def test_to_portfolio_equals_loaded_files(generated):
    _, data, portfolio, _ = generated
    built = to_portfolio(data)

    for table in ("themes", "initiatives", "alignment"):
        pd.testing.assert_frame_equal(getattr(built, table), getattr(portfolio, table),
                                      obj=table)
    assert built.envelopes == portfolio.envelopes
    assert built.settings == portfolio.settings
    assert built.lenses == portfolio.lenses
    assert built.urgency == portfolio.urgency


def test_generate_without_themes_loads(tmp_path):
    generate(tmp_path / "portfolio", 20, 0, 1)
    portfolio, problems = load_portfolio(tmp_path / "portfolio")

    assert portfolio is not None
    assert errors_of(problems) == []
    assert portfolio.themes.empty
    assert portfolio.alignment.empty


def test_generate_single_initiative_loads(tmp_path):
    generate(tmp_path / "portfolio", 1, 3, 1)
    portfolio, problems = load_portfolio(tmp_path / "portfolio")

    assert portfolio is not None
    assert errors_of(problems) == []
    assert len(portfolio.initiatives) == 1


@pytest.mark.parametrize(("initiatives", "themes"), [(0, 3), (-5, 3), (10, -1)])
def test_draw_rejects_counts_out_of_range(initiatives, themes):
    with pytest.raises(InvalidPortfolioError):
        draw(initiatives, themes, 0)


def test_generate_rejects_non_empty_folder(tmp_path):
    out = tmp_path / "portfolio"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")

    with pytest.raises(InvalidPortfolioError, match="is not empty"):
        generate(out, 10, 2, 0)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_generate_fills_empty_folder(tmp_path):
    out = tmp_path / "portfolio"
    out.mkdir()

    generate(out, 10, 2, 0)

    assert (out / "initiatives.csv").is_file()


def test_cli_generate_writes_portfolio(tmp_path, capsys):
    out = tmp_path / "portfolio"

    code = main(["generate", "--initiatives", "200", "--themes", "5", "--seed", "3", "--out", str(out)])

    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.startswith(f"wrote {out}: 200 initiatives, 5 themes, ")
    assert captured.err == ""
    portfolio, problems = load_portfolio(out)
    assert portfolio is not None
    assert len(portfolio.themes) == 5
    assert errors_of(problems) == []


def test_cli_generate_rejects_non_empty_out(tmp_path):
    out = tmp_path / "portfolio"
    out.mkdir()
    (out / "themes.csv").write_text("theme_id,name,weight\n", encoding="utf-8")

    process = subprocess.run(
        [sys.executable, "-m", "portfolio", "generate", "--initiatives", "10", "--out", str(out)],
        capture_output=True, text=True, check=False)

    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr == f"error: {out} is not empty; choose a new folder\n"
    assert (out / "themes.csv").read_text(encoding="utf-8") == "theme_id,name,weight\n"
