"""Plotly figures built from scored data frames.

Colours are the Okabe–Ito palette, which stays distinguishable for the
common forms of colour blindness. Text that users typed (names, themes) is
HTML-escaped before it reaches a hover or a label, because Plotly renders a
subset of HTML there. Scatter plots switch to WebGL past 1,000 points.
"""

from __future__ import annotations

import html
import numbers

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
        return FUNDING_STATES[0]
    if value is False:
        return FUNDING_STATES[1]
    return FUNDING_STATES[2]


def hover_labels(result: pd.DataFrame, currency: str) -> pd.Series:
    """Return the hover text per initiative that no weight changes: escaped name and id, and the cost.

    Build it once per committed data version and pass it to the figure
    builders; formatting it per point on every slider move dominates a redraw.
    """
    return pd.Series([f"<b>{escape(name)}</b><br>{escape(initiative)} · {money(cost, currency)}"
                      for initiative, name, cost in zip(result["initiative_id"], result["name"], result["cost"],
                                                        strict=True)],
                     index=result.index, dtype=object)


# Besides x (SAI) and y (urgency), each point carries the fixed text from hover_labels in ``text`` and
# customdata [row, segment score, rank] as float32. Row is the point's index label in the result frame, which
# a click on the point reports back. Plotly deep-copies customdata twice per figure, element by element when
# it contains Python objects, so no string goes there. Float32 halves what the browser receives and keeps
# every row and rank below 2**24 exact.
ROW, SCORE, RANK = range(3)
SCORES = "SAI %{x:.1f} · urgency %{y:.1f}<br>Segment score %{customdata[1]:.1f} · rank %{customdata[2]}"
SCORES_UNSCORED = "SAI not scored yet · urgency %{y:.1f}<br>Rank %{customdata[2]}"
FUNDING_STATES = ("funded", "below the line", "no funding line")


def _hovertemplate(scores: str, status: str | None = None) -> str:
    """Build the hover of a trace: fixed text, then its segment (the trace name) and funding status, then scores.

    Without ``status``, the text of each point already ends with its segment and status.
    """
    if status is None:
        return f"%{{text}}<br>{scores}<extra></extra>"
    return f"%{{text}}<br>%{{fullData.name}} · {status}<br>{scores}<extra></extra>"


def funding_states(frame: pd.DataFrame) -> np.ndarray:
    """Return the funding status of each row as one of :data:`FUNDING_STATES`."""
    funded = frame["funded"]
    return np.where(funded.isna(), FUNDING_STATES[2],
                    np.where(funded.fillna(False).to_numpy(dtype=bool), FUNDING_STATES[0], FUNDING_STATES[1]))


def _hover_data(frame: pd.DataFrame, currency: str, labels: pd.Series | None,
                with_status: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return (text, customdata) for the points of ``frame``; text ends with segment and status if asked."""
    fixed = labels.loc[frame.index] if labels is not None else hover_labels(frame, currency)
    text = fixed.to_numpy(dtype=object)
    if with_status:
        text = np.array([f"{label}<br>{escape(segment)} · {state}" for label, segment, state
                         in zip(text, frame["segment"], funding_states(frame), strict=True)], dtype=object)
    return text, _customdata(frame)


def _customdata(frame: pd.DataFrame) -> np.ndarray:
    """Return the customdata of the points of ``frame``: [row, segment score, rank] as float32."""
    return np.column_stack([
        frame.index.to_numpy(dtype=np.float32),
        frame["segment_score"].to_numpy(dtype=np.float32),
        frame["rank"].to_numpy(dtype=np.float32),
    ])


def point_row(point: dict) -> int | None:
    """Return the result-frame index label of a clicked point from its customdata, or None without one."""
    data = point.get("customdata")
    # A numeric customdata reaches the browser as a typed array, and a click reports a row of it as an
    # object keyed "0", "1", ... rather than a list.
    if isinstance(data, dict):
        value = data.get(str(ROW), data.get(ROW))
    elif isinstance(data, list | tuple) and data:
        value = data[ROW]
    else:
        return None
    return int(value) if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_) else None


def _bubble_sizes(cost: np.ndarray, max_cost: float, max_px: float = 46.0) -> tuple[np.ndarray, float]:
    sizes = cost.astype(np.float32) / np.float32(100.0)
    reference = 2.0 * max(max_cost / 100.0, 1.0) / (max_px ** 2)
    return sizes, reference


def draw_quadrant_frame(figure: go.Figure, params: ScoringParams, height: int) -> None:
    """Add the threshold lines, the four quadrant labels, the axes and the legend to a quadrant figure."""
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
    )


def quadrant_figure(
    result: pd.DataFrame,
    params: ScoringParams,
    segments: list[str] | tuple[str, ...],
    currency: str,
    highlight: set[str] | None = None,
    selected: str | None = None,
    height: int = 560,
    decisions: dict[str, str] | None = None,
    labels: pd.Series | None = None,
) -> go.Figure:
    """Alignment (SAI) against urgency, bubble area proportional to cost, colour by segment.

    ``labels`` is :func:`hover_labels` of the same rows, built once per data
    version; without it the hover text is formatted here.

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

    # The points as arrays, cut once: filtering the frame per trace cost a third of the figure.
    text = (labels.loc[scored.index] if labels is not None else hover_labels(scored, currency)).to_numpy(dtype=object)
    customdata = _customdata(scored)
    sai, urgency, cost = (scored[column].to_numpy() for column in ("sai", "urgency", "cost"))
    segment_of, state_of = scored["segment"].to_numpy(dtype=object), funding_states(scored)
    for segment in segments:
        in_segment = segment_of == segment
        # One trace per funding state, each with one colour and its status in the hover template: a per-point
        # colour list costs Plotly a validation per point.
        shown_in_legend = False
        for state in FUNDING_STATES:
            points = np.flatnonzero(in_segment & (state_of == state))
            if len(points) == 0:
                continue
            fill = colours[segment] if state == FUNDING_STATES[0] else "rgba(255,255,255,0.6)"
            sizes, reference = _bubble_sizes(cost[points], max_cost)
            figure.add_trace(scatter(
                x=sai[points], y=urgency[points], mode="markers", name=escape(segment),
                legendgroup=segment, showlegend=not shown_in_legend,
                marker=dict(size=sizes, sizemode="area", sizeref=reference, sizemin=4, color=fill,
                            line=dict(color=colours[segment], width=2)),
                text=text[points], customdata=customdata[points], hovertemplate=_hovertemplate(SCORES, state),
            ))
            shown_in_legend = True

    for ids, name, width, colour in ((highlight or set(), "Crossed the funding line", 3, "#222222"),
                                     ({selected} if selected else set(), "Selected", 4, "#D55E00")):
        rows = scored[scored["initiative_id"].isin(ids)]
        if rows.empty:
            continue
        sizes, reference = _bubble_sizes(rows["cost"].to_numpy(), max_cost)
        text, customdata = _hover_data(rows, currency, labels, with_status=True)
        figure.add_trace(scatter(
            x=rows["sai"], y=rows["urgency"], mode="markers", name=name,
            marker=dict(size=sizes * 1.9 + reference * 150, sizemode="area", sizeref=reference, sizemin=12,
                        color="rgba(0,0,0,0)", line=dict(color=colour, width=width)),
            text=text, customdata=customdata, hovertemplate=_hovertemplate(SCORES),
        ))

    for decision, (label, symbol) in DECISION_MARKERS.items():
        ids = {i for i, d in (decisions or {}).items() if d == decision}
        rows = scored[scored["initiative_id"].isin(ids)]
        if rows.empty:
            continue
        text, customdata = _hover_data(rows, currency, labels, with_status=True)
        figure.add_trace(scatter(
            x=rows["sai"], y=rows["urgency"], mode="markers", name=f"Decision: {label}",
            marker=dict(symbol=symbol, size=11, color="#222222", line=dict(color="white", width=1)),
            text=text, customdata=customdata, hovertemplate=_hovertemplate(SCORES),
        ))

    draw_quadrant_frame(figure, params, height)
    figure.update_layout(clickmode="event+select", dragmode="pan")
    return figure


def unscored_figure(result: pd.DataFrame, segments: list[str] | tuple[str, ...], currency: str,
                    height: int = 560, labels: pd.Series | None = None) -> go.Figure:
    """Initiatives without SAI, by segment against urgency: the strip beside the quadrant."""
    unscored = result[result["sai"].isna()]
    colours = segment_colours(segments)
    # Only segments that have initiatives here get a column.
    shown = [s for s in segments if (unscored["segment"] == s).any()]
    scatter = go.Scattergl if len(unscored) > WEBGL_THRESHOLD else go.Scatter
    max_cost = float(result["cost"].max()) if len(result) else 1.0
    figure = go.Figure()
    for column, segment in enumerate(shown):
        part = unscored[unscored["segment"] == segment]
        states = funding_states(part)
        for state in FUNDING_STATES:
            rows = part[states == state]
            if rows.empty:
                continue
            fill = colours[segment] if state == FUNDING_STATES[0] else "rgba(255,255,255,0.6)"
            sizes, reference = _bubble_sizes(rows["cost"].to_numpy(), max_cost, max_px=30)
            jitter = (rows["rank"].to_numpy() % 7 - 3) * 0.05
            text, customdata = _hover_data(rows, currency, labels)
            figure.add_trace(scatter(
                x=np.full(len(rows), column) + jitter,
                y=rows["urgency"].to_numpy(), mode="markers", name=escape(segment), showlegend=False,
                marker=dict(size=sizes, sizemode="area", sizeref=reference, sizemin=4, color=fill,
                            line=dict(color=colours[segment], width=2)),
                text=text, customdata=customdata, hovertemplate=_hovertemplate(SCORES_UNSCORED, state),
            ))
    figure.update_layout(
        height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
        xaxis=dict(tickvals=list(range(len(shown))), ticktext=[escape(s) for s in shown],
                   range=[-0.6, len(shown) - 0.4], title="No SAI yet"),
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


# --- optimal selection, frontier and robustness ------------------------------------------------------

ROBUSTNESS_STYLE: dict[str, tuple[str, str]] = {
    "robustly funded": (PALETTE[2], "circle"),
    "contested": (PALETTE[5], "diamond"),
    "robustly unfunded": ("#999999", "circle-open"),
}
FRONTIER_HOVER_NAMES = 12


def _named_list(ids: tuple[str, ...], names: dict[str, str], limit: int = FRONTIER_HOVER_NAMES) -> str:
    """Escape and join ids with their names for a hover, one per line, cut after ``limit``."""
    lines = [f"{escape(i)} {escape(names.get(i, ''))}" for i in ids[:limit]]
    if len(ids) > limit:
        lines.append(f"… and {len(ids) - limit} more")
    return "<br>".join(lines) if lines else "nothing"


def frontier_figure(frontier: pd.DataFrame, envelope: int, current_cost: int, current_value: float,
                    names: dict[str, str], currency: str, value_title: str, value_in_cents: bool,
                    height: int = 440) -> go.Figure:
    """The best value each budget can buy, beside the rank-order line's value at the same budgets.

    ``frontier`` is :func:`portfolio.optimize.efficient_frontier`. The
    envelope is a vertical line, the optimum at the envelope a star and the
    current rank-order selection a square. Hovering a frontier point lists
    what that budget would fund. Values in cents (objective ``score_cost``)
    are drawn in currency units.
    """
    symbol = currency_symbol(currency)
    unit = 100.0 if value_in_cents else 1.0
    budget = frontier["budget"].to_numpy() / 100

    def value_text(value: float) -> str:
        return money(round(value), currency) if value_in_cents else f"{value:,.1f}"

    hover = []
    for row in frontier.itertuples(index=False):
        note = f"<br>must-fund alone exceed this budget by {money(row.overrun, currency)}" if row.overrun else ""
        hover.append(f"<b>Budget {money(row.budget, currency)}</b> ({row.fraction * 100:.1f} % of the envelope)"
                     f"<br>Optimal value {value_text(row.value)}; rank-order line {value_text(row.rank_value)}"
                     f"<br>Funds {row.count} initiatives for {money(row.cost, currency)}{note}"
                     f"<br>{_named_list(row.funded, names)}")
    figure = go.Figure()
    figure.add_scatter(x=budget, y=frontier["rank_value"] / unit, mode="lines+markers",
                       name="Rank-order line at each budget", line=dict(color="#999999", dash="dash"),
                       marker=dict(size=5, color="#999999"), hoverinfo="skip")
    figure.add_scatter(x=budget, y=frontier["value"] / unit, mode="lines+markers", name="Optimal selection",
                       line=dict(color=PALETTE[0], width=3), marker=dict(size=8, color=PALETTE[0]),
                       hovertext=hover, hovertemplate="%{hovertext}<extra></extra>")
    at_envelope = frontier[frontier["at_envelope"]]
    if not at_envelope.empty:
        figure.add_scatter(x=at_envelope["budget"] / 100, y=at_envelope["value"] / unit, mode="markers",
                           name="Optimal at the envelope", marker=dict(symbol="star", size=18, color=PALETTE[0],
                                                                        line=dict(color="#222222", width=1)),
                           hovertemplate="Optimal at the envelope: %{y:,.1f}<extra></extra>")
    figure.add_scatter(x=[current_cost / 100], y=[current_value / unit], mode="markers",
                       name="Current selection (rank-order line)",
                       marker=dict(symbol="square", size=13, color=PALETTE[5]),
                       hovertemplate=f"Current rank-order line: spends {money(current_cost, currency)}, "
                                     f"value {value_text(current_value)}<extra></extra>")
    figure.add_shape(type="line", x0=envelope / 100, x1=envelope / 100, y0=0, y1=1, yref="paper",
                     line=dict(color=PALETTE[5], dash="dot", width=2))
    figure.add_annotation(x=envelope / 100, y=1, yref="paper", text="Envelope", showarrow=False,
                          xanchor="left", yanchor="top", font=dict(color=PALETTE[5]))
    figure.update_layout(
        height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
        xaxis=dict(title=f"Budget ({currency})", tickprefix=symbol, gridcolor="#eee", rangemode="tozero"),
        yaxis=dict(title=value_title, tickprefix=symbol if value_in_cents else "", gridcolor="#eee",
                   rangemode="tozero"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), hovermode="closest",
    )
    return figure


def theme_sensitivity_figure(counts: pd.DataFrame, theme_names: dict[str, str], height: int = 340) -> go.Figure:
    """Per theme, how many funding decisions a move of that theme's weight alone would change, by size of move.

    ``counts`` is :func:`portfolio.robustness.theme_sensitivity`: cumulative
    ``within_<band>`` columns, drawn here as stacked bars of the bands
    between them. Themes are sorted with the most decisions at stake first.
    """
    bands = [c for c in counts.columns if c.startswith("within_")]
    limits = [float(c.removeprefix("within_")) for c in bands]
    frame = counts.sort_values(bands[::-1], ascending=False, kind="stable")
    labels = [escape(theme_names.get(t, t)) for t in frame["theme_id"]]
    colours = [PALETTE[5], PALETTE[1], PALETTE[4], "#BBBBBB"]
    figure = go.Figure()
    previous = np.zeros(len(frame), dtype=int)
    lower = 0.0
    for index, (band, limit) in enumerate(zip(bands, limits, strict=True)):
        cumulative = frame[band].to_numpy(dtype=int)
        name = f"within {limit:g} pp" if index == 0 else f"{lower:g}–{limit:g} pp"
        figure.add_bar(y=labels, x=cumulative - previous, orientation="h", name=name,
                       marker_color=colours[index % len(colours)],
                       hovertemplate="%{y}: %{x} decisions move with a change of " + name + "<extra></extra>")
        previous, lower = cumulative, limit
    figure.update_layout(barmode="stack", height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10),
                         plot_bgcolor="white", yaxis=dict(autorange="reversed"),
                         xaxis=dict(title="Funding decisions that change (initiatives crossing their line)",
                                    gridcolor="#eee", dtick=1 if previous.max(initial=0) <= 10 else None),
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, traceorder="normal",
                                     title="Change of the theme's share"))
    return figure


def robustness_quadrant_figure(frame: pd.DataFrame, params: ScoringParams, currency: str,
                               height: int = 520) -> go.Figure:
    """Alignment against urgency, coloured by robustness: robustly funded, contested or robustly unfunded.

    ``frame`` is :func:`portfolio.robustness.funding_probability`. Bubble
    area is cost; initiatives without SAI, urgency or a funding line are left
    out. Hover shows the probability of being funded.
    """
    shown = frame[frame["sai"].notna() & frame["urgency"].notna() & (frame["robustness"] != "")]
    scatter = go.Scattergl if len(shown) > WEBGL_THRESHOLD else go.Scatter
    max_cost = float(frame["cost"].max()) if len(frame) else 1.0
    figure = go.Figure()
    for label, (colour, symbol) in ROBUSTNESS_STYLE.items():
        rows = shown[shown["robustness"] == label]
        if rows.empty:
            continue
        sizes, reference = _bubble_sizes(rows["cost"].to_numpy(), max_cost)
        customdata = np.column_stack([
            [escape(n) for n in rows["name"]], [escape(i) for i in rows["initiative_id"]],
            [escape(s) for s in rows["segment"]], [money(c, currency) for c in rows["cost"]],
            [f"{p * 100:.0f} %" for p in rows["probability"]],
            [_funding_text(None if pd.isna(v) else bool(v)) for v in rows["funded"]],
        ])
        figure.add_trace(scatter(
            x=rows["sai"], y=rows["urgency"], mode="markers", name=f"{label.capitalize()} ({len(rows)})",
            marker=dict(size=sizes, sizemode="area", sizeref=reference, sizemin=5, symbol=symbol, color=colour,
                        line=dict(color=colour, width=2), opacity=0.85),
            customdata=customdata,
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]} · %{customdata[2]} · %{customdata[3]}"
                          "<br>Funded in %{customdata[4]} of samples · now %{customdata[5]}<extra></extra>",
        ))
    draw_quadrant_frame(figure, params, height)
    return figure
