"""Why this score: how one initiative's SAI, urgency and segment score are made."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from portfolio.charts import waterfall_figure
from portfolio.explain import explain
from portfolio.formatting import money
from ui import state
from ui.errors import guarded
from ui.tables import funding_status
from ui.text import literal

current = state.view()
what_if = state.params(current)
result = state.scored(current, what_if)

st.title("Why this score")
st.caption("Every score is a weighted sum. Each bar below is one weight times one score; the bars add up "
           "exactly to the number shown (parts are rounded to hundredths so that they still add up).")

if result.empty:
    st.info("The portfolio has no initiatives yet.")
    st.stop()

ids = result["initiative_id"].tolist()
labels = {iid: f"{iid} · {name}" for iid, name in zip(ids, result["name"], strict=True)}
selected = state.selected_initiative()
if selected not in labels:
    selected = ids[0]
st.session_state["why_initiative"] = selected
# Only a choice made here selects the initiative elsewhere; opening the page selects nothing.
choice = st.selectbox("Initiative", ids, format_func=labels.__getitem__, key="why_initiative",
                      on_change=guarded("choosing an initiative")(
                          lambda: state.select_initiative(st.session_state["why_initiative"])),
                      help="Type to search by id or name. Clicking a bubble on Prioritize selects it here too.")

row = state.row_of(current, choice)
item = result.iloc[row]
record = current.portfolio.initiatives.iloc[row]
status = funding_status(result.iloc[[row]])[0]
quadrant = item["quadrant"] if isinstance(item["quadrant"], str) else "not placed (no SAI)"
st.text(f"{item['name']} · {item['segment']} · {money(item['cost'], current.currency)} · rank {item['rank']} in "
        f"{item['segment']} · {status} · quadrant: {quadrant.replace('_', ' ')}")
if isinstance(record.get("description"), str):
    st.caption(literal(record["description"]))

columns = st.columns(3)
for column, explanation in zip(columns, explain(current.inputs, what_if, row, current.theme_names), strict=True):
    with column:
        st.subheader(explanation.title)
        if not explanation.defined:
            st.metric(explanation.title, "—", label_visibility="collapsed")
            st.info(f"Undefined: {explanation.reason}.")
            continue
        st.metric(explanation.title, f"{explanation.shown_total:.2f}", label_visibility="collapsed")
        if not explanation.parts:
            st.caption("Every part is zero.")
            continue
        st.plotly_chart(waterfall_figure(explanation), key=f"why_chart_{explanation.title}",
                        config={"displaylogo": False})
        st.dataframe(pd.DataFrame({
            "part": [p.label for p in explanation.parts],
            "how": [p.formula for p in explanation.parts],
            "points": [p.shown for p in explanation.parts],
        }), hide_index=True, width="stretch", key=f"why_table_{explanation.title}",
            column_config={"points": st.column_config.NumberColumn("Points", format="%.2f")})

alignment = current.portfolio.alignment
scores = alignment[(alignment["initiative_id"] == choice) & alignment["theme_id"].isin(current.theme_names)]
if not scores.empty:
    st.subheader("Alignment scores and justifications")
    threshold = current.portfolio.settings.justification_threshold
    st.dataframe(pd.DataFrame({
        "theme": scores["theme_id"].map(current.theme_names),
        "score": scores["score"],
        "justification": [j if j else ("missing: needs one" if s >= threshold else "")
                          for j, s in zip(scores["justification"], scores["score"], strict=True)],
    }), hide_index=True, width="stretch", key="why_alignment")
