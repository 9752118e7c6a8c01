"""Reading and writing canonical portfolio files.

A canonical portfolio is a folder of CSV files (UTF-8, comma, header row) or
one ``.xlsx`` workbook whose sheets have the same names. Readers return
:class:`portfolio.models.RawTable` objects holding every cell as text, so
that validation checks exactly what the file contains. Foreign exports go through
mapping profiles in :mod:`portfolio.mapping` first.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import shutil
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio.errors import InvalidPortfolioError, NotFoundError
from portfolio.models import (
    CRITERIA,
    DATE_FIELDS,
    DEFAULT_LENSES,
    DEFAULT_URGENCY,
    MONEY_FIELDS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    TABLES,
    TEXT_FIELDS,
    Portfolio,
    Problem,
    RawTable,
    errors_of,
    format_cents,
    parse_portfolio,
)

logger = logging.getLogger(__name__)

# Largest single cell accepted in a canonical file, in characters. Longer text
# is almost always a broken quote that swallowed the rest of the file.
MAX_CELL_CHARS = 100_000

csv.field_size_limit(MAX_CELL_CHARS + 1)

DEMO_PATH = Path(__file__).resolve().parent.parent / "data" / "demo"


def _decode(data: bytes, label: str) -> str:
    if b"\x00" in data[:4096]:
        raise InvalidPortfolioError(f"{label} is not a text file (it contains binary data); "
                                    "save it as CSV, UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidPortfolioError(
            f"{label} is not valid UTF-8 (byte 0x{data[exc.start]:02X} at position {exc.start}); "
            "save it as CSV UTF-8, or import it through a mapping profile that names its encoding"
        ) from exc


def read_csv_table(data: bytes, label: str) -> RawTable:
    """Parse one canonical CSV file held in memory; every cell stays text."""
    text = _decode(data, label)
    if not text.strip():
        raise InvalidPortfolioError(f"{label} is empty; it needs at least a header row")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidPortfolioError(f"{label} cannot be read as CSV ({exc}); check its quotes") from exc
    header = [cell.strip() for cell in rows[0]]
    # A quoted line break keeps a record on one spreadsheet row, so rows count records, not lines.
    numbered = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    width = len(header)
    for number, row in numbered:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise InvalidPortfolioError(
                f"{label}, row {number}: the row has {len(row)} cells but the header has {width}; "
                "check for an unquoted comma")
        for cell in row:
            if len(cell) > MAX_CELL_CHARS:
                raise InvalidPortfolioError(
                    f"{label}, row {number}: a cell contains {len(cell):,} characters, over the limit of "
                    f"{MAX_CELL_CHARS:,}; check for a missing closing quote")
    return RawTable(label=label, frame=_frame(header, numbered))


def _frame(header: list[str], numbered: list[tuple[int, list[str]]]) -> pd.DataFrame:
    """Build a text frame indexed by spreadsheet row number; duplicate header names stay visible."""
    width = len(header)
    frame = pd.DataFrame([(row + [""] * width)[:width] for _, row in numbered], columns=range(width), dtype=object)
    if frame.empty:
        frame = pd.DataFrame(columns=range(width), dtype=object)
    frame.index = pd.Index([number for number, _ in numbered], dtype="int64", name="row")
    frame.columns = header
    return frame


def plain_number(value: float) -> str:
    """Write a float in plain decimal notation, never with an exponent: 1e16 as ``10000000000000000``."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return plain_number(value)
    return str(value)


def read_workbook(data: bytes, label: str) -> dict[str, RawTable]:
    """Read the sheets of a canonical workbook whose names are table names."""
    import openpyxl  # Imported here: only workbook users pay for it.

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidPortfolioError(f"{label} is not a readable .xlsx workbook ({exc})") from exc
    tables: dict[str, RawTable] = {}
    try:
        for sheet in workbook.worksheets:
            name = sheet.title.strip().lower()
            if name not in TABLES:
                continue
            rows = [(number, [_cell_text(v) for v in row])
                    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
            rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
            sheet_label = f'{label}, sheet "{sheet.title}"'
            if not rows:
                raise InvalidPortfolioError(f"{sheet_label} is empty; it needs at least a header row")
            header = [cell.strip() for cell in rows[0][1]]
            while header and not header[-1]:
                header.pop()
            tables[name] = RawTable(label=sheet_label, frame=_frame(header, rows[1:]))
    finally:
        workbook.close()
    if not tables:
        raise InvalidPortfolioError(f"{label} has none of the sheets " + ", ".join(TABLES)
                                    + "; name the sheets after the canonical files")
    return tables


def read_tables(path: Path) -> dict[str, RawTable]:
    """Read a canonical portfolio: a folder of CSV files, an .xlsx workbook, or a .zip of the folder."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path} does not exist; give a folder of canonical CSV files or an .xlsx workbook")
    if path.is_dir():
        tables = {}
        for name in TABLES:
            file = path / f"{name}.csv"
            if file.is_file():
                _check_size(file.stat().st_size, file.name)
                tables[name] = read_csv_table(file.read_bytes(), file.name)
        if not tables:
            raise InvalidPortfolioError(f"{path} contains none of the canonical files (themes.csv, "
                                        "initiatives.csv, alignment.csv, ...)")
        return tables
    _check_size(path.stat().st_size, path.name)
    return read_upload(path.name, path.read_bytes())


# Largest canonical file or upload accepted, in bytes. Matches the app's upload limit.
MAX_FILE_BYTES = 50 * 1024 * 1024


def _check_size(size: int, label: str) -> None:
    if size > MAX_FILE_BYTES:
        raise InvalidPortfolioError(f"{label} is {size / 1024 / 1024:.1f} MB, over the limit of "
                                    f"{MAX_FILE_BYTES // 1024 // 1024} MB; split it or remove long text")


def read_upload(name: str, data: bytes) -> dict[str, RawTable]:
    """Read an uploaded canonical portfolio: .xlsx workbook, .zip of CSV files, or one CSV."""
    _check_size(len(data), name)
    if not data:
        raise InvalidPortfolioError(f"{name} is empty")
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return read_workbook(data, name)
    if suffix == ".zip":
        return _read_zip(data, name)
    if suffix == ".csv":
        stem = Path(name).stem.lower()
        if stem not in TABLES:
            raise InvalidPortfolioError(f'{name} is not a canonical file name; name it after one of '
                                        + ", ".join(TABLES) + ", or upload a .zip or .xlsx with all files")
        return {stem: read_csv_table(data, name)}
    raise InvalidPortfolioError(f'{name}: "{suffix or "no extension"}" is not supported; '
                                "upload an .xlsx workbook or a .zip of canonical CSV files")


def _read_zip(data: bytes, label: str) -> dict[str, RawTable]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidPortfolioError(f"{label} is not a readable .zip archive") from exc
    tables = {}
    with archive:
        for info in archive.infolist():
            stem = Path(info.filename).stem.lower()
            if info.is_dir() or Path(info.filename).suffix.lower() != ".csv" or stem not in TABLES:
                continue
            _check_size(info.file_size, info.filename)
            tables[stem] = read_csv_table(archive.read(info), Path(info.filename).name)
    if not tables:
        raise InvalidPortfolioError(f"{label} contains none of the canonical CSV files")
    return tables


def load_portfolio(path: Path) -> tuple[Portfolio | None, list[Problem]]:
    """Read and validate a canonical portfolio from disk."""
    tables = read_tables(path)
    portfolio, problems = parse_portfolio(tables, source=str(Path(path).resolve()))
    logger.info("read %s: %d errors, %d warnings", path, len(errors_of(problems)),
                len(problems) - len(errors_of(problems)))
    return portfolio, problems


def require_portfolio(path: Path) -> tuple[Portfolio, list[Problem]]:
    """Load a portfolio or raise :class:`InvalidPortfolioError` carrying every problem."""
    portfolio, problems = load_portfolio(path)
    if portfolio is None:
        errors = errors_of(problems)
        first = errors[0].describe() if errors else "unknown problem"
        more = f" (and {len(errors) - 1} more errors; run validate to list them)" if len(errors) > 1 else ""
        raise InvalidPortfolioError(f"{path} does not load: {first}{more}", problems)
    return portfolio, problems


# --- writing ---------------------------------------------------------------------


def canonical_frames(portfolio: Portfolio) -> dict[str, pd.DataFrame]:
    """Turn a portfolio back into canonical tables of text, raw values as the files hold them."""
    themes = portfolio.themes.copy()
    themes_out = pd.DataFrame({
        "theme_id": themes["theme_id"],
        "name": themes["name"],
        "weight": [_number_text(w) for w in themes["weight"]],
        "objective": themes["objective"].fillna(""),
        "key_results": themes["key_results"].fillna(""),
    }, columns=[*REQUIRED_COLUMNS["themes"], *OPTIONAL_COLUMNS["themes"]])

    items = portfolio.initiatives
    out: dict[str, Any] = {
        "initiative_id": items["initiative_id"],
        "name": items["name"],
        "segment": items["segment"],
        "cost": [format_cents(c) for c in items["cost"]],
        "must_fund": ["yes" if v else "no" for v in items["must_fund"]],
        "force_out": ["yes" if v else "no" for v in items["force_out"]],
    }
    for name in CRITERIA:
        out[name] = ["" if pd.isna(v) else _number_text(v) for v in items[name]]
    for name in TEXT_FIELDS:
        out[name] = items[name].fillna("")
    for name in MONEY_FIELDS:
        out[name] = ["" if pd.isna(v) else format_cents(int(v)) for v in items[name]]
    for name in DATE_FIELDS:
        out[name] = items[name].fillna("")
    initiatives_out = pd.DataFrame(out)
    for column in portfolio.extra_columns:
        initiatives_out[column] = [extra.get(column, "") for extra in items["extra"]]
    initiatives_out = initiatives_out[[c for c in initiatives_out.columns]]

    alignment = portfolio.alignment
    alignment_out = pd.DataFrame({
        "initiative_id": alignment["initiative_id"],
        "theme_id": alignment["theme_id"],
        "score": [_number_text(s) for s in alignment["score"]],
        "justification": alignment["justification"].fillna(""),
    }, columns=["initiative_id", "theme_id", "score", "justification"])

    frames = {"themes": themes_out, "initiatives": initiatives_out, "alignment": alignment_out}
    if portfolio.envelopes:
        frames["budget"] = pd.DataFrame(
            [(s, format_cents(e)) for s, e in portfolio.envelopes.items()], columns=["segment", "envelope"])
    if portfolio.lenses != DEFAULT_LENSES:
        frames["lenses"] = pd.DataFrame(
            [(s, c, _number_text(w)) for s, lens in portfolio.lenses.items() for c, w in lens.items()],
            columns=["segment", "criterion", "weight"])
    if portfolio.urgency != DEFAULT_URGENCY:
        frames["urgency"] = pd.DataFrame(
            [(c, _number_text(w)) for c, w in portfolio.urgency.items()], columns=["criterion", "weight"])
    if len(portfolio.dependencies):
        frames["dependencies"] = portfolio.dependencies[["initiative_id", "requires_id"]].copy()
    if len(portfolio.theme_history):
        history = portfolio.theme_history
        frames["theme_versions"] = pd.DataFrame({
            "version": history["version"].astype(int).astype(str),
            "theme_id": history["theme_id"], "name": history["name"],
            "weight": [_number_text(w) for w in history["weight"]],
            "objective": history["objective"].fillna(""), "key_results": history["key_results"].fillna(""),
        })
    settings = portfolio.settings.model_dump(exclude_none=True)
    frames["settings"] = pd.DataFrame(
        [(k, _number_text(v) if isinstance(v, float) else str(v)) for k, v in settings.items()],
        columns=["key", "value"])
    return frames


def _number_text(value: float) -> str:
    return plain_number(value)


def write_canonical(portfolio: Portfolio, out_dir: Path) -> None:
    """Write a portfolio as a canonical CSV folder, atomically: all files or none."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InvalidPortfolioError(f"{out_dir} is not empty; choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=out_dir.parent))
    try:
        for name, frame in canonical_frames(portfolio).items():
            frame.to_csv(staging / f"{name}.csv", index=False, lineterminator="\n")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
