"""Errors that reach a person: logged with a short id, shown without details outside development.

Every part of a run that can fail goes through :func:`reported`: the page, the
sidebar, the fragment that follows commits, and widget callbacks (through
:func:`guarded`). Without it, an error outside the page would reach
Streamlit's own handler, which shows no id to quote.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import streamlit as st

logger = logging.getLogger("portfolio_lens.app")
P = ParamSpec("P")

# Per session: the last repeated error of each place that runs on a timer, as (message, error id).
_REPEATED_KEY = "_errors_repeated"


def details_shown() -> bool:
    """Return whether tracebacks may reach the page: client.showErrorDetails is "full" (development) or true."""
    return str(st.get_option("client.showErrorDetails")).lower() in ("full", "true")


def show(exc: Exception, where: str, repeat_key: str | None = None) -> str:
    """Log ``exc`` under a new short id, show the id, and return it.

    ``repeat_key`` names a place that runs on a timer: while it keeps failing
    with the same message, it shows the first id again instead of logging
    the same error every few seconds.
    """
    remembered = st.session_state.setdefault(_REPEATED_KEY, {})
    previous = remembered.get(repeat_key) if repeat_key else None
    if previous is not None and previous[0] == str(exc):
        error_id = previous[1]
    else:
        error_id = uuid.uuid4().hex[:8]
        logger.error("error %s in %s", error_id, where, exc_info=exc)
        if repeat_key:
            remembered[repeat_key] = (str(exc), error_id)
    st.error(f"Something went wrong (error id {error_id}). The details are in the app's log under this id: "
             "quote it when you report the problem.", icon=":material/error:")
    if details_shown():
        st.exception(exc)
    return error_id


@contextmanager
def reported(where: str, repeat_key: str | None = None) -> Iterator[None]:
    """Show an error raised inside the block with its id instead of letting it end the run.

    st.stop and st.rerun raise BaseException subclasses, which pass through.
    """
    try:
        yield
    except Exception as exc:
        show(exc, where, repeat_key)
    else:
        if repeat_key:
            st.session_state.get(_REPEATED_KEY, {}).pop(repeat_key, None)


def guarded(where: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Decorate a widget callback so that an error in it is shown with its id, like an error in a page."""
    def decorate(callback: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(callback)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            with reported(where):
                callback(*args, **kwargs)
        return run
    return decorate
