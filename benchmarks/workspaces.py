"""Synthetic portfolios and workspace databases for the app benchmarks, in a temporary folder."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from portfolio.generate import draw, generate, to_portfolio
from portfolio.store import Store

THEMES = 12
SEED = 2027


def size_label(size: int) -> str:
    return f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"


class Workspaces:
    """Generated portfolio folders and their workspace databases, built once per size and copied per server.

    A workspace is loaded straight from :func:`portfolio.generate.to_portfolio`
    (the same portfolio the files hold), which skips row-by-row validation.
    Each server or AppTest process gets its own copy, because DuckDB lets one
    process hold a database file at a time.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._built: dict[int, tuple[Path, Path]] = {}
        self._copies = 0
        self.build_seconds: dict[int, float] = {}

    def folder(self, size: int) -> Path:
        return self._build(size)[0]

    def database(self, size: int) -> Path:
        """Return a fresh copy of the workspace database for ``size`` initiatives."""
        _, original = self._build(size)
        self._copies += 1
        copy = self.root / f"workspace-{size_label(size)}-{self._copies}.duckdb"
        shutil.copyfile(original, copy)
        return copy

    def _build(self, size: int) -> tuple[Path, Path]:
        if size in self._built:
            return self._built[size]
        start = time.perf_counter()
        folder = self.root / f"portfolio-{size_label(size)}"
        data = generate(folder, size, THEMES, SEED) if not folder.exists() else draw(size, THEMES, SEED)
        database = self.root / f"workspace-{size_label(size)}.duckdb"
        store = Store(database)
        try:
            store.load(to_portfolio(data, source=str(folder)), "benchmark")
        finally:
            store.close()
        self.build_seconds[size] = time.perf_counter() - start
        self._built[size] = (folder, database)
        return folder, database
