"""Tests of portfolio.importing: reading CSV folders, workbooks and archives, and writing them back."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from portfolio_files import write_portfolio

from portfolio.errors import InvalidPortfolioError, NotFoundError
from portfolio.funding import RESULT_COLUMNS, evaluate
from portfolio.importing import (
    DEMO_PATH,
    load_portfolio,
    read_tables,
    read_upload,
    require_portfolio,
    write_canonical,
)
from portfolio.models import Portfolio
from portfolio.scoring import ScoringParams, prepare

THEMES = [
    {"theme_id": "T1", "name": "Cloud", "weight": 3},
    {"theme_id": "T2", "name": "Data", "weight": 1},
]
INITIATIVES = [
    {"initiative_id": "I3", "name": "Portal", "segment": "strategic", "cost": "60.00", "must_fund": "no",
     "urgency": 4, "risk": 6, "start_date": "2027-02-01", "owner": "Ann"},
    {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "50.00", "must_fund": "yes",
     "urgency": 8, "risk": 8, "capex": "30.00", "opex": "20.00", "owner": "Bo"},
    {"initiative_id": "I2", "name": "Audit trail", "segment": "compliance", "cost": "40.10", "urgency": 6,
     "risk": 2.5},
    {"initiative_id": "I4", "name": "Storage", "segment": "infrastructure", "cost": "20.00", "urgency": 1,
     "risk": 1, "financial_return": 6, "technical_necessity": 8},
]
ALIGNMENT = [
    {"initiative_id": "I1", "theme_id": "T1", "score": 9, "justification": "The lakehouse is the cloud plan"},
    {"initiative_id": "I1", "theme_id": "T2", "score": 4},
    {"initiative_id": "I3", "theme_id": "T2", "score": 6.5},
]
BUDGET = [{"segment": "strategic", "envelope": "60.00"}, {"segment": "compliance", "envelope": "100.00"}]


def write_fixture(folder: Path) -> Path:
    return write_portfolio(folder, themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT, budget=BUDGET)


def scores(portfolio: Portfolio) -> pd.DataFrame:
    result = evaluate(prepare(portfolio), ScoringParams.from_portfolio(portfolio))
    return result[list(RESULT_COLUMNS)]


def missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Make every missing value None, so frames compare by content whatever marks the gaps."""
    return frame.astype(object).where(frame.notna(), None)


def assert_same_portfolio(left: Portfolio, right: Portfolio) -> None:
    pd.testing.assert_frame_equal(left.initiatives, right.initiatives)
    pd.testing.assert_frame_equal(left.alignment, right.alignment)
    pd.testing.assert_frame_equal(left.themes, right.themes)
    assert left.envelopes == right.envelopes
    assert left.settings == right.settings
    assert left.lenses == right.lenses
    assert left.urgency == right.urgency
    assert left.extra_columns == right.extra_columns


# --- CSV folders -----------------------------------------------------------------------------------


def test_read_tables_csv_folder(tmp_path: Path) -> None:
    tables = read_tables(write_fixture(tmp_path / "p"))

    assert set(tables) == {"themes", "initiatives", "alignment", "budget"}
    assert tables["initiatives"].label == "initiatives.csv"
    assert tables["initiatives"].frame["cost"].tolist() == ["60.00", "50.00", "40.10", "20.00"]


def test_read_tables_keeps_blank_cells_as_text(tmp_path: Path) -> None:
    tables = read_tables(write_fixture(tmp_path / "p"))

    assert tables["initiatives"].frame["capex"].tolist() == ["", "30.00", "", ""]


def test_load_portfolio_fixture_loads(tmp_path: Path) -> None:
    portfolio, problems = load_portfolio(write_fixture(tmp_path / "p"))

    assert problems == []
    assert portfolio.initiatives["initiative_id"].tolist() == ["I3", "I1", "I2", "I4"]


def test_read_csv_with_utf8_bom(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    themes = folder / "themes.csv"
    themes.write_bytes(b"\xef\xbb\xbf" + themes.read_bytes())
    portfolio, problems = load_portfolio(folder)

    assert problems == []
    assert portfolio.themes["theme_id"].tolist() == ["T1", "T2"]


def test_read_csv_with_crlf_lines(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    alignment = folder / "alignment.csv"
    alignment.write_bytes(alignment.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    portfolio, problems = load_portfolio(folder)

    assert problems == []
    assert portfolio.alignment["justification"][0] == "The lakehouse is the cloud plan"


def test_read_csv_cp1252_rejected(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    (folder / "themes.csv").write_bytes("theme_id,name,weight\nT1,Café and caisse,1\n".encode("cp1252"))

    with pytest.raises(InvalidPortfolioError, match="not valid UTF-8") as caught:
        read_tables(folder)
    assert "themes.csv" in str(caught.value)


def test_read_csv_empty_file_rejected(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    (folder / "alignment.csv").write_bytes(b"")

    with pytest.raises(InvalidPortfolioError, match="alignment.csv is empty"):
        read_tables(folder)


def test_read_csv_whitespace_file_rejected(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    (folder / "alignment.csv").write_bytes(b"\n  \n")

    with pytest.raises(InvalidPortfolioError, match="alignment.csv is empty"):
        read_tables(folder)


def test_read_csv_binary_rejected(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    (folder / "initiatives.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")

    with pytest.raises(InvalidPortfolioError, match="initiatives.csv is not a text file"):
        read_tables(folder)


def test_read_csv_garbage_without_nul_rejected(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    (folder / "initiatives.csv").write_bytes(bytes(range(128, 256)))

    with pytest.raises(InvalidPortfolioError, match="initiatives.csv is not valid UTF-8"):
        read_tables(folder)


def test_read_csv_extra_cells_rejected(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    (folder / "themes.csv").write_text("theme_id,name,weight\nT1,Cloud,1,000\nT2,Data,1\n", encoding="utf-8")

    with pytest.raises(InvalidPortfolioError, match="themes.csv, row 2"):
        read_tables(folder)


def test_read_tables_missing_path(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_tables(tmp_path / "nowhere")


def test_read_tables_folder_without_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a portfolio", encoding="utf-8")

    with pytest.raises(InvalidPortfolioError, match="none of the canonical files"):
        read_tables(tmp_path)


def test_csv_row_number_after_blank_line(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    text = "theme_id,name,weight\nT1,Cloud,3\n\nT2,Data,1\nT3,Security,-1\n"
    (folder / "themes.csv").write_text(text, encoding="utf-8")
    _, problems = load_portfolio(folder)

    assert [(p.code, p.file, p.row) for p in problems] == [("negative", "themes.csv", 5)]


def test_workbook_row_number_after_empty_row(tmp_path: Path) -> None:
    themes = [*sheet_rows(THEMES), [], ["T3", "Security", -1]]
    book = tmp_path / "portfolio.xlsx"
    book.write_bytes(workbook_bytes({"themes": themes, "initiatives": sheet_rows(INITIATIVES),
                                     "alignment": sheet_rows(ALIGNMENT)}))
    _, problems = load_portfolio(book)

    assert [(p.code, p.row) for p in problems] == [("negative", 5)]


def test_require_portfolio_raises_with_problems(tmp_path: Path) -> None:
    folder = write_portfolio(tmp_path / "p", themes=THEMES, alignment=ALIGNMENT,
                             initiatives=[{**INITIATIVES[0], "cost": "1,2O0"}, *INITIATIVES[1:]])

    with pytest.raises(InvalidPortfolioError, match='"1,2O0" is not a number') as caught:
        require_portfolio(folder)
    codes = [p.code for p in caught.value.problems]
    assert "not_a_number" in codes


# --- workbooks -------------------------------------------------------------------------------------


def workbook_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Turn fixture rows into sheet rows with numbers as numbers, dates as dates and yes/no as booleans."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if column in ("cost", "capex", "opex", "envelope", "weight", "score") and value is not None:
                value = float(value)
            elif column.endswith("_date") and value is not None:
                value = dt.date.fromisoformat(value)
            elif column == "must_fund" and value is not None:
                value = value == "yes"
            cells.append(value)
        body.append(cells)
    return [columns, *body]


def fixture_workbook() -> bytes:
    return workbook_bytes({
        "themes": sheet_rows(THEMES),
        "initiatives": sheet_rows(INITIATIVES),
        "alignment": sheet_rows(ALIGNMENT),
        "budget": sheet_rows(BUDGET),
    })


def test_workbook_scores_match_csv_folder(tmp_path: Path) -> None:
    book = tmp_path / "portfolio.xlsx"
    book.write_bytes(fixture_workbook())
    from_book, book_problems = load_portfolio(book)
    from_folder, _ = load_portfolio(write_fixture(tmp_path / "p"))

    assert book_problems == []
    pd.testing.assert_frame_equal(scores(from_book), scores(from_folder))


def test_workbook_values_match_csv_folder(tmp_path: Path) -> None:
    book = tmp_path / "portfolio.xlsx"
    book.write_bytes(fixture_workbook())
    from_book, _ = load_portfolio(book)
    from_folder, _ = load_portfolio(write_fixture(tmp_path / "p"))

    pd.testing.assert_frame_equal(missing_as_none(from_book.initiatives), missing_as_none(from_folder.initiatives))
    pd.testing.assert_frame_equal(from_book.alignment, from_folder.alignment)
    assert from_book.envelopes == from_folder.envelopes


def test_workbook_date_cell_as_iso(tmp_path: Path) -> None:
    book = tmp_path / "portfolio.xlsx"
    book.write_bytes(fixture_workbook())
    portfolio, _ = load_portfolio(book)

    assert portfolio.initiatives["start_date"][0] == "2027-02-01"


def test_workbook_sheet_names_any_case() -> None:
    data = workbook_bytes({"Themes": sheet_rows(THEMES), "INITIATIVES": sheet_rows(INITIATIVES),
                           "alignment": sheet_rows(ALIGNMENT), "Notes": [["anything"]]})
    tables = read_upload("portfolio.xlsx", data)

    assert set(tables) == {"themes", "initiatives", "alignment"}


def test_workbook_without_canonical_sheets_rejected(tmp_path: Path) -> None:
    book = tmp_path / "budget-2027.xlsx"
    book.write_bytes(workbook_bytes({"Sheet1": [["project", "cost"], ["Portal", 60]]}))

    with pytest.raises(InvalidPortfolioError, match="budget-2027.xlsx has none of the sheets"):
        read_tables(book)


def test_workbook_errors_name_sheet(tmp_path: Path) -> None:
    initiatives = [*INITIATIVES[:2], {**INITIATIVES[2], "cost": -5}, INITIATIVES[3]]
    book = tmp_path / "portfolio.xlsx"
    book.write_bytes(workbook_bytes({"themes": sheet_rows(THEMES), "initiatives": sheet_rows(initiatives),
                                     "alignment": sheet_rows(ALIGNMENT)}))
    portfolio, problems = load_portfolio(book)

    assert portfolio is None
    assert [(p.code, p.file, p.row, p.column, p.value) for p in problems] == [
        ("negative", 'portfolio.xlsx, sheet "initiatives"', 4, "cost", "-5"),
    ]


def test_workbook_warnings_name_workbook(tmp_path: Path) -> None:
    alignment = [{**ALIGNMENT[0], "justification": ""}, *ALIGNMENT[1:]]
    book = tmp_path / "portfolio.xlsx"
    book.write_bytes(workbook_bytes({"themes": sheet_rows(THEMES), "initiatives": sheet_rows(INITIATIVES),
                                     "alignment": sheet_rows(alignment)}))
    _, problems = load_portfolio(book)

    assert [p.code for p in problems] == ["unjustified_high_score"]
    assert "portfolio.xlsx" in problems[0].file


def test_workbook_not_a_zip_rejected() -> None:
    with pytest.raises(InvalidPortfolioError, match="book.xlsx is not a readable .xlsx workbook"):
        read_upload("book.xlsx", b"theme_id,name,weight\n")


# --- uploads and archives --------------------------------------------------------------------------


def zip_of_folder(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, prefix + file.name)
    return buffer.getvalue()


def test_zip_of_folder_reads(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "p")
    archive = tmp_path / "portfolio.zip"
    archive.write_bytes(zip_of_folder(folder, prefix="portfolio/"))
    from_zip, problems = load_portfolio(archive)
    from_folder, _ = load_portfolio(folder)

    assert problems == []
    assert_same_portfolio(from_zip, from_folder)


def test_read_upload_zip_tables(tmp_path: Path) -> None:
    tables = read_upload("Portfolio.ZIP", zip_of_folder(write_fixture(tmp_path / "p")))

    assert set(tables) == {"themes", "initiatives", "alignment", "budget"}


def test_read_upload_zip_without_csv_rejected() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing here")

    with pytest.raises(InvalidPortfolioError, match="contains none of the canonical CSV files"):
        read_upload("portfolio.zip", buffer.getvalue())


def test_read_upload_single_csv() -> None:
    tables = read_upload("themes.csv", b"theme_id,name,weight\nT1,Cloud,3\n")

    assert list(tables) == ["themes"]
    assert tables["themes"].frame.to_dict("records") == [{"theme_id": "T1", "name": "Cloud", "weight": "3"}]


def test_read_upload_csv_other_name_rejected() -> None:
    with pytest.raises(InvalidPortfolioError, match="projects.csv is not a canonical file name"):
        read_upload("projects.csv", b"theme_id,name,weight\n")


def test_read_upload_unsupported_suffix() -> None:
    with pytest.raises(InvalidPortfolioError, match="not supported"):
        read_upload("portfolio.ods", b"PK\x03\x04")


def test_read_upload_empty_rejected() -> None:
    with pytest.raises(InvalidPortfolioError, match="portfolio.xlsx is empty"):
        read_upload("portfolio.xlsx", b"")


# --- writing ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not (DEMO_PATH / "initiatives.csv").is_file(), reason="the demo portfolio is not there")
def test_write_canonical_demo_round_trip(tmp_path: Path) -> None:
    demo, _ = require_portfolio(DEMO_PATH)
    write_canonical(demo, tmp_path / "out")
    again, _ = require_portfolio(tmp_path / "out")

    assert_same_portfolio(again, demo)


def test_write_canonical_round_trip_full(tmp_path: Path) -> None:
    folder = write_portfolio(
        tmp_path / "p",
        themes=[{**THEMES[0], "objective": "Run on cloud", "key_results": "Exit the data centre"}, THEMES[1]],
        initiatives=[{**INITIATIVES[0], "force_out": "yes", "deadline": "2027-12-31", "actual_spend": "5.05"},
                     *INITIATIVES[1:]],
        alignment=ALIGNMENT,
        budget=BUDGET,
        lenses=[{"segment": "run", "criterion": "technical_necessity", "weight": 2},
                {"segment": "compliance", "criterion": "risk", "weight": 0.25},
                {"segment": "compliance", "criterion": "urgency", "weight": 0.75}],
        urgency=[{"criterion": "urgency", "weight": 1}],
        settings=[{"key": "unjustified_high_scores", "value": "cap"}, {"key": "currency", "value": "EUR"}],
    )
    original, _ = require_portfolio(folder)
    write_canonical(original, tmp_path / "out")
    again, _ = require_portfolio(tmp_path / "out")

    assert_same_portfolio(again, original)


def test_write_canonical_keeps_extra_columns(tmp_path: Path) -> None:
    original, _ = require_portfolio(write_fixture(tmp_path / "p"))
    write_canonical(original, tmp_path / "out")
    again, _ = require_portfolio(tmp_path / "out")

    assert again.extra_columns == ("owner",)
    assert again.initiatives["extra"].tolist() == [{"owner": "Ann"}, {"owner": "Bo"}, {"owner": ""},
                                                   {"owner": ""}]


def test_write_canonical_non_empty_folder_rejected(tmp_path: Path) -> None:
    portfolio, _ = require_portfolio(write_fixture(tmp_path / "p"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")

    with pytest.raises(InvalidPortfolioError, match="is not empty"):
        write_canonical(portfolio, out)
    assert [f.name for f in out.iterdir()] == ["keep.txt"]


def test_write_canonical_into_empty_folder(tmp_path: Path) -> None:
    portfolio, _ = require_portfolio(write_fixture(tmp_path / "p"))
    (tmp_path / "out").mkdir()
    write_canonical(portfolio, tmp_path / "out")
    again, _ = require_portfolio(tmp_path / "out")

    assert_same_portfolio(again, portfolio)


def test_write_canonical_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    portfolio, _ = require_portfolio(write_fixture(tmp_path / "p"))
    real_to_csv = pd.DataFrame.to_csv

    def disk_full_at_alignment(frame: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == "alignment.csv":
            raise OSError(28, "No space left on device")
        return real_to_csv(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full_at_alignment)

    with pytest.raises(OSError, match="No space left"):
        write_canonical(portfolio, tmp_path / "out")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p"]
