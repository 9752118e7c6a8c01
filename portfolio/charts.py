"""Plotly figures built from scored data frames.

Colours are the Okabe–Ito palette, which stays distinguishable for the
common forms of colour blindness. Text that users typed (names, themes) is
HTML-escaped before it reaches a hover or a label, because Plotly renders a
subset of HTML there. Scatter plots switch to WebGL past 1,000 points.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from portfolio.explain import Explanation
from portfolio.formatting import currency_symbol, money, money_short
from portfolio.funding import SegmentFunding
from portfolio.scoring import QUADRANT_LABELS, ScoringParams

PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                            "#000000")
WEBGL_THRESHOLD = 1000
# Committee decisions drawn over the bubbles: label and Plotly marker symbol.
DECISION_MARKERS: dict[str, tuple[str, str]] = {
    "fund": ("fund", "star"),
    "fund_regardless": ("fund regardless", "diamond"),
    "defer": ("defer", "hourglass"),
    "reject": ("reject", "x"),
}
FONT = dict(family="Inter, 'Source Sans Pro', Arial, sans-serif", size=13)


def segment_colours(segments: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Assign each segment a palette colour, stably by position."""
    return {segment: PALETTE[index % len(PALETTE)] for index, segment in enumerate(segments)}


def escape(text: object) -> str:
    """Escape user text for Plotly, which renders a subset of HTML in hovers and labels."""
    return html.escape(str(text), quote=False)


def _funding_text(value: object) -> str:
    if value is True:
        return "funded"
    if value is False:
        return "below the line"
    return "no funding line"


def _hover_frame(frame: pd.DataFrame, currency: str) -> np.ndarray:
    def fmt(series: pd.Series) -> list[str]:
        return ["—" if pd.isna(v) else f"{v:.1f}" for v in series]

    return np.column_stack([
        frame["initiative_id"].astype(str).to_numpy(),
        [escape(n) for n in frame["name"]],
        [money(c, currency) for c in frame["cost"]],
        fmt(frame["sai"]),
        fmt(frame["urgency"]),
        fmt(frame["segment_score"]),
        frame["rank"].astype(str).to_numpy(),
        [_funding_text(None if pd.isna(v) else bool(v)) for v in frame["funded"]],
        [escape(s) for s in frame["segment"]],
    ])


HOVER = ("<b>%{customdata[1]}</b><br>%{customdata[0]} · %{customdata[8]}<br>"
         "Cost %{customdata[2]}<br>SAI %{customdata[3]} · urgency %{customdata[4]}<br>"
         "Segment score %{customdata[5]} · rank %{customdata[6]}<br>%{customdata[7]}<extra></extra>")


def _bubble_sizes(cost: np.ndarray, max_cost: float, max_px: float = 46.0) -> tuple[np.ndarray, float]:
    sizes = cost.astype(float) / 100.0
    reference = 2.0 * max(max_cost / 100.0, 1.0) / (max_px ** 2)
    return sizes, reference


def quadrant_figure(
    result: pd.DataFrame,
    params: ScoringParams,
    segments: list[str] | tuple[str, ...],
    currency: str,
    highlight: set[str] | None = None,
    selected: str | None = None,
    height: int = 560,
    decisions: dict[str, str] | None = None,
) -> go.Figure:
    """Alignment (SAI) against urgency, bubble area proportional to cost, colour by segment.

    Funded initiatives are filled, those below the line hollow; ``highlight``
    (e.g. those that crossed the funding line) get a dark ring, and
    ``selected`` a larger ring, and ``decisions`` (initiative id to decision)
    a black symbol. Initiatives without SAI are left out: draw them with
    :func:`unscored_figure`.
    """
    scored = result[result["sai"].notna() & result["urgency"].notna()]
    colours = segment_colours(segments)
    scatter = go.Scattergl if len(scored) > WEBGL_THRESHOLD else go.Scatter
    max_cost = float(result["cost"].max()) if len(result) else 1.0
    figure = go.Figure()

    for segment in segments:
        rows = scored[scored["segment"] == segment]
        if rows.empty:
            continue
        sizes, reference = _bubble_sizes(rows["cost"].to_numpy(), max_cost)
        funded = rows["funded"].fillna(False).to_numpy(dtype=bool)
        figure.add_trace(scatter(
            x=rows["sai"], y=rows["urgency"], mode="markers", name=escape(segment),
            legendgroup=segment,
            marker=dict(size=sizes, sizemode="area", sizeref=reference, sizemin=4,
                        color=[colours[segment] if f else "rgba(255,255,255,0.6)" for f in funded],
                        line=dict(color=colours[segment], width=2)),
            customdata=_hover_frame(rows, currency), hovertemplate=HOVER,
        ))

    for ids, name, width, colour in ((highlight or set(), "Crossed the funding line", 3, "#222222"),
                                     ({selected} if selected else set(), "Selected", 4, "#D55E00")):
        rows = scored[scored["initiative_id"].isin(ids)]
        if rows.empty:
            continue
        sizes, reference = _bubble_sizes(rows["cost"].to_numpy(), max_cost)
        figure.add_trace(scatter(
            x=rows["sai"], y=rows["urgency"], mode="markers", name=name,
            marker=dict(size=sizes * 1.9 + reference * 150, sizemode="area", sizeref=reference, sizemin=12,
                        color="rgba(0,0,0,0)", line=dict(color=colour, width=width)),
            customdata=_hover_frame(rows, currency), hovertemplate=HOVER,
        ))

    for decision, (label, symbol) in DECISION_MARKERS.items():
        ids = {i for i, d in (decisions or {}).items() if d == decision}
        rows = scored[scored["initiative_id"].isin(ids)]
        if rows.empty:
            continue
        figure.add_trace(scatter(
            x=rows["sai"], y=rows["urgency"], mode="markers", name=f"Decision: {label}",
            marker=dict(symbol=symbol, size=11, color="#222222", line=dict(color="white", width=1)),
            customdata=_hover_frame(rows, currency), hovertemplate=HOVER,
        ))

    tau_a, tau_u = params.alignment_threshold, params.urgency_threshold
    figure.add_shape(type="line", x0=tau_a, x1=tau_a, y0=0, y1=100, line=dict(color="#888", dash="dash"))
    figure.add_shape(type="line", x0=0, x1=100, y0=tau_u, y1=tau_u, line=dict(color="#888", dash="dash"))
    corners = (("fund_now", 99, 99, "right", "top"), ("can_wait", 99, 1, "right", "bottom"),
               ("fund_regardless", 1, 99, "left", "top"), ("challenge", 1, 1, "left", "bottom"))
    for key, x, y, xanchor, yanchor in corners:
        figure.add_annotation(x=x, y=y, text=f"<b>{QUADRANT_LABELS[key]}</b>", showarrow=False,
                              xanchor=xanchor, yanchor=yanchor, font=dict(color="#555", size=14))
    figure.update_layout(
        height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
        xaxis=dict(title="Alignment: Strategic Alignment Index (0–100)", range=[-2, 102], gridcolor="#eee",
                   zeroline=False),
        yaxis=dict(title="Urgency score (0–100)", range=[-2, 102], gridcolor="#eee", zeroline=False),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, title=None),
        clickmode="event+select", dragmode="pan",
    )
    return figure


def unscored_figure(result: pd.DataFrame, segments: list[str] | tuple[str, ...], currency: str,
                    height: int = 560) -> go.Figure:
    """Initiatives without SAI, by segment against urgency: the strip beside the quadrant."""
    rows = result[result["sai"].isna()]
    colours = segment_colours(segments)
    scatter = go.Scattergl if len(rows) > WEBGL_THRESHOLD else go.Scatter
    max_cost = float(result["cost"].max()) if len(result) else 1.0
    figure = go.Figure()
    for segment in segments:
        part = rows[rows["segment"] == segment]
        if part.empty:
            continue
        sizes, reference = _bubble_sizes(part["cost"].to_numpy(), max_cost, max_px=30)
        funded = part["funded"].fillna(False).to_numpy(dtype=bool)
        jitter = (part["rank"].to_numpy() % 7 - 3) * 0.05
        figure.add_trace(scatter(
            x=np.full(len(part), segments.index(segment)) + jitter,
            y=part["urgency"], mode="markers", name=escape(segment), showlegend=False,
            marker=dict(size=sizes, sizemode="area", sizeref=reference, sizemin=4,
                        color=[colours[segment] if f else "rgba(255,255,255,0.6)" for f in funded],
                        line=dict(color=colours[segment], width=2)),
            customdata=_hover_frame(part, currency), hovertemplate=HOVER,
        ))
    figure.update_layout(
        height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
        xaxis=dict(tickvals=list(range(len(segments))), ticktext=[escape(s) for s in segments],
                   range=[-0.6, len(segments) - 0.4], title="No SAI yet"),
        yaxis=dict(title="Urgency score (0–100)", range=[-2, 102], gridcolor="#eee"),
        clickmode="event+select", dragmode="pan",
    )
    return figure


def waterfall_figure(explanation: Explanation, height: int = 320) -> go.Figure:
    """The parts of one score as a waterfall ending in the total; shown values add up exactly."""
    labels = [escape(p.label) for p in explanation.parts] + ["Total"]
    values = [p.shown for p in explanation.parts] + [explanation.shown_total]
    figure = go.Figure(go.Waterfall(
        orientation="v", x=labels, y=values, measure=["relative"] * len(explanation.parts) + ["total"],
        text=[f"{v:.2f}" for v in values], textposition="outside",
        customdata=[escape(p.formula) for p in explanation.parts] + ["sum of the parts"],
        hovertemplate="%{x}<br>%{customdata}<br>= %{y:.2f}<extra></extra>",
        connector=dict(line=dict(color="#999")),
        increasing=dict(marker=dict(color=PALETTE[0])), totals=dict(marker=dict(color=PALETTE[1])),
    ))
    top = max([explanation.shown_total, *[p.shown for p in explanation.parts], 1.0])
    figure.update_layout(height=height, font=FONT, margin=dict(l=10, r=10, t=20, b=10), plot_bgcolor="white",
                         yaxis=dict(range=[0, max(100.0, top * 1.15)], gridcolor="#eee", title="points"),
                         showlegend=False)
    return figure


def segment_spend_figure(summaries: list[SegmentFunding], currency: str, height: int = 380) -> go.Figure:
    """Proposed and funded spend per segment, with each envelope as a marker."""
    segments = [escape(s.segment) for s in summaries]
    figure = go.Figure()
    figure.add_bar(x=segments, y=[s.proposed / 100 for s in summaries], name="Proposed",
                   marker_color="#BBBBBB", text=[money_short(s.proposed, currency) for s in summaries],
                   textposition="outside")
    figure.add_bar(x=segments, y=[s.funded / 100 for s in summaries], name="Funded",
                   marker_color=PALETTE[0], text=[money_short(s.funded, currency) for s in summaries],
                   textposition="outside")
    with_envelope = [s for s in summaries if s.envelope is not None]
    figure.add_scatter(x=[escape(s.segment) for s in with_envelope], y=[s.envelope / 100 for s in with_envelope],
                       mode="markers", name="Envelope",
                       marker=dict(symbol="line-ew", size=60, line=dict(width=4, color=PALETTE[5])),
                       hovertemplate="Envelope %{y:,.0f}<extra></extra>")
    figure.update_layout(barmode="group", height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10),
                         plot_bgcolor="white", yaxis=dict(title=f"{currency}", tickprefix=currency_symbol(currency),
                                                          gridcolor="#eee"),
                         legend=dict(orientation="h", y=1.08, x=0))
    return figure


def theme_gap_figure(gap: pd.DataFrame, height: int = 380) -> go.Figure:
    """Each theme's share of attributed spend beside its share of the weight, in percent."""
    names = [escape(n if isinstance(n, str) else t) for n, t in zip(gap["name"], gap["theme_id"], strict=True)]
    figure = go.Figure()
    figure.add_bar(y=names, x=gap["weight_share"], name="Share of theme weight", orientation="h",
                   marker_color=PALETTE[1], hovertemplate="%{y}: weight %{x:.1f} %<extra></extra>")
    figure.add_bar(y=names, x=gap["spend_share"], name="Share of attributed spend", orientation="h",
                   marker_color=PALETTE[0], hovertemplate="%{y}: spend %{x:.1f} %<extra></extra>")
    figure.update_layout(barmode="group", height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10),
                         plot_bgcolor="white", xaxis=dict(title="percent", ticksuffix=" %", gridcolor="#eee"),
                         yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.1, x=0))
    return figure


def capex_opex_figure(frame: pd.DataFrame, currency: str, height: int = 320) -> go.Figure:
    """Capex and opex per segment as stacked bars; ``frame`` has segment, capex, opex, unsplit (cents)."""
    figure = go.Figure()
    for column, label, colour in (("capex", "Capex", PALETTE[0]), ("opex", "Opex", PALETTE[4]),
                                  ("unsplit", "Not split", "#CCCCCC")):
        figure.add_bar(x=[escape(s) for s in frame["segment"]], y=frame[column] / 100, name=label,
                       marker_color=colour, hovertemplate="%{x}: %{y:,.0f}<extra>" + label + "</extra>")
    figure.update_layout(barmode="stack", height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10),
                         plot_bgcolor="white", yaxis=dict(tickprefix=currency_symbol(currency), gridcolor="#eee"),
                         legend=dict(orientation="h", y=1.1, x=0))
    return figure


def actual_vs_plan_figure(frame: pd.DataFrame, currency: str, height: int = 360) -> go.Figure:
    """Actual spend against planned cost per initiative; points above the diagonal overspend."""
    plan = frame["cost"] / 100
    actual = frame["actual_spend"] / 100
    over = actual > plan
    top = float(max(plan.max(), actual.max(), 1)) * 1.05
    figure = go.Figure()
    figure.add_scatter(x=[0, top], y=[0, top], mode="lines", line=dict(color="#999", dash="dash"),
                       name="On plan", hoverinfo="skip")
    for mask, label, colour in ((~over, "Within plan", PALETTE[2]), (over, "Over plan", PALETTE[5])):
        part = frame[mask]
        figure.add_scatter(
            x=part["cost"] / 100, y=part["actual_spend"] / 100, mode="markers", name=label,
            marker=dict(size=10, color=colour),
            customdata=np.column_stack([[escape(n) for n in part["name"]],
                                        [money(c, currency) for c in part["cost"]],
                                        [money(c, currency) for c in part["actual_spend"]]])
            if len(part) else None,
            hovertemplate="<b>%{customdata[0]}</b><br>plan %{customdata[1]} · actual %{customdata[2]}<extra></extra>",
        )
    symbol = currency_symbol(currency)
    figure.update_layout(height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
                         xaxis=dict(title="Planned cost", tickprefix=symbol, gridcolor="#eee"),
                         yaxis=dict(title="Actual spend", tickprefix=symbol, gridcolor="#eee"),
                         legend=dict(orientation="h", y=1.1, x=0))
    return figure


def profile_heatmap(matrix: pd.DataFrame, theme_names: dict[str, str], currency: str, height: int = 420) -> go.Figure:
    """Attributed spend per theme (rows) and segment (columns) as a heatmap labelled with money."""
    rows = [escape(theme_names.get(t, t)) for t in matrix.index]
    columns = [escape(c) for c in matrix.columns]
    values = matrix.to_numpy(dtype=float) / 100
    text = [[money_short(int(v * 100), currency) for v in row] for row in values]
    figure = go.Figure(go.Heatmap(
        z=values, x=columns, y=rows, text=text, texttemplate="%{text}", colorscale="Blues",
        hovertemplate="%{y} · %{x}: %{text}<extra></extra>", colorbar=dict(title=currency),
    ))
    figure.update_layout(height=height, font=FONT, margin=dict(l=10, r=10, t=20, b=10),
                         yaxis=dict(autorange="reversed"))
    return figure


def quadrant_spend_figure(summary: pd.DataFrame, labels: dict[str, str], currency: str,
                          height: int = 320) -> go.Figure:
    """Spend per quadrant as horizontal bars, labelled with money and the number of initiatives."""
    figure = go.Figure(go.Bar(
        y=[labels[q] for q in summary["quadrant"]], x=summary["spend"] / 100, orientation="h",
        marker_color=[PALETTE[0], PALETTE[4], PALETTE[5], "#999999", "#CCCCCC"][: len(summary)],
        text=[f"{money_short(int(s), currency)} · {n}" for s, n in zip(summary["spend"], summary["initiatives"],
                                                                         strict=True)],
        textposition="auto", hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    figure.update_layout(height=height, font=FONT, margin=dict(l=10, r=10, t=20, b=10), plot_bgcolor="white",
                         xaxis=dict(tickprefix=currency_symbol(currency), gridcolor="#eee"),
                         yaxis=dict(autorange="reversed"))
    return figure
