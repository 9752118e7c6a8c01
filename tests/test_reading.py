"""Tests of portfolio.reading: encodings, separators, line ends, headers, layout, workbooks and limits.

Every fixture is written byte for byte in the test, so each quirk of real
exports (a byte order mark, the cp1252 pound sign 0xA3, CR-only line ends, a
header on row 4) is exactly what the reader meets.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from portfolio import importing, reading
from portfolio.reading import ReadOptions, UnreadableFileError, read_source, read_source_file


def workbook_bytes(rows: list[list[object]], title: str = "Projects", extra_sheets: tuple[str, ...] = ()) -> bytes:
    """Build an .xlsx workbook in memory with one sheet of `rows` (None is an empty cell)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name in extra_sheets:
        workbook.create_sheet(name)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Encodings -----------------------------------------------------------------------------------


def test_utf8_without_bom_reported() -> None:
    table = read_source("export.csv", "id,name\nA1,Café\n".encode())

    assert table.encoding == "utf-8"
    assert table.header == ["id", "name"]
    assert table.records == [["A1", "Café"]]


def test_utf8_with_bom_reported_and_stripped() -> None:
    table = read_source("export.csv", codecs.BOM_UTF8 + "id,name\nA1,Café\n".encode())

    assert table.encoding == "utf-8-sig"
    assert table.header == ["id", "name"]


def test_cp1252_pound_sign_falls_back() -> None:
    data = b"id;cost\nA1;\xa31,139.18\n"

    table = read_source("export.csv", data)

    assert table.encoding == "cp1252"
    assert table.records == [["A1", "£1,139.18"]]
    assert "encoding Windows-1252 (cp1252)" in table.describe()


def test_encoding_override_is_used() -> None:
    data = "id;name\nA1;Zürich\n".encode("latin-1")

    table = read_source("export.csv", data, ReadOptions(encoding="latin-1"))

    assert table.encoding == "iso8859-1"
    assert table.records == [["A1", "Zürich"]]


def test_encoding_override_that_fails_names_byte() -> None:
    with pytest.raises(UnreadableFileError, match=r"cannot be decoded with utf-8 \(byte 0xA3 at offset 11\)"):
        read_source("export.csv", b"id;cost\nA1;\xa31\n", ReadOptions(encoding="utf-8"))


def test_unknown_encoding_name_rejected() -> None:
    with pytest.raises(UnreadableFileError, match='"klingon" is not an encoding Python knows'):
        read_source("export.csv", b"id\nA1\n", ReadOptions(encoding="klingon"))


def test_undecodable_with_every_candidate() -> None:
    # 0x81 is undefined in cp1252 and invalid as a UTF-8 start byte.
    with pytest.raises(UnreadableFileError, match=r"utf-8 \(byte 0x81 at offset 3\), cp1252 \(byte 0x81"):
        read_source("export.csv", b"id\n\x81\n", ReadOptions(encodings=("utf-8", "cp1252")))


def test_utf16_with_bom_decoded() -> None:
    data = "id\tname\r\nA1\tÉcole\r\n".encode("utf-16")

    table = read_source("export.txt", data)

    assert table.encoding == "utf-16"
    assert table.separator == "\t"
    assert table.records == [["A1", "École"]]


# --- Separators and line ends --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "separator"),
    [
        ("id,name,cost\nA1,Alpha,5\nA2,Beta,6\n", ","),
        ("id;name;cost\nA1;Alpha;1,5\nA2;Beta;2,5\n", ";"),
        ("id\tname\tcost\nA1\tAlpha, Inc.\t5\nA2\tBeta\t6\n", "\t"),
        ("id|name|cost\nA1|Alpha|5\n", "|"),
    ],
)
def test_separator_sniffed(text: str, separator: str) -> None:
    table = read_source("export.csv", text.encode())

    assert table.separator == separator
    assert table.header == ["id", "name", "cost"]
    assert len(table.records[0]) == 3


def test_separator_override_wins() -> None:
    table = read_source("export.csv", b"id;name\nA1;x,y\n", ReadOptions(separator=","))

    assert table.separator == ","
    assert table.header == ["id;name"]


def test_separator_of_two_characters_rejected() -> None:
    with pytest.raises(UnreadableFileError, match='";;" is not a separator'):
        read_source("export.csv", b"id\nA1\n", ReadOptions(separator=";;"))


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r", b"\n"])
def test_line_ends_read_alike(line_end: bytes) -> None:
    data = line_end.join([b"id,name", b"A1,Alpha", b"A2,Beta"]) + line_end

    table = read_source("export.csv", data)

    assert table.records == [["A1", "Alpha"], ["A2", "Beta"]]
    assert table.positions == [2, 3]


def test_quoted_line_break_stays_one_row() -> None:
    data = b'id,notes\r\nA1,"first line\r\nsecond line"\r\nA2,plain\r\n'

    table = read_source("export.csv", data)

    assert table.records == [["A1", "first line\r\nsecond line"], ["A2", "plain"]]
    assert table.positions == [2, 3]


def test_mixed_line_ends_in_one_file() -> None:
    data = b"id,name\r\nA1,Alpha\rA2,Beta\nA3,Gamma\r\n"

    table = read_source("export.csv", data)

    assert [record[0] for record in table.records] == ["A1", "A2", "A3"]


def test_trailing_blank_lines_dropped() -> None:
    table = read_source("export.csv", b"id,name\nA1,Alpha\n\n,\n\n")

    assert table.records == [["A1", "Alpha"]]


# --- Headers -------------------------------------------------------------------------------------


def test_duplicate_headers_numbered() -> None:
    table = read_source("export.csv", b"id;rating;rating;rating\nA1;Red;;Green\n")

    assert table.header == ["id", "rating", "rating.1", "rating.2"]
    assert table.repeated_headers == ("rating",)


def test_blank_header_named_after_column() -> None:
    table = read_source("export.csv", b"id,,cost\nA1,x,5\n")

    assert table.header == ["id", "column B", "cost"]


def test_header_below_title_block_in_csv() -> None:
    data = b"Portfolio export\nExported 2024-01-05 by PMO\n\nid,name,cost\nA1,Alpha,5\nA2,Beta,6\n"

    table = read_source("export.csv", data)

    assert table.header_row == 4
    assert table.header == ["id", "name", "cost"]
    assert table.positions == [5, 6]
    assert table.place(0) == "row 5"


def test_header_found_by_expected_columns() -> None:
    data = b"Report;2024\nproject_number;project_name\nP1;One\n"

    table = read_source("export.csv", data, ReadOptions(expected_columns=("project_number", "project_name")))

    assert table.header_row == 2
    assert table.records == [["P1", "One"]]


def test_header_row_override() -> None:
    table = read_source("export.csv", b"a,b\nid,name\nA1,x\n", ReadOptions(header_row=2))

    assert table.header == ["id", "name"]
    assert table.positions == [3]


def test_header_row_override_out_of_range() -> None:
    with pytest.raises(UnreadableFileError, match="has no header in row 9"):
        read_source("export.csv", b"id\nA1\n", ReadOptions(header_row=9))


def test_header_on_row_4_of_a_sheet() -> None:
    rows = [["Major projects, Q3"], ["Source: PMO"], [], ["id", "name", "cost"], ["A1", "Alpha", 5], ["A2", "Beta", 6]]

    table = read_source("projects.xlsx", workbook_bytes(rows))

    assert table.kind == "xlsx"
    assert table.sheet == "Projects"
    assert table.header_row == 4
    assert table.header == ["id", "name", "cost"]
    assert table.records == [["A1", "Alpha", "5"], ["A2", "Beta", "6"]]
    assert table.positions == [5, 6]
    assert table.describe() == 'projects.xlsx: sheet "Projects", header on row 4; 2 records, 3 columns.'


# --- Transposed layout ---------------------------------------------------------------------------

TRANSPOSED = [
    ["project_id", "P1", "P2", "P3"],
    ["name", "Alpha", "Beta", "Gamma"],
    ["cost", 1200, 300, 45],
    ["start", "2024-01-01", "2024-02-01", "2024-03-01"],
]


def test_transposed_sheet_suggested() -> None:
    table = read_source("projects.xlsx", workbook_bytes(TRANSPOSED))

    assert table.transpose_suggested
    assert not table.transposed


def test_transposed_sheet_read_transposed() -> None:
    table = read_source("projects.xlsx", workbook_bytes(TRANSPOSED), ReadOptions(transpose=True))

    assert table.transposed
    assert table.header == ["project_id", "name", "cost", "start"]
    assert table.records[0] == ["P1", "Alpha", "1200", "2024-01-01"]
    assert [table.place(index) for index in range(3)] == ["column B", "column C", "column D"]
    assert "transposed, field names in column A" in table.describe()


def test_transposed_suggested_by_expected_columns() -> None:
    text = "project_number;A;B\nproject_name;x;y\ntotal_baseline;1;2\n"

    table = read_source("t.csv", text.encode(), ReadOptions(expected_columns=("project_number", "total_baseline")))

    assert table.transpose_suggested


def test_ordinary_table_not_suggested_for_transposing() -> None:
    text = "id,name,cost,start\nA1,Alpha,5,2024-01-01\nA2,Beta,6,2024-02-01\nA3,Gamma,7,2024-03-01\n"

    assert not read_source("export.csv", text.encode()).transpose_suggested


# --- Workbook cells ------------------------------------------------------------------------------


def test_workbook_cells_as_text_and_kinds() -> None:
    rows = [["id", "start", "serial", "cost", "phase"], ["A1", dt.date(2024, 1, 5), 45292, 1234.5, dt.date(2024, 3, 4)]]

    table = read_source("projects.xlsx", workbook_bytes(rows))

    assert table.records == [["A1", "2024-01-05", "45292", "1234.5", "2024-03-04"]]
    assert table.date_cells == frozenset({(0, 1), (0, 4)})
    assert table.number_cells == frozenset({(0, 2), (0, 3)})


def test_workbook_sheet_chosen_by_name() -> None:
    data = workbook_bytes([["id"], ["A1"]], title="Summary", extra_sheets=("Projects",))

    with pytest.raises(UnreadableFileError, match=r'has no sheet "Data" \(it has: Summary, Projects\)'):
        read_source("projects.xlsx", data, ReadOptions(sheet="Data"))

    assert read_source("projects.xlsx", data, ReadOptions(sheet="summary")).sheet == "Summary"


def test_workbook_sheets_listed() -> None:
    data = workbook_bytes([["id"]], title="One", extra_sheets=("Two",))

    assert reading.workbook_sheets(data, "book.xlsx") == ["One", "Two"]


def test_workbook_without_data_rejected() -> None:
    with pytest.raises(UnreadableFileError, match="has no sheet with data"):
        read_source("empty.xlsx", workbook_bytes([]))


def test_broken_workbook_rejected() -> None:
    with pytest.raises(UnreadableFileError, match="is not a readable .xlsx workbook"):
        read_source("broken.xlsx", b"PK\x03\x04" + b"\x00" * 100)


def test_old_xls_rejected() -> None:
    with pytest.raises(UnreadableFileError, match="is an old Excel .xls workbook"):
        read_source("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


# --- Bad input and limits ------------------------------------------------------------------------


def test_empty_file_rejected() -> None:
    with pytest.raises(UnreadableFileError, match="empty.csv is empty"):
        read_source("empty.csv", b"")


def test_whitespace_only_file_rejected() -> None:
    with pytest.raises(UnreadableFileError, match="is empty"):
        read_source("blank.csv", b"  \r\n\r\n")


def test_binary_garbage_rejected() -> None:
    garbage = bytes(range(256)) * 20

    with pytest.raises(UnreadableFileError, match=r"garbage.csv is not a text file \(it contains binary data\)"):
        read_source("garbage.csv", garbage)


def test_file_over_limit_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(importing, "MAX_FILE_BYTES", 1024 * 1024)
    path = tmp_path / "big.csv"
    path.write_bytes(b"id\n" + b"A\n" * (600 * 1024))

    with pytest.raises(UnreadableFileError, match=r"big.csv is 1.2 MB, over the upload limit of 1 MB"):
        read_source_file(path)


def test_cell_over_limit_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_CELL_CHARS", 1_000)
    data = b'id,notes\nA1,short\nA2,"' + b"x" * 5_000 + b'"\n'

    with pytest.raises(UnreadableFileError, match=r"export.csv, row 3: a cell holds 5,000 characters, over the limit"):
        read_source("export.csv", data)


def test_cell_over_csv_field_limit_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_CELL_CHARS", 1_000)
    data = b'id,notes\nA1,"' + b"y" * (importing.csv.field_size_limit() + 10) + b'"\n'

    with pytest.raises(UnreadableFileError, match="over the limit of 1,000 characters per cell"):
        read_source("export.csv", data)


def test_unclosed_quote_hits_cell_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_CELL_CHARS", 100)
    data = b'id,notes\nA1,"never closed\n' + b"A2,more text that the open quote swallows\n" * 10

    with pytest.raises(UnreadableFileError, match="row 2: a cell holds .* check for a quote that is never closed"):
        read_source("export.csv", data)


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="not found"):
        read_source_file(tmp_path / "absent.csv")


def test_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="is a folder"):
        read_source_file(tmp_path)


# --- Helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "letters"), [(1, "A"), (26, "Z"), (27, "AA"), (52, "AZ"), (703, "AAA")])
def test_column_letter_cases(number: int, letters: str) -> None:
    assert reading.column_letter(number) == letters


def test_preview_indexed_by_place() -> None:
    table = read_source("export.csv", b"id,name\nA1,Alpha\nA2\n")
    preview = table.preview(5)

    assert list(preview.index) == ["row 2", "row 3"]
    assert preview.loc["row 3", "name"] == ""


def test_find_header_row_blank_rows() -> None:
    assert reading.find_header_row([[""], ["", " "]]) is None
