"""Section 4: cold start on the demo, importing a 100,000-row portfolio, and what each is compared with."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from benchmarks.browser import chromium, open_page
from benchmarks.common import REPO, Figure, Report
from benchmarks.servers import serve
from benchmarks.workspaces import Workspaces, size_label
from portfolio.importing import DEMO_PATH, load_portfolio
from portfolio.store import Store

DEMO_SIZE = 131


def cold_start(report: Report, home: Path, repeats: int) -> None:
    """Time server start to the first drawn page, on a new workspace created from the demo, against the minimal page."""
    app_times, minimal_times = [], []
    with chromium() as browser:
        for attempt in range(repeats):
            app_times.append(_first_page(browser, REPO / "app.py", home / f"cold-app-{attempt}", {}))
            minimal_times.append(_first_page(browser, REPO / "benchmarks" / "minimal_app.py",
                                             home / f"cold-minimal-{attempt}", {"MINIMAL_POINTS": str(DEMO_SIZE)}))
    app, minimal = min(app_times), min(minimal_times)
    report.add(Figure("startup", "cold start to first drawn page (demo)", "demo", app, "s",
                      "minimal page, same start", minimal,
                      note=f"best of {repeats}; server spawn to chart drawn, new workspace each time"))


def _first_page(browser, script: Path, home: Path, env: dict[str, str]) -> float:
    # A workspace created from the demo on first start, as a new user sees it.
    env = {**env, "PORTFOLIO_LENS_DATA": str(DEMO_PATH)}
    with serve(script, home, env) as server:
        page, _ = open_page(browser, server.url)
        elapsed = time.perf_counter() - server.started
        page.context.close()
    return elapsed


def import_portfolio(report: Report, workspaces: Workspaces, size: int) -> None:
    """Time reading, validating and storing a generated portfolio folder, against DuckDB reading its CSV files."""
    folder = workspaces.folder(size)
    label = size_label(size)

    start = time.perf_counter()
    portfolio, problems = load_portfolio(folder)
    validated = time.perf_counter() - start
    if portfolio is None:
        raise RuntimeError(f"the generated portfolio in {folder} does not load: {problems[:3]}")
    database = folder.parent / f"import-{label}.duckdb"
    store = Store(database)
    try:
        start = time.perf_counter()
        store.load(portfolio, "benchmark")
        stored = time.perf_counter() - start
    finally:
        store.close()

    connection = duckdb.connect()
    start = time.perf_counter()
    for name in ("themes", "initiatives", "alignment"):
        connection.execute("SELECT count(*) FROM read_csv(?, all_varchar = true)", [str(folder / f"{name}.csv")])
    raw = time.perf_counter() - start
    connection.close()

    report.add(Figure("import", "read and validate a canonical folder", label, validated, "s",
                      "DuckDB read_csv of the same files", raw, note=f"{len(problems):,} warnings reported"))
    report.add(Figure("import", "store it in the workspace (one transaction)", label, stored, "s",
                      "DuckDB read_csv of the same files", raw))
    report.add(Figure("import", "import total", label, validated + stored, "s", "DuckDB read_csv of the same files",
                      raw))
