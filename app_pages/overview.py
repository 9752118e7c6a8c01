"""Overview: the live alignment profile of the committed portfolio, refreshed by every commit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from portfolio.charts import profile_heatmap, quadrant_spend_figure
from portfolio.formatting import money, score
from portfolio.profile import spend_by_quadrant, spend_weighted_sai, theme_segment_spend
from portfolio.reconcile import NO_LINK
from portfolio.scoring import QUADRANT_LABELS
from ui import state
from ui.text import literal

current = state.view()
result = current.baseline
currency = current.currency

st.title("Overview")
st.caption(f"The portfolio as committed (baseline: {literal(current.cycle.baseline or 'the committed weights')}). "
           "It follows every committed edit, decision and import; what-if weights on Prioritize do not change it.")

weighted = spend_weighted_sai(result)
funded = result["funded"].fillna(False).to_numpy(dtype=bool)
metrics = st.columns(4)
metrics[0].metric("Proposed spend", money(int(result["cost"].sum()), currency))
metrics[1].metric("Funded spend", money(int(result.loc[funded, "cost"].sum()), currency))
metrics[2].metric("Spend-weighted SAI", score(weighted["all"]),
                  help="Mean SAI of all initiatives, each weighted by its cost")
metrics[3].metric("Open flags", f"{len(current.warnings)}", help="Validation warnings; the Data page lists them")

st.subheader("Alignment profile: attributed spend by theme and segment")
matrix = theme_segment_spend(current.inputs)
labels = {**current.theme_names, NO_LINK: NO_LINK}
st.plotly_chart(profile_heatmap(matrix, labels, currency), key="overview_heatmap", config={"displaylogo": False})
st.caption("Each initiative's cost is split over the themes it serves in proportion to its alignment scores; "
           "initiatives that serve no theme are in \u201cno OKR link\u201d.")

left, right = st.columns(2)
with left:
    st.subheader("Strategic spend by quadrant")
    quadrants = spend_by_quadrant(result, "strategic")
    if int(quadrants["initiatives"].sum()) == 0:
        st.caption("The portfolio has no strategic initiatives.")
    else:
        names = {**QUADRANT_LABELS, "no_sai": "No SAI yet"}
        st.plotly_chart(quadrant_spend_figure(quadrants, names, currency), key="overview_quadrants",
                        config={"displaylogo": False})
with right:
    st.subheader("Spend-weighted SAI by segment")
    st.dataframe(pd.DataFrame({
        "segment": [s for s in current.inputs.segments],
        "sai": [weighted.get(s, np.nan) for s in current.inputs.segments],
    }), hide_index=True, width="stretch", key="overview_sai",
        column_config={"segment": "Segment", "sai": st.column_config.NumberColumn("Spend-weighted SAI", format="%.1f")})

st.subheader("Open flags")
if current.warnings:
    counts = pd.Series([w.code.replace("_", " ") for w in current.warnings]).value_counts()
    st.dataframe(counts.rename_axis("flag").reset_index(name="count"), hide_index=True, width="content",
                 key="overview_flags")
    st.page_link("app_pages/data.py", label="See every flag on the Data page", icon=":material/arrow_forward:")
else:
    st.success("No open flags.", icon=":material/check_circle:")

decided = current.decisions
st.subheader("Committee decisions")
if decided.empty:
    st.caption("No decisions recorded yet.")
else:
    st.dataframe(decided[["initiative_id", "decision", "rationale", "decided_by", "decided_at"]], hide_index=True,
                 width="stretch", key="overview_decisions")
