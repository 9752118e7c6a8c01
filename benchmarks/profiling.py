"""cProfile of one Prioritize rerun, taken in the thread where AppTest runs the script."""

from __future__ import annotations

import cProfile
import io
import pstats
import threading

from streamlit.testing.v1 import AppTest

from benchmarks.apptest_rerun import SLIDER_KEY, TIMEOUT_S, environment
from benchmarks.common import REPO
from benchmarks.workspaces import Workspaces


def profile_rerun(workspaces: Workspaces, size: int, lines: int = 25) -> str:
    """Return the top ``lines`` functions by cumulative time of one rerun after a weight change, as text."""
    database, folder = workspaces.database(size), workspaces.folder(size)
    with environment(PORTFOLIO_LENS_DB=str(database), PORTFOLIO_LENS_DATA=str(folder)):
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
        app.run()
        value = float(app.slider(key=SLIDER_KEY).value)
        app.slider(key=SLIDER_KEY).set_value(value + 1).run()
        profiles = _profile_threads(lambda: app.slider(key=SLIDER_KEY).set_value(value + 2).run())
    return _summary(profiles, lines)


def _profile_threads(action) -> list[cProfile.Profile]:
    """Run ``action`` with a profiler in every thread it starts (AppTest runs the script in its own thread)."""
    profiles: list[cProfile.Profile] = []

    def start(frame, event, arg):  # noqa: ARG001 - the signature sys.setprofile requires
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start)
    try:
        action()
    finally:
        threading.setprofile(None)
    return profiles


def _summary(profiles: list[cProfile.Profile], lines: int) -> str:
    if not profiles:
        return "(no thread was profiled)"
    stream = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=stream)
    for profile in profiles[1:]:
        stats.add(profile)
    stats.strip_dirs().sort_stats("cumulative").print_stats(lines)
    text = stream.getvalue()
    return text[text.index("   ncalls"):] if "   ncalls" in text else text


