"""Tests of portfolio.mapping: parse helpers, profiles and importing the real GMPP files.

The expected counts are those documented with the GMPP data, and the
expected values were read by hand from single rows of the source files.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio import mapping
from portfolio.mapping import (
    ImportProblem,
    ImportReport,
    InvalidValueError,
    MappingError,
    MappingProfile,
    clean_text,
    deduplicate_headers,
    first_non_blank,
    format_decimal,
    format_money,
    import_file,
    load_profile,
    map_value,
    normalize_key,
    parse_date,
    parse_decimal,
    parse_money,
    parse_yes_no,
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

    report = import_file(source, profile, tmp_path / "out")

    assert report.rejected == 1
    assert report.problems[0].message.startswith("is below the minimum 0; the row is rejected")


def test_import_blank_required_value(tmp_path: Path) -> None:
    source = write_source(tmp_path, "id;title;kind;budget;rating;notes\nA1;A;IT;;Red;\n")
    profile = load_profile(write_profile(tmp_path))

    report = import_file(source, profile, tmp_path / "out")

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
