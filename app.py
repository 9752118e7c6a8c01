"""Portfolio Lens: the Streamlit entry point, navigation and the shared sidebar."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from portfolio.cycle import STATUS_LABELS
from portfolio.errors import PortfolioLensError
from ui import state
from ui.errors import reported
from ui.text import literal

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("portfolio_lens.app")

st.set_page_config(page_title="Portfolio Lens", page_icon=":material/target:", layout="wide")

# Not "pages/": Streamlit treats a folder of that name beside the entry point as a
# pages directory of its older multipage API and runs a deep-linked first session
# without this entry point.
PAGES = Path(__file__).resolve().parent / "app_pages"
# Where sign-in is configured, a signed-out visitor sees nothing of the portfolio, not even the page list.
signed_out = state.auth_configured() and not st.user.is_logged_in
navigation = st.navigation({
    "Decide": [
        st.Page(PAGES / "prioritize.py", title="Prioritize", icon=":material/tune:", default=True),
        st.Page(PAGES / "why.py", title="Why this score", icon=":material/help:", url_path="why"),
        st.Page(PAGES / "optimize.py", title="Optimize", icon=":material/auto_graph:", url_path="optimize"),
        st.Page(PAGES / "decisions.py", title="Decisions", icon=":material/gavel:", url_path="decisions"),
        st.Page(PAGES / "scenarios.py", title="Scenarios", icon=":material/compare:", url_path="scenarios"),
    ],
    "Review": [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", url_path="overview"),
        st.Page(PAGES / "spend.py", title="Spend", icon=":material/payments:", url_path="spend"),
        st.Page(PAGES / "audit.py", title="Audit log", icon=":material/history:", url_path="audit"),
    ],
    "Plan and data": [
        st.Page(PAGES / "cycle.py", title="Cycle and themes", icon=":material/event:", url_path="cycle"),
        st.Page(PAGES / "initiatives.py", title="Initiatives", icon=":material/list:", url_path="initiatives"),
        st.Page(PAGES / "import_data.py", title="Import", icon=":material/upload:", url_path="import"),
        st.Page(PAGES / "export.py", title="Export", icon=":material/download:", url_path="export"),
        st.Page(PAGES / "data.py", title="Data", icon=":material/database:", url_path="data"),
    ],
}, position="hidden" if signed_out else "sidebar", expanded=True)

if signed_out:
    st.title("Portfolio Lens")
    st.info("Sign in to see and change the portfolio.", icon=":material/lock:")
    st.button("Sign in", on_click=st.login, key="app_sign_in", type="primary")
    st.stop()

try:
    current = state.view()
except PortfolioLensError as exc:
    logger.error("cannot open the workspace %s: %s", state.database_label(), exc)
    st.error(f"The workspace cannot be opened: {literal(exc)}", icon=":material/error:")
    st.stop()

with st.sidebar, reported("the sidebar"):
    info = state.store().info()
    source = Path(info["source"] or "").name or "portfolio"
    st.markdown("**Portfolio Lens**")
    st.caption(f"{literal(source)} · {len(current.portfolio.initiatives):,} initiatives · {current.currency}")
    cycle = current.cycle
    st.markdown(f"**{literal(cycle.name)}** · {STATUS_LABELS[cycle.status]}")
    st.caption(f"Theme set version {cycle.theme_version}" + ("" if cycle.published else " (draft)")
               + (f" · baseline: {literal(cycle.baseline)}" if cycle.baseline else " · baseline: committed weights"))
    who = state.actor() if state.auth_configured() else None
    if who is not None:
        st.caption(f"Signed in as {literal(who.name)} · roles: {', '.join(sorted(who.roles))}")
        st.button("Sign out", on_click=st.logout, key="app_sign_out")
    else:
        st.session_state.setdefault(state.USER_KEY, "")
        st.text_input("Your name", key=state.USER_KEY, placeholder="recorded with your edits",
                      help="Local mode: no sign-in is configured, so every session has every role and edits are "
                           "logged under the name you enter here.")
        st.caption("Local mode: no sign-in configured; every session has every role."
                   + ("" if state.user_name() else " Enter your name before you edit."))

    shared = state.presentation()
    if shared.params is not None and shared.presenter != state.user_name():
        st.toggle(f"Follow {literal(shared.presenter)}'s weights", key=state.FOLLOW_KEY,
                  help="See the presenter's what-if weights live; turn off to return to your own.")


def presentation_seen() -> int | str | None:
    """Return what of the presentation this session redraws for: each change while following, else who presents.

    A session that does not follow reruns only when a presentation starts or ends, to show or hide "Follow".
    """
    live = state.presentation()
    return live.sequence if state.following() else live.presenter


@st.fragment(run_every="2s")
def follow_commits() -> None:
    """Redraw the page when someone commits a change or the presenter moves a weight."""
    # Runs every two seconds: while the store stays unreachable it shows one error id, logged once.
    with reported("live updates", repeat_key="follow_commits"):
        if (state.store().data_version(), presentation_seen()) != (st.session_state.get(state.SEEN_VERSION_KEY),
                                                                    st.session_state.get(state.SEEN_SEQUENCE_KEY)):
            st.rerun(scope="app")


# What this run draws; the fragment compares against it.
st.session_state[state.SEEN_VERSION_KEY] = current.version
st.session_state[state.SEEN_SEQUENCE_KEY] = presentation_seen()
with st.sidebar:
    follow_commits()


def run_page() -> None:
    """Run the chosen page; an error it does not catch is logged and shown under a short id."""
    with reported(f"page /{navigation.url_path}"):
        navigation.run()


run_page()
# The page may have started or ended this session's own presentation; the follow fragment compares against that.
st.session_state[state.SEEN_SEQUENCE_KEY] = presentation_seen()
