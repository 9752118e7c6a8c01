"""Write small canonical portfolio folders for tests, from Python lists of dicts.

Each table is a list of rows (dicts from column name to value). The header is
the union of the rows' keys in first-seen order. A value of ``None``, or a key
absent from a row, becomes an empty cell. A table given as an empty list is
written with its required columns only, so that a header-only file (for
example a portfolio without themes) is one argument away.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from portfolio.importing import require_portfolio
from portfolio.models import REQUIRED_COLUMNS, Portfolio

Rows = Sequence[Mapping[str, Any]]


def write_table(folder: Path, name: str, rows: Rows) -> Path:
    """Write one canonical CSV file ``<name>.csv`` into ``folder`` and return its path."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    if not columns:
        columns = list(REQUIRED_COLUMNS[name])

    path = folder / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(column) is None else str(row.get(column)) for column in columns])
    return path


def write_portfolio(folder: Path, **tables: Rows) -> Path:
    """Write a canonical portfolio folder with one CSV file per keyword argument.

    ``themes``, ``initiatives`` and ``alignment`` default to header-only files;
    the optional tables (``budget``, ``lenses``, ``urgency``, ``settings``) are
    written only when given.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("themes", "initiatives", "alignment"):
        tables.setdefault(name, [])
    for name, rows in tables.items():
        write_table(folder, name, rows)
    return folder


def load_rows(folder: Path, **tables: Rows) -> Portfolio:
    """Write a portfolio folder and load it; raise ``InvalidPortfolioError`` when it has errors."""
    portfolio, _ = require_portfolio(write_portfolio(folder, **tables))
    return portfolio
