"""Tests of portfolio.mapping: parse helpers, profiles and importing the real GMPP files.

The expected counts are those documented with the GMPP data, and the
expected values were read by hand from single rows of the source files.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from portfolio import importing, mapping
from portfolio.cli import main
from portfolio.mapping import (
    ImportProblem,
    ImportReport,
    InvalidValueError,
    MappingError,
    MappingProfile,
    check_import,
    clean_text,
    deduplicate_headers,
    first_non_blank,
    format_decimal,
    format_money,
    import_file,
    load_profile,
    map_source,
    map_value,
    normalize_key,
    parse_date,
    parse_decimal,
    parse_money,
    parse_yes_no,
    read_for_profile,
    shorten,
)

GMPP_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gmpp"
MILLION = 1_000_000
DCA = {"Red": 9, "Amber/Red": 7, "Amber": 5, "Amber/Green": 3, "Green": 1}
FOI_TEXT = (
    "Exempt under Section 43 of the Freedom of Information Act 2000 (Commercial Interests) - Commercial interests."
)

# Rows per file, and the rows among them with a numeric total_baseline. These
# counts are documented with the data, and a separate count of numeric values
# in the files gives the same numbers.
README_COUNTS = {
    "gmpp_2021.csv": (184, 173),
    "gmpp_2022.csv": (235, 198),
    "gmpp_2023.csv": (244, 217),
}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


# --- parse helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("£1,139.18", MILLION, Decimal("1139180000.00")),
        ("7.9", MILLION, Decimal("7900000.00")),
        ("£278", MILLION, Decimal("278000000.00")),
        (" £0.50 ", MILLION, Decimal("500000.00")),
        ("0", MILLION, Decimal("0.00")),
        ("12445", MILLION, Decimal("12445000000.00")),
        (".5", MILLION, Decimal("500000.00")),
        ("-30.69", MILLION, Decimal("-30690000.00")),
        ("-£5", 1, Decimal("-5.00")),
        ("£-5", 1, Decimal("-5.00")),
        ("12£", 1, Decimal("12.00")),
        ("1,234,567.891", 1, Decimal("1234567.89")),
        ("2.005", 1, Decimal("2.01")),
        ("2.004", 1, Decimal("2.00")),
        ("0.0000005", MILLION, Decimal("0.50")),
    ],
)
def test_parse_money_amounts(text: str, unit: int, expected: Decimal) -> None:
    assert parse_money(text, unit=unit, currency_symbols=["£"]) == expected


@pytest.mark.parametrize("text", ["", "   ", "\r\n"])
def test_parse_money_blank_is_missing(text: str) -> None:
    assert parse_money(text, unit=MILLION, currency_symbols=["£"]) is None


@pytest.mark.parametrize(
    "text",
    [
        FOI_TEXT,
        "Early planning GMPP project \r\n\r\n(The project has not yet passed SOC)",
        "The project is not in a position to provide this information",
        "1,2O0",
        "12,34",
        "1.2.3",
        "£",
        "--5",
        "-£-5",
        "$5",
        "5.",
    ],
)
def test_parse_money_free_text_is_invalid(text: str) -> None:
    with pytest.raises(InvalidValueError, match="is not an amount"):
        parse_money(text, unit=MILLION, currency_symbols=["£"])


def test_parse_money_other_separators() -> None:
    amount = parse_money("1.234,5 €", currency_symbols=["€"], thousands_separator=".", decimal_separator=",")

    assert amount == Decimal("1234.50")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", Decimal(5)),
        ("-1,234.5", Decimal("-1234.5")),
        ("0.25", Decimal("0.25")),
        ("", None),
    ],
)
def test_parse_decimal_cases(text: str, expected: Decimal | None) -> None:
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["five", "1,23", "1e3", "."])
def test_parse_decimal_rejects_non_numbers(text: str) -> None:
    with pytest.raises(InvalidValueError, match="is not a number"):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-07-08", date(2014, 7, 8)),
        ("20.05.2020", date(2020, 5, 20)),
        (" 30.09.2024 ", date(2024, 9, 30)),
        ("", None),
    ],
)
def test_parse_date_iso_and_dotted(text: str, expected: date | None) -> None:
    assert parse_date(text, ["%Y-%m-%d", "%d.%m.%Y"]) == expected


@pytest.mark.parametrize("text", [FOI_TEXT, "31.02.2024", "2024/01/05", "05.2024"])
def test_parse_date_rejects_other_text(text: str) -> None:
    with pytest.raises(InvalidValueError, match=r"is not a date in the form yyyy-mm-dd or dd\.mm"):
        parse_date(text, ["%Y-%m-%d", "%d.%m.%Y"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Red", 9),
        ("Amber/red", 7),
        ("Amber/Red", 7),
        ("amber / green", 3),
        (" Amber ", 5),
        ("GREEN", 1),
        ("", None),
    ],
)
def test_map_value_rating_spellings(text: str, expected: int | None) -> None:
    assert map_value(text, DCA) == expected


def test_map_value_free_text_message() -> None:
    with pytest.raises(InvalidValueError) as caught:
        map_value(FOI_TEXT, DCA, "delivery_confidence")

    assert str(caught.value) == (
        'is not a value of the map "delivery_confidence" (Red, Amber/Red, Amber, Amber/Green, Green)'
    )


def test_normalize_key_case_and_spacing() -> None:
    assert normalize_key("  Amber /  Red ") == "amber/red"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("no", False),
        ("N", False),
        ("0", False),
        ("false", False),
        ("TRUE", True),
        ("y", True),
        ("Yes", True),
        ("1", True),
    ],
)
def test_parse_yes_no_words(text: str, expected: bool) -> None:
    assert parse_yes_no(text) is expected


def test_parse_yes_no_rejects_other_text() -> None:
    with pytest.raises(InvalidValueError, match="is not a yes/no value"):
        parse_yes_no("maybe")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  plain  ", "plain"),
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("Early planning GMPP project \r\r\r\n\r\r\r\n(The project", "Early planning GMPP project\n\n(The project"),
        ("a\n\n\n\nb", "a\n\nb"),
    ],
)
def test_clean_text_line_breaks(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["a", "b"], ["a", "b"]),
        (["colour_rating", "colour_rating"], ["colour_rating", "colour_rating.1"]),
        (["a", "a", "a"], ["a", "a.1", "a.2"]),
        (["a", "a.1", "a"], ["a", "a.1", "a.2"]),
        (["a", "a", "a.1"], ["a", "a.2", "a.1"]),
    ],
)
def test_deduplicate_headers_numbers_repeats(names: list[str], expected: list[str]) -> None:
    assert deduplicate_headers(names) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["", "Amber"], (1, "Amber")),
        (["Red", "Amber"], (0, "Red")),
        ([" ", "\n"], None),
        ([], None),
    ],
)
def test_first_non_blank_cases(values: list[str], expected: tuple[int, str] | None) -> None:
    assert first_non_blank(values) == expected


def test_shorten_cuts_to_limit() -> None:
    shortened = shorten(FOI_TEXT)

    assert len(shortened) <= 80
    assert shortened.endswith("…")
    assert shortened.startswith("Exempt under Section 43")


def test_shorten_flattens_line_breaks() -> None:
    assert shorten("a\r\n\r\nb") == "a b"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("7900000"), "7900000.00"), (Decimal("0"), "0.00"), (Decimal("-30690000"), "-30690000.00")],
)
def test_format_money_two_decimals(value: Decimal, expected: str) -> None:
    assert format_money(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("5.0"), "5"), (Decimal("0.50"), "0.5"), (Decimal("1E+1"), "10"), (Decimal("-0"), "0")],
)
def test_format_decimal_plain(value: Decimal, expected: str) -> None:
    assert format_decimal(value) == expected


# --- profiles ----------------------------------------------------------------------------------

MINIMAL_PROFILE = """
[reader]
separator = ";"

[money]
unit = 1_000_000
currency_symbols = ["£"]

[columns.initiative_id]
source = "id"
required = true

[columns.name]
source = "title"
required = true

[columns.segment]
source = "kind"
parse = "map"
map = "segment"
required = true

[columns.cost]
source = "budget"
parse = "money"
required = true
minimum = 0

[columns.risk]
source = ["rating", "rating.1"]
parse = "map"
map = "rating"

[columns.description]
source = "notes"

[value_maps.segment]
"IT" = "infrastructure"
"Law" = "compliance"

[value_maps.rating]
"Red" = 9
"Green" = 1
"""


def write_profile(tmp_path: Path, text: str = MINIMAL_PROFILE, name: str = "test") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_profile_by_name() -> None:
    profile = load_profile("uk-gmpp")

    assert profile.name == "uk-gmpp"
    assert profile.reader.separator == ";"
    assert profile.reader.encodings == ["utf-8-sig", "cp1252"]
    assert profile.money.unit == MILLION
    assert profile.columns["cost"].source == ["total_baseline"]
    assert profile.columns["risk"].source == ["colour_rating", "colour_rating.1"]


def test_gmpp_profile_segments_and_lenses() -> None:
    profile = load_profile("uk-gmpp")

    assert profile.value_maps["segment"] == {
        "Government Transformation and Service Delivery": "strategic",
        "ICT": "infrastructure",
        "Infrastructure and Construction": "construction",
        "Military Capability": "defence",
    }
    assert profile.value_maps["delivery_confidence"] == DCA
    lens_criteria = {(row.segment, row.criterion, row.weight) for row in profile.lenses or []}
    assert lens_criteria == {
        ("strategic", "sai", Decimal(1)),
        ("infrastructure", "risk", Decimal("0.5")),
        ("infrastructure", "urgency", Decimal("0.5")),
        ("construction", "risk", Decimal("0.5")),
        ("construction", "urgency", Decimal("0.5")),
        ("defence", "risk", Decimal("0.5")),
        ("defence", "urgency", Decimal("0.5")),
    }


def test_load_profile_by_path_takes_file_name(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, name="custom"))

    assert profile.name == "custom"
    assert profile.columns["risk"].source == ["rating", "rating.1"]


def test_load_profile_unknown_name_lists_available() -> None:
    with pytest.raises(MappingError, match=r'"no-such-profile" not found.*available: .*uk-gmpp'):
        load_profile("no-such-profile")


def test_load_profile_missing_path(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not found"):
        load_profile(tmp_path / "absent.toml")


def test_load_profile_invalid_toml(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "[columns\n")

    with pytest.raises(MappingError, match="is not valid TOML"):
        load_profile(path)


def test_mapping_error_is_value_error() -> None:
    assert issubclass(MappingError, ValueError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('"Law" = "compliance"', '"Law" = "legal"'), 'the segment "legal", which has no lens'),
        (('"Red" = 9', '"Red" = 11'), "outside 0–10"),
        (('"Red" = 9', '"Red" = "high"'), "must be a number from 0 to 10"),
        (('map = "rating"', 'map = "ratings"'), 'value map "ratings", which'),
        (("[columns.description]", "[columns.notes]"), "columns.notes is not a canonical"),
        (("[columns.description]", "[extra_columns.risk]"), "extra_columns.risk is a canonical"),
        (('parse = "money"', 'parse = "text"'), "columns.cost needs parse = 'money'"),
        (('separator = ";"', 'separator = ";;"'), "reader.separator"),
        (('separator = ";"', 'encodings = ["no-such-codec"]'), "not an encoding Python knows"),
        (("[columns.name]", "[columns.nme]"), "columns must map the required fields name"),
        (('"Green" = 1', '"Green" = 1\n"green" = 1'), "differ only in case or spacing: green"),
    ],
)
def test_load_profile_rejects_invalid_profile(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in MINIMAL_PROFILE
    path = write_profile(tmp_path, MINIMAL_PROFILE.replace(old, new, 1))

    with pytest.raises(MappingError, match=re.escape(message)):
        load_profile(path)


def test_load_profile_rejects_unknown_setting(tmp_path: Path) -> None:
    path = write_profile(tmp_path, MINIMAL_PROFILE + '\n[settings]\ncurency = "GBP"\n')

    with pytest.raises(MappingError, match="settings has unknown keys curency"):
        load_profile(path)


def test_load_profile_rejects_all_zero_lens(tmp_path: Path) -> None:
    lens = '\n[[lenses]]\nsegment = "run"\ncriterion = "risk"\nweight = 0\n'
    path = write_profile(tmp_path, MINIMAL_PROFILE + lens)

    with pytest.raises(MappingError, match="the lens of run has only zero weights"):
        load_profile(path)


# --- importing small files ---------------------------------------------------------------------


def write_source(tmp_path: Path, text: str, encoding: str = "cp1252") -> Path:
    path = tmp_path / "source.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_import_rows_and_problems(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "id;title;kind;budget;rating;rating;notes\n"
        'A1;Alpha;IT;£1,139.18;;Red;"two\r\nlines"\n'
        "A2;Beta;Law;Exempt;Green;;\n"
        "A1;Gamma;IT;5;Red;Green;\r"
        ";;;;;;\n"
        "A3;Delta;Law;0.5;Amber;Amber;\n"
        "A4;Epsilon;IT;1;;;;extra\n",
    )
    profile = load_profile(write_profile(tmp_path))

    report = import_file(source, profile, tmp_path / "out")

    assert report.model_dump(exclude={"problems", "source", "out_dir"}) == {
        "profile": "test",
        "encoding": "cp1252",
        "read_as": (
            "source.csv: encoding Windows-1252 (cp1252), semicolon separator, header on row 1; 6 records, 7 columns."
        ),
        "rows_read": 6,
        "imported": 2,
        "warned": 1,
        "rejected": 4,
        "rejection_reasons": {
            "without a usable cost": 1,
            "with a duplicate initiative_id": 1,
            "empty": 1,
            "with more fields than the header": 1,
        },
    }
    assert report.problems == [
        ImportProblem(
            severity="error",
            code="unusable_value",
            file="source.csv",
            row=3,
            column="budget",
            value="Exempt",
            initiative_id="A2",
            message=(
                "is not an amount (expected a number such as 1,139.18); the row is rejected "
                "because cost is required. Enter a usable value in the source to import this row"
            ),
        ),
        ImportProblem(
            severity="error",
            code="duplicate_id",
            file="source.csv",
            row=4,
            column="id",
            value="A1",
            initiative_id="A1",
            message=("repeats the initiative_id of row 2; the row is rejected. Give each row its own id in the source"),
        ),
        ImportProblem(
            severity="error",
            code="empty_row",
            file="source.csv",
            row=5,
            message="empty row; the row is rejected",
        ),
        ImportProblem(
            severity="warning",
            code="unusable_value",
            file="source.csv",
            row=6,
            column="rating",
            value="Amber",
            initiative_id="A3",
            message='is not a value of the map "rating" (Red, Green); risk is left blank',
        ),
        ImportProblem(
            severity="error",
            code="extra_fields",
            file="source.csv",
            row=7,
            value="extra",
            message=(
                "lies beyond the last header column: the record has 8 fields but the header "
                "has 7, so its values may be shifted; the row is rejected. "
                "Check the separator and quotes in this row"
            ),
        ),
    ]
    assert read_csv(tmp_path / "out" / "initiatives.csv") == [
        {
            "initiative_id": "A1",
            "name": "Alpha",
            "segment": "infrastructure",
            "cost": "1139180000.00",
            "risk": "9",
            "description": "two\nlines",
        },
        {
            "initiative_id": "A3",
            "name": "Delta",
            "segment": "compliance",
            "cost": "500000.00",
            "risk": "",
            "description": "",
        },
    ]


def test_import_defaults_and_yes_no(tmp_path: Path) -> None:
    extra = """
[columns.status]
default = "proposed"

[columns.must_fund]
source = "mandatory"
parse = "yes_no"

[extra_columns.spend]
source = "spent"
parse = "money"
default = 0
"""
    profile = load_profile(write_profile(tmp_path, MINIMAL_PROFILE + extra))
    source = write_source(
        tmp_path,
        "id;title;kind;budget;rating;notes;mandatory;spent\n"
        "A1;A;IT;1;Red;;Yes;£2\n"
        "A2;B;IT;1;Red;;;\n"
        "A3;C;IT;1;Red;;maybe;Exempt\n",
    )

    report = import_file(source, profile, tmp_path / "out")

    rows = read_csv(tmp_path / "out" / "initiatives.csv")
    assert [(row["status"], row["must_fund"], row["spend"]) for row in rows] == [
        ("proposed", "true", "2000000.00"),
        ("proposed", "false", "0.00"),
        ("proposed", "", "0.00"),
    ]
    assert [(p.row, p.column, p.message) for p in report.problems] == [
        (
            4,
            "mandatory",
            "is not a yes/no value (expected true/false, yes/no, y/n or 1/0); must_fund is left blank",
        ),
        (4, "spent", "is not an amount (expected a number such as 1,139.18); spend is set to the default 0.00"),
    ]


def test_load_profile_rejects_unusable_default(tmp_path: Path) -> None:
    extra = '\n[columns.start_date]\nsource = "start"\nparse = "date"\ndefault = "soon"\n'
    path = write_profile(tmp_path, MINIMAL_PROFILE + extra)

    with pytest.raises(MappingError, match='columns.start_date.default "soon" is not a date in the form yyyy-mm-dd'):
        load_profile(path)


def test_load_profile_rejects_budget_without_lens(tmp_path: Path) -> None:
    extra = '\n[[budget]]\nsegment = "run"\nenvelope = 1000\n'
    path = write_profile(tmp_path, MINIMAL_PROFILE + extra)

    with pytest.raises(MappingError, match="budget names segments without a lens: run"):
        load_profile(path)


def test_import_duplicate_columns_disagree(tmp_path: Path) -> None:
    source = write_source(tmp_path, "id;title;kind;budget;rating;rating;notes\nA1;A;IT;1;Red;Green;\n")
    profile = load_profile(write_profile(tmp_path))

    report = import_file(source, profile, tmp_path / "out")

    assert [(p.severity, p.code, p.column, p.value) for p in report.problems] == [
        ("warning", "sources_disagree", "rating", "Red")
    ]
    assert report.problems[0].message == (
        'differs from "Green" in column "rating.1"; risk uses the first non-blank column, "rating"'
    )
    assert read_csv(tmp_path / "out" / "initiatives.csv")[0]["risk"] == "9"


def test_import_negative_cost_rejected(tmp_path: Path) -> None:
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;-2;Red;\n")
    profile = load_profile(write_profile(tmp_path))

    report = map_source(read_for_profile("source.csv", source.read_bytes(), profile), profile).report

    assert report.rejected == 1
    assert report.problems[0].message.startswith("is below the minimum 0; the row is rejected")


def test_import_blank_required_value(tmp_path: Path) -> None:
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;;Red;\n")
    profile = load_profile(write_profile(tmp_path))

    report = map_source(read_for_profile("source.csv", source.read_bytes(), profile), profile).report

    assert report.problems[0].code == "blank_required"
    assert report.problems[0].describe() == (
        'source.csv, row 2, column "budget" (A1): the value is blank; the row is rejected '
        "because cost is required. Fill in budget in the source"
    )
    assert report.summary_line() == (
        "source.csv: 1 row read, 0 imported (0 with warnings), 1 rejected: 1 without a usable cost."
    )


def test_import_writes_header_only_tables(tmp_path: Path) -> None:
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;1;Red;\n")
    profile = load_profile(write_profile(tmp_path))

    import_file(source, profile, tmp_path / "out")

    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "alignment.csv",
        "initiatives.csv",
        "themes.csv",
    ]
    assert (tmp_path / "out" / "themes.csv").read_text() == "theme_id,name,weight,objective,key_results\n"
    assert (tmp_path / "out" / "alignment.csv").read_text() == ("initiative_id,theme_id,score,justification\n")


def test_import_reads_utf8_first(tmp_path: Path) -> None:
    source = write_source(tmp_path, "\ufeffid;title;kind;budget;rating;notes\nA1;Café;IT;£2;Red;\n", "utf-8")
    profile = load_profile(write_profile(tmp_path))

    report = import_file(source, profile, tmp_path / "out")

    assert report.encoding == "utf-8-sig"
    assert read_csv(tmp_path / "out" / "initiatives.csv")[0]["name"] == "Café"
    assert read_csv(tmp_path / "out" / "initiatives.csv")[0]["cost"] == "2000000.00"


def test_import_undecodable_file(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    source.write_bytes(b"id;title\n\x81\xa3;x\n")
    profile = load_profile(write_profile(tmp_path)).model_copy(
        update={"reader": mapping.ReaderOptions(encodings=["utf-8", "cp1252"], separator=";")}
    )

    with pytest.raises(MappingError, match=r"cannot be decoded with utf-8 \(byte 0x81 at offset 9\)"):
        import_file(source, profile, tmp_path / "out")

    assert not (tmp_path / "out").exists()


def test_import_missing_source_column_leaves_nothing(tmp_path: Path) -> None:
    profile_text = MINIMAL_PROFILE.replace('source = "budget"', 'source = "no_such_column"')
    profile = load_profile(write_profile(tmp_path, profile_text))
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;1;Red;\n")
    out_dir = tmp_path / "nested" / "out"

    with pytest.raises(MappingError, match=r'has no column "no_such_column", which columns\.cost'):
        import_file(source, profile, out_dir)

    assert not out_dir.exists()
    assert not (tmp_path / "nested").exists()


def test_import_gmpp_bad_column_leaves_nothing(tmp_path: Path) -> None:
    gmpp = load_profile("uk-gmpp")
    rules = dict(gmpp.columns)
    rules["cost"] = rules["cost"].model_copy(update={"source": ["total_baseline_typo"]})
    profile = gmpp.model_copy(update={"columns": rules})
    out_dir = tmp_path / "out"

    with pytest.raises(MappingError, match="total_baseline_typo"):
        import_file(GMPP_DIR / "gmpp_2023.csv", profile, out_dir)

    assert not out_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_import_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = load_profile(write_profile(tmp_path))
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;1;Red;\n")
    out_dir = tmp_path / "out"
    written: list[str] = []
    real_write_csv = mapping._write_csv

    def write_then_fail(path: Path, header: list[str], rows: list[list[str]]) -> None:
        if written:
            raise OSError("disk full")
        written.append(path.name)
        real_write_csv(path, header, rows)

    monkeypatch.setattr(mapping, "_write_csv", write_then_fail)

    with pytest.raises(OSError, match="disk full"):
        import_file(source, profile, out_dir)

    assert written == ["initiatives.csv"]
    assert not out_dir.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["source.csv", "test.toml"]


def test_import_refuses_non_empty_out_dir(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;1;Red;\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("mine")

    with pytest.raises(MappingError, match="is not empty"):
        import_file(source, profile, out_dir)

    assert [path.name for path in out_dir.iterdir()] == ["keep.txt"]
    assert (out_dir / "keep.txt").read_text() == "mine"


def test_import_into_empty_out_dir(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;1;Red;\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    report = import_file(source, profile, out_dir)

    assert report.imported == 1
    assert (out_dir / "initiatives.csv").is_file()


def test_import_missing_source_file(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))

    with pytest.raises(MappingError, match="source file .*absent.csv not found"):
        import_file(tmp_path / "absent.csv", profile, tmp_path / "out")


def test_summary_line_orders_reasons_by_count() -> None:
    report = ImportReport(
        source=Path("x/export.csv"),
        profile="p",
        out_dir=Path("out"),
        encoding="cp1252",
        rows_read=10,
        imported=6,
        warned=2,
        rejected=4,
        rejection_reasons={"with a duplicate initiative_id": 1, "without a usable cost": 3},
    )

    assert report.summary_line() == (
        "export.csv: 10 rows read, 6 imported (2 with warnings), 4 rejected: "
        "3 without a usable cost, 1 with a duplicate initiative_id."
    )


# --- importing the real GMPP files -------------------------------------------------------------


@pytest.fixture(scope="module")
def gmpp_profile() -> MappingProfile:
    return load_profile("uk-gmpp")


@pytest.fixture(scope="module")
def gmpp_imports(
    tmp_path_factory: pytest.TempPathFactory, gmpp_profile: MappingProfile
) -> dict[str, tuple[ImportReport, Path]]:
    """Import every GMPP file once; a missing data folder fails here, it is never skipped."""
    imports = {}
    for file_name in README_COUNTS:
        out_dir = tmp_path_factory.mktemp("gmpp") / file_name.removesuffix(".csv")
        report = import_file(GMPP_DIR / file_name, gmpp_profile, out_dir)
        imports[file_name] = (report, out_dir)
    return imports


def initiatives_by_id(out_dir: Path) -> dict[str, dict[str, str]]:
    return {row["initiative_id"]: row for row in read_csv(out_dir / "initiatives.csv")}


def test_gmpp_data_folder_present() -> None:
    assert sorted(path.name for path in GMPP_DIR.glob("gmpp_*.csv")) == sorted(README_COUNTS)


@pytest.mark.parametrize("file_name", list(README_COUNTS))
def test_gmpp_counts_match_readme(gmpp_imports: dict[str, tuple[ImportReport, Path]], file_name: str) -> None:
    report, _ = gmpp_imports[file_name]
    rows, usable = README_COUNTS[file_name]

    assert report.encoding == "cp1252"
    assert report.rows_read == rows
    assert report.imported == usable
    assert report.rejected == rows - usable
    assert report.imported + report.rejected == report.rows_read
    assert report.rejection_reasons == {"without a usable cost": rows - usable}


@pytest.mark.parametrize("file_name", list(README_COUNTS))
def test_gmpp_every_rejected_row_has_reason(gmpp_imports: dict[str, tuple[ImportReport, Path]], file_name: str) -> None:
    report, out_dir = gmpp_imports[file_name]
    errors = report.errors
    imported_ids = set(initiatives_by_id(out_dir))

    assert len({problem.row for problem in errors}) == report.rejected
    assert all(problem.column == "total_baseline" for problem in errors)
    assert all(problem.message for problem in errors)
    assert all(problem.initiative_id not in imported_ids for problem in errors)


@pytest.mark.parametrize("file_name", list(README_COUNTS))
def test_gmpp_output_ids_and_costs(gmpp_imports: dict[str, tuple[ImportReport, Path]], file_name: str) -> None:
    report, out_dir = gmpp_imports[file_name]
    rows = read_csv(out_dir / "initiatives.csv")
    ids = [row["initiative_id"] for row in rows]

    assert len(rows) == report.imported
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"\d+\.\d{2}", row["cost"]) for row in rows)
    assert all(row["segment"] in {"strategic", "infrastructure", "construction", "defence"} for row in rows)
    assert all(row["risk"] in {"", "1", "3", "5", "7", "9"} for row in rows)
    assert all(row["risk"] == row["urgency"] for row in rows)
    assert all(
        re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", row[column]) for row in rows for column in ("start_date", "end_date")
    )
    assert not any("\r" in row["description"] for row in rows)


@pytest.mark.parametrize("file_name", list(README_COUNTS))
def test_gmpp_output_tables(gmpp_imports: dict[str, tuple[ImportReport, Path]], file_name: str) -> None:
    _, out_dir = gmpp_imports[file_name]

    assert sorted(path.name for path in out_dir.iterdir()) == [
        "alignment.csv",
        "initiatives.csv",
        "lenses.csv",
        "settings.csv",
        "themes.csv",
        "urgency.csv",
    ]
    assert read_csv(out_dir / "themes.csv") == []
    assert read_csv(out_dir / "alignment.csv") == []
    assert read_csv(out_dir / "settings.csv") == [{"key": "currency", "value": "GBP"}]
    assert read_csv(out_dir / "urgency.csv") == [
        {"criterion": "urgency", "weight": "0.5"},
        {"criterion": "risk", "weight": "0.5"},
    ]
    assert {row["segment"] for row in read_csv(out_dir / "lenses.csv")} == {
        "strategic",
        "infrastructure",
        "construction",
        "defence",
    }


def test_gmpp_2023_header_and_extra_columns(
    gmpp_imports: dict[str, tuple[ImportReport, Path]],
) -> None:
    _, out_dir = gmpp_imports["gmpp_2023.csv"]

    assert read_header(out_dir / "initiatives.csv") == [
        "initiative_id",
        "name",
        "segment",
        "cost",
        "urgency",
        "risk",
        "sponsor",
        "start_date",
        "end_date",
        "description",
        "report_category",
        "report_year",
        "forecast",
        "whole_life_cost",
        "baseline_benefits",
    ]


# Values read by hand from the source files. In 2023 CO_0024 and CO_0210 have a
# blank first colour_rating, so their rating comes from the second column.
HAND_CHECKED = [
    (
        "gmpp_2021.csv",
        "MOD_0106_1617-Q1",
        {"cost": "654460000.00", "risk": "7", "segment": "defence", "start_date": "2014-07-08"},
    ),
    ("gmpp_2021.csv", "DECC_0010_1112-Q1", {"cost": "1139180000.00"}),
    ("gmpp_2022.csv", "MOD_0106_1617-Q1", {"cost": "350000000.00", "risk": "5"}),
    ("gmpp_2022.csv", "HMRC_0017_1617-Q2", {"cost": "150980000.00", "risk": "5"}),
    (
        "gmpp_2023.csv",
        "CO_0024_2021-Q2",
        {
            "name": "Civil Service Pensions 2015 Remedy",
            "segment": "strategic",
            "cost": "7900000.00",
            "risk": "5",
            "urgency": "5",
            "sponsor": "CO",
            "start_date": "2020-05-20",
            "end_date": "2024-09-30",
            "report_category": "Government Transformation and Service Delivery",
            "report_year": "2023",
        },
    ),
    ("gmpp_2023.csv", "CO_0210_2223-Q4", {"cost": "0.00", "risk": "1", "segment": "infrastructure"}),
    (
        "gmpp_2023.csv",
        "HMRC_0017_1617-Q2",
        {"cost": "153150000.00", "risk": "5", "baseline_benefits": "2146000000.00"},
    ),
    ("gmpp_2023.csv", "CO_0029_2021-Q4", {"baseline_benefits": "-30690000.00"}),
]


@pytest.mark.parametrize(("file_name", "initiative_id", "expected"), HAND_CHECKED)
def test_gmpp_hand_checked_rows(
    gmpp_imports: dict[str, tuple[ImportReport, Path]],
    file_name: str,
    initiative_id: str,
    expected: dict[str, str],
) -> None:
    _, out_dir = gmpp_imports[file_name]
    row = initiatives_by_id(out_dir)[initiative_id]

    assert {column: row[column] for column in expected} == expected


@pytest.mark.parametrize(
    ("file_name", "row", "initiative_id", "value_start"),
    [
        ("gmpp_2021.csv", 12, "BEIS_0012_2021-Q4", "The project is still at the planning stage"),
        ("gmpp_2022.csv", 159, "DEFRA_0015_2122-Q1", "Exempt under Section 27"),
        ("gmpp_2023.csv", 27, "DEFRA_0015_2122-Q1", "Exempt under Section 43"),
    ],
)
def test_gmpp_rejected_row_located(
    gmpp_imports: dict[str, tuple[ImportReport, Path]],
    file_name: str,
    row: int,
    initiative_id: str,
    value_start: str,
) -> None:
    report, _ = gmpp_imports[file_name]
    problem = next(p for p in report.errors if p.initiative_id == initiative_id)

    assert problem.row == row
    assert problem.column == "total_baseline"
    assert problem.value.startswith(value_start)
    assert len(problem.value) <= 80
    assert "the row is rejected because cost is required" in problem.message


def test_gmpp_2023_free_text_rating_warns(
    gmpp_imports: dict[str, tuple[ImportReport, Path]],
) -> None:
    report, out_dir = gmpp_imports["gmpp_2023.csv"]
    rating_warnings = [p for p in report.warnings if p.column == "colour_rating"]

    assert [(p.row, p.initiative_id) for p in rating_warnings] == [
        (171, "MOD_0118_1718-Q3"),
        (234, "MOJ_0055_2021-Q4"),
    ]
    assert all(p.message.endswith("risk and urgency are left blank") for p in rating_warnings)
    assert initiatives_by_id(out_dir)["MOJ_0055_2021-Q4"]["risk"] == ""


def test_gmpp_2023_summary_line(gmpp_imports: dict[str, tuple[ImportReport, Path]]) -> None:
    report, _ = gmpp_imports["gmpp_2023.csv"]

    assert report.summary_line() == (
        f"gmpp_2023.csv: 244 rows read, 217 imported ({report.warned} with warnings), "
        "27 rejected: 27 without a usable cost."
    )
    assert 0 < report.warned < report.imported


# --- Money, percentages, dates and missing values as real exports write them -------------------


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("$1,234.50", {"currency_symbols": ["$"]}, Decimal("1234.50")),
        ("£1.2m", {"currency_symbols": ["£"]}, Decimal("1200000.00")),
        ("£1.2m", {"currency_symbols": ["£"], "unit": MILLION}, Decimal("1200000.00")),
        ("$3bn", {"currency_symbols": ["$"]}, Decimal("3000000000.00")),
        ("250k", {}, Decimal("250000.00")),
        ("2.5 million", {}, Decimal("2500000.00")),
        ("(1,234)", {}, Decimal("-1234.00")),
        ("(£1,234.50)", {"currency_symbols": ["£"]}, Decimal("-1234.50")),
        ("£(5)", {"currency_symbols": ["£"]}, Decimal("-5.00")),
        ("1.234,56", {"thousands_separator": ".", "decimal_separator": ","}, Decimal("1234.56")),
        ("€ 1.234.567,8", {"currency_symbols": ["€"], "thousands_separator": ".", "decimal_separator": ","},
         Decimal("1234567.80")),
        ("7.9", {"unit": MILLION}, Decimal("7900000.00")),
        ("GBP 12", {"currency_symbols": ["GBP"]}, Decimal("12.00")),
    ],
)
def test_parse_money_real_notations(text: str, options: dict, expected: Decimal) -> None:
    assert parse_money(text, **options) == expected


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("(1,234)", {"negative_parentheses": False}),
        ("£1.2m", {"currency_symbols": ["£"], "magnitude_suffixes": False}),
        ("-(5)", {}),
        ("1.234,56", {}),
        ("12m5", {}),
    ],
)
def test_parse_money_notation_off_or_wrong(text: str, options: dict) -> None:
    with pytest.raises(InvalidValueError, match="is not an amount"):
        parse_money(text, **options)


@pytest.mark.parametrize(
    ("text", "scale", "expected"),
    [("45%", 100, Decimal(45)), ("45 %", 10, Decimal("4.5")), ("12.5", 100, Decimal("12.5")), ("", 10, None)],
)
def test_parse_percent_cases(text: str, scale: int, expected: Decimal | None) -> None:
    assert mapping.parse_percent(text, scale=scale) == expected


def test_parse_percent_rejects_text() -> None:
    with pytest.raises(InvalidValueError, match="is not a percentage"):
        mapping.parse_percent("about half")


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        ("2024-01-05", ["%Y-%m-%d"], date(2024, 1, 5)),
        ("05.01.24", ["%Y-%m-%d", "%d.%m.%y"], date(2024, 1, 5)),
        ("05/01/2024", ["%d/%m/%Y"], date(2024, 1, 5)),
        ("45292", ["%Y-%m-%d"], date(2024, 1, 1)),
        ("45292.75", ["%Y-%m-%d"], date(2024, 1, 1)),
        ("18264", ["%Y-%m-%d"], date(1950, 1, 1)),
    ],
)
def test_parse_date_real_forms(text: str, formats: list[str], expected: date) -> None:
    assert parse_date(text, formats, excel_serials=True) == expected


@pytest.mark.parametrize("text", ["2024", "45292", "18263", "2958465"])
def test_parse_date_serials_only_when_allowed(text: str) -> None:
    with pytest.raises(InvalidValueError, match="is not a date"):
        parse_date(text, ["%Y-%m-%d"], excel_serials=text != "45292")


def test_parse_date_message_names_serials() -> None:
    with pytest.raises(InvalidValueError, match=r"yyyy-mm-dd or dd\.mm\.yy or an Excel day number such as 45292"):
        parse_date("soon", ["%Y-%m-%d", "%d.%m.%y"], excel_serials=True)


@pytest.mark.parametrize(("text", "missing"), [("N/A", True), (" n/a ", True), ("-", True), ("", True),
                                                ("#N/A", True), ("Amber", False), ("0", False)])
def test_is_missing_words(text: str, missing: bool) -> None:
    assert mapping.is_missing(text) is missing


@pytest.mark.parametrize(("text", "expected"), [("4-Mar", True), ("Mar-04", True), ("04-Mar-24", True),
                                                 ("3-4", False), ("Amber", False), ("2024-03-04", False)])
def test_looks_like_excel_date_cases(text: str, expected: bool) -> None:
    assert mapping.looks_like_excel_date(text) is expected


def test_describe_date_format_two_digit_year() -> None:
    assert mapping.describe_date_format("%d.%m.%y") == "dd.mm.yy"
    assert mapping.describe_date_format("%d-%b-%Y") == "dd-mmm-yyyy"


# --- Importing the quirks of real exports ------------------------------------------------------

QUIRKS_PROFILE = """
[money]
currency_symbols = ["$"]

[dates]
formats = ["%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y"]
excel_serials = true

[columns.initiative_id]
source = "Project ID"
required = true

[columns.name]
source = "Project"
required = true

[columns.segment]
source = "Kind"
parse = "map"
map = "segment"
required = true

[columns.cost]
source = "Budget"
parse = "money"
required = true
minimum = 0

[columns.risk]
source = "RAG"
parse = "map"
map = "rag"

[columns.business_value]
source = "Value %"
parse = "percent"
scale = 10

[columns.start_date]
source = "Start"
parse = "date"

[extra_columns.phase]
source = "Phase"

[value_maps.segment]
"IT" = "infrastructure"

[value_maps.rag]
"Red" = 9
"Amber" = 5
"Green" = 1
"""


def quirks_profile(tmp_path: Path) -> MappingProfile:
    return load_profile(write_profile(tmp_path, QUIRKS_PROFILE, "quirks"))


def test_import_quirks_in_csv(tmp_path: Path) -> None:
    profile = quirks_profile(tmp_path)
    data = (
        b"Project ID,Project,Kind,Budget,RAG,Value %,Start,Phase\r\n"
        b'P1,Alpha,IT,"$1,234.50",Red,45%,2024-01-05,1\r\n'
        b"P2,Beta,IT,(1234),N/A,-,05.01.24,2\r\n"
        b"P3,Gamma,IT,$2m,4-Mar,80 %,05/01/2024,3\r\n"
        b"P4,Delta,IT,N/A,Green,,45292,4\r\n"
        b"P5,Epsilon,IT,7,see the board minutes,abc,TBC,5\r\n"
    )

    mapped = map_source(read_for_profile("export.csv", data, profile), profile)
    rows = mapped.tables["initiatives"].frame

    assert mapped.report.rows_read == 5
    assert mapped.report.rejected == 2
    assert mapped.report.rejection_reasons == {"without a usable cost": 2}
    assert list(rows.index) == [2, 4, 6]
    assert rows.loc[2, ["cost", "risk", "business_value", "start_date"]].tolist() == [
        "1234.50", "9", "4.5", "2024-01-05"]
    assert rows.loc[4, ["cost", "risk", "business_value", "start_date"]].tolist() == [
        "2000000.00", "", "8", "2024-01-05"]
    assert rows.loc[6, ["cost", "risk", "business_value", "start_date"]].tolist() == ["7.00", "", "", ""]

    problems = {(p.row, p.column): p for p in mapped.report.problems}
    assert problems[(3, "Budget")].message.startswith("is below the minimum 0; the row is rejected")
    assert problems[(5, "Budget")].describe() == (
        'export.csv, row 5, column "Budget" (P4): "N/A" marks a missing value; the row is rejected because '
        "cost is required. Fill in Budget in the source"
    )
    assert "looks like a date that Excel made from text such as \"3-4\"" in problems[(4, "RAG")].message
    assert problems[(4, "RAG")].message.endswith("risk is left blank")
    assert problems[(6, "Value %")].message == (
        "is not a percentage (expected a number such as 45%); business_value is left blank")
    assert (3, "RAG") not in problems
    assert (3, "Value %") not in problems


def test_import_workbook_quirks(tmp_path: Path) -> None:
    profile = quirks_profile(tmp_path)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Projects export"])
    sheet.append(["Generated by the PMO tool"])
    sheet.append([])
    sheet.append(["Project ID", "Project", "Kind", "Budget", "RAG", "Value %", "Start", "Phase"])
    sheet.append(["P1", "Alpha", "IT", 1234.5, "Red", 45, 45292, "3-4"])
    # Excel turned the phase "3-4" and the rating "3-4" into dates when the sheet was typed in.
    sheet.append(["P2", "Beta", "IT", 20, datetime(2024, 3, 4), 10, datetime(2024, 2, 1), datetime(2024, 3, 4)])
    buffer = io.BytesIO()
    workbook.save(buffer)

    mapped = map_source(read_for_profile("projects.xlsx", buffer.getvalue(), profile), profile)
    rows = mapped.tables["initiatives"].frame

    assert mapped.report.read_as == 'projects.xlsx: sheet "Sheet", header on row 4; 2 records, 8 columns.'
    assert mapped.report.encoding is None
    assert list(rows.index) == [5, 6]
    assert rows.loc[5, ["cost", "risk", "business_value", "start_date", "phase"]].tolist() == [
        "1234.50", "9", "4.5", "2024-01-01", "3-4"]
    assert rows.loc[6, ["cost", "risk", "start_date", "phase"]].tolist() == ["20.00", "", "2024-02-01", "2024-03-04"]
    assert [(p.row, p.column, p.code, p.severity) for p in mapped.report.problems] == [
        (6, "Phase", "excel_date", "warning"),
        (6, "RAG", "unusable_value", "warning"),
    ]
    assert mapped.report.problems[1].message.startswith(
        'is a date in the workbook where no date belongs: Excel may have turned text such as "3-4" into a date')


def test_import_workbook_numbers_ignore_decimal_comma(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, QUIRKS_PROFILE.replace(
        '[money]\n', '[money]\nthousands_separator = "."\ndecimal_separator = ","\n'), "comma"))
    workbook = openpyxl.Workbook()
    workbook.active.append(["Project ID", "Project", "Kind", "Budget", "RAG", "Value %", "Start", "Phase"])
    workbook.active.append(["P1", "Alpha", "IT", 1234.5, "Red", None, None, None])
    workbook.active.append(["P2", "Beta", "IT", "1.234,5", "Red", None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    mapped = map_source(read_for_profile("book.xlsx", buffer.getvalue(), profile), profile)

    assert mapped.tables["initiatives"].frame["cost"].tolist() == ["1234.50", "1234.50"]


TRANSPOSED_CSV = (
    "Project ID;P1;P2;P3\n"
    "Project;Alpha;Beta;Gamma\n"
    "Kind;IT;IT;IT\n"
    "Budget;5;six;7\n"
    "RAG;Red;Green;Amber\n"
    "Value %;;;\n"
    "Start;;;\n"
    "Phase;;;\n"
)


def test_import_transposed_needs_transposing(tmp_path: Path) -> None:
    profile = quirks_profile(tmp_path)

    with pytest.raises(MappingError, match=r"The file looks transposed \(one record per column\)"):
        read_and_map(profile, TRANSPOSED_CSV.encode())


def test_import_transposed_when_asked(tmp_path: Path) -> None:
    profile = quirks_profile(tmp_path)
    overrides = mapping.ReadOverrides(transpose=True)

    mapped = map_source(read_for_profile("t.csv", TRANSPOSED_CSV.encode(), profile, overrides), profile)

    assert mapped.report.rows_read == 3
    assert mapped.tables["initiatives"].frame["initiative_id"].tolist() == ["P1", "P3"]
    assert mapped.report.errors[0].describe() == (
        't.csv, column C, column "Budget" (P2): "six" is not an amount (expected a number such as 1,139.18); '
        "the row is rejected because cost is required. Enter a usable value in the source to import this row"
    )


def read_and_map(profile: MappingProfile, data: bytes, name: str = "t.csv") -> mapping.MappedImport:
    return map_source(read_for_profile(name, data, profile), profile)


def test_import_duplicate_headers_rejected_when_profile_says(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, MINIMAL_PROFILE.replace(
        '[reader]\nseparator = ";"', '[reader]\nseparator = ";"\nduplicate_headers = "reject"')))

    with pytest.raises(MappingError, match="repeats the header"):
        read_and_map(profile, b"id;title;kind;budget;rating;rating;notes\nA1;A;IT;1;Red;;\n")


def test_reader_options_validated(tmp_path: Path) -> None:
    bad = write_profile(tmp_path, MINIMAL_PROFILE.replace('separator = ";"', 'separator = ";;"'))

    with pytest.raises(MappingError, match='";;" is not a separator'):
        load_profile(bad)


# --- Validation before commit ------------------------------------------------------------------


def test_check_import_rejects_rows_breaking_rules(tmp_path: Path) -> None:
    extra = '\n[columns.capex]\nsource = "capex"\nparse = "money"\n\n[columns.opex]\nsource = "opex"\nparse = "money"\n'
    profile = load_profile(write_profile(tmp_path, MINIMAL_PROFILE + extra))
    data = "id;title;kind;budget;rating;notes;capex;opex\nA1;A;IT;1;Red;;0.5;0.5\nA2;B;IT;1;Red;;0.2;0.2\n"

    checked = check_import(read_and_map(profile, data.encode("cp1252")))

    assert checked.portfolio is not None
    assert checked.portfolio.initiatives["initiative_id"].tolist() == ["A1"]
    assert checked.report.rows_read == checked.report.imported + checked.report.rejected
    assert checked.report.rejection_reasons == {"failing portfolio validation": 1}
    error = checked.report.errors[0]
    assert (error.code, error.row, error.initiative_id) == ("invalid_row", 3, "A2")
    assert error.message.startswith("capex 200000.00 + opex 200000.00 does not equal cost 1000000.00")
    assert error.message.endswith("; the row is rejected")


def test_check_import_locates_warnings_in_source(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))

    checked = check_import(read_and_map(profile, b"id;title;kind;budget;rating;notes\nA1;A;Law;0;;\n"))

    assert checked.portfolio is not None
    assert {(p.code, p.row, p.severity) for p in checked.problems} >= {("portfolio_check", 2, "warning")}
    assert all(p.file in ("t.csv", "themes.csv") for p in checked.problems)


def test_every_row_invalid_raises_with_report(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;x;Red;\nA2;B;IT;;Red;\n")

    with pytest.raises(mapping.NothingImportedError) as raised:
        import_file(source, profile, tmp_path / "out")

    assert str(raised.value).startswith(
        "none of the 2 rows of source.csv can be imported (2 without a usable cost), so nothing was imported")
    assert raised.value.report.rejected == 2
    assert not (tmp_path / "out").exists()


def test_header_only_file_raises(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\n")

    with pytest.raises(mapping.NothingImportedError, match="has a header but no rows"):
        import_file(source, profile, tmp_path / "out")


def test_mapping_reports_progress(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    lines = "".join(f"A{i};T;IT;1;Red;\n" for i in range(4_500))
    seen: list[float] = []

    read_and_map_progress = map_source(
        read_for_profile("t.csv", ("id;title;kind;budget;rating;notes\n" + lines).encode(), profile), profile,
        lambda share, _: seen.append(share))

    assert read_and_map_progress.report.imported == 4_500
    assert seen[0] == 0.0
    assert seen[-1] == 1.0
    assert len(seen) == 4


# --- All three GMPP files in memory, every row accounted for -----------------------------------


@pytest.mark.parametrize("file_name", list(README_COUNTS))
def test_gmpp_in_memory_every_row_accounted(file_name: str, gmpp_profile: MappingProfile) -> None:
    path = GMPP_DIR / file_name
    with path.open(encoding="cp1252", newline="") as handle:
        records = list(csv.reader(handle, delimiter=";"))[1:]

    checked = check_import(mapping.import_bytes(file_name, path.read_bytes(), gmpp_profile))
    report = checked.report

    assert checked.portfolio is not None
    assert report.rows_read == len(records) == README_COUNTS[file_name][0]
    assert report.rows_read == report.imported + report.rejected
    assert len(checked.portfolio.initiatives) == report.imported == README_COUNTS[file_name][1]
    rejected_ids = {p.initiative_id for p in report.errors}
    imported_ids = set(checked.portfolio.initiatives["initiative_id"])
    assert len(rejected_ids) == report.rejected
    assert rejected_ids | imported_ids == {record[1] for record in records}
    assert not [p for p in checked.problems if p.severity == "error"]


# --- Building and saving profiles --------------------------------------------------------------


def app_mapping() -> list[mapping.FieldChoice]:
    return [
        mapping.FieldChoice("initiative_id", ["Project ID"]),
        mapping.FieldChoice("name", ["Project"]),
        mapping.FieldChoice("segment", default="infrastructure"),
        mapping.FieldChoice("cost", ["Budget (£m)"], "money", unit=Decimal(MILLION)),
        mapping.FieldChoice("risk", ["RAG"], "map", {'Red "hot"': 9.0, "Amber\nlate": 5, "Green": 1.5}),
        mapping.FieldChoice("business_value", ["Value"], "percent", scale=Decimal(10)),
        mapping.FieldChoice("status", default="proposed"),
        mapping.FieldChoice("Programme board", ["Programme board"], extra=True),
    ]


def test_build_profile_marks_required_fields() -> None:
    profile = mapping.build_profile("planview", app_mapping(), money=mapping.MoneyFormat(currency_symbols=["£"]))

    assert profile.columns["initiative_id"].required
    assert profile.columns["cost"].required
    assert profile.columns["cost"].minimum == 0
    assert not profile.columns["risk"].required
    assert profile.value_maps["risk"] == {'Red "hot"': 9, "Amber\nlate": 5, "Green": 1.5}
    assert [type(value) for value in profile.value_maps["risk"].values()] == [int, int, float]
    assert list(profile.extra_columns) == ["Programme board"]


def test_build_profile_incomplete_named() -> None:
    with pytest.raises(MappingError, match="the mapping is not complete: columns must map the required fields cost"):
        mapping.build_profile("x", app_mapping()[:3])


def test_build_profile_bad_name() -> None:
    with pytest.raises(MappingError, match='"my profile" is not a profile name'):
        mapping.build_profile("my profile", app_mapping())


def test_save_profile_round_trip(tmp_path: Path) -> None:
    profile = mapping.build_profile(
        "planview", app_mapping(),
        reader=mapping.ReaderOptions(encodings=["cp1252"], separator="\t", header_row=3, sheet="Data"),
        money=mapping.MoneyFormat(currency_symbols=["£"], thousands_separator=".", decimal_separator=","),
        dates=mapping.DateFormats(formats=["%d.%m.%y"], excel_serials=True),
        description='Planview "Projects" export\nwith a second line',
        settings={"currency": "GBP"},
    )

    path = mapping.save_profile(profile, tmp_path)

    assert path == tmp_path / "planview.toml"
    assert load_profile(path) == profile
    assert tomllib.loads(path.read_text(encoding="utf-8"))["reader"]["separator"] == "\t"
    assert list(tmp_path.iterdir()) == [path]


def test_save_profile_refuses_overwrite(tmp_path: Path) -> None:
    profile = mapping.build_profile("planview", app_mapping())
    mapping.save_profile(profile, tmp_path)

    with pytest.raises(MappingError, match='a mapping profile named "planview" already exists'):
        mapping.save_profile(profile, tmp_path)

    assert mapping.save_profile(profile, tmp_path, overwrite=True) == tmp_path / "planview.toml"


def test_saved_profile_imports_from_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = mapping.save_profile(mapping.build_profile("board", app_mapping(),
                                                      money=mapping.MoneyFormat(currency_symbols=["£"])), tmp_path)
    source = tmp_path / "export.csv"
    source.write_bytes('Project ID,Project,Budget (£m),RAG,Value,Programme board\nP1,Alpha,£1.5,Green,45%,Yes\n'
                       .encode("cp1252"))

    code = main(["import", str(source), "--mapping", str(path), "--out", str(tmp_path / "out")])

    assert code == 0
    assert read_csv(tmp_path / "out" / "initiatives.csv") == [{
        "initiative_id": "P1", "name": "Alpha", "segment": "infrastructure", "cost": "1500000.00",
        "business_value": "4.5", "risk": "1.5", "status": "proposed", "Programme board": "Yes"}]
    assert "read export.csv: encoding Windows-1252 (cp1252), comma separator" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("column", "target"),
    [("project_number", "initiative_id"), ("Project Name", "name"), ("Total Baseline (£m)", "cost"),
     ("RAG status", "risk"), ("Sponsor", "sponsor"), ("Start", "start_date"), ("Comments", None)],
)
def test_suggest_target_headers(column: str, target: str | None) -> None:
    assert mapping.suggest_target(column) == target


@pytest.mark.parametrize(("column", "unit"), [("Cost (£m)", MILLION), ("Budget £k", 1_000), ("Cost", 1),
                                              ("Spend in millions", MILLION)])
def test_guess_unit_from_header(column: str, unit: int) -> None:
    assert mapping.guess_unit(column) == unit


def test_guess_number_notation_cases() -> None:
    assert mapping.guess_number_notation(["1,234.50", "7"]) == (",", ".")
    assert mapping.guess_number_notation(["7", "1.234,56"]) == (".", ",")
    assert mapping.guess_number_notation(["€ 7,5"]) == (".", ",")


def test_guess_date_formats_cases() -> None:
    assert mapping.guess_date_formats(["20.05.2020", "30.09.2024"]) == (["%d.%m.%Y"], False)
    assert mapping.guess_date_formats(["05/01/2024", "45292"])[0][:2] == ["%d/%m/%Y", "%m/%d/%Y"]
    assert mapping.guess_date_formats(["05/01/2024", "45292"])[1]
    assert mapping.guess_date_formats(["13/01/2024"])[0] == ["%d/%m/%Y"]


def test_suggest_value_map_ratings() -> None:
    proposal = mapping.suggest_value_map(["Red", "amber", "Green", "7", "Exempt", "red"], "risk")

    assert proposal == {"Red": 9, "amber": 5, "Green": 1, "7": 7, "Exempt": None}


def test_suggest_value_map_segments() -> None:
    assert mapping.suggest_value_map(["Strategic", "Ops"], "segment") == {"Strategic": "strategic", "Ops": None}


# --- The command line on bad input -------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_sentence(err: str) -> None:
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ")
    assert "Traceback" not in err


GMPP_HEADER = (
    "year;project_number;project_name;department;report_category;description_aims;colour_rating;start_date;"
    "end_date;total_baseline;yearly_forecast;wlc_baseline_incl_NCG\n"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 40, "is not a text file"),
        (b"", "is empty"),
        (b"\r\n\r\n", "is empty"),
        (GMPP_HEADER.encode(), "has a header but no rows"),
        ((GMPP_HEADER + "2023;A;One;HO;ICT;;Red;;;Exempt;;\n2023;B;Two;HO;ICT;;Red;;;;;\n"
          "2023;C;Three;HO;Unknown;;Red;;;5;;\n").encode("cp1252"),
         "none of the 3 rows of bad.csv can be imported"),
        (b"id,name\nA1,x\n", 'has no column "project_number"'),
    ],
)
def test_cli_bad_input_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(content)

    code, out, err = run_cli(capsys, "import", str(source), "--mapping", "uk-gmpp", "--out", str(tmp_path / "out"))

    assert code == 1
    assert out == ""
    assert_one_sentence(err)
    assert message in err
    assert not (tmp_path / "out").exists()


def test_cli_file_over_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "MAX_FILE_BYTES", 100_000)

    code, _, err = run_cli(capsys, "import", str(GMPP_DIR / "gmpp_2023.csv"), "--mapping", "uk-gmpp",
                           "--out", str(tmp_path / "out"))

    assert code == 1
    assert_one_sentence(err)
    assert "gmpp_2023.csv is 0.7 MB, over the upload limit of 100,000 bytes" in err
    assert not (tmp_path / "out").exists()


def test_cli_cell_over_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands for a 50 MB text field: the limit is lowered instead of writing 50 MB.
    monkeypatch.setattr(importing, "MAX_CELL_CHARS", 10_000)
    source = tmp_path / "long.csv"
    source.write_bytes((GMPP_HEADER + f"2023;A;{'x' * 20_000};HO;ICT;;Red;;;5;;\n").encode())

    code, _, err = run_cli(capsys, "import", str(source), "--mapping", "uk-gmpp", "--out", str(tmp_path / "out"))

    assert code == 1
    assert_one_sentence(err)
    assert "long.csv, row 2: a cell holds 20,000 characters, over the limit of 10,000 characters per cell" in err


def test_cli_workbook_without_sheet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Summary"
    workbook.active.append(["total"])
    source = tmp_path / "book.xlsx"
    workbook.save(source)

    code, _, err = run_cli(capsys, "import", str(source), "--mapping", "uk-gmpp", "--sheet", "Projects",
                           "--out", str(tmp_path / "out"))

    assert code == 1
    assert_one_sentence(err)
    assert 'book.xlsx has no sheet "Projects" (it has: Summary)' in err


def test_cli_encoding_override(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "import", str(GMPP_DIR / "gmpp_2023.csv"), "--mapping", "uk-gmpp",
                           "--encoding", "utf-8", "--out", str(tmp_path / "out"))

    assert code == 1
    assert_one_sentence(err)
    assert "cannot be decoded with utf-8 (byte 0x" in err


def test_cli_transpose_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    fields = GMPP_HEADER.strip().split(";")
    values = {"project_number": "A;B", "project_name": "One;Two", "report_category": "ICT;ICT",
              "total_baseline": "1;2"}
    source.write_text("".join(f"{name};{values.get(name, ';')}\n" for name in fields), encoding="utf-8")

    code, _, err = run_cli(capsys, "import", str(source), "--mapping", "uk-gmpp", "--transpose",
                           "--out", str(tmp_path / "out"))

    assert code == 0, err
    assert [row["initiative_id"] for row in read_csv(tmp_path / "out" / "initiatives.csv")] == ["A", "B"]


# --- Scale ---------------------------------------------------------------------------------------


def test_import_100k_rows(tmp_path: Path) -> None:
    lines = ["Project ID,Project,Kind,Budget,RAG,Value %,Start,Phase"]
    ratings = ("Red", "Amber", "Green")
    lines.extend(f'P{i},Project {i},IT,"${i * 10:,}.50",{ratings[i % 3]},{i % 100}%,2024-01-{i % 28 + 1:02d},'
                 for i in range(100_000))
    source = tmp_path / "big.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = import_file(source, quirks_profile(tmp_path), tmp_path / "out")

    assert report.rows_read == 100_000
    assert report.imported == 100_000
    assert report.problems == []
    with (tmp_path / "out" / "initiatives.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 100_000
    assert rows[-1]["cost"] == "999990.50"
    assert rows[-1]["business_value"] == "9.9"
