"""Tests of the portfolio-lens command line: validate, score and import.

Scores are hand-computed from the fixture below with the default lenses and
urgency weights (urgency 0.5, risk 0.5) and the quadrant thresholds 50/50:

| id | segment | SAI | U | S | rank | quadrant | funded |
| --- | --- | --- | --- | --- | --- | --- | --- |
| I3 | strategic | 100·(¼·6)/10 = 15 | (4+6)·5 = 50 | 15 | 2 | fund_regardless | false: 50 + 60 > 60 |
| I1 | strategic | 100·(¾·8 + ¼·4)/10 = 70 | 80 | 70 | 1 | fund_now | true: 50 ≤ 60 |
| I2 | compliance | 0 | 40 | 10·(½·2 + ½·6) = 40 | 1 | challenge | empty, no envelope |
| I4 | infrastructure | 0 | 10 | 10·(½·6 + ½·8) = 70 | 1 | challenge | empty, no envelope |
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from portfolio_files import write_portfolio

from portfolio.cli import main

HEADER = "initiative_id,segment,sai,urgency,segment_score,rank,quadrant,funded"
COLUMNS = HEADER.split(",")

THEMES = [
    {"theme_id": "T1", "name": "Cloud", "weight": 3},
    {"theme_id": "T2", "name": "Data", "weight": 1},
]
INITIATIVES = [
    {"initiative_id": "I3", "name": "Portal", "segment": "strategic", "cost": "60.00", "urgency": 4, "risk": 6},
    {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "50.00", "urgency": 8, "risk": 8},
    {"initiative_id": "I2", "name": "Audit trail", "segment": "compliance", "cost": "40.00", "urgency": 6,
     "risk": 2},
    {"initiative_id": "I4", "name": "Storage", "segment": "infrastructure", "cost": "20.00", "urgency": 1,
     "risk": 1, "financial_return": 6, "technical_necessity": 8},
]
ALIGNMENT = [
    {"initiative_id": "I1", "theme_id": "T1", "score": 8},
    {"initiative_id": "I1", "theme_id": "T2", "score": 4},
    {"initiative_id": "I3", "theme_id": "T2", "score": 6},
]
BUDGET = [{"segment": "strategic", "envelope": "60.00"}]

# (initiative_id, segment, sai, urgency, segment_score, rank, quadrant, funded) as printed.
EXPECTED = [
    ("I3", "strategic", 15.0, 50.0, 15.0, 2, "fund_regardless", "false"),
    ("I1", "strategic", 70.0, 80.0, 70.0, 1, "fund_now", "true"),
    ("I2", "compliance", 0.0, 40.0, 40.0, 1, "challenge", ""),
    ("I4", "infrastructure", 0.0, 10.0, 70.0, 1, "challenge", ""),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_portfolio(tmp_path / "portfolio", themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT,
                           budget=BUDGET)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def number(text: str) -> float | None:
    return None if text == "" else float(text)


def parse_csv(out: str) -> list[tuple[Any, ...]]:
    rows = list(csv.DictReader(io.StringIO(out)))
    return [(r["initiative_id"], r["segment"], number(r["sai"]), number(r["urgency"]), number(r["segment_score"]),
             int(r["rank"]), r["quadrant"], r["funded"]) for r in rows]


def lines_with(text: str, *parts: str) -> list[str]:
    return [line for line in text.splitlines() if all(part in line for part in parts)]


def assert_one_sentence(err: str) -> None:
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


# --- validate --------------------------------------------------------------------------------------


def test_validate_clean_exits_zero(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = run(capsys, "validate", str(folder))

    assert code == 0
    assert "0 errors" in out


def test_validate_warnings_only_exits_zero(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    initiatives = [{**INITIATIVES[0], "cost": "0"}, *INITIATIVES[1:]]
    folder = write_portfolio(tmp_path / "p", themes=THEMES, initiatives=initiatives, alignment=ALIGNMENT)
    code, out, _ = run(capsys, "validate", str(folder))

    assert code == 0
    assert len(lines_with(out, "warning", "initiatives.csv", "row 2", "cost")) == 1


def test_validate_errors_exit_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    initiatives = [INITIATIVES[0], INITIATIVES[1], {**INITIATIVES[2], "cost": "1,2O0"}, INITIATIVES[3]]
    alignment = [*ALIGNMENT, {"initiative_id": "I4", "theme_id": "T9", "score": 2}]
    folder = write_portfolio(tmp_path / "p", themes=THEMES, initiatives=initiatives, alignment=alignment)
    code, out, _ = run(capsys, "validate", str(folder))

    assert code == 1
    assert len(lines_with(out, "error", "initiatives.csv", "row 4", "cost", "1,2O0")) == 1
    assert len(lines_with(out, "error", "alignment.csv", "row 5", "theme_id", "T9")) == 1


def test_validate_lists_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    initiatives = [{**row, "cost": "-1"} for row in INITIATIVES[2:]]
    folder = write_portfolio(tmp_path / "p", themes=THEMES, initiatives=[*INITIATIVES[:2], *initiatives],
                             alignment=ALIGNMENT)
    _, out, _ = run(capsys, "validate", str(folder))

    assert len(lines_with(out, "initiatives.csv", "row 4", "cost")) == 1
    assert len(lines_with(out, "initiatives.csv", "row 5", "cost")) == 1


def test_validate_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nowhere"))

    assert code != 0
    assert_one_sentence(err)
    assert "nowhere" in err


def test_validate_unreadable_file(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    (folder / "themes.csv").write_bytes("theme_id,name,weight\nT1,Café,1\n".encode("cp1252"))
    code, _, err = run(capsys, "validate", str(folder))

    assert code != 0
    assert_one_sentence(err)
    assert "UTF-8" in err


# --- score -----------------------------------------------------------------------------------------


def test_score_csv_header(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = run(capsys, "score", str(folder))

    assert code == 0
    assert out.splitlines()[0] == HEADER


def test_score_csv_rows_in_file_order(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    _, out, _ = run(capsys, "score", str(folder))

    assert parse_csv(out) == EXPECTED


def test_score_csv_no_notice(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    _, _, err = run(capsys, "score", str(folder))

    assert err == ""


def test_score_json_matches_csv(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = run(capsys, "score", str(folder), "--format", "json")
    rows = json.loads(out)

    assert code == 0
    assert [list(row) for row in rows] == [COLUMNS] * 4
    assert [tuple(row.values()) for row in rows] == [
        ("I3", "strategic", 15.0, 50.0, 15.0, 2, "fund_regardless", False),
        ("I1", "strategic", 70.0, 80.0, 70.0, 1, "fund_now", True),
        ("I2", "compliance", 0.0, 40.0, 40.0, 1, "challenge", None),
        ("I4", "infrastructure", 0.0, 10.0, 70.0, 1, "challenge", None),
    ]


def test_score_theme_weight_changes_sai(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    # T2 = 9 makes W = (3/12, 9/12): I1 = 100·(¼·8 + ¾·4)/10 = 50 exactly, I3 = 100·(¾·6)/10 = 45.
    _, out, _ = run(capsys, "score", str(folder), "--theme-weight", "T2=9")
    rows = {row[0]: row for row in parse_csv(out)}

    assert rows["I1"][2] == 50.0
    assert rows["I3"][2] == 45.0
    assert rows["I1"][6] == "fund_now"
    assert rows["I2"][2] == 0.0


def test_score_theme_weights_move_funding_line(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    # T1 = 0, T2 = 1: I1 = 100·4/10 = 40, I3 = 100·6/10 = 60. I3 now ranks first and takes the whole envelope.
    _, out, _ = run(capsys, "score", str(folder), "--theme-weight", "T1=0", "--theme-weight", "T2=1")
    rows = parse_csv(out)

    assert rows[0] == ("I3", "strategic", 60.0, 50.0, 60.0, 1, "fund_now", "true")
    assert rows[1] == ("I1", "strategic", 40.0, 80.0, 40.0, 2, "fund_regardless", "false")


def test_score_all_weights_zero_notice(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, err = run(capsys, "score", str(folder), "--theme-weight", "T1=0", "--theme-weight", "T2=0")
    rows = parse_csv(out)

    assert code == 0
    assert "SAI undefined" in err
    assert [row[2] for row in rows] == [None] * 4
    assert [row[4] for row in rows] == [None, None, 40.0, 70.0]


def test_score_unknown_theme_weight(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, err = run(capsys, "score", str(folder), "--theme-weight", "T9=5")

    assert code != 0
    assert out == ""
    assert_one_sentence(err)
    assert "T9" in err


@pytest.mark.parametrize("value", ["T1", "=5", "T1=many", "T1=-1"])
def test_score_malformed_theme_weight(capsys: pytest.CaptureFixture[str], folder: Path, value: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["score", str(folder), f"--theme-weight={value}"])
    err = capsys.readouterr().err

    assert caught.value.code != 0
    assert "Traceback" not in err
    assert "--theme-weight" in err


def test_score_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "score", str(tmp_path / "nowhere"))

    assert code != 0
    assert out == ""
    assert_one_sentence(err)
    assert "nowhere" in err


def test_score_invalid_portfolio(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    initiatives = [{**INITIATIVES[0], "cost": "1,2O0"}, *INITIATIVES[1:]]
    folder = write_portfolio(tmp_path / "p", themes=THEMES, initiatives=initiatives, alignment=ALIGNMENT)
    code, out, err = run(capsys, "score", str(folder))

    assert code != 0
    assert out == ""
    assert_one_sentence(err)
    assert "1,2O0" in err


def test_score_huge_cost_one_sentence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    initiatives = [{**INITIATIVES[0], "cost": "1e20"}, *INITIATIVES[1:]]
    folder = write_portfolio(tmp_path / "p", themes=THEMES, initiatives=initiatives, alignment=ALIGNMENT)
    code, _, err = run(capsys, "score", str(folder))

    assert code != 0
    assert_one_sentence(err)


def test_score_no_themes_notice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = write_portfolio(tmp_path / "p", themes=[], initiatives=INITIATIVES, alignment=[], budget=BUDGET)
    code, out, err = run(capsys, "score", str(folder))

    assert code == 0
    assert err.startswith("notice: ")
    assert "SAI undefined" in err
    assert out.splitlines()[0] == HEADER


def test_score_no_themes_rows_empty(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = write_portfolio(tmp_path / "p", themes=[], initiatives=INITIATIVES, alignment=[], budget=BUDGET)
    _, out, _ = run(capsys, "score", str(folder))

    # Strategic scores need SAI, so they are empty and cannot be placed against the line.
    assert parse_csv(out) == [
        ("I3", "strategic", None, 50.0, None, 2, "", ""),
        ("I1", "strategic", None, 80.0, None, 1, "", ""),
        ("I2", "compliance", None, 40.0, 40.0, 1, "", ""),
        ("I4", "infrastructure", None, 10.0, 70.0, 1, "", ""),
    ]


def test_score_no_themes_json_nulls(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = write_portfolio(tmp_path / "p", themes=[], initiatives=INITIATIVES, alignment=[], budget=BUDGET)
    _, out, _ = run(capsys, "score", str(folder), "--format", "json")
    rows = json.loads(out)

    assert [row["sai"] for row in rows] == [None] * 4
    assert [row["quadrant"] for row in rows] == [None] * 4
    assert [row["funded"] for row in rows] == [None] * 4


def test_score_module_entry(tmp_path: Path, folder: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "portfolio", "score", str(folder)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0
    assert result.stderr == ""
    assert parse_csv(result.stdout) == EXPECTED


# --- import ----------------------------------------------------------------------------------------

# Three projects in the GMPP layout: semicolons, Windows-1252 (the £ sign is 0xA3) and £ millions. The
# third has no usable baseline and is rejected.
GMPP = (
    "year;project_number;project_name;department;report_category;description_aims;colour_rating;"
    "start_date;end_date;total_baseline;yearly_forecast;wlc_baseline_incl_NCG\n"
    "2023;DFT_001;Rail signalling;DFT;ICT;New signalling;Amber;2021-04-01;2025-03-31;£12.5;£12;£100\n"
    "2023;MOJ_002;Prison build;MOJ;Infrastructure and Construction;Build;Red;01.04.2020;31.03.2030;"
    "£1,139.18;1000;2000\n"
    "2023;HO_003;Border;HO;Government Transformation and Service Delivery;Border;Green;2021-01-01;"
    "2024-01-01;Exempt under Section 43;;\n"
).encode("cp1252")


def test_import_writes_canonical_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "gmpp.csv"
    source.write_bytes(GMPP)
    code, _, err = run(capsys, "import", str(source), "--mapping", "uk-gmpp", "--out", str(tmp_path / "out"))

    assert code == 0
    assert "HO_003" in err
    assert run(capsys, "validate", str(tmp_path / "out"))[0] == 0


def test_import_costs_in_pounds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "gmpp.csv"
    source.write_bytes(GMPP)
    run(capsys, "import", str(source), "--mapping", "uk-gmpp", "--out", str(tmp_path / "out"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "initiatives.csv").read_text(encoding="utf-8"))))

    assert [(r["initiative_id"], r["cost"]) for r in rows] == [("DFT_001", "12500000.00"),
                                                               ("MOJ_002", "1139180000.00")]


def test_import_unknown_profile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "gmpp.csv"
    source.write_bytes(GMPP)
    code, _, err = run(capsys, "import", str(source), "--mapping", "no-such-profile", "--out", str(tmp_path / "out"))

    assert code != 0
    assert_one_sentence(err)
    assert "no-such-profile" in err
    assert not (tmp_path / "out").exists()


def test_import_non_empty_out_rejected(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "gmpp.csv"
    source.write_bytes(GMPP)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "import", str(source), "--mapping", "uk-gmpp", "--out", str(tmp_path / "out"))

    assert code != 0
    assert_one_sentence(err)
    assert [f.name for f in (tmp_path / "out").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("given", ["flag", "environment"])
def test_app_database_url_passed_unchanged(given: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://portfolio_lens:secret@127.0.0.1:5432/portfolio_lens?options=-csearch_path%3Dfy2027"
    started: list[dict[str, str]] = []
    monkeypatch.setattr(subprocess, "call", lambda command, env, cwd: started.append(env) or 0)
    monkeypatch.delenv("PORTFOLIO_LENS_DB", raising=False)
    if given == "environment":
        monkeypatch.setenv("PORTFOLIO_LENS_DB", url)

    assert main(["app", *(["--db", url] if given == "flag" else [])]) == 0
    assert started[0]["PORTFOLIO_LENS_DB"] == url


def test_app_database_file_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, str]] = []
    monkeypatch.setattr(subprocess, "call", lambda command, env, cwd: started.append(env) or 0)
    monkeypatch.chdir(tmp_path)

    assert main(["app", "--db", "workspace.duckdb"]) == 0
    assert started[0]["PORTFOLIO_LENS_DB"] == str(tmp_path / "workspace.duckdb")
