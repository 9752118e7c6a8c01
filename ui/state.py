"""The store, the cached portfolio views and the what-if parameters of a session.

Caching lives here, on the UI side: ``cache_resource`` keeps the store (one
DuckDB connection per database file, or one pool of PostgreSQL connections per
URL) and the prepared arrays of each committed data version, which are shared
read-only by every session. What-if weights live in the session until saved.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from portfolio.access import Actor, RoleMap, load_role_map, local_actor
from portfolio.charts import hover_labels
from portfolio.errors import PortfolioLensError
from portfolio.funding import evaluate
from portfolio.importing import DEMO_PATH, require_portfolio
from portfolio.models import Portfolio, Problem, portfolio_warnings
from portfolio.pgstore import redact
from portfolio.scoring import ScoringInputs, ScoringParams, prepare
from portfolio.store import CycleState, Presentation, Store, default_workspace, is_database_url, open_store
from ui.errors import guarded

logger = logging.getLogger(__name__)

PARAMS_KEY = "whatif_params"
PARAMS_VERSION_KEY = "whatif_data_version"
SELECTED_KEY = "selected_initiative"
USER_KEY = "user_name"
FOLLOW_KEY = "follow_presenter"
SEEN_VERSION_KEY = "seen_data_version"
SEEN_SEQUENCE_KEY = "seen_presentation"


def database_path() -> Path | str:
    """Return the workspace database: ``$PORTFOLIO_LENS_DB`` or the default for the data source.

    ``$PORTFOLIO_LENS_DB`` is a DuckDB file, or the ``postgresql://`` URL of a database shared by several instances.
    """
    configured = os.environ.get("PORTFOLIO_LENS_DB")
    if configured:
        return configured if is_database_url(configured) else Path(configured)
    return default_workspace(data_path())


def database_label(path: Path | str | None = None) -> str:
    """Return ``path`` (default: the configured workspace database) as text for logs, without a URL's password."""
    path = database_path() if path is None else path
    return redact(path) if is_database_url(path) else str(path)


def data_path() -> Path | None:
    configured = os.environ.get("PORTFOLIO_LENS_DATA")
    return Path(configured) if configured else None


@st.cache_resource(show_spinner="Opening the workspace…")
def get_store(path: str, seed: str) -> Store:
    """Open the workspace once per database file; every session shares the connection."""
    logger.info("opening workspace %s (seed %s)", database_label(path), seed)
    return open_store(path, seed=Path(seed))


def store() -> Store:
    seed = data_path() or DEMO_PATH
    return get_store(str(database_path()), str(seed))


@dataclass(frozen=True)
class View:
    """One committed data version of the portfolio, prepared for scoring; shared and read-only."""

    version: int
    portfolio: Portfolio
    inputs: ScoringInputs
    baseline_params: ScoringParams
    baseline: pd.DataFrame
    warnings: tuple[Problem, ...]
    stored_total: int
    cycle: CycleState
    decisions: pd.DataFrame
    committed_params: ScoringParams
    hover: pd.Series

    @property
    def currency(self) -> str:
        return self.portfolio.settings.currency

    @property
    def theme_names(self) -> dict[str, str]:
        themes = self.portfolio.themes
        return dict(zip(themes["theme_id"], themes["name"], strict=True))


@st.cache_resource(max_entries=4, show_spinner="Loading the portfolio…")
def _load_view(path: str, version: int, _store: Store) -> View:
    portfolio = _store.read()
    inputs = prepare(portfolio)
    committed = ScoringParams.from_portfolio(portfolio)
    cycle = _store.cycle()
    params = committed
    if cycle.baseline:
        try:
            scenario, _ = _store.scenario(cycle.baseline)
        except PortfolioLensError as exc:
            logger.warning("baseline scenario %s cannot be read: %s", cycle.baseline, exc)
        else:
            # A baseline saved under another theme set cannot be compared weight for weight.
            if _compatible(scenario, committed):
                params = scenario
    baseline = evaluate(inputs, params)
    return View(
        version=version,
        portfolio=portfolio,
        inputs=inputs,
        baseline_params=params,
        baseline=baseline,
        hover=hover_labels(baseline, portfolio.settings.currency),
        warnings=tuple(portfolio_warnings(portfolio)),
        stored_total=_store.stored_total(),
        cycle=cycle,
        decisions=_store.decisions(),
        committed_params=committed,
    )


def view() -> View:
    """Return the current committed view; a commit by anyone gives the next call a new one."""
    current = store()
    return _load_view(current.path, current.data_version(), current)


def presentation() -> Presentation:
    """Return the live presentation of this workspace, the same for every app instance on it."""
    return store().presentation()


# Set while this session presents, so that a slider move of a session that never presented reads no presentation.
_PRESENTED_KEY = "_presented_as"


def share_weights(presenter: str, params: ScoringParams) -> None:
    """Present ``params`` live as ``presenter``; a call with unchanged weights writes nothing."""
    store().present(presenter, params)
    st.session_state[_PRESENTED_KEY] = presenter


def stop_sharing() -> None:
    """End the presentation this session started, under the name it presented as, if any."""
    presented_as = st.session_state.pop(_PRESENTED_KEY, None)
    if presented_as is not None:
        store().stop_presenting(presented_as)


def following() -> bool:
    """Tell whether this session follows a presenter who is presenting now."""
    return bool(st.session_state.get(FOLLOW_KEY)) and presentation().params is not None


def params(current: View) -> ScoringParams:
    """Return the what-if parameters of this session: the presenter's while following, else its own.

    Its own are reset to the committed ones when the data changed shape.
    """
    shared = presentation()
    if following() and shared.params is not None and _compatible(shared.params, current.baseline_params):
        return shared.params
    held = st.session_state.get(PARAMS_KEY)
    if held is None or not _compatible(held, current.baseline_params):
        held = current.baseline_params
        st.session_state[PARAMS_KEY] = held
        clear_widgets()
    st.session_state[PARAMS_VERSION_KEY] = current.version
    return held


def _compatible(held: ScoringParams, baseline: ScoringParams) -> bool:
    return set(held.theme_weights) == set(baseline.theme_weights) and set(held.lenses) == set(baseline.lenses)


def set_params(value: ScoringParams) -> None:
    st.session_state[PARAMS_KEY] = value


def clear_widgets(prefix: str = "prioritize_") -> None:
    """Forget the page's slider states so that they are drawn again from the parameters."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]


@guarded("resetting the weights")
def reset_params() -> None:
    """Return every weight, envelope and threshold to the committed values."""
    st.session_state.pop(PARAMS_KEY, None)
    clear_widgets()


def scored(current: View, what_if: ScoringParams) -> pd.DataFrame:
    """Score the committed view under the session's parameters."""
    if what_if == current.baseline_params:
        return current.baseline
    return evaluate(current.inputs, what_if)


def auth_configured() -> bool:
    """Tell whether the deployment configures OpenID Connect sign-in (an [auth] section in secrets)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, StreamlitSecretNotFoundError):
        return False


@st.cache_resource
def _role_map(path: str | None) -> RoleMap:
    return load_role_map(path)


def actor() -> Actor | None:
    """Return who is acting in this session, or None before sign-in or before a name is given.

    With sign-in configured, the signed-in user with roles from the role file;
    in local mode, the name typed in the sidebar with every role.
    """
    if auth_configured():
        if not st.user.is_logged_in:
            return None
        claims = st.user.to_dict()
        email = str(claims.get("email") or "")
        identifiers = [value for value in (email, str(claims.get("sub") or "")) if value]
        groups = claims.get("groups") or []
        roles = _role_map(os.environ.get("PORTFOLIO_LENS_ROLES")).roles_for(identifiers, groups)
        name = str(claims.get("name") or email or claims.get("sub") or "signed-in user")
        return Actor(name=name, roles=roles, aliases=frozenset(identifiers))
    name = st.session_state.get(USER_KEY, "").strip()
    return local_actor(name) if name else None


def user_name() -> str | None:
    """Return the acting person's name, or None; kept for pages that only need the name."""
    who = actor()
    return who.name if who else None


def seed_widget(key: str, value: object) -> None:
    """Give the widget ``key`` its starting value, keeping one the person already set.

    The value is written on every run, not only when missing, so Streamlit sends it with the widget each
    time. Otherwise a run interrupted before it drew the widget (a name entered while the page first
    loads) leaves the browser showing the widget's own default while the server keeps ``value``.
    """
    st.session_state[key] = st.session_state.get(key, value)


def select_initiative(initiative_id: str | None) -> None:
    st.session_state[SELECTED_KEY] = initiative_id


def selected_initiative() -> str | None:
    return st.session_state.get(SELECTED_KEY)


def row_of(current: View, initiative_id: str) -> int | None:
    matches = np.flatnonzero(current.inputs.ids == initiative_id)
    return int(matches[0]) if len(matches) else None


def reload_from(path: Path, who: Actor) -> list[Problem]:
    """Load a canonical portfolio from disk into the workspace, replacing it; raise when it does not load."""
    portfolio, problems = require_portfolio(path)
    store().load(portfolio, who)
    reset_params()
    return problems


__all__ = [
    "PortfolioLensError",
    "View",
    "database_path",
    "data_path",
    "params",
    "reload_from",
    "reset_params",
    "row_of",
    "scored",
    "select_initiative",
    "selected_initiative",
    "set_params",
    "store",
    "user_name",
    "view",
]
