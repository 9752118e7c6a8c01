"""Section 2: the Prioritize page's full rerun after a weight change, on the server, through AppTest.

AppTest reruns the whole script for every widget change, even for a widget
inside a fragment. This section therefore measures the server's work per
rerun without the browser, and the browser section measures what the browser
sees.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager

from streamlit.testing.v1 import AppTest

from benchmarks.common import REPO, Figure, Report
from benchmarks.workspaces import Workspaces, size_label

SECTION = "rerun"
SLIDER_KEY = "prioritize_theme_T01"
TIMEOUT_S = 600


@contextmanager
def environment(**values: str):
    """Set environment variables for the block and restore them after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def time_reruns(app: AppTest, key: str, repeats: int) -> tuple[float, list[float]]:
    """Run the script once, then move the slider ``key`` one step up per rerun; return the first run and the reruns."""
    start = time.perf_counter()
    app.run()
    first = time.perf_counter() - start
    _check(app)
    slider = app.slider(key=key)
    value = float(slider.value)
    step = 1.0
    times = []
    for move in range(repeats + 1):
        value = value + step if value + step <= slider.max else value - step
        start = time.perf_counter()
        app.slider(key=key).set_value(value).run()
        elapsed = time.perf_counter() - start
        _check(app)
        if move > 0:  # The first move also fills per-session caches; it is not counted.
            times.append(elapsed)
    return first, times


def _check(app: AppTest) -> None:
    if app.exception:
        raise RuntimeError(f"the page raised: {[e.value for e in app.exception]}")


def measure_prioritize(workspaces: Workspaces, size: int, repeats: int) -> tuple[float, list[float]]:
    database, folder = workspaces.database(size), workspaces.folder(size)
    with environment(PORTFOLIO_LENS_DB=str(database), PORTFOLIO_LENS_DATA=str(folder)):
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
        return time_reruns(app, SLIDER_KEY, repeats)


def measure_minimal(size: int, repeats: int) -> tuple[float, list[float]]:
    with environment(MINIMAL_POINTS=str(size)):
        app = AppTest.from_file(str(REPO / "benchmarks" / "minimal_app.py"), default_timeout=TIMEOUT_S)
        return time_reruns(app, "minimal_weight", repeats)


def repeats_for(size: int, quick: bool) -> int:
    if quick:
        return 3
    return 10 if size <= 10_000 else 5


def run(report: Report, workspaces: Workspaces, sizes: tuple[int, ...], quick: bool = False) -> None:
    for size in sizes:
        label = size_label(size)
        repeats = repeats_for(size, quick)
        first, page = measure_prioritize(workspaces, size, repeats)
        _, minimal = measure_minimal(size, repeats)
        page_median, minimal_median = statistics.median(page), statistics.median(minimal)
        target = "within 2× the minimal page" if size == 10_000 else ""
        report.add(Figure(SECTION, "Prioritize rerun after a weight change", label, page_median, "s",
                          "minimal page rerun", minimal_median, target,
                          page_median <= 2 * minimal_median if target else None,
                          f"median of {repeats} reruns; first run of the session {first:.2f} s"))
