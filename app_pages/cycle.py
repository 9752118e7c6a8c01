"""Cycle: the planning cycle's status, its theme-set versions, and re-alignment when OKRs change."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from portfolio.cycle import STATUS_LABELS, STATUSES, next_status
from portfolio.errors import PortfolioLensError
from portfolio.formatting import money
from portfolio.models import ThemeRow
from portfolio.realign import realign
from ui import state
from ui.tables import money_column
from ui.text import literal

current = state.view()
store = state.store()
cycle = current.cycle
currency = current.currency

st.title("Cycle and themes")

flash = st.session_state.pop("cycle_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")


def _who() -> str | None:
    who = state.actor()
    if who is None:
        st.error("Enter your name in the sidebar first: the audit log records who changed what.",
                 icon=":material/badge:")
    return who


def _commit(action, message: str) -> None:
    """Run a store write; show its refusal as a message, or rerun with a confirmation."""
    try:
        action()
    except PortfolioLensError as exc:
        st.error(f"Not done: {literal(exc)}.", icon=":material/block:")
        return
    st.session_state["cycle_flash"] = message
    st.rerun()


st.subheader(f"{literal(cycle.name)}: {STATUS_LABELS[cycle.status]}")
st.progress((STATUSES.index(cycle.status) + 1) / len(STATUSES),
            text=" → ".join(f"**{STATUS_LABELS[s]}**" if s == cycle.status else STATUS_LABELS[s] for s in STATUSES))
following = next_status(cycle.status)
buttons = st.columns(3)
if following is not None:
    if buttons[0].button(f"Move to {STATUS_LABELS[following]}", key="cycle_next_status", type="primary"):
        who = _who()
        if who:
            _commit(lambda: store.set_status(following, who), f"The cycle is now {STATUS_LABELS[following]}.")
if cycle.status == "submissions_closed" and buttons[1].button("Reopen submissions", key="cycle_reopen"):
    who = _who()
    if who:
        _commit(lambda: store.set_status("submissions_open", who), "Submissions are open again.")
if not cycle.published:
    st.info(f"Theme set version {cycle.theme_version} is a draft: publish it before submissions open, so that "
            "sponsors score against themes that will not change under them.", icon=":material/info:")

st.subheader("Themes")
st.caption(f"Version {cycle.theme_version}, " + ("published: saving a change creates version "
                                                 f"{cycle.theme_version + 1}, and this one stays as it is."
                                                 if cycle.published else "a draft: saving edits it in place.")
           + " Weights here are the committed ones; try what-if weights on Prioritize instead.")
themes = current.portfolio.themes[["theme_id", "name", "weight", "objective", "key_results"]].copy()
# The theme set this editor started from, kept across reruns so that a save detects someone else's change.
based_on = st.session_state.setdefault(f"cycle_based_on_{cycle.theme_version}", store.theme_snapshot())
edited = st.data_editor(
    themes, num_rows="dynamic", hide_index=True, width="stretch", key=f"cycle_themes_{cycle.theme_version}",
    column_config={
        "theme_id": st.column_config.TextColumn("ID", required=True, help="Short, stable id; scores refer to it"),
        "name": st.column_config.TextColumn("Name", required=True),
        "weight": st.column_config.NumberColumn("Weight", min_value=0.0, required=True, format="%g"),
        "objective": st.column_config.TextColumn("Objective", width="large"),
        "key_results": st.column_config.TextColumn("Key results", width="large")})
note = st.text_input("What changed (for the version history)", key="cycle_note",
                     placeholder="e.g. Q2 OKR update: AI in operations added, workforce theme retired")
save_label = "Save as a new version" if cycle.published else "Save the draft"
actions = st.columns(3)
if actions[0].button(save_label, key="cycle_save_themes"):
    who = _who()
    if who:
        try:
            rows = [ThemeRow.model_validate(record) for record in edited.to_dict("records")
                    if any(str(v).strip() for v in record.values() if v is not None and not pd.isna(v))]
        except ValidationError as exc:
            first = exc.errors()[0]
            st.error(f"Not saved: {first['loc'][0]}: {first['msg']}.", icon=":material/error:")
        else:
            def _save() -> None:
                store.save_theme_set(rows, who, note, based_on=based_on)
                # Saved: the next edit starts from the themes as they are now.
                st.session_state.pop(f"cycle_based_on_{cycle.theme_version}", None)

            _commit(_save, "Themes saved.")
if not cycle.published and actions[1].button(f"Publish version {cycle.theme_version}", key="cycle_publish"):
    who = _who()
    if who:
        _commit(lambda: store.publish_themes(who), f"Theme set version {cycle.theme_version} is published.")

versions = store.theme_sets()
with st.expander(f"Version history ({len(versions)})"):
    st.dataframe(versions, hide_index=True, width="stretch", key="cycle_versions")

st.subheader("Re-alignment")
numbers = versions["version"].tolist()
if len(numbers) < 2:
    st.caption("Only one theme-set version exists. When new OKRs land, save the themes as a new version and "
               "compare the two here.")
    st.stop()
pick = st.columns(2)
before_version = pick[0].selectbox("Before", numbers, index=1, key="cycle_before")
after_version = pick[1].selectbox("After", numbers, index=0, key="cycle_after")
before = store.read(before_version)
after = store.read(after_version)
comparison = realign(before, after)
if comparison.added_themes or comparison.retired_themes:
    names = {**dict(zip(before.themes["theme_id"], before.themes["name"], strict=True)),
             **dict(zip(after.themes["theme_id"], after.themes["name"], strict=True))}
    st.caption(f"Added: {literal(', '.join(names[t] for t in comparison.added_themes) or 'none')} · retired: "
               f"{literal(', '.join(names[t] for t in comparison.retired_themes) or 'none')}")

rows = comparison.rows
orphans = rows[rows["orphaned"]]
metrics = st.columns(4)
metrics[0].metric("Orphaned", f"{len(orphans)}", help="SAI above zero before, zero or undefined after")
moved = rows[(rows["rank_before"] != rows["rank_after"]).fillna(True)]
metrics[1].metric("Changed rank", f"{len(moved)}")
crossed = rows[(rows["funded_before"].fillna(False) != rows["funded_after"].fillna(False))]
metrics[2].metric("Crossed the funding line", f"{len(crossed)}")
metrics[3].metric("Themes no funded initiative serves", f"{len(comparison.unserved_themes)}")

tabs = st.tabs(["Worklist to re-score", "Rank and funding changes", "Spend shifting between themes",
                "Unserved themes and unlinked funding"])
with tabs[0]:
    if comparison.worklist.empty:
        st.caption("Nobody needs to re-score: no initiative lost a theme it was scored against.")
    else:
        st.dataframe(comparison.worklist, hide_index=True, width="stretch", key="cycle_worklist",
                     column_config={"initiative_id": "ID", "name": "Initiative", "segment": "Segment",
                                    "sponsor": "Sponsor", "reason": "Why"})
with tabs[1]:
    changed = rows[(rows["rank_before"] != rows["rank_after"]).fillna(True)
                   | (rows["funded_before"].fillna(False) != rows["funded_after"].fillna(False))]
    st.dataframe(changed, hide_index=True, width="stretch", key="cycle_changes", column_config={
        "sai_before": st.column_config.NumberColumn("SAI before", format="%.1f"),
        "sai_after": st.column_config.NumberColumn("SAI after", format="%.1f")})
with tabs[2]:
    spend = comparison.theme_spend.assign(spend_before=comparison.theme_spend["spend_before"] / 100,
                                          spend_after=comparison.theme_spend["spend_after"] / 100,
                                          shift=comparison.theme_spend["shift"] / 100)
    st.dataframe(spend, hide_index=True, width="stretch", key="cycle_theme_spend", column_config={
        "theme_id": "ID", "name": "Theme", "spend_before": money_column("Attributed before", currency),
        "spend_after": money_column("Attributed after", currency),
        "shift": st.column_config.NumberColumn(f"Shift ({currency})", format="%+,.0f")})
with tabs[3]:
    if comparison.unserved_themes.empty:
        st.caption("Every current theme has at least one funded initiative behind it.")
    else:
        st.markdown("**Objectives IT is not serving** (no funded initiative aligned)")
        st.dataframe(comparison.unserved_themes, hide_index=True, width="stretch", key="cycle_unserved")
    lonely = comparison.funded_without_theme
    if lonely.empty:
        st.caption("Every funded initiative serves at least one current theme.")
    else:
        st.markdown(f"**Funded initiatives serving no current theme** ({money(int(lonely['cost'].sum()), currency)})")
        st.dataframe(lonely.assign(cost=lonely["cost"] / 100), hide_index=True, width="stretch",
                     key="cycle_lonely", column_config={"cost": money_column("Cost", currency)})
