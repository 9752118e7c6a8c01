"""Figure builders: every initiative drawn once, user text escaped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from portfolio_files import load_rows

from portfolio.charts import hover_labels, point_row, quadrant_figure, unscored_figure
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


def drawn_ids(figure, result) -> list[str]:
    """The initiative of every point, through the row each point carries, as a click reports it."""
    return sorted(str(result.at[point_row({"customdata": list(point)}), "initiative_id"])
                  for trace in figure.data for point in trace.customdata)


def test_unscored_strip_draws_every_segment(tmp_path):
    result, _, segments = scored(tmp_path / "p", budget=[{"segment": "compliance", "envelope": "25.00"}])
    figure = unscored_figure(result, segments, "USD")
    assert drawn_ids(figure, result) == ["C1", "I1", "S1"]
    assert list(figure.layout.xaxis.ticktext) == ["strategic", "compliance", "infrastructure"]


def test_quadrant_draws_each_scored_initiative_once(tmp_path):
    themes = [{"theme_id": "T1", "name": "Growth", "weight": "1"}]
    alignment = [{"initiative_id": "S1", "theme_id": "T1", "score": "8"}]
    result, params, segments = scored(tmp_path / "p", themes=themes, alignment=alignment)
    figure = quadrant_figure(result, params, segments, "USD")
    assert drawn_ids(figure, result) == ["C1", "I1", "S1"]


def test_hover_escapes_user_html(tmp_path):
    result, _, segments = scored(tmp_path / "p")
    figure = unscored_figure(result, segments, "USD")
    texts = [text for trace in figure.data for text in trace.text]
    assert any("&lt;b&gt;bold&lt;/b&gt;" in text for text in texts)
    assert not any("<b>bold</b>" in text for text in texts)


def test_hover_carries_fixed_text_scores_and_status(tmp_path):
    themes = [{"theme_id": "T1", "name": "Growth", "weight": "1"}]
    alignment = [{"initiative_id": "S1", "theme_id": "T1", "score": "8"}]
    result, params, segments = scored(tmp_path / "p", themes=themes, alignment=alignment,
                                      budget=[{"segment": "compliance", "envelope": "25.00"}])
    labels = hover_labels(result, "USD")
    figure = quadrant_figure(result, params, segments, "USD", labels=labels, highlight={"C1"})

    by_id = {}
    for trace in figure.data:
        for text, point in zip(trace.text, trace.customdata, strict=True):
            by_id.setdefault(str(result.at[int(point[0]), "initiative_id"]), []).append((trace, text, point))
    (main, text, point), (ring, ring_text, _) = by_id["C1"]
    row = result.set_index("initiative_id").loc["C1"]
    # Fixed text: name, id and cost as money; SAI and urgency are the point's x and y; then score and rank.
    assert text == "<b>Audit</b><br>C1 · $20"
    assert (main.x[list(main.text).index(text)], main.y[list(main.text).index(text)]) == (row["sai"], row["urgency"])
    assert list(point[1:]) == [np.float32(row["segment_score"]), row["rank"]]
    # C1 costs 20.00 within an envelope of 25.00: funded. The trace states segment and status for all its
    # points; the ring, which mixes segments, states them per point.
    assert main.name == "compliance"
    assert main.hovertemplate.startswith("%{text}<br>%{fullData.name} · funded<br>SAI %{x:.1f}")
    assert ring.name == "Crossed the funding line"
    assert ring_text.endswith("<br>compliance · funded")
    # Strategic and infrastructure have no envelope here: no funding line.
    s1_trace = by_id["S1"][0][0]
    assert "· no funding line<br>" in s1_trace.hovertemplate


def test_point_row_reads_clicked_customdata():
    assert point_row({"customdata": [7.0, 55.1, 3.0]}) == 7
    # What Streamlit reports for a click on a point whose customdata travelled as a typed array.
    assert point_row({"customdata": {"0": 50, "1": 47.2, "2": 4}}) == 50
    assert point_row({"customdata": []}) is None
    assert point_row({"x": 1}) is None
    assert point_row({"customdata": ["S1"]}) is None


def test_hover_labels_escape_every_user_field():
    result = pd.DataFrame({"initiative_id": ["<i>1"], "name": ["a&b"], "segment": ["<s>"], "cost": [1234]})
    assert hover_labels(result, "EUR").tolist() == ["<b>a&amp;b</b><br>&lt;i&gt;1 · €12"]
