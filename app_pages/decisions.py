"""Decisions: the committee records fund, fund regardless, defer or reject, with a rationale, for the record."""

from __future__ import annotations

import streamlit as st

from portfolio.cycle import DECISIONS, STATUS_LABELS
from portfolio.errors import PortfolioLensError
from portfolio.formatting import money
from ui import state
from ui.tables import funding_status
from ui.text import literal

current = state.view()
store = state.store()
result = current.baseline
currency = current.currency

st.title("Decisions")
st.caption("Fund and fund regardless both force an initiative above its funding line (must fund); fund "
           "regardless records that it is funded despite low alignment, for its urgency. Defer and reject force it "
           "out. Withdrawing a decision restores the flags it changed. Every decision is logged with "
           "who and when.")

flash = st.session_state.pop("decisions_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

allowed = current.cycle.status in ("submissions_open", "submissions_closed")
if not allowed:
    st.warning(f"The cycle is {STATUS_LABELS[current.cycle.status]}: decisions can be recorded once submissions "
               "are open and until the cycle is decided.", icon=":material/block:")

ids = result["initiative_id"].tolist()
names = dict(zip(ids, result["name"], strict=True))
selected = state.selected_initiative()
state.seed_widget("decisions_initiative", selected if selected in names else ids[0])
choice = st.selectbox("Initiative", ids, format_func=lambda i: f"{i} · {names[i]}", key="decisions_initiative")
row = state.row_of(current, choice)
item = result.iloc[row]
active = current.decisions[current.decisions["initiative_id"] == choice]
st.text(f"{item['segment']} · {money(item['cost'], currency)} · rank {item['rank']} · "
        f"{funding_status(result.iloc[[row]])[0]} (under the committed weights, not your what-if)")
if not active.empty:
    record = active.iloc[0]
    st.info(f"Current decision: {DECISIONS[record['decision']]}, by {literal(record['decided_by'])} at "
            f"{record['decided_at']}. Rationale: {literal(record['rationale'])}", icon=":material/gavel:")

with st.form("decisions_form", enter_to_submit=False):
    decision = st.radio("Decision", list(DECISIONS), format_func=DECISIONS.__getitem__, horizontal=True,
                        key="decisions_choice")
    rationale = st.text_area("Rationale", placeholder="why the committee decided this", key="decisions_rationale")
    submitted = st.form_submit_button("Record decision", type="primary", disabled=not allowed)


def _run(action, message: str) -> None:
    who = state.actor()
    if who is None:
        st.error("Enter your name in the sidebar first: the audit log records who decided.", icon=":material/badge:")
        return
    try:
        action(who)
    except PortfolioLensError as exc:
        st.error(f"Not recorded: {literal(exc)}.", icon=":material/block:")
        return
    st.session_state["decisions_flash"] = message
    st.rerun()


if submitted:
    _run(lambda who: store.record_decision(choice, decision, rationale, who),
         f"Recorded \u201c{DECISIONS[decision]}\u201d for {choice}.")
if not active.empty and st.button("Withdraw this decision", key="decisions_withdraw", disabled=not allowed):
    _run(lambda who: store.withdraw_decision(choice, who), f"Withdrew the decision on {choice}.")

st.subheader("Decision log")
log = store.decisions(include_withdrawn=True)
if log.empty:
    st.caption("No decisions yet.")
else:
    log = log.assign(decision=log["decision"].map(DECISIONS), name=log["initiative_id"].map(names))
    st.dataframe(log[["initiative_id", "name", "decision", "rationale", "decided_by", "decided_at", "withdrawn_by",
                      "withdrawn_at"]], hide_index=True, width="stretch", key="decisions_log")
