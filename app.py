"""Portfolio Lens: the Streamlit entry point, navigation and the shared sidebar."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from portfolio.cycle import STATUS_LABELS
from portfolio.errors import PortfolioLensError
from ui import state

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("portfolio_lens.app")

st.set_page_config(page_title="Portfolio Lens", page_icon=":material/target:", layout="wide")

# Not "pages/": Streamlit treats a folder of that name beside the entry point as a
# pages directory of its older multipage API and runs a deep-linked first session
# without this entry point.
PAGES = Path(__file__).resolve().parent / "app_pages"
navigation = st.navigation([
    st.Page(PAGES / "prioritize.py", title="Prioritize", icon=":material/tune:", default=True),
    st.Page(PAGES / "why.py", title="Why this score", icon=":material/help:", url_path="why"),
    st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", url_path="overview"),
    st.Page(PAGES / "decisions.py", title="Decisions", icon=":material/gavel:", url_path="decisions"),
    st.Page(PAGES / "scenarios.py", title="Scenarios", icon=":material/compare:", url_path="scenarios"),
    st.Page(PAGES / "cycle.py", title="Cycle and themes", icon=":material/event:", url_path="cycle"),
    st.Page(PAGES / "spend.py", title="Spend", icon=":material/payments:", url_path="spend"),
    st.Page(PAGES / "initiatives.py", title="Initiatives", icon=":material/list:", url_path="initiatives"),
    st.Page(PAGES / "export.py", title="Export", icon=":material/download:", url_path="export"),
    st.Page(PAGES / "data.py", title="Data", icon=":material/database:", url_path="data"),
    st.Page(PAGES / "audit.py", title="Audit log", icon=":material/history:", url_path="audit"),
])

try:
    current = state.view()
except PortfolioLensError as exc:
    logger.error("cannot open the workspace %s: %s", state.database_path(), exc)
    st.error(f"The workspace cannot be opened: {exc}", icon=":material/error:")
    st.stop()

with st.sidebar:
    info = state.store().info()
    source = Path(info["source"] or "").name or "portfolio"
    st.markdown("**Portfolio Lens**")
    st.caption(f"{source} · {len(current.portfolio.initiatives):,} initiatives · {current.currency}")
    cycle = current.cycle
    st.markdown(f"**{cycle.name}** · {STATUS_LABELS[cycle.status]}")
    st.caption(f"Theme set version {cycle.theme_version}" + ("" if cycle.published else " (draft)")
               + (f" · baseline: {cycle.baseline}" if cycle.baseline else " · baseline: committed weights"))
    if state.auth_configured():
        if st.user.is_logged_in:
            who = state.actor()
            st.caption(f"Signed in as {who.name} · roles: {', '.join(sorted(who.roles))}")
            st.button("Sign out", on_click=st.logout, key="app_sign_out")
        else:
            st.info("Sign in to see and change the portfolio.", icon=":material/lock:")
            st.button("Sign in", on_click=st.login, key="app_sign_in", type="primary")
            st.stop()
    else:
        st.session_state.setdefault(state.USER_KEY, "")
        st.text_input("Your name", key=state.USER_KEY, placeholder="recorded with your edits",
                      help="Local mode: no sign-in is configured, so every session has every role and edits are "
                           "logged under the name you enter here.")
        st.caption("Local mode: no sign-in configured; every session has every role."
                   + ("" if state.user_name() else " Enter your name before you edit."))

    shared = state.presentation()
    if shared.params is not None and shared.presenter != state.user_name():
        st.toggle(f"Follow {shared.presenter}'s weights", key=state.FOLLOW_KEY,
                  help="See the presenter's what-if weights live; turn off to return to your own.")


@st.fragment(run_every="2s")
def follow_commits() -> None:
    """Redraw the page when someone commits a change or the presenter moves a weight."""
    version = state.store().data_version()
    sequence = state.presentation().sequence if state.following() else None
    if (version, sequence) != (st.session_state.get(state.SEEN_VERSION_KEY),
                               st.session_state.get(state.SEEN_SEQUENCE_KEY)):
        st.rerun(scope="app")


# What this run draws; the fragment compares against it.
st.session_state[state.SEEN_VERSION_KEY] = current.version
st.session_state[state.SEEN_SEQUENCE_KEY] = state.presentation().sequence if state.following() else None
with st.sidebar:
    follow_commits()

navigation.run()
