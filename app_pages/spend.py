"""Spend: money by segment against envelopes, by theme against weights, reconciled to the cent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from portfolio.charts import actual_vs_plan_figure, capex_opex_figure, segment_spend_figure, theme_gap_figure
from portfolio.formatting import money
from portfolio.funding import segment_funding
from portfolio.reconcile import NO_LINK, alignment_gap, attribute_spend, reconcile
from portfolio.spend import actual_against_plan, capex_opex_by_segment
from ui import state
from ui.tables import money_column

current = state.view()
what_if = state.params(current)
result = state.scored(current, what_if)
currency = current.currency

st.title("Spend")
st.caption("Proposed and funded spend under your current weights, attributed to themes by alignment score "
           "and reconciled to the cent.")

funding = segment_funding(result, what_if, current.inputs.segments)
st.subheader("By segment, against the envelopes")
st.plotly_chart(segment_spend_figure(funding, currency), key="spend_segments", config={"displaylogo": False})
st.dataframe(pd.DataFrame({
    "segment": [s.segment for s in funding],
    "initiatives": [s.count for s in funding],
    "proposed": [s.proposed / 100 for s in funding],
    "funded": [s.funded / 100 for s in funding],
    "envelope": [None if s.envelope is None else s.envelope / 100 for s in funding],
    "headroom": [None if s.headroom is None else s.headroom / 100 for s in funding],
    "overrun": [s.overrun / 100 for s in funding],
}), hide_index=True, width="stretch", key="spend_segment_table", column_config={
    "segment": "Segment", "initiatives": "Initiatives", "proposed": money_column("Proposed", currency),
    "funded": money_column("Funded", currency), "envelope": money_column("Envelope", currency),
    "headroom": money_column("Headroom", currency, "Envelope left under the funding line"),
    "overrun": money_column("Must-fund overrun", currency)})

funded_mask = result["funded"].fillna(False).to_numpy(dtype=bool)
proposed_mask = np.ones(len(result), dtype=bool)
st.subheader("By theme, against the stated priorities")
scope = st.radio("Initiatives", ["Whole proposed portfolio", "Funded part only"], horizontal=True,
                 key="spend_scope")
selected = funded_mask if scope == "Funded part only" else proposed_mask
attribution = attribute_spend(current.inputs, selected)
no_link = int(attribution.loc[attribution["theme_id"] == NO_LINK, "spend"].iloc[0])
if current.inputs.theme_ids:
    gap = alignment_gap(attribution, what_if, current.theme_names)
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(theme_gap_figure(gap), key="spend_themes", config={"displaylogo": False})
    with right:
        st.dataframe(gap.assign(spend=gap["spend"] / 100)[["name", "gap", "spend_share", "weight_share", "spend"]],
                     hide_index=True, width="stretch", key="spend_theme_table", column_config={
                         "name": "Theme", "spend": money_column("Attributed spend", currency),
                         "spend_share": st.column_config.NumberColumn("Spend share", format="%.1f %%"),
                         "weight_share": st.column_config.NumberColumn("Weight share", format="%.1f %%"),
                         "gap": st.column_config.NumberColumn("Gap (pp)", format="%+.1f",
                                                              help="Spend share minus weight share")})
        st.metric("No OKR link", money(no_link, currency),
                  help="Spend of initiatives aligned to no theme; left out of the shares above")
else:
    st.info(f"No themes yet: all {money(no_link, currency)} of this spend has no OKR link.")

st.subheader("Reconciliation")
both = []
for label, mask in (("Proposed", proposed_mask), ("Funded", funded_mask)):
    checks = reconcile(result, attribute_spend(current.inputs, mask), mask,
                       stored_total=current.stored_total if label == "Proposed" else None)
    both.extend((label, check) for check in checks)
st.dataframe(pd.DataFrame({
    "set": [label for label, _ in both],
    "check": [c.name for _, c in both],
    "expected": [money(c.expected, currency, exact=True) for _, c in both],
    "actual": [money(c.actual, currency, exact=True) for _, c in both],
    "result": ["passes" if c.passed else "FAILS" for _, c in both],
}), hide_index=True, width="stretch", key="spend_checks")
if all(c.passed for _, c in both):
    st.success("Every invariant holds to the cent.", icon=":material/check_circle:")
else:
    st.error("An invariant fails: the totals above do not reconcile. Report this with the portfolio file.",
             icon=":material/error:")

split = capex_opex_by_segment(current.portfolio.initiatives, current.inputs.segments)
if int(split[["capex", "opex"]].to_numpy().sum()) > 0:
    st.subheader("Capex and opex")
    st.plotly_chart(capex_opex_figure(split, currency), key="spend_capex", config={"displaylogo": False})

actuals = actual_against_plan(current.portfolio.initiatives)
if not actuals.empty:
    st.subheader("Actual spend against plan")
    st.plotly_chart(actual_vs_plan_figure(actuals, currency), key="spend_actuals", config={"displaylogo": False})
    st.dataframe(actuals.assign(cost=actuals["cost"] / 100, actual_spend=actuals["actual_spend"] / 100,
                                variance=actuals["variance"] / 100)[
        ["initiative_id", "name", "cost", "actual_spend", "variance"]],
        hide_index=True, width="stretch", key="spend_actual_table", column_config={
            "initiative_id": "ID", "name": "Initiative", "cost": money_column("Plan", currency),
            "actual_spend": money_column("Actual", currency),
            "variance": st.column_config.NumberColumn(f"Over (+) / under (−), {currency}", format="%+,.0f")})
