"""Tests of the exports: formula escaping, CSV, XLSX, the HTML pack, canonical files and the CLI.

The fixture portfolio has hostile names (formulas, a leading minus, HTML) and
is small enough to score by hand, with the default lenses, urgency weights
0.5/0.5 and theme weights T1 = 3, T2 = 1 (W = 0.75, 0.25):

| id | segment | SAI | U | S | rank | funded |
| --- | --- | --- | --- | --- | --- | --- |
| I1 | strategic | 100·(¾·9 + ¼·4)/10 = 77.5 | 80 | 77.5 | 1 | true: 50 ≤ 60 |
| I3 | strategic | 100·(¼·6)/10 = 15 | 50 | 15 | 2 | false: 50 + 60 > 60 ends the line |
| I5 | strategic | 100·(¼·2)/10 = 5 | 20 | 5 | 3 | false |
| I7 | compliance | 0 | 90 | 90 | 1 | false: 40 (must fund I2) + 5 > 30 |
| I2 | compliance | 0 | 40 | 40 | 2 | true: must fund, over the envelope of 30 by 10 |
| I4 | infrastructure | 0 | 10 | 70 | 1 | empty: no envelope |
| I6 | -run | 0 | 50 | 50 | 1 | empty: no envelope |

With T1 = 0 (W(T2) = 1) the strategic SAIs are I1 40, I3 60, I5 20, so I3
ranks first and is funded (60 ≤ 60) while I1 drops below the line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from portfolio_files import write_portfolio
from streamlit.testing.v1 import AppTest

from portfolio.cli import main
from portfolio.errors import InvalidPortfolioError
from portfolio.export import (
    build_report,
    canonical_zip,
    csv_bytes,
    escape_formula,
    portfolio_with_params,
    report_flags,
    report_frame,
    write_file_atomic,
)
from portfolio.export_pack import html_pack
from portfolio.export_xlsx import xlsx_bytes, xlsx_value
from portfolio.funding import evaluate
from portfolio.importing import DEMO_PATH, read_upload, require_portfolio
from portfolio.mapping import import_file, load_profile
from portfolio.models import Portfolio, parse_portfolio
from portfolio.scoring import ScoringParams, prepare

ROOT = Path(__file__).resolve().parents[1]
GMPP_2023 = Path(__file__).resolve().parents[2] / "shared" / "data" / "gmpp" / "gmpp_2023.csv"
MADE_AT = dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC)
# The first characters that make a spreadsheet evaluate a text cell, written out
# here so that a change to the module's own list cannot weaken these tests.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\x00")

XSS_NAME = "<b>x</b><img src=x onerror=alert(1)>"
THEMES = [
    {"theme_id": "T1", "name": '=HYPERLINK("http://evil.example")', "weight": 3},
    {"theme_id": "T2", "name": "Data", "weight": 1},
]
INITIATIVES = [
    {"initiative_id": "I1", "name": "=1+2", "segment": "strategic", "cost": "50.00", "urgency": 8, "risk": 8,
     "sponsor": "-Legacy Ops"},
    {"initiative_id": "I3", "name": "-Legacy", "segment": "strategic", "cost": "60.00", "urgency": 4, "risk": 6},
    {"initiative_id": "I5", "name": XSS_NAME, "segment": "strategic", "cost": "5.00", "urgency": 2, "risk": 2},
    {"initiative_id": "I2", "name": "@SUM(A1)", "segment": "compliance", "cost": "40.00", "must_fund": "yes",
     "urgency": 6, "risk": 2, "business_unit": "+Ops"},
    {"initiative_id": "I7", "name": "Audit trail", "segment": "compliance", "cost": "5.00", "urgency": 9,
     "risk": 9},
    {"initiative_id": "I4", "name": "+1 upgrade", "segment": "infrastructure", "cost": "20.00", "urgency": 1,
     "risk": 1, "financial_return": 6, "technical_necessity": 8},
    {"initiative_id": "I6", "name": "Keep the lights on", "segment": "-run", "cost": "10.00", "urgency": 5,
     "risk": 5},
]
ALIGNMENT = [
    {"initiative_id": "I1", "theme_id": "T1", "score": 9},
    {"initiative_id": "I1", "theme_id": "T2", "score": 4},
    {"initiative_id": "I3", "theme_id": "T2", "score": 6},
    {"initiative_id": "I5", "theme_id": "T2", "score": 2},
]
BUDGET = [{"segment": "strategic", "envelope": "60.00"}, {"segment": "compliance", "envelope": "30.00"}]
LENSES = [{"segment": "-run", "criterion": "urgency", "weight": 1}]
SEGMENTS = ("strategic", "compliance", "infrastructure", "-run")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_portfolio(tmp_path / "portfolio", themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT,
                           budget=BUDGET, lenses=LENSES)


@pytest.fixture
def portfolio(folder: Path) -> Portfolio:
    loaded, _ = require_portfolio(folder)
    return loaded


def report_for(portfolio: Portfolio, params: ScoringParams | None = None, note: str | None = None):
    return build_report(portfolio, params, made_at=MADE_AT, weights_note=note)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_report_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def all_cells(workbook: openpyxl.Workbook):
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            yield from row


def segment_rows(sheet) -> list[dict[str, object]]:
    """Read the ranked list of a segment sheet as dicts keyed by header, with the sheet row as ``_row``."""
    rows = list(sheet.iter_rows())
    header_index = next(i for i, row in enumerate(rows) if row[0].value == "Rank")
    header = [cell.value for cell in rows[header_index]]
    records = []
    for row in rows[header_index + 1:]:
        if row[0].value is None:
            break
        records.append({**dict(zip(header, (cell.value for cell in row), strict=False)), "_row": row[0].row})
    return records


def assert_one_sentence(err: str) -> None:
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def frames_equal(left: Portfolio, right: Portfolio) -> None:
    """Assert two portfolios hold the same data, table by table."""
    for name in ("themes", "initiatives", "alignment", "dependencies"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), obj=name)
    assert left.envelopes == right.envelopes
    assert left.lenses == right.lenses
    assert left.urgency == right.urgency
    assert left.settings == right.settings
    assert left.extra_columns == right.extra_columns


# --- formula escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+2", "'=1+2"),
    ("+1", "'+1"),
    ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("\x00x", "'\x00x"),
    ("-Legacy", "'-Legacy"),
    ("plain text", "plain text"),
    ("a=b", "a=b"),
    (" =1", " =1"),
    ("", ""),
    (-1, -1),
    (-3.5, -3.5),
    (0, 0),
    (None, None),
    (True, True),
])
def test_escape_formula_cases(value, expected):
    assert escape_formula(value) == expected
    assert type(escape_formula(value)) is type(expected)


@pytest.mark.parametrize(("value", "expected"), [
    (-2.5, -2.5),
    (-7, -7),
    (float("nan"), None),
    (pd.NA, None),
    ("=1+2", "'=1+2"),
    ("ok\x01", "ok"),
    ("\x01=1", "'=1"),
])
def test_xlsx_value_cases(value, expected):
    assert xlsx_value(value) == expected


# --- report frame and CSV --------------------------------------------------------------------------


def test_report_frame_funding_order(portfolio):
    frame = report_frame(report_for(portfolio))

    assert list(frame["initiative_id"]) == ["I1", "I3", "I5", "I2", "I7", "I4", "I6"]
    assert list(frame["segment"]) == ["strategic"] * 3 + ["compliance"] * 2 + ["infrastructure", "-run"]
    assert list(frame["status"]) == ["funded", "below the line", "below the line", "must fund", "below the line",
                                     "no envelope", "no envelope"]
    assert list(frame["running_total"]) == [5000, 11000, 11500, 4000, 4500, 2000, 1000]


def test_report_frame_scores_match_evaluate(portfolio):
    result = evaluate(prepare(portfolio), ScoringParams.from_portfolio(portfolio)).set_index("initiative_id")
    frame = report_frame(report_for(portfolio)).set_index("initiative_id")

    for column in ("sai", "urgency", "segment_score", "rank", "cost"):
        assert frame[column].to_dict() == result[column].to_dict(), column
    assert frame.loc["I1", "sai"] == 77.5
    assert frame.loc["I7", "rank"] == 1


def test_csv_parses_back(portfolio):
    rows = read_report_csv(csv_bytes(report_for(portfolio)))
    by_id = {row["initiative_id"]: row for row in rows}

    assert len(rows) == len(INITIATIVES)
    assert list(rows[0]) == ["segment", "rank", "initiative_id", "name", "status", "funded", "must_fund",
                             "force_out", "cost", "running_total", "segment_score", "urgency", "sai", "quadrant",
                             "sponsor", "business_unit", "decision", "decision_rationale"]
    assert by_id["I1"]["cost"] == "50.00"
    assert float(by_id["I1"]["sai"]) == 77.5
    assert by_id["I1"]["funded"] == "true"
    assert by_id["I3"]["funded"] == "false"
    assert by_id["I4"]["funded"] == ""
    assert by_id["I7"]["rank"] == "1"
    assert by_id["I1"]["quadrant"] == "fund_now"


def test_csv_escapes_text_cells(portfolio):
    rows = read_report_csv(csv_bytes(report_for(portfolio)))
    by_id = {row["initiative_id"]: row for row in rows}

    assert by_id["I1"]["name"] == "'=1+2"
    assert by_id["I1"]["sponsor"] == "'-Legacy Ops"
    assert by_id["I3"]["name"] == "'-Legacy"
    assert by_id["I2"]["name"] == "'@SUM(A1)"
    assert by_id["I2"]["business_unit"] == "'+Ops"
    assert by_id["I4"]["name"] == "'+1 upgrade"
    assert by_id["I6"]["segment"] == "'-run"
    for row in rows:
        for value in row.values():
            assert not value.startswith(FORMULA_TRIGGERS), value


def test_csv_starts_with_byte_order_mark(portfolio):
    assert csv_bytes(report_for(portfolio)).startswith(b"\xef\xbb\xbf")


# --- XLSX ------------------------------------------------------------------------------------------


@pytest.fixture
def workbook(portfolio) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(xlsx_bytes(report_for(portfolio))))


def test_xlsx_sheets_present(workbook):
    assert workbook.sheetnames == ["Summary", *SEGMENTS, "Reconciliation", "Flags"]


def test_xlsx_no_unescaped_formula_text(workbook):
    for cell in all_cells(workbook):
        assert cell.data_type != "f", cell.coordinate
        if isinstance(cell.value, str):
            assert not cell.value.startswith(FORMULA_TRIGGERS), (cell.parent.title, cell.coordinate, cell.value)


def test_xlsx_hostile_text_kept_escaped(workbook):
    names = {record["ID"]: record["Initiative"] for record in segment_rows(workbook["strategic"])}
    values = {cell.value for cell in all_cells(workbook)}

    assert names == {"I1": "'=1+2", "I3": "'-Legacy", "I5": XSS_NAME}
    assert "'=HYPERLINK(\"http://evil.example\")" in values


def test_xlsx_numbers_are_numeric(workbook):
    records = {record["ID"]: record for record in segment_rows(workbook["strategic"])}
    negatives = [cell.value for cell in all_cells(workbook)
                 if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool) and cell.value < 0]

    assert records["I1"]["Cost"] == 50
    assert records["I3"]["Running total"] == 110
    assert records["I1"]["SAI"] == 77.5
    assert records["I1"]["Rank"] == 1
    assert negatives, "the alignment gaps include negative numbers"


def test_xlsx_money_has_currency_format(workbook):
    sheet = workbook["strategic"]
    record = segment_rows(sheet)[0]
    header = [cell.value for cell in sheet[record["_row"] - 1]]
    cost = sheet.cell(row=record["_row"], column=header.index("Cost") + 1)

    assert cost.number_format == '"$"#,##0.00'


@pytest.mark.parametrize("segment", SEGMENTS)
def test_xlsx_funding_line_matches_evaluate(portfolio, workbook, segment):
    result = evaluate(prepare(portfolio), ScoringParams.from_portfolio(portfolio))
    rows = result[result["segment"] == segment]
    sheet = workbook[segment]
    records = segment_rows(sheet)
    funded_ids = set(rows.loc[rows["funded"].fillna(False).astype(bool), "initiative_id"])
    lined = [record["ID"] for record in records
             if sheet.cell(row=record["_row"], column=1).border.bottom.style == "thick"]

    assert {r["ID"] for r in records} == set(rows["initiative_id"])
    assert {r["ID"] for r in records if r["Funding"] in ("funded", "must fund")} == funded_ids
    if segment in ("strategic", "compliance"):
        assert lined == [[r["ID"] for r in records if r["ID"] in funded_ids][-1]]
    else:
        assert lined == []


def test_xlsx_summary_lists_weights(workbook):
    rows = [[cell.value for cell in row] for row in workbook["Summary"].iter_rows()]
    facts = {row[0]: row[1] for row in rows if row[0] in ("Cycle", "Source", "Made", "Weights", "Currency")}
    themes = {row[0]: row[1:5] for row in rows if row[0] in ("T1", "T2")}
    lens = [row[:4] for row in rows if row[0] == "'-run" and row[1] == "Urgency"]
    envelopes = {row[0]: row[5] for row in rows if row[0] in ("strategic", "compliance") and isinstance(row[1], int)}
    thresholds = {row[0]: row[1:3] for row in rows if isinstance(row[0], str) and "threshold" in row[0]}

    assert facts["Cycle"] == "Current cycle"
    assert facts["Made"] == "2027-03-01 09:30 UTC"
    assert facts["Weights"] == "committed weights"
    assert facts["Source"].endswith("portfolio")
    assert facts["Currency"] == "USD"
    assert themes["T1"] == ["'=HYPERLINK(\"http://evil.example\")", 3, 3, 0.75]
    assert themes["T2"] == ["Data", 1, 1, 0.25]
    assert lens == [["'-run", "Urgency", 1, 1]]
    assert envelopes == {"strategic": 60, "compliance": 30}
    assert thresholds["Alignment threshold (SAI)"] == [50, 50]
    assert thresholds["Urgency threshold"] == [50, 50]


def test_xlsx_flags_sheet(workbook):
    rows = [[cell.value for cell in row] for row in workbook["Flags"].iter_rows()]
    kinds = [row[0] for row in rows[3:]]

    assert rows[2][0] == "Kind"
    assert "unjustified high score" in kinds
    assert "must fund overrun" in kinds


def test_flags_use_envelopes_of_report(portfolio):
    params = ScoringParams.from_portfolio(portfolio)
    widened = params.model_copy(update={"envelopes": {**params.envelopes, "compliance": 5000}})

    assert "must_fund_overrun" in {p.code for p in report_flags(report_for(portfolio))}
    assert "must_fund_overrun" not in {p.code for p in report_flags(report_for(portfolio, widened))}


def test_flags_reuse_given_warnings(portfolio):
    report = build_report(portfolio, made_at=MADE_AT, warnings=[])

    assert [p.code for p in report_flags(report)] == ["must_fund_overrun"]


def test_xlsx_what_if_marks_crossings(portfolio):
    params = ScoringParams.from_portfolio(portfolio).with_theme_weights({"T1": 0})
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(report_for(portfolio, params))))
    records = {record["ID"]: record for record in segment_rows(workbook["strategic"])}

    assert records["I3"]["Crossed"] == "into funding"
    assert records["I3"]["Moved"] == 1
    assert records["I1"]["Crossed"] == "out of funding"
    assert records["I1"]["Moved"] == -1
    assert records["I5"]["Moved"] is None


def test_xlsx_reconciliation_passes(workbook):
    results = [row[4].value for row in workbook["Reconciliation"].iter_rows() if row[4].value in ("passes", "FAILS")]

    assert results == ["passes"] * 4


# --- HTML pack -------------------------------------------------------------------------------------


@pytest.fixture
def pack(portfolio) -> str:
    return html_pack(report_for(portfolio))


def test_pack_embeds_plotly_once(pack):
    assert '<script src="http' not in pack
    assert "<script src=" not in pack
    assert pack.count("plotly.js v") == 1


def test_pack_states_source_date_weights(pack, folder):
    assert str(folder.resolve()) in pack
    assert "2027-03-01 09:30 UTC" in pack
    assert "<dt>Cycle</dt><dd>Current cycle</dd>" in pack
    assert "committed weights" in pack
    assert "Theme weights" in pack
    assert "75.0 %" in pack


@pytest.mark.parametrize("segment", SEGMENTS)
def test_pack_has_segment_heading(pack, segment):
    assert f"<h2>Segment: {segment}</h2>" in pack


def test_pack_escapes_user_text(pack):
    assert "<img" not in pack
    assert "&lt;b&gt;x&lt;/b&gt;&lt;img src=x onerror=alert(1)&gt;" in pack
    assert "=HYPERLINK(&quot;http://evil.example&quot;)" in pack


def test_pack_marks_funding_lines(pack):
    assert pack.count('class="funding-line"') == 2
    assert "Funding line: envelope $60, funded $50, headroom $10" in pack


def test_pack_sections_present(pack):
    for heading in ("Weights, date and source", "Alignment and urgency", "Spend reconciliation", "Open flags"):
        assert f"<h2>{heading}" in pack
    assert "Every invariant holds to the cent." in pack


def test_pack_what_if_lists_crossings(portfolio):
    params = ScoringParams.from_portfolio(portfolio).with_theme_weights({"T1": 0})
    pack = html_pack(report_for(portfolio, params))

    assert "What changed against the committed weights" in pack
    assert "1 crossed into funding ($60) and 1 out of it ($50)" in pack
    assert "what-if weights" in pack


def test_pack_without_themes(tmp_path):
    folder = write_portfolio(tmp_path / "p", initiatives=INITIATIVES[3:5], budget=BUDGET[1:])
    loaded, _ = require_portfolio(folder)
    pack = html_pack(report_for(loaded))

    assert "SAI undefined: the portfolio has no themes yet" in pack
    assert "No themes yet, so SAI is undefined." in pack
    assert pack.count("plotly.js v") == 1


# --- canonical files -------------------------------------------------------------------------------


def test_canonical_round_trip_demo(capsys, tmp_path):
    code, _, err = run(capsys, "export", str(DEMO_PATH), "--format", "canonical", "--out", str(tmp_path / "out"))
    original, _ = require_portfolio(DEMO_PATH)
    again, _ = require_portfolio(tmp_path / "out")

    assert code == 0, err
    frames_equal(original, again)


def test_canonical_round_trip_gmpp(capsys, tmp_path):
    import_file(GMPP_2023, load_profile("uk-gmpp"), tmp_path / "gmpp")
    code, _, err = run(capsys, "export", str(tmp_path / "gmpp"), "--format", "canonical", "--out",
                       str(tmp_path / "out"))
    original, _ = require_portfolio(tmp_path / "gmpp")
    again, _ = require_portfolio(tmp_path / "out")

    assert code == 0, err
    assert original.extra_columns
    frames_equal(original, again)


def test_canonical_keeps_raw_text(capsys, folder, tmp_path):
    run(capsys, "export", str(folder), "--format", "canonical", "--out", str(tmp_path / "out"))
    original, _ = require_portfolio(folder)
    again, _ = require_portfolio(tmp_path / "out")

    assert "=1+2" in (tmp_path / "out" / "initiatives.csv").read_text(encoding="utf-8").splitlines()[1]
    frames_equal(original, again)


def test_canonical_zip_round_trip(portfolio):
    tables = read_upload("portfolio.zip", canonical_zip(portfolio))
    again, problems = parse_portfolio(tables)

    assert again is not None, [p.describe() for p in problems]
    frames_equal(portfolio, again)


def test_canonical_zip_names(portfolio):
    with zipfile.ZipFile(io.BytesIO(canonical_zip(portfolio))) as archive:
        names = set(archive.namelist())

    assert {"themes.csv", "initiatives.csv", "alignment.csv", "budget.csv", "lenses.csv", "settings.csv"} <= names


def test_canonical_writes_theme_weight(capsys, folder, tmp_path):
    code, _, _ = run(capsys, "export", str(folder), "--format", "canonical", "--out", str(tmp_path / "out"),
                     "--theme-weight", "T1=0")
    again, _ = require_portfolio(tmp_path / "out")

    assert code == 0
    assert again.theme_weights == {"T1": 0.0, "T2": 1.0}


def test_portfolio_with_params_writes_what_if(portfolio):
    params = ScoringParams.from_portfolio(portfolio)
    what_if = params.model_copy(update={"envelopes": {"strategic": 12345}, "alignment_threshold": 40.0,
                                        "lenses": {**params.lenses, "-run": {"urgency": 1.0, "risk": 2.0}}})
    changed = portfolio_with_params(portfolio, what_if)

    assert changed.envelopes == {"strategic": 12345}
    assert changed.settings.alignment_threshold == 40.0
    assert changed.lenses["-run"] == {"urgency": 1.0, "risk": 2.0}
    assert changed.lenses["strategic"] == {"sai": 1.0}
    assert ScoringParams.from_portfolio(changed) == what_if


def test_portfolio_with_params_zero_lens_rejected(portfolio):
    params = ScoringParams.from_portfolio(portfolio)
    zero = params.model_copy(update={"lenses": {**params.lenses, "compliance": {"risk": 0.0, "urgency": 0.0}}})

    with pytest.raises(InvalidPortfolioError, match='lens of segment "compliance" is zero'):
        portfolio_with_params(portfolio, zero)


# --- writing files ---------------------------------------------------------------------------------


def test_write_file_atomic_replaces(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old")
    write_file_atomic(target, b"new")

    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]


def test_write_file_atomic_failure_keeps_old(tmp_path, monkeypatch):
    target = tmp_path / "report.csv"
    target.write_text("old")

    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("portfolio.export.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_file_atomic(target, b"new")

    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]


# --- command line ----------------------------------------------------------------------------------


def test_cli_export_csv(capsys, folder, tmp_path):
    out = tmp_path / "report.csv"
    code, stdout, err = run(capsys, "export", str(folder), "--format", "csv", "--out", str(out))

    assert code == 0, err
    assert stdout.strip() == f"wrote {out}"
    assert len(read_report_csv(out.read_bytes())) == len(INITIATIVES)


def test_cli_export_xlsx(capsys, folder, tmp_path):
    out = tmp_path / "report.xlsx"
    code, _, err = run(capsys, "export", str(folder), "--format", "xlsx", "--out", str(out))

    assert code == 0, err
    assert openpyxl.load_workbook(out).sheetnames == ["Summary", *SEGMENTS, "Reconciliation", "Flags"]


def test_cli_export_html(capsys, folder, tmp_path):
    out = tmp_path / "pack.html"
    code, _, err = run(capsys, "export", str(folder), "--format", "html", "--out", str(out))
    text = out.read_text(encoding="utf-8")

    assert code == 0, err
    assert text.startswith("<!DOCTYPE html>")
    assert "<h2>Segment: strategic</h2>" in text


def test_cli_export_theme_weight_changes_rank(capsys, folder, tmp_path):
    run(capsys, "export", str(folder), "--format", "csv", "--out", str(tmp_path / "before.csv"))
    run(capsys, "export", str(folder), "--format", "csv", "--out", str(tmp_path / "after.csv"),
        "--theme-weight", "T1=0")
    before = {r["initiative_id"]: r for r in read_report_csv((tmp_path / "before.csv").read_bytes())}
    after = {r["initiative_id"]: r for r in read_report_csv((tmp_path / "after.csv").read_bytes())}

    assert (before["I1"]["rank"], before["I3"]["rank"]) == ("1", "2")
    assert (after["I1"]["rank"], after["I3"]["rank"]) == ("2", "1")
    assert (after["I3"]["funded"], after["I1"]["funded"]) == ("true", "false")


def test_cli_export_theme_weight_named_in_xlsx(capsys, folder, tmp_path):
    out = tmp_path / "report.xlsx"
    run(capsys, "export", str(folder), "--format", "xlsx", "--out", str(out), "--theme-weight", "T1=0")
    rows = [[cell.value for cell in row] for row in openpyxl.load_workbook(out)["Summary"].iter_rows()]

    assert ["Weights", "committed weights with T1=0 set on the command line"] in [row[:2] for row in rows]


def test_cli_export_unknown_theme(capsys, folder, tmp_path):
    out = tmp_path / "report.csv"
    code, _, err = run(capsys, "export", str(folder), "--format", "csv", "--out", str(out),
                       "--theme-weight", "T9=1")

    assert code == 1
    assert_one_sentence(err)
    assert 'unknown theme "T9"' in err
    assert not out.exists()


def test_cli_export_canonical_non_empty_dir(capsys, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run(capsys, "export", str(folder), "--format", "canonical", "--out", str(out))

    assert code == 1
    assert_one_sentence(err)
    assert "is not empty" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_cli_export_file_onto_folder(capsys, folder, tmp_path):
    code, _, err = run(capsys, "export", str(folder), "--format", "xlsx", "--out", str(tmp_path))

    assert code == 1
    assert_one_sentence(err)
    assert "is a folder" in err


def test_cli_export_canonical_onto_file(capsys, folder, tmp_path):
    out = tmp_path / "taken.csv"
    out.write_text("mine")
    code, _, err = run(capsys, "export", str(folder), "--format", "canonical", "--out", str(out))

    assert code == 1
    assert_one_sentence(err)
    assert out.read_text() == "mine"


def test_cli_export_invalid_portfolio(capsys, tmp_path):
    bad = write_portfolio(tmp_path / "bad", themes=THEMES, initiatives=[{**INITIATIVES[0], "cost": "1,2O0"}])
    code, _, err = run(capsys, "export", str(bad), "--format", "csv", "--out", str(tmp_path / "r.csv"))

    assert code == 1
    assert_one_sentence(err)
    assert not (tmp_path / "r.csv").exists()


# --- the Export page -------------------------------------------------------------------------------

DOWNLOAD_KEYS = ("export_csv", "export_xlsx", "export_pack", "export_canonical")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Point the app at a fresh workspace database seeded from the demo."""
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "workspace.duckdb"))
    monkeypatch.delenv("PORTFOLIO_LENS_DATA", raising=False)
    return tmp_path


def open_export_page() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def download_keys(app: AppTest) -> list[str]:
    return [button.proto.id.rsplit("-", 1)[-1] for button in app.get("download_button")]


def test_export_page_has_download_buttons(workspace):
    app = open_export_page()
    app.switch_page("app_pages/export.py").run()

    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "Export"
    assert download_keys(app) == list(DOWNLOAD_KEYS)
    assert "committed weights" in " ".join(c.value for c in app.caption)


def test_export_page_states_what_if(workspace):
    app = open_export_page()
    app.slider(key="prioritize_theme_cx").set_value(0.0).run()
    app.switch_page("app_pages/export.py").run()
    weights = app.dataframe[0].value

    assert not app.exception, [e.value for e in app.exception]
    assert "what-if weights of this session" in " ".join(i.value for i in app.info)
    assert weights.loc[weights["name"] == "Customer experience", "used"].item() == 0.0


def test_csv_carries_committee_decisions(portfolio, tmp_path):
    from portfolio.store import Store

    store = Store(tmp_path / "w.duckdb")
    store.load(portfolio, "loader")
    store.record_decision("I1", "defer", "=wait for the vendor", "chair")
    stored = store.read()
    report = build_report(stored, decisions=store.decisions())
    by_id = {row["initiative_id"]: row for row in read_report_csv(csv_bytes(report))}

    assert by_id["I1"]["decision"] == "Defer"
    # The rationale begins with "=", so the export escapes it.
    assert by_id["I1"]["decision_rationale"] == "'=wait for the vendor"
    assert by_id["I2"]["decision"] == ""
