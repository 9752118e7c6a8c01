"""Read foreign exports (CSV, TSV or one sheet of an .xlsx workbook) into a table of text.

Exports from spreadsheets, ServiceNow, Planview, Clarity and government portals
differ in encoding, separator, line ends, where the header sits and which way
round the table is. `read_source` detects what it can and applies the options
the caller gives. It returns a `SourceTable` that records how the file was read
(encoding, separator, sheet, header row, transposition). The app and the
command line show that record, and the user can override each part of it.

Every cell stays text. Row numbers are those a spreadsheet shows: a record of
a CSV file is one row even where a quoted field spans several lines.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from portfolio import importing
from portfolio.errors import PortfolioLensError

logger = logging.getLogger(__name__)

MEGABYTE = 1024 * 1024
SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DEFAULT_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252")
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte order mark",
    "cp1252": "Windows-1252 (cp1252)",
    "utf-16": "UTF-16",
    "iso8859-1": "Latin-1 (ISO 8859-1)",
}

# Rows searched for the header and sampled to sniff the separator and the layout.
HEADER_SEARCH_ROWS = 30
SAMPLE_RECORDS = 200

_BINARY_SAMPLE_BYTES = 8192
_CONTROL_BYTES = frozenset(range(32)) - {9, 10, 12, 13}
_NUMBER = re.compile(r"[-+(]?[£$€]?\s?\d[\d,.\s]*%?\)?")
_DATE = re.compile(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}")


Cells = frozenset[tuple[int, int]]
"""A set of (row index, column index) positions in a table."""
_NO_CELLS: Cells = frozenset()


class UnreadableFileError(PortfolioLensError, ValueError):
    """A file that cannot be read as a table at all: empty, binary, too large, undecodable.

    The message names the file and what to do, in one sentence.
    """


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source file; None means "find out from the file".

    `encoding` overrides the `encodings` that are otherwise tried in order.
    `header_row` is the spreadsheet row of the header (1 is the first), or
    after transposition its column. `expected_columns` are names the header
    should contain, such as a mapping profile's source columns. They locate a
    header below a title block and tell a transposed file apart.
    """

    encoding: str | None = None
    encodings: tuple[str, ...] = DEFAULT_ENCODINGS
    separator: str | None = None
    quote: str = '"'
    header_row: int | None = None
    transpose: bool = False
    sheet: str | None = None
    expected_columns: tuple[str, ...] = ()


@dataclass
class SourceTable:
    """A foreign export as read: its header, its records as text, and how it was read."""

    name: str
    kind: Literal["csv", "xlsx"]
    header: list[str]
    records: list[list[str]]
    positions: list[int]
    """Spreadsheet row of each record; after transposition, its spreadsheet column."""
    header_row: int
    encoding: str | None = None
    separator: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    transposed: bool = False
    transpose_suggested: bool = False
    date_cells: frozenset[tuple[int, int]] = frozenset()
    """(record index, column index) of workbook cells that Excel stores as dates."""
    number_cells: frozenset[tuple[int, int]] = frozenset()
    """(record index, column index) of workbook cells that Excel stores as numbers."""
    repeated_headers: tuple[str, ...] = ()
    """Header names that occur more than once, before numbering."""

    def place(self, index: int) -> str:
        """Return where a user finds record `index` in the file: "row 5", or "column D" when transposed."""
        if self.transposed:
            return f"column {column_letter(self.positions[index])}"
        return f"row {self.positions[index]}"

    def describe(self) -> str:
        """Return how the file was read, in one sentence for the app and the command line."""
        parts = []
        if self.kind == "csv":
            parts.append(f"encoding {ENCODING_NAMES.get(self.encoding or '', self.encoding)}")
            parts.append(f"{SEPARATOR_NAMES.get(self.separator or '', repr(self.separator))} separator")
        else:
            parts.append(f'sheet "{self.sheet}"')
        if self.transposed:
            parts.append(f"transposed, field names in column {column_letter(self.header_row)}")
        else:
            parts.append(f"header on row {self.header_row}")
        records = "record" if len(self.records) == 1 else "records"
        return f"{self.name}: {', '.join(parts)}; {len(self.records):,} {records}, {len(self.header)} columns."

    def preview(self, limit: int = 20) -> pd.DataFrame:
        """Return the first `limit` records as a frame, indexed by where they are in the file."""
        rows = [(record + [""] * len(self.header))[: len(self.header)] for record in self.records[:limit]]
        frame = pd.DataFrame(rows, columns=range(len(self.header)), dtype=object)
        frame.columns = self.header
        frame.index = pd.Index([self.place(index) for index in range(len(rows))], name="in the file")
        return frame


def column_letter(number: int) -> str:
    """Return a spreadsheet column name: 1 is "A", 27 is "AA"."""
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def encoding_name(encoding: str) -> str:
    """Return Python's canonical name of an encoding ("latin-1" is "iso8859-1").

    Raises UnreadableFileError for a name Python does not know.
    """
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UnreadableFileError(
            f'"{encoding}" is not an encoding Python knows; use for example utf-8, cp1252 or latin-1'
        ) from None


# --- Entry points ------------------------------------------------------------------------------


def read_source_file(path: Path, options: ReadOptions | None = None) -> SourceTable:
    """Read a foreign export from disk; see `read_source`. The size limit is checked before reading."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnreadableFileError(f"source file {path} not found; check the path") from None
    if path.is_dir():
        raise UnreadableFileError(f"source {path} is a folder; give the path of one file")
    check_size(size, path.name)
    return read_source(path.name, path.read_bytes(), options)


def read_source(name: str, data: bytes, options: ReadOptions | None = None) -> SourceTable:
    """Read a CSV text file or one sheet of an .xlsx workbook held in memory.

    The kind follows the content, not only the name: a workbook is a zip
    archive. Raises UnreadableFileError for a file over the upload limit
    (`importing.MAX_FILE_BYTES`), an empty or binary file, an old .xls
    workbook, text that no candidate encoding decodes, a cell longer than
    `importing.MAX_CELL_CHARS`, a missing sheet, or a file with no header row.
    """
    options = options or ReadOptions()
    check_size(len(data), name)
    if not data.strip():
        raise UnreadableFileError(f"{name} is empty; export it again with a header row and at least one row")

    if data.startswith(b"PK\x03\x04"):
        return _read_workbook(name, data, options)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFileError(
            f"{name} is an old Excel .xls workbook, which cannot be read; save it as .xlsx or as CSV and try again"
        )
    if Path(name).suffix.lower() in (".xlsx", ".xlsm"):
        raise UnreadableFileError(f"{name} is not a readable .xlsx workbook; open it in Excel and save it again")
    return _read_text(name, data, options)


def check_size(size: int, name: str) -> None:
    """Reject a file over the upload limit, `importing.MAX_FILE_BYTES`."""
    limit = importing.MAX_FILE_BYTES
    if size > limit:
        raise UnreadableFileError(
            f"{name} is {size / MEGABYTE:.1f} MB, over the upload limit of {describe_bytes(limit)}; "
            "split the file or remove long text columns"
        )


def describe_bytes(size: int) -> str:
    """Return a size as people read it: "50 MB", "1.5 MB", or "100,000 bytes" below one megabyte."""
    if size >= MEGABYTE:
        return f"{size / MEGABYTE:.1f}".removesuffix(".0") + " MB"
    return f"{size:,} bytes"


# --- CSV text ----------------------------------------------------------------------------------


def decode(
    data: bytes, name: str, encodings: Sequence[str] = DEFAULT_ENCODINGS, override: str | None = None
) -> tuple[str, str]:
    """Decode a text file, trying `encodings` in order unless `override` names the one to use.

    Returns (text, encoding). The encoding is Python's canonical name; UTF-8
    is reported as "utf-8-sig" only when the file starts with a byte order
    mark. A UTF-16 byte order mark selects UTF-16. Raises UnreadableFileError
    for binary data and for text that none of the encodings decodes.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and override is None:
        return data.decode("utf-16"), "utf-16"
    if _looks_binary(data):
        raise UnreadableFileError(
            f"{name} is not a text file (it contains binary data); export it as CSV or .xlsx and try again"
        )

    candidates = [override] if override else list(encodings)
    failures = []
    for candidate in candidates:
        encoding = encoding_name(candidate)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as error:
            failures.append(f"{encoding} (byte 0x{data[error.start]:02X} at offset {error.start})")
            continue
        if encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8"
        return text, encoding

    if override:
        raise UnreadableFileError(f"{name} cannot be decoded with {failures[0]}; choose another encoding")
    raise UnreadableFileError(
        f"{name} cannot be decoded with {', '.join(failures)}; choose the file's encoding (for example latin-1)"
    )


def _looks_binary(data: bytes) -> bool:
    sample = data[:_BINARY_SAMPLE_BYTES]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte in _CONTROL_BYTES)
    return controls > len(sample) // 100


def _read_text(name: str, data: bytes, options: ReadOptions) -> SourceTable:
    if options.separator is not None and len(options.separator) != 1:
        raise UnreadableFileError(
            f'"{options.separator}" is not a separator; give one character such as "," or ";", or "\\t" for tab'
        )
    text, encoding = decode(data, name, options.encodings, options.encoding)
    separator = options.separator or sniff_separator(text, options.quote)
    rows = _parse_csv(text, name, separator, options.quote)
    positions = list(range(1, len(rows) + 1))
    table = _frame_table(name, "csv", rows, positions, _NO_CELLS, _NO_CELLS, options)
    table.encoding = encoding
    table.separator = separator
    logger.info("Read %s", table.describe())
    return table


def sniff_separator(text: str, quote: str = '"') -> str:
    """Return the separator among comma, semicolon, tab and pipe that splits the file most consistently.

    Each candidate splits the first SAMPLE_RECORDS records. The winner gives
    the most records of one field count above 1, and ties go to the order
    above. A file of one column gives a comma.
    """
    sample = text[:200_000]
    best, best_score = ",", 0
    for candidate in SEPARATORS:
        try:
            records = []
            for record in csv.reader(io.StringIO(sample, newline=""), delimiter=candidate, quotechar=quote):
                if any(cell.strip() for cell in record):
                    records.append(len(record))
                if len(records) >= SAMPLE_RECORDS:
                    break
        except csv.Error:
            continue
        widths = Counter(width for width in records if width > 1)
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        score = count * 1000 + width
        if score > best_score:
            best, best_score = candidate, score
    return best


def _parse_csv(text: str, name: str, separator: str, quote: str) -> list[list[str]]:
    limit = importing.MAX_CELL_CHARS
    csv.field_size_limit(max(limit + 1, csv.field_size_limit()))
    # newline="" keeps CR, LF and CRLF as they are, so the csv module ends a
    # record at any of them and keeps line breaks inside quoted fields.
    parser = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar=quote)
    rows: list[list[str]] = []
    try:
        for record in parser:
            for cell in record:
                if len(cell) > limit:
                    raise _cell_too_long(name, f"row {len(rows) + 1}", len(cell))
            rows.append(record)
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise _cell_too_long(name, f"row {len(rows) + 1}", None) from None
        raise UnreadableFileError(
            f"{name} cannot be read as CSV near line {parser.line_num} ({error}); "
            f"check that the separator is {SEPARATOR_NAMES.get(separator, repr(separator))} and every quote is closed"
        ) from None
    return rows


def _cell_too_long(name: str, where: str, length: int | None) -> UnreadableFileError:
    limit = importing.MAX_CELL_CHARS
    size = f"{length:,} characters" if length is not None else "more characters than that"
    return UnreadableFileError(
        f"{name}, {where}: a cell holds {size}, over the limit of {limit:,} characters per cell; "
        "shorten the text or check for a quote that is never closed"
    )


# --- Workbooks ---------------------------------------------------------------------------------


def workbook_sheets(data: bytes, name: str) -> list[str]:
    """Return the sheet names of an .xlsx workbook, in workbook order."""
    workbook = _open_workbook(data, name)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def _open_workbook(data: bytes, name: str) -> Any:
    import openpyxl  # Imported here: only workbook users pay for it.

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as error:
        raise UnreadableFileError(
            f"{name} is not a readable .xlsx workbook ({error}); open it in Excel and save it again as .xlsx"
        ) from None


def _read_workbook(name: str, data: bytes, options: ReadOptions) -> SourceTable:
    workbook = _open_workbook(data, name)
    try:
        sheets = tuple(workbook.sheetnames)
        sheet_name = _choose_sheet(workbook, sheets, name, options)
        rows, date_cells, number_cells = _sheet_rows(workbook[sheet_name], name, sheet_name)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as error:
        if isinstance(error, UnreadableFileError):
            raise
        raise UnreadableFileError(
            f"{name} is not a readable .xlsx workbook ({error}); open it in Excel and save it again as .xlsx"
        ) from None
    finally:
        workbook.close()

    positions = list(range(1, len(rows) + 1))
    table = _frame_table(name, "xlsx", rows, positions, date_cells, number_cells, options)
    table.sheet = sheet_name
    table.sheets = sheets
    logger.info("Read %s", table.describe())
    return table


def _choose_sheet(workbook: Any, sheets: Sequence[str], name: str, options: ReadOptions) -> str:
    if options.sheet is not None:
        for sheet in sheets:
            if sheet == options.sheet or sheet.strip().casefold() == options.sheet.strip().casefold():
                return sheet
        raise UnreadableFileError(
            f'{name} has no sheet "{options.sheet}" (it has: {", ".join(sheets)}); '
            "choose one of those sheets or export the expected one"
        )
    for sheet in sheets:
        top_rows = workbook[sheet].iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)
        if any(value not in (None, "") for row in top_rows for value in row):
            return sheet
    raise UnreadableFileError(f"{name} has no sheet with data; export it again with a header row and rows")


def _sheet_rows(sheet: Any, name: str, sheet_name: str) -> tuple[list[list[str]], Cells, Cells]:
    """Return every row of a sheet as text and the (row index, column index) of its date and number cells."""
    limit = importing.MAX_CELL_CHARS
    rows: list[list[str]] = []
    dates: set[tuple[int, int]] = set()
    numbers: set[tuple[int, int]] = set()
    for row_index, values in enumerate(sheet.iter_rows(values_only=True)):
        cells = []
        for column_index, value in enumerate(values):
            if isinstance(value, dt.datetime | dt.date):
                dates.add((row_index, column_index))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                numbers.add((row_index, column_index))
            text = cell_text(value)
            if len(text) > limit:
                raise _cell_too_long(f'{name}, sheet "{sheet_name}"', f"row {row_index + 1}", len(text))
            cells.append(text)
        while cells and not cells[-1].strip():
            cells.pop()
        rows.append(cells)
    return rows, frozenset(dates), frozenset(numbers)


def cell_text(value: Any) -> str:
    """Return a workbook cell as text: dates as ISO yyyy-mm-dd, numbers in plain notation, None as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return importing.plain_number(value)
    return str(value)


# --- Header and layout -------------------------------------------------------------------------


def _frame_table(
    name: str,
    kind: Literal["csv", "xlsx"],
    rows: list[list[str]],
    positions: list[int],
    date_cells: Cells,
    number_cells: Cells,
    options: ReadOptions,
) -> SourceTable:
    """Transpose if asked, find the header and cut the records below it."""
    suggested = False
    if options.transpose:
        rows, date_cells = transpose(rows, date_cells)
        number_cells = frozenset((column, row) for row, column in number_cells)
        positions = list(range(1, len(rows) + 1))
    else:
        suggested = looks_transposed(rows, options.expected_columns)

    header_index = _header_index(rows, name, options)
    raw_header = [cell.strip() for cell in rows[header_index]]
    while raw_header and not raw_header[-1]:
        raw_header.pop()
    header = name_columns(raw_header)
    repeated = tuple(sorted({cell for cell in raw_header if cell and raw_header.count(cell) > 1}))

    records = rows[header_index + 1 :]
    record_positions = positions[header_index + 1 :]
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()
        record_positions.pop()

    def below_header(cells: Cells) -> Cells:
        return frozenset((row - header_index - 1, column) for row, column in cells if row > header_index)

    return SourceTable(
        name=name,
        kind=kind,
        header=header,
        records=records,
        positions=record_positions,
        header_row=positions[header_index],
        transposed=options.transpose,
        transpose_suggested=suggested,
        date_cells=below_header(date_cells),
        number_cells=below_header(number_cells),
        repeated_headers=repeated,
    )


def name_columns(raw_header: Sequence[str]) -> list[str]:
    """Name blank header cells after their column ("column C") and number repeated names (number_repeated)."""
    return number_repeated([cell or f"column {column_letter(index + 1)}" for index, cell in enumerate(raw_header)])


def number_repeated(names: Sequence[str]) -> list[str]:
    """Rename repeated names by appending ".1", ".2", … as pandas does.

    The first occurrence keeps its name, so two `colour_rating` columns read
    as `colour_rating` and `colour_rating.1`. A generated name that another
    header already has is skipped.
    """
    used = set(names)
    seen: set[str] = set()
    result = []
    for column in names:
        if column not in seen:
            seen.add(column)
            result.append(column)
            continue
        suffix = 1
        while f"{column}.{suffix}" in used:
            suffix += 1
        renamed = f"{column}.{suffix}"
        used.add(renamed)
        seen.add(renamed)
        result.append(renamed)
    return result


def _header_index(rows: list[list[str]], name: str, options: ReadOptions) -> int:
    if options.header_row is not None:
        index = options.header_row - 1
        where = "column" if options.transpose else "row"
        if index < 0 or index >= len(rows) or not any(cell.strip() for cell in rows[index]):
            raise UnreadableFileError(
                f"{name} has no header in {where} {options.header_row}; choose the {where} that names the fields"
            )
        return index

    index = find_header_row(rows, options.expected_columns)
    if index is None:
        raise UnreadableFileError(f"{name} has no header row; the file needs a row that names its columns")
    return index


def find_header_row(rows: Sequence[Sequence[str]], expected_columns: Sequence[str] = ()) -> int | None:
    """Return the index of the header among the first HEADER_SEARCH_ROWS rows, or None for a blank file.

    With `expected_columns`, the header is the first row that contains the
    most of them. Otherwise, and where none is found, it is the first row
    whose cells are all text (no number or date) and that fills at least half
    as many cells as the widest row. A title block above it fills fewer.
    """
    searched = [(index, row) for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if any(c.strip() for c in row)]
    if not searched:
        return None

    expected = {_header_key(column) for column in expected_columns}
    if expected:
        hits = [(sum(_header_key(cell) in expected for cell in row), index) for index, row in searched]
        most = max(count for count, _ in hits)
        if most > 0:
            return next(index for count, index in hits if count == most)

    widest = max(_filled(row) for _, row in searched)
    for index, row in searched:
        cells = [cell for cell in row if cell.strip()]
        if len(cells) * 2 >= widest and not any(_kind(cell) in ("number", "date") for cell in cells):
            return index
    return searched[0][0]


def looks_transposed(rows: Sequence[Sequence[str]], expected_columns: Sequence[str] = ()) -> bool:
    """Tell whether a table holds one record per column, with field names down its first column.

    With `expected_columns`, it does when more of them are in the first column
    than in any of the first rows. Otherwise it does when values agree in kind
    (number, date, text) along rows clearly more than down columns, because
    then each row is one field.
    """
    sample = [list(row) for row in rows[:SAMPLE_RECORDS] if any(cell.strip() for cell in row)]
    if len(sample) < 2:
        return False

    expected = {_header_key(column) for column in expected_columns}
    if expected:
        in_first_column = sum(bool(row) and _header_key(row[0]) in expected for row in sample)
        in_a_row = max(sum(_header_key(cell) in expected for cell in row) for row in sample[:HEADER_SEARCH_ROWS])
        return in_first_column > in_a_row

    width = max(len(row) for row in sample)
    if width < 2:
        return False
    grid = [row + [""] * (width - len(row)) for row in sample]
    first_column = [row[0].strip() for row in grid if row[0].strip()]
    if len(set(first_column)) < len(first_column) or any(_kind(cell) != "text" for cell in first_column):
        return False
    along_rows = _agreement([row[1:] for row in grid])
    down_columns = _agreement([list(column) for column in zip(*grid[1:], strict=True)])
    return along_rows >= down_columns + 0.2


def transpose(rows: Sequence[Sequence[str]], date_cells: Cells = frozenset()) -> tuple[list[list[str]], Cells]:
    """Swap rows and columns; short rows are padded with blanks."""
    width = max((len(row) for row in rows), default=0)
    grid = [list(row) + [""] * (width - len(row)) for row in rows]
    swapped = [list(column) for column in zip(*grid, strict=True)] if grid else []
    return swapped, frozenset((column, row) for row, column in date_cells)


def _header_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _filled(row: Sequence[str]) -> int:
    return sum(1 for cell in row if cell.strip())


def _kind(cell: str) -> str:
    text = cell.strip()
    if not text:
        return "blank"
    if _DATE.fullmatch(text):
        return "date"
    if _NUMBER.fullmatch(text):
        return "number"
    return "text"


def _agreement(lines: Sequence[Sequence[str]]) -> float:
    """Return the mean share of the most common kind of value along each line (blanks left out)."""
    shares = []
    for line in lines:
        kinds = Counter(_kind(cell) for cell in line if cell.strip())
        total = sum(kinds.values())
        if total >= 2:
            shares.append(kinds.most_common(1)[0][1] / total)
    return sum(shares) / len(shares) if shares else 0.0
