"""Section 3: slider change to chart redrawn, in headless Chromium, against the minimal page.

Each move focuses the slider's thumb and presses ArrowRight. The page
records ``performance.now()`` when the key goes down. It records it again on
the first animation frame where the Plotly chart's data differs from before
the move and Streamlit's status widget is gone. The difference is one sample.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from benchmarks.common import REPO, Figure, Report, percentile
from benchmarks.servers import serve
from benchmarks.workspaces import Workspaces, size_label

SECTION = "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1100}
LOAD_TIMEOUT_MS = 300_000
MOVE_TIMEOUT_MS = 120_000
THEME_LABEL = "Customer experience"  # The first theme of a generated portfolio.

_CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot'

# Arms a watcher: the keydown time, then the first frame with new chart data and no status widget.
_ARM = """(chartSelector) => {
    const chart = document.querySelector(chartSelector);
    const before = chart ? chart.data : null;
    window.__move = {start: null, end: null};
    const onKey = () => {
        window.__move.start = performance.now();
        document.removeEventListener('keydown', onKey, true);
        const check = () => {
            const now = document.querySelector(chartSelector);
            const changed = now && now.data && now.data !== before && now._fullLayout !== undefined;
            const idle = document.querySelector('[data-testid="stStatusWidget"]') === null;
            if (changed && idle) { window.__move.end = performance.now(); return; }
            requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
    };
    document.addEventListener('keydown', onKey, true);
}"""
_DONE = "() => window.__move && window.__move.end !== null"
_ELAPSED = "() => window.__move.end - window.__move.start"
_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const chart = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector('[data-testid="stStatusWidget"]') === null
        && document.querySelector('[data-testid="stSkeleton"]') === null
        && chart && chart._fullLayout !== undefined;
}"""


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Browser, url: str) -> tuple[Page, float]:
    """Open ``url`` in a fresh context; return the page and the seconds until the first chart was drawn."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(_IDLE, timeout=LOAD_TIMEOUT_MS, polling=50)
    loaded = page.evaluate("() => performance.now()") / 1000
    return page, loaded


def time_moves(page: Page, label: str, moves: int, warmup: int = 2) -> list[float]:
    """Press ArrowRight on the slider labelled ``label`` ``warmup + moves`` times; return the timed moves in s."""
    slider = page.get_by_test_id("stSlider").filter(has=page.get_by_text(label, exact=True))
    thumb = slider.get_by_role("slider")
    samples = []
    for move in range(warmup + moves):
        thumb.focus()
        page.evaluate(_ARM, _CHART)
        thumb.press("ArrowRight")
        page.wait_for_function(_DONE, timeout=MOVE_TIMEOUT_MS, polling="raf")
        if move >= warmup:
            samples.append(page.evaluate(_ELAPSED) / 1000)
        page.wait_for_function(_IDLE, timeout=MOVE_TIMEOUT_MS, polling=50)
    return samples


def moves_for(size: int, quick: bool) -> tuple[int, int]:
    """Return (timed moves, untimed warm-up moves) for a size: fewer where one move takes seconds."""
    if quick:
        return 3, 1
    return (15, 2) if size <= 5_000 else (5, 1) if size <= 20_000 else (3, 1)


def measure_app(browser: Browser, workspaces: Workspaces, size: int, home: Path,
                moves: tuple[int, int]) -> tuple[list[float], float | None]:
    """Time ``moves`` slider moves on the Prioritize page; return the samples and the server's peak RSS in MiB."""
    env = {"PORTFOLIO_LENS_DB": str(workspaces.database(size)), "PORTFOLIO_LENS_DATA": str(workspaces.folder(size))}
    with serve(REPO / "app.py", home, env) as server:
        page, _ = open_page(browser, server.url)
        try:
            return time_moves(page, THEME_LABEL, *moves), server.peak_rss_mib()
        finally:
            page.context.close()


def measure_minimal(browser: Browser, size: int, home: Path,
                    moves: tuple[int, int]) -> tuple[list[float], float | None]:
    with serve(REPO / "benchmarks" / "minimal_app.py", home, {"MINIMAL_POINTS": str(size)}) as server:
        page, _ = open_page(browser, server.url)
        try:
            return time_moves(page, "Weight", *moves), server.peak_rss_mib()
        finally:
            page.context.close()


def run(report: Report, workspaces: Workspaces, sizes: tuple[int, ...], home: Path, quick: bool = False) -> None:
    with chromium() as browser:
        for size in sizes:
            label = size_label(size)
            moves = moves_for(size, quick)
            app, app_memory = measure_app(browser, workspaces, size, home / f"app-{label}", moves)
            minimal, minimal_memory = measure_minimal(browser, size, home / f"minimal-{label}", moves)
            app_median, minimal_median = statistics.median(app), statistics.median(minimal)
            targets = []
            met = None
            if size == 5_000:
                targets.append("median within 500 ms and 1.5× the minimal page")
                met = app_median <= 0.5 and app_median <= 1.5 * minimal_median
            if size == 100_000:
                targets.append("median under 2 s")
                met = app_median < 2.0
            report.add(Figure(SECTION, "slider to chart redrawn, median", label, app_median, "s",
                              "minimal page, median", minimal_median, "; ".join(targets), met,
                              f"{moves[0]} moves after {moves[1]} untimed"))
            report.add(Figure(SECTION, "slider to chart redrawn, 95th percentile", label, percentile(app, 95), "s",
                              "minimal page, 95th percentile", percentile(minimal, 95),
                              note=f"{moves[0]} moves after {moves[1]} untimed"))
            if size == max(sizes) and app_memory is not None:
                report.add(Figure("memory", "server peak RSS, page open and slider moved", label, app_memory, "MiB",
                                  "minimal page server, same use", minimal_memory,
                                  note="VmHWM of the Streamlit process, read from /proc"))
