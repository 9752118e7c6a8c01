"""Prioritize: re-weight themes and lenses live and see who moves, who crosses the line, what it costs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from portfolio.charts import point_row, quadrant_figure, unscored_figure
from portfolio.compare import compare_results
from portfolio.cycle import DECISIONS
from portfolio.explain import CRITERION_LABELS
from portfolio.formatting import money, money_short
from portfolio.funding import ranked_segment, segment_funding
from portfolio.scoring import ScoringParams, sai_notice
from ui import state
from ui.tables import (
    MAX_LISTED_ROWS,
    MAX_SHADED_ROWS,
    funding_status,
    list_window,
    money_column,
    score_column,
    shade_rows,
)
from ui.text import literal

current = state.view()
baseline = current.baseline_params
held = state.params(current)
currency = current.currency
segments = current.inputs.segments

st.title("Prioritize")
st.caption("Move a weight and every score, rank, funding line and quadrant is recomputed at once. "
           "Changes stay in your session until saved; **Reset** returns to the committed values.")


def _side(funded: object) -> str:
    if pd.isna(funded):
        return "no line"
    return "funded" if funded else "below the line"


def _select_clicked(event: object, result: pd.DataFrame) -> None:
    """Select the initiative of the first clicked point of a chart's selection event, if any."""
    points = event.selection.points if event and event.selection else []
    row = point_row(points[0]) if points else None
    if row is not None and row in result.index:
        state.select_initiative(str(result.at[row, "initiative_id"]))


def _slider_max(value: float) -> float:
    return float(max(100.0, value * 2)) if value > 1 else 1.0


def _theme_controls() -> dict[str, float]:
    weights = {}
    themes = current.portfolio.themes
    if themes.empty:
        st.caption("No themes yet: the PMO defines them before submissions open.")
        return weights
    keys = {theme_id: f"prioritize_theme_{theme_id}" for theme_id in themes["theme_id"]}
    for theme_id, key in keys.items():
        state.seed_widget(key, float(held.theme_weights[theme_id]))
    # The shares come from the slider values of this run, so each caption sits beside its slider.
    total = sum(float(st.session_state[key]) for key in keys.values())
    for theme_id, name in zip(themes["theme_id"], themes["name"], strict=True):
        committed = baseline.theme_weights[theme_id]
        weights[theme_id] = st.slider(literal(name), min_value=0.0, max_value=_slider_max(committed),
                                      step=1.0 if committed > 1 else 0.05, key=keys[theme_id],
                                      help=f"Theme {literal(theme_id)}; committed weight {committed:g}")
        share = f"{weights[theme_id] / total * 100:.1f} % of the total weight" if total > 0 else "no share"
        st.caption(share)
    if total <= 0:
        st.caption("Every weight is zero: SAI is undefined.")
    return weights


def _lens_controls() -> dict[str, dict[str, float]]:
    lenses = {}
    for segment in segments:
        lens = held.lenses.get(segment, {})
        st.markdown(f"**{literal(segment)}**")
        lenses[segment] = {}
        for criterion in lens:
            key = f"prioritize_lens_{segment}_{criterion}"
            state.seed_widget(key, float(lens[criterion]))
            lenses[segment][criterion] = st.slider(
                CRITERION_LABELS.get(criterion, criterion), 0.0, _slider_max(baseline.lenses[segment][criterion]),
                step=0.05, key=key)
    return lenses


def _urgency_controls() -> dict[str, float]:
    weights = {}
    for criterion, weight in held.urgency.items():
        key = f"prioritize_urgency_{criterion}"
        state.seed_widget(key, float(weight))
        weights[criterion] = st.slider(CRITERION_LABELS.get(criterion, criterion), 0.0,
                                       _slider_max(baseline.urgency.get(criterion, 1.0)), step=0.05, key=key)
    return weights


def _envelope_controls() -> dict[str, int]:
    envelopes = {}
    for segment in segments:
        if segment not in held.envelopes:
            st.caption(f"{literal(segment)}: no envelope, so no funding line")
            continue
        key = f"prioritize_envelope_{segment}"
        state.seed_widget(key, held.envelopes[segment] / 100)
        value = st.number_input(f"{segment} envelope ({currency})", min_value=0.0, step=100_000.0,
                                format="%.2f", key=key)
        envelopes[segment] = round(value * 100)
    return envelopes


with st.sidebar:
    st.button("Reset to committed values", on_click=state.reset_params, icon=":material/restart_alt:",
              width="stretch", key="prioritize_reset_button")
    # Drawn here, not in the fragment below: a fragment may not put widgets in the sidebar.
    if not state.following():
        presenting = st.toggle("Present my weights", key="present_weights",
                               help="Everyone who follows you sees your what-if weights live on their own screen.")
        if presenting and not state.user_name():
            st.caption("Enter your name to present.")


@st.fragment
def live() -> None:
    """Draw the controls, the quadrant and the lists, which a weight change reruns alone.

    Streamlit then sends only what this part draws again, not the navigation, the sidebar or the title.
    """
    controls, main = st.columns([1, 3], gap="large")
    if state.following():
        shared = state.presentation()
        what_if = held
        with controls:
            st.info(f"Following {literal(shared.presenter)}'s weights live. Turn off \u201cFollow\u201d in the "
                    "sidebar to return to your own.", icon=":material/visibility:")
            weights = what_if.normalized_theme_weights()
            st.dataframe({"theme": [current.theme_names[t] for t in weights],
                          "share": [round(w * 100, 1) for w in weights.values()]},
                         hide_index=True, width="stretch", key="prioritize_followed_weights")
    else:
        with controls:
            with st.expander("Theme weights", expanded=True):
                theme_weights = _theme_controls()
            with st.expander("Lens weights"):
                lenses = _lens_controls()
            with st.expander("Urgency weights"):
                urgency = _urgency_controls()
            with st.expander("Envelopes"):
                envelopes = _envelope_controls()
            with st.expander("Quadrant thresholds"):
                state.seed_widget("prioritize_tau_a", float(held.alignment_threshold))
                state.seed_widget("prioritize_tau_u", float(held.urgency_threshold))
                tau_a = st.slider("Alignment threshold (SAI)", 0.0, 100.0, step=1.0, key="prioritize_tau_a")
                tau_u = st.slider("Urgency threshold", 0.0, 100.0, step=1.0, key="prioritize_tau_u")
        what_if = ScoringParams(theme_weights=theme_weights, lenses=lenses, urgency=urgency, envelopes=envelopes,
                                alignment_threshold=tau_a, urgency_threshold=tau_u)
        state.set_params(what_if)
        presenter = state.user_name()
        if st.session_state.get("present_weights") and presenter:
            state.share_weights(presenter, what_if)
        else:
            state.stop_sharing()
    result = state.scored(current, what_if)
    changes, summary = compare_results(current.baseline, result)
    funding = segment_funding(result, what_if, segments)

    with main:
        notice = sai_notice(current.inputs, what_if)
        if notice:
            st.info(f"{notice}. Urgency and the lens scores that do not use SAI are shown; initiatives without "
                    "SAI appear in the strip beside the quadrant.", icon=":material/info:")

        metrics = st.columns(4)
        funded_total = sum(s.funded for s in funding)
        envelope_total = sum(s.envelope or 0 for s in funding)
        metrics[0].metric("Funded", money_short(funded_total, currency),
                          help=f"Of {money(envelope_total, currency)} in envelopes "
                               f"({money(sum(s.proposed for s in funding), currency)} proposed)")
        metrics[1].metric("Moved rank", f"{summary.moved}",
                          help="Initiatives whose rank differs from the committed one")
        metrics[2].metric("Crossed the line", f"{summary.crossed_in} in · {summary.crossed_out} out")
        metrics[3].metric("Money moved in", f"+{money_short(summary.money_in, currency)}",
                          delta=f"−{money_short(summary.money_out, currency)} moved out" if summary.money_out else None,
                          delta_color="off",
                          delta_arrow="off",
                          help="Cost of the initiatives that moved into funding, and below it of those that moved out")

        crossed = set(changes.loc[changes["crossing"] != "", "initiative_id"])
        decisions = dict(zip(current.decisions["initiative_id"], current.decisions["decision"], strict=True))
        selected = state.selected_initiative()
        has_unscored = bool(result["sai"].isna().any())
        chart_column, strip_column = st.columns([3, 1]) if has_unscored and not notice else (st.container(), None)
        if notice:
            chart_column, strip_column = None, st.container()
        if chart_column is not None:
            with chart_column:
                event = st.plotly_chart(
                    quadrant_figure(result, what_if, segments, currency, highlight=crossed, selected=selected,
                                    decisions=decisions, labels=current.hover),
                    on_select="rerun", selection_mode="points", key="prioritize_quadrant",
                    config={"displaylogo": False})
                _select_clicked(event, result)
                st.caption("Filled bubbles are funded, hollow ones below the line; bubble area is cost. A dark "
                           "ring marks an initiative that crossed the funding line. Click a bubble to select it.")
        if strip_column is not None:
            with strip_column:
                st.markdown(f"**Not scored for alignment yet** ({int(result['sai'].isna().sum())})")
                strip = st.plotly_chart(unscored_figure(result, segments, currency, height=420 if notice else 560,
                                                        labels=current.hover),
                                        on_select="rerun", selection_mode="points", key="prioritize_strip",
                                        config={"displaylogo": False})
                _select_clicked(strip, result)

        selected = state.selected_initiative()
        row = state.row_of(current, selected) if selected else None
        if row is not None:
            item = result.iloc[row]
            status = funding_status(result.iloc[[row]])[0]
            st.markdown(f"**Selected: {item['initiative_id']}**")
            st.text(f"{item['name']} · {item['segment']} · {money(item['cost'], currency)} · rank {item['rank']} · "
                    f"{status}")
            st.page_link("app_pages/why.py", label="Why this score", icon=":material/arrow_forward:")

        st.subheader("What changed against the committed weights")
        if changes.empty:
            st.caption("Nothing has moved: the what-if equals the committed weights.")
        else:
            moved = changes
            if len(changes) > MAX_LISTED_ROWS:
                st.caption(f"Listing the first {MAX_LISTED_ROWS:,} of {len(changes):,} changes: crossings of the "
                           "funding line first, then the largest moves.")
                moved = changes.head(MAX_LISTED_ROWS)
            shown = moved.assign(
                cost=moved["cost"] / 100,
                funded_before=[_side(v) for v in moved["funded_before"]],
                funded_after=[_side(v) for v in moved["funded_after"]],
            )[["initiative_id", "name", "segment", "rank_before", "rank_after", "rank_change", "crossing",
               "funded_before", "funded_after", "cost"]]
            st.dataframe(shown, hide_index=True, width="stretch", key="prioritize_changes", column_config={
                "initiative_id": "ID", "name": "Initiative", "segment": "Segment",
                "rank_before": st.column_config.NumberColumn("Rank before", format="%d"),
                "rank_after": st.column_config.NumberColumn("Rank now", format="%d"),
                "rank_change": st.column_config.NumberColumn("Moved", format="%+d", help="Positive: moved up"),
                "crossing": "Funding line", "funded_before": "Before", "funded_after": "Now",
                "cost": money_column("Cost", currency)})

        st.subheader("Ranked lists and funding lines")
        # Only the open tab's list is built and sent: a hidden list costs as much as a shown one, and switching
        # tabs reruns the page to build the one that opens.
        listed = [s for s in funding if s.count]
        tabs = st.tabs([f"{literal(s.segment)} ({s.count:,})" for s in listed], key="prioritize_segment_tabs",
                       on_change="rerun")
        for tab, summary_of_segment in zip(tabs, listed, strict=True):
            if tab.open is False:
                continue
            with tab:
                segment = summary_of_segment.segment
                if summary_of_segment.envelope is None:
                    st.caption(f"No envelope for {literal(segment)}: the list is ranked but has no funding line.")
                else:
                    line = (f"{summary_of_segment.funded_count} funded for "
                            f"{money(summary_of_segment.funded, currency)} "
                            f"of the {money(summary_of_segment.envelope, currency)} envelope; headroom "
                            f"{money(summary_of_segment.headroom, currency)}.")
                    if summary_of_segment.overrun:
                        st.warning(f"Must-fund initiatives alone overrun the envelope by "
                                   f"{money(summary_of_segment.overrun, currency)}. " + line, icon=":material/warning:")
                    else:
                        shading = ("Shaded rows are funded" if summary_of_segment.count <= MAX_SHADED_ROWS else
                                   f"The Funding column shows which are funded (lists over {MAX_SHADED_ROWS} rows "
                                   "are not shaded, to keep each move quick)")
                        st.caption(f"{line} Listed in funding order: must-fund first, then by rank. {shading}; "
                                   "the funding line runs under the last funded row.")
                ranked = ranked_segment(result, segment, current.baseline)
                window = list_window(ranked["funded"].fillna(False).to_numpy(dtype=bool))
                if window is not None:
                    head = MAX_LISTED_ROWS // 2
                    st.caption(f"Listing {len(window):,} of {len(ranked):,}: the first {head:,} and the "
                               f"{len(window) - head:,} around the funding line. The Export page has every row.")
                    ranked = ranked.iloc[window]
                table = pd.DataFrame({
                    "rank": ranked["rank"],
                    "moved": [f"{int(v):+d}" if v else "" for v in ranked["rank_change"]],
                    "initiative_id": ranked["initiative_id"],
                    "name": ranked["name"], "cost": ranked["cost"] / 100,
                    "running_total": ranked["running_total"].astype("Float64") / 100,
                    "segment_score": ranked["segment_score"], "urgency": ranked["urgency"], "sai": ranked["sai"],
                    "status": funding_status(ranked), "crossing": ranked["crossing"],
                    "decision": ranked["initiative_id"].map(lambda i: DECISIONS.get(decisions.get(i, ""), "")),
                })
                styled = shade_rows(table, ranked["funded"].fillna(False).to_numpy(dtype=bool))
                selection = st.dataframe(
                    styled, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 560),
                    key=f"prioritize_list_{segment}",
                    on_select="rerun", selection_mode="single-row", column_config={
                        "rank": st.column_config.NumberColumn("Rank", format="%d"),
                        "moved": st.column_config.TextColumn(
                            "Moved", help="Places moved against the committed weights; + is up"),
                        "initiative_id": "ID", "name": "Initiative", "cost": money_column("Cost", currency),
                        "running_total": money_column("Running total", currency,
                                                      "Cost counted by the funding line, in funding order"),
                        "segment_score": score_column("Segment score"), "urgency": score_column("Urgency"),
                        "sai": score_column("SAI"), "status": "Funding", "crossing": "Crossed",
                        "decision": "Decision"})
                rows = selection.selection.rows if selection and selection.selection else []
                if rows:
                    state.select_initiative(str(table.iloc[rows[0]]["initiative_id"]))


live()
