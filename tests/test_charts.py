"""Figure builders: every initiative drawn once, user text escaped."""

from __future__ import annotations

from pathlib import Path

from portfolio_files import load_rows

from portfolio.charts import quadrant_figure, unscored_figure
from portfolio.funding import evaluate
from portfolio.scoring import ScoringParams, prepare

INITIATIVES = [
    {"initiative_id": "S1", "name": "<b>bold</b>", "segment": "strategic", "cost": "10.00", "urgency": "5",
     "risk": "5"},
    {"initiative_id": "C1", "name": "Audit", "segment": "compliance", "cost": "20.00", "urgency": "9", "risk": "7"},
    {"initiative_id": "I1", "name": "Servers", "segment": "infrastructure", "cost": "30.00", "urgency": "2",
     "risk": "2", "financial_return": "5", "technical_necessity": "8"},
]


def scored(folder: Path, **tables):
    portfolio = load_rows(folder, initiatives=INITIATIVES, **tables)
    inputs = prepare(portfolio)
    params = ScoringParams.from_portfolio(portfolio)
    return evaluate(inputs, params), params, inputs.segments


def test_unscored_strip_draws_every_segment(tmp_path):
    result, _, segments = scored(tmp_path / "p", budget=[{"segment": "compliance", "envelope": "25.00"}])
    figure = unscored_figure(result, segments, "USD")
    drawn = sorted(point[0] for trace in figure.data for point in trace.customdata)
    assert drawn == ["C1", "I1", "S1"]
    assert list(figure.layout.xaxis.ticktext) == ["strategic", "compliance", "infrastructure"]


def test_quadrant_draws_each_scored_initiative_once(tmp_path):
    themes = [{"theme_id": "T1", "name": "Growth", "weight": "1"}]
    alignment = [{"initiative_id": "S1", "theme_id": "T1", "score": "8"}]
    result, params, segments = scored(tmp_path / "p", themes=themes, alignment=alignment)
    figure = quadrant_figure(result, params, segments, "USD")
    drawn = sorted(point[0] for trace in figure.data for point in trace.customdata)
    assert drawn == ["C1", "I1", "S1"]


def test_hover_escapes_user_html(tmp_path):
    result, _, segments = scored(tmp_path / "p")
    figure = unscored_figure(result, segments, "USD")
    names = [point[1] for trace in figure.data for point in trace.customdata]
    assert "&lt;b&gt;bold&lt;/b&gt;" in names
    assert "<b>bold</b>" not in names
