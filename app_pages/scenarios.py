"""Scenarios: save what-if weights by name, load, rename, delete, compare two, commit one as the baseline."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from portfolio.compare import compare_results
from portfolio.errors import PortfolioLensError
from portfolio.formatting import money
from portfolio.funding import evaluate, segment_funding
from portfolio.reconcile import NO_LINK, attribute_spend
from ui import state
from ui.tables import money_column
from ui.text import literal

current = state.view()
store = state.store()
what_if = state.params(current)
currency = current.currency

st.title("Scenarios")
st.caption("A scenario is a named set of theme weights, lens weights, envelopes and thresholds. Saving one "
           "records your current what-if weights from Prioritize; committing one as the cycle's baseline makes it "
           "the reference that \u201cwhat changed\u201d compares against.")

flash = st.session_state.pop("scenarios_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")


def _run(action, message: str) -> None:
    who = state.actor()
    if who is None:
        st.error("Enter your name in the sidebar first: the audit log records who changed what.",
                 icon=":material/badge:")
        return
    try:
        action(who)
    except PortfolioLensError as exc:
        st.error(f"Not done: {literal(exc)}.", icon=":material/block:")
        return
    st.session_state["scenarios_flash"] = message
    st.rerun()


st.subheader("Save the current what-if")
with st.form("scenarios_save_form", enter_to_submit=True):
    name = st.text_input("Name", placeholder="e.g. Security first", key="scenarios_new_name")
    note = st.text_input("Note", placeholder="what this scenario argues for", key="scenarios_new_note")
    overwrite = st.checkbox("Replace a scenario of the same name", key="scenarios_overwrite")
    submitted = st.form_submit_button("Save scenario", type="primary")
if submitted:
    def _save(who: str) -> None:
        expected = None
        if overwrite:
            try:
                expected = store.scenario(name.strip())[1]
            except PortfolioLensError:
                expected = None
        store.save_scenario(name, what_if, who, note, expected_version=expected)

    _run(_save, f"Saved scenario \u201c{literal(name.strip())}\u201d.")

saved = store.scenarios()
st.subheader(f"Saved scenarios ({len(saved)})")
if saved.empty:
    st.caption("None yet.")
    st.stop()
baseline = current.cycle.baseline
st.dataframe(saved.assign(baseline=saved["name"] == baseline), hide_index=True, width="stretch",
             key="scenarios_table", column_config={"baseline": st.column_config.CheckboxColumn("Baseline")})

names = saved["name"].tolist()
chosen = st.selectbox("Scenario", names, key="scenarios_chosen")
row = st.columns(4)
if row[0].button("Load into Prioritize", key="scenarios_load"):
    params, _ = store.scenario(chosen)
    state.set_params(params)
    state.clear_widgets()
    st.session_state["scenarios_flash"] = f"Loaded \u201c{literal(chosen)}\u201d: Prioritize now shows its weights."
    st.rerun()
if row[1].button("Commit as the cycle's baseline", key="scenarios_commit"):
    _run(lambda who: store.commit_baseline(chosen, who), f"\u201c{literal(chosen)}\u201d is now the cycle's baseline.")
if row[2].button("Delete", key="scenarios_delete"):
    _run(lambda who: store.delete_scenario(chosen, who), f"Deleted \u201c{literal(chosen)}\u201d.")
with row[3].popover("Rename"):
    new_name = st.text_input("New name", key="scenarios_rename_to")
    if st.button("Rename", key="scenarios_rename"):
        _run(lambda who: store.rename_scenario(chosen, new_name, who),
             f"Renamed to \u201c{literal(new_name.strip())}\u201d.")

st.subheader("Compare two scenarios")
options = ["(committed weights)", *names]
pick = st.columns(2)
left_name = pick[0].selectbox("Left", options, key="scenarios_left")
right_name = pick[1].selectbox("Right", options, index=min(1, len(options) - 1), key="scenarios_right")


def _params(label: str):
    return current.committed_params if label == options[0] else store.scenario(label)[0]


left_params, right_params = _params(left_name), _params(right_name)
left_result = evaluate(current.inputs, left_params)
right_result = evaluate(current.inputs, right_params)
changes, summary = compare_results(left_result, right_result)
metrics = st.columns(4)
metrics[0].metric("Moved rank", f"{summary.moved}")
metrics[1].metric("Crossed the line", f"{summary.crossed_in} in · {summary.crossed_out} out")
metrics[2].metric("Money into funding", money(summary.money_in, currency))
metrics[3].metric("Money out of funding", money(summary.money_out, currency))

weights = pd.DataFrame({
    "theme": [current.theme_names[t] for t in current.inputs.theme_ids],
    "left": [left_params.normalized_theme_weights().get(t, float("nan")) * 100 for t in current.inputs.theme_ids],
    "right": [right_params.normalized_theme_weights().get(t, float("nan")) * 100 for t in current.inputs.theme_ids],
})
by_segment = pd.DataFrame({
    "segment": list(current.inputs.segments),
    "left": [s.funded / 100 for s in segment_funding(left_result, left_params, current.inputs.segments)],
    "right": [s.funded / 100 for s in segment_funding(right_result, right_params, current.inputs.segments)],
})
left_funded = left_result["funded"].fillna(False).to_numpy(dtype=bool)
right_funded = right_result["funded"].fillna(False).to_numpy(dtype=bool)
themes = attribute_spend(current.inputs, left_funded).rename(columns={"spend": "left"})
themes["right"] = attribute_spend(current.inputs, right_funded)["spend"]
themes["theme"] = themes["theme_id"].map({**current.theme_names, NO_LINK: NO_LINK})
themes[["left", "right"]] = themes[["left", "right"]] / 100

columns = st.columns(3)
with columns[0]:
    st.markdown("**Theme weight share (%)**")
    st.dataframe(weights, hide_index=True, width="stretch", key="scenarios_weights", column_config={
        "left": st.column_config.NumberColumn(left_name, format="%.1f"),
        "right": st.column_config.NumberColumn(right_name, format="%.1f")})
with columns[1]:
    st.markdown("**Funded spend by segment**")
    st.dataframe(by_segment, hide_index=True, width="stretch", key="scenarios_segments", column_config={
        "left": money_column(left_name, currency), "right": money_column(right_name, currency)})
with columns[2]:
    st.markdown("**Funded spend by theme**")
    st.dataframe(themes[["theme", "left", "right"]], hide_index=True, width="stretch", key="scenarios_themes",
                 column_config={"left": money_column(left_name, currency), "right": money_column(right_name, currency)})

st.markdown("**Initiatives that differ**")
if changes.empty:
    st.caption("The two scenarios rank and fund every initiative the same way.")
else:
    st.dataframe(changes.assign(cost=changes["cost"] / 100), hide_index=True, width="stretch",
                 key="scenarios_changes", column_config={
                     "initiative_id": "ID", "name": "Initiative", "segment": "Segment",
                     "rank_before": st.column_config.NumberColumn(f"Rank ({left_name})", format="%d"),
                     "rank_after": st.column_config.NumberColumn(f"Rank ({right_name})", format="%d"),
                     "rank_change": st.column_config.NumberColumn("Moved", format="%+d"),
                     "funded_before": f"Funded ({left_name})", "funded_after": f"Funded ({right_name})",
                     "crossing": "Funding line", "cost": money_column("Cost", currency)})
