"""Optimize: the best selection per segment beside the rank-order line, the efficient frontier, robustness."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from portfolio.charts import frontier_figure, robustness_quadrant_figure, theme_sensitivity_figure
from portfolio.formatting import money
from portfolio.optimize import (
    OBJECTIVE_LABELS,
    OBJECTIVES,
    VALUE_TITLES,
    Optimization,
    OptimizationError,
    SegmentSelection,
    efficient_frontier,
    optimize,
    value_text,
)
from portfolio.robustness import (
    CONTESTED,
    ROBUST_FUNDED,
    ROBUST_UNFUNDED,
    RobustnessError,
    describe_change,
    funding_probability,
    share_spread,
    smallest_changes,
    theme_sensitivity,
    weight_sensitivity,
)
from portfolio.scoring import ScoringParams, sai_notice
from ui import state
from ui.tables import money_column, score_column
from ui.text import literal

logger = logging.getLogger(__name__)

MONTE_CARLO_KEY = "optimize_monte_carlo"
CONCENTRATIONS = (5, 10, 20, 50, 100, 200, 500, 1000)
SAMPLE_COUNTS = (200, 500, 1000, 2000, 5000)
SEED = 0
# Exact sensitivity looks at every placeable initiative of a small segment; in a large one, at those nearest the line.
SENSITIVITY_ALL_UP_TO = 400
SENSITIVITY_WINDOW = 15

current = state.view()
what_if = state.params(current)
currency = current.currency
names = dict(zip(current.inputs.ids.astype(str), current.inputs.names, strict=True))
theme_names = current.theme_names

st.title("Optimize")
st.caption("For each segment with an envelope: the selection that buys the most value with the envelope, solved "
           "exactly, beside the rank-order funding line; what each budget could buy; and how firmly the line "
           "holds when the weights move. Weights and envelopes are those of your session, set on Prioritize.")


@st.cache_data(max_entries=32, show_spinner="Solving the optimal selections…")
def _optimize(_current: state.View, version: int, params_json: str, objective: str) -> Optimization:
    params = ScoringParams.model_validate_json(params_json)
    return optimize(_current.inputs, params, _current.portfolio.dependencies, objective,
                    state.scored(_current, params))


@st.cache_data(max_entries=64, show_spinner="Solving the frontier: one exact optimum per budget…")
def _frontier(_current: state.View, version: int, params_json: str, objective: str, segment: str) -> pd.DataFrame:
    params = ScoringParams.model_validate_json(params_json)
    return efficient_frontier(_current.inputs, params, _current.portfolio.dependencies, segment, objective,
                              optimization=_optimize(_current, version, params_json, objective),
                              result=state.scored(_current, params))


@st.cache_data(max_entries=16, show_spinner="Finding the smallest weight changes that move the line…")
def _sensitivity(_current: state.View, version: int, params_json: str) -> pd.DataFrame:
    params = ScoringParams.model_validate_json(params_json)
    window = None if _current.inputs.size <= SENSITIVITY_ALL_UP_TO else SENSITIVITY_WINDOW
    return weight_sensitivity(_current.inputs, params, state.scored(_current, params), window=window)


def _rows_table(frame: pd.DataFrame, ids: tuple[str, ...] | list[str]) -> pd.DataFrame:
    rows = frame.set_index("initiative_id").loc[list(ids)].reset_index()
    return pd.DataFrame({"initiative_id": rows["initiative_id"], "name": rows["name"], "rank": rows["rank"],
                         "segment_score": rows["segment_score"], "cost": rows["cost"] / 100})


def _list_config(label: str | None = None) -> dict:
    return {"initiative_id": "ID", "name": label or "Initiative", "rank": st.column_config.NumberColumn("Rank",
                                                                                                     format="%d"),
            "segment_score": score_column("Segment score"), "cost": money_column("Cost", currency)}


def _segment_tab(summary: SegmentSelection, optimization: Optimization, objective: str, params_json: str) -> None:
    frame = optimization.frame[optimization.frame["segment"] == summary.segment]
    unspent_rank = summary.envelope - summary.cost_rank
    differs = bool(summary.added or summary.dropped)
    value_delta = f"{value_text(summary.value_gained, objective, currency)} over the rank-order line"
    money_delta = f"{money(summary.money_change, currency)} against the line"
    count_delta = f"{summary.count_optimal - summary.count_rank:+d} against the line"

    columns = st.columns(4)
    columns[0].metric("Value of the optimal selection", value_text(summary.value_optimal, objective, currency),
                      delta=value_delta if differs else None,
                      help=f"{VALUE_TITLES[objective]} of the funded initiatives. Rank-order line: "
                           f"{value_text(summary.value_rank, objective, currency)}")
    columns[1].metric("Spent by the optimal selection", money(summary.cost_optimal, currency),
                      delta=money_delta if summary.money_change else None, delta_color="off",
                      help=f"Rank-order line spends {money(summary.cost_rank, currency)} of the "
                           f"{money(summary.envelope, currency)} envelope")
    columns[2].metric("Initiatives funded", f"{summary.count_optimal}",
                      delta=count_delta if summary.count_optimal != summary.count_rank else None, delta_color="off")
    columns[3].metric("Left unspent", money(max(0, summary.envelope - summary.cost_optimal), currency),
                      help=f"Rank-order line leaves {money(max(0, unspent_rank), currency)} unspent")

    if summary.overrun:
        st.warning(f"Must-fund initiatives (and what they require) alone exceed the envelope by "
                   f"{money(summary.overrun, currency)}, so the selection is exactly that set.",
                   icon=":material/warning:")
    if summary.linked:
        st.caption(f"Solved together with {', '.join(summary.linked)} because dependencies cross these segments.")
    if summary.rank_breaks:
        st.caption(f"The rank-order line funds {summary.rank_breaks} initiatives without what they require; "
                   "the optimal selection never does.")

    if not summary.added and not summary.dropped:
        st.success("The optimal selection is the rank-order line: nothing to change.", icon=":material/check:")
    else:
        st.markdown(f"**What differs:** the optimizer adds {len(summary.added)} and drops {len(summary.dropped)}.")
        added, dropped = st.columns(2)
        with added:
            st.markdown("Funded by the optimizer, not by the line")
            st.dataframe(_rows_table(frame, summary.added), hide_index=True, width="stretch",
                         column_config=_list_config(), key=f"optimize_added_{summary.segment}")
        with dropped:
            st.markdown("Funded by the line, not by the optimizer")
            st.dataframe(_rows_table(frame, summary.dropped), hide_index=True, width="stretch",
                         column_config=_list_config(), key=f"optimize_dropped_{summary.segment}")

    by_rank = frame[frame["funded_by_rank"].fillna(False).to_numpy(dtype=bool)].sort_values("rank")
    optimal = frame[frame["funded_optimal"].fillna(False).to_numpy(dtype=bool)].sort_values("rank")
    with st.expander(f"Both selections side by side ({summary.count_rank} and {summary.count_optimal} initiatives)"):
        left, right = st.columns(2)
        with left:
            st.markdown(f"**Rank-order line**: {money(summary.cost_rank, currency)}, "
                        f"{value_text(summary.value_rank, objective, currency)}")
            st.dataframe(_rows_table(frame, by_rank["initiative_id"].tolist()), hide_index=True, width="stretch",
                         height=min(38 + 35 * len(by_rank), 420), column_config=_list_config(),
                         key=f"optimize_rank_list_{summary.segment}")
        with right:
            st.markdown(f"**Optimal selection**: {money(summary.cost_optimal, currency)}, "
                        f"{value_text(summary.value_optimal, objective, currency)}")
            st.dataframe(_rows_table(frame, optimal["initiative_id"].tolist()), hide_index=True, width="stretch",
                         height=min(38 + 35 * len(optimal), 420), column_config=_list_config(),
                         key=f"optimize_optimal_list_{summary.segment}")

    st.markdown("**Efficient frontier**: the best value each budget can buy, from nothing to 150 % of the envelope")
    frontier = _frontier(current, current.version, params_json, objective, summary.segment)
    st.plotly_chart(frontier_figure(frontier, summary.envelope, summary.cost_rank, summary.value_rank, names,
                                    currency, VALUE_TITLES[objective], objective == "score_cost"),
                    key=f"optimize_frontier_{summary.segment}", config={"displaylogo": False})
    st.caption("Every blue point is an exact optimum at that budget (every 7.5 % of the envelope, and the envelope "
               "itself, starred); hover over one to see what it would fund. The dashed grey line is what the "
               "rank-order line buys at the same budgets; the square is the current selection, placed at what it "
               "spends.")


objective = st.radio("Objective", options=list(OBJECTIVES), format_func=OBJECTIVE_LABELS.get, horizontal=True,
                     key="optimize_objective",
                     help="Segment score × cost treats value as proportional to size; the value is shown as "
                          "score-weighted spend, segment score / 100 × cost.")
st.markdown(f"**Objective:** {OBJECTIVES[objective]}")
with st.expander("How the optimizer decides"):
    st.markdown(
        "- **Must-fund** initiatives are always funded, with whatever they require; **forced-out** ones never.\n"
        "- Initiatives **without a segment score** cannot be valued, so they are left out, as the funding line "
        "leaves them, unless they are must-fund or a must-fund initiative requires them.\n"
        "- **Dependencies** hold: an initiative is funded only together with what it requires. A requirement "
        "in a segment without an envelope holds only when that initiative is must-fund. Segments linked by a "
        "requirement across them are solved together, each within its own envelope, so such a requirement holds "
        "exactly when the required initiative is in its own segment's optimal selection.\n"
        "- Where must-fund initiatives alone exceed the envelope, the selection is the must-fund set and the "
        "overrun is shown.\n"
        "- The selection is **exact**: a mixed integer program solved by HiGHS with a zero optimality gap, then "
        "checked to the cent. Among selections of equal value it takes the one that changes the fewest "
        "decisions of the rank-order line, then the one with higher-ranked initiatives.")

notice = sai_notice(current.inputs, what_if)
if notice:
    st.info(f"{notice}. Segments whose lens uses SAI can only fund their must-fund initiatives, and the "
            "robustness analysis needs a theme weight above zero.", icon=":material/info:")

params_json = what_if.model_dump_json()
try:
    optimization = _optimize(current, current.version, params_json, objective)
except OptimizationError as exc:
    logger.error("optimizer failed on data version %s: %s", current.version, exc)
    st.error(f"The optimizer failed: {literal(exc)}", icon=":material/error:")
    st.stop()

for needer, needed in optimization.unmet:
    st.warning(f"{needer} requires {needed}, which cannot be funded; {needer} is funded anyway because it is "
               "must-fund.", icon=":material/link_off:")

st.header("Optimal selection against the rank-order line")
if not optimization.segments:
    st.info("No segment has an envelope, so there is nothing to optimize; add envelopes on Prioritize or in the "
            "budget file.", icon=":material/info:")
else:
    tabs = st.tabs([s.segment for s in optimization.segments])
    for tab, summary in zip(tabs, optimization.segments, strict=True):
        with tab:
            _segment_tab(summary, optimization, objective, params_json)

st.header("Robustness to the weights")
if notice:
    st.stop()

st.subheader("Smallest single-theme change that moves an initiative across its line")
st.caption("For each initiative near its segment's funding line: the smallest change of one theme's weight, "
           "the other weights held fixed, that moves it across the line, in percentage points (pp) of that "
           "theme's share. Only segments whose lens uses SAI depend on theme weights.")
try:
    sensitivity = _sensitivity(current, current.version, params_json)
except RobustnessError as exc:
    st.info(str(exc), icon=":material/info:")
    st.stop()
smallest = smallest_changes(sensitivity)
movable = smallest[smallest["change_pp"].notna()] if not smallest.empty else smallest
if movable.empty:
    st.caption("No single theme weight moves any initiative across its line.")
else:
    moves = pd.DataFrame({
        "initiative_id": movable["initiative_id"], "name": movable["name"], "segment": movable["segment"],
        "rank": movable["rank"], "now": ["funded" if f else "below the line" for f in movable["funded"]],
        "move": [describe_change(theme_names.get(t, t), c) for t, c in zip(movable["theme_id"],
                                                                           movable["change_pp"], strict=True)],
        "change_pp": movable["change_pp"], "crossing": movable["crossing"],
    })
    st.dataframe(moves, hide_index=True, width="stretch", height=min(38 + 35 * len(moves), 420),
                 key="optimize_sensitivity_table", column_config={
                     "initiative_id": "ID", "name": "Initiative", "segment": "Segment",
                     "rank": st.column_config.NumberColumn("Rank", format="%d"), "now": "Now",
                     "move": st.column_config.TextColumn(
                         "Smallest move that crosses the line",
                         help="Change of that theme's share of the total weight, the others held fixed; just past "
                              "it, the initiative crosses its segment's funding line"),
                     "change_pp": st.column_config.NumberColumn("Change", format="%+.2f pp"),
                     "crossing": "Then it moves"})

counts = theme_sensitivity(sensitivity)
if not counts.empty:
    st.markdown("**Which themes the funding decisions depend on most**")
    st.plotly_chart(theme_sensitivity_figure(counts, theme_names), key="optimize_theme_sensitivity",
                    config={"displaylogo": False})
    st.caption("Each bar counts the funding decisions that a change of that theme's share alone, up to 10 pp "
               "either way, would reverse, split by how small a change suffices.")

st.subheader("Monte Carlo: probability of being funded when the weights are uncertain")
st.caption("Theme weights and each lens's criterion weights are drawn around the current ones (Dirichlet "
           "distributions), the funding line is recomputed for every draw, and each initiative's share of draws "
           "that fund it is its probability of being funded. Urgency weights, envelopes and flags stay fixed.")
shares = what_if.normalized_theme_weights()
largest = max(shares.values(), default=0.0)
controls = st.columns(2)
with controls[0]:
    state.seed_widget("optimize_concentration", 100)
    concentration = st.select_slider(
        "Concentration (larger: weights stay closer to the current ones)", options=CONCENTRATIONS,
        key="optimize_concentration")
    st.caption(f"At {concentration}, the largest theme share ({largest * 100:.0f} %) varies by about "
               f"±{share_spread(largest, concentration) * 100:.1f} pp (one standard deviation).")
with controls[1]:
    state.seed_widget("optimize_samples", 1000)
    samples = st.select_slider("Samples", options=SAMPLE_COUNTS, key="optimize_samples",
                               help=f"Random seed {SEED}, so the same settings give the same figures.")

signature = (current.version, params_json, concentration, samples, SEED)
cached_run = st.session_state.get(MONTE_CARLO_KEY)
if cached_run is None or cached_run[0] != signature:
    progress = st.progress(0.0, text="Sampling weights…")

    def _report(done: int, total: int) -> None:
        progress.progress(done / total, text=f"Sampled {done:,} of {total:,} weight sets")

    frame = funding_probability(current.inputs, what_if, float(concentration), int(samples), SEED,
                                state.scored(current, what_if), progress=_report)
    progress.empty()
    st.session_state[MONTE_CARLO_KEY] = (signature, frame)
else:
    frame = cached_run[1]

labelled = frame[frame["robustness"] != ""]
tally = labelled["robustness"].value_counts()
columns = st.columns(3)
columns[0].metric("Robustly funded", f"{tally.get(ROBUST_FUNDED, 0)}", help="Funded in at least 90 % of the draws")
columns[1].metric("Contested", f"{tally.get(CONTESTED, 0)}", help="Funded in more than 10 % and less than 90 %")
columns[2].metric("Robustly unfunded", f"{tally.get(ROBUST_UNFUNDED, 0)}", help="Funded in at most 10 % of the draws")
st.plotly_chart(robustness_quadrant_figure(frame, what_if, currency), key="optimize_robustness_quadrant",
                config={"displaylogo": False})
st.caption("Green: robustly funded. Vermillion diamonds: contested, the decisions the weights actually settle. "
           "Grey rings: robustly unfunded. Bubble area is cost; hover for the probability.")

contested = labelled[labelled["robustness"] == CONTESTED].sort_values(["segment", "rank"])
if not contested.empty:
    st.markdown(f"**Contested initiatives** ({len(contested)}): the decisions the weights actually settle")
    st.dataframe(pd.DataFrame({
        "segment": contested["segment"], "rank": contested["rank"], "initiative_id": contested["initiative_id"],
        "name": contested["name"], "cost": contested["cost"] / 100,
        "now": ["funded" if f else "below the line" for f in contested["funded"]],
        "probability": contested["probability"],
    }), hide_index=True, width="stretch", height=min(38 + 35 * len(contested), 420), key="optimize_contested",
        column_config={"segment": "Segment", "rank": st.column_config.NumberColumn("Rank", format="%d"),
                       "initiative_id": "ID", "name": "Initiative", "cost": money_column("Cost", currency),
                       "now": "Now", "probability": st.column_config.ProgressColumn(
                           "Probability funded", min_value=0.0, max_value=1.0, format="percent")})

st.markdown("**Every initiative with a funding line**, in rank order")
segment_names = [s for s in current.inputs.segments if s in set(labelled["segment"])]
if segment_names:
    list_tabs = st.tabs([f"{s} ({int((labelled['segment'] == s).sum())})" for s in segment_names])
    for tab, segment in zip(list_tabs, segment_names, strict=True):
        with tab:
            rows = labelled[labelled["segment"] == segment].sort_values("rank")
            table = pd.DataFrame({
                "rank": rows["rank"], "initiative_id": rows["initiative_id"], "name": rows["name"],
                "cost": rows["cost"] / 100, "now": ["funded" if f else "below the line" for f in rows["funded"]],
                "probability": rows["probability"], "robustness": rows["robustness"],
            })
            st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 460),
                         key=f"optimize_probability_{segment}", column_config={
                             "rank": st.column_config.NumberColumn("Rank", format="%d"), "initiative_id": "ID",
                             "name": "Initiative", "cost": money_column("Cost", currency), "now": "Now",
                             "probability": st.column_config.ProgressColumn(
                                 "Probability funded", min_value=0.0, max_value=1.0, format="percent"),
                             "robustness": "Robustness"})
