"""Audit log: every committed change with who, when, before and after; read-only."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui import state

store = state.store()

st.title("Audit log")
st.caption("Every committed change: loads, edits, scores, theme versions, status changes, scenarios and "
           "decisions. The app only appends to it; nothing here can be edited.")

log = store.audit_log(limit=100_000)
filters = st.columns(3)
initiative = filters[0].text_input("Initiative or record id", key="audit_initiative", placeholder="e.g. INI-042")
people = sorted(log["who"].dropna().unique()) if not log.empty else []
person = filters[1].multiselect("Person", people, key="audit_person")
today = dt.date.today()
first = log["changed_at"].min().date() if not log.empty else today
span = filters[2].date_input("Between", value=(first, today), key="audit_dates")

shown = log
if initiative.strip():
    shown = shown[shown["entity_id"].fillna("").str.contains(initiative.strip(), case=False, regex=False)]
if person:
    shown = shown[shown["who"].isin(person)]
if isinstance(span, tuple) and len(span) == 2:
    start, end = span
    days = shown["changed_at"].dt.date
    shown = shown[(days >= start) & (days <= end)]
st.caption(f"{len(shown):,} of {len(log):,} entries, newest first.")
st.dataframe(shown, hide_index=True, width="stretch", height=560, key="audit_table", column_config={
    "id": st.column_config.NumberColumn("#", format="%d"), "changed_at": "When (UTC)", "who": "Who",
    "action": "Action", "entity": "Record", "entity_id": "Id", "before": "Before", "after": "After"})
