"""Tests of portfolio.models: row models, validation errors and warnings of canonical tables.

Each validation test builds a small portfolio with one kind of fault and
compares the whole list of problems as (severity, code, file, row, column,
value, initiative_id) tuples. Row numbers count the header as row 1.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from portfolio.models import (
    AlignmentRow,
    InitiativeRow,
    Portfolio,
    Problem,
    RawTable,
    parse_portfolio,
    portfolio_warnings,
)

Row = dict[str, Any]

THEMES: list[Row] = [
    {"theme_id": "T1", "name": "Cloud", "weight": "3"},
    {"theme_id": "T2", "name": "Data", "weight": "1"},
]
INITIATIVES: list[Row] = [
    {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "100.00",
     "urgency": "6", "risk": "4", "financial_return": "", "technical_necessity": ""},
    {"initiative_id": "I2", "name": "Audit trail", "segment": "compliance", "cost": "50.00",
     "urgency": "8", "risk": "6", "financial_return": "", "technical_necessity": ""},
    {"initiative_id": "I3", "name": "Storage", "segment": "infrastructure", "cost": "30.00",
     "urgency": "2", "risk": "2", "financial_return": "5", "technical_necessity": "7"},
]
ALIGNMENT: list[Row] = [
    {"initiative_id": "I1", "theme_id": "T1", "score": "8", "justification": ""},
    {"initiative_id": "I1", "theme_id": "T2", "score": "4", "justification": ""},
]
BUDGET: list[Row] = [
    {"segment": "strategic", "envelope": "100.00"},
    {"segment": "compliance", "envelope": "40.00"},
]

Located = tuple[str, str, str, int | None, str | None, str | None, str | None]


def raw_table(name: str, rows: list[Row]) -> RawTable:
    """Build a table as the readers return it: every cell text, blank as ""."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [["" if row.get(column) is None else str(row[column]) for column in columns] for row in rows]
    return RawTable(label=f"{name}.csv", frame=pd.DataFrame(cells, columns=columns, dtype=object))


def parse(**changes: list[Row] | None) -> tuple[Portfolio | None, list[Problem]]:
    """Parse the base portfolio with some tables replaced (a list of rows) or removed (None)."""
    tables = {"themes": THEMES, "initiatives": INITIATIVES, "alignment": ALIGNMENT, "budget": BUDGET}
    tables.update(changes)
    return parse_portfolio({name: raw_table(name, rows) for name, rows in tables.items() if rows is not None})


def edit(rows: list[Row], index: int, **values: Any) -> list[Row]:
    """Return a copy of ``rows`` with row ``index`` (0 is the first row under the header) changed."""
    changed = [dict(row) for row in rows]
    changed[index].update(values)
    return changed


def located(problems: list[Problem]) -> list[Located]:
    """Return the problems as comparable tuples, sorted by file, row, column and code."""
    tuples = [(p.severity, p.code, p.file, p.row, p.column, p.value, p.initiative_id) for p in problems]
    return sorted(tuples, key=lambda t: (t[2], t[3] or 0, t[4] or "", t[1]))


# --- the base portfolio --------------------------------------------------------------------------


def test_parse_base_portfolio_has_no_problems() -> None:
    portfolio, problems = parse()

    assert problems == []
    assert portfolio is not None


def test_parse_keeps_file_order_and_row_numbers() -> None:
    portfolio, _ = parse()

    assert list(portfolio.initiatives["initiative_id"]) == ["I1", "I2", "I3"]
    assert list(portfolio.initiatives["row"]) == [2, 3, 4]
    assert list(portfolio.alignment["row"]) == [2, 3]


def test_parse_money_as_integer_cents() -> None:
    initiatives = [
        {**INITIATIVES[0], "cost": "0.10"},
        {**INITIATIVES[1], "cost": "0.20"},
        {**INITIATIVES[2], "cost": "1250.5"},
    ]
    portfolio, problems = parse(initiatives=initiatives, budget=None)

    assert problems == []
    assert list(portfolio.initiatives["cost"]) == [10, 20, 125050]
    assert int(portfolio.initiatives["cost"][:2].sum()) == 30


def test_parse_missing_criterion_is_nan() -> None:
    portfolio, _ = parse()

    assert portfolio.initiatives["financial_return"].isna().tolist() == [True, True, False]


# --- errors ----------------------------------------------------------------------------------------


def test_error_missing_required_column() -> None:
    initiatives = [{k: v for k, v in row.items() if k != "cost"} for row in INITIATIVES]
    portfolio, problems = parse(initiatives=initiatives)

    assert portfolio is None
    assert located(problems) == [("error", "missing_column", "initiatives.csv", 1, "cost", None, None)]


def test_error_missing_required_file() -> None:
    portfolio, problems = parse(alignment=None)

    assert portfolio is None
    assert located(problems) == [("error", "missing_file", "alignment.csv", None, None, None, None)]


def test_error_missing_required_values() -> None:
    initiatives = edit(edit(INITIATIVES, 1, name=""), 2, cost="  ")
    portfolio, problems = parse(initiatives=initiatives)

    assert portfolio is None
    assert located(problems) == [
        ("error", "missing", "initiatives.csv", 3, "name", None, "I2"),
        ("error", "missing", "initiatives.csv", 4, "cost", None, "I3"),
    ]


def test_error_duplicate_initiative_id() -> None:
    initiatives = edit(INITIATIVES, 2, initiative_id="I1")
    portfolio, problems = parse(initiatives=initiatives)

    assert portfolio is None
    assert located(problems) == [
        ("error", "duplicate_initiative", "initiatives.csv", 4, "initiative_id", "I1", "I1"),
    ]


def test_error_duplicate_alignment_pair() -> None:
    alignment = [*ALIGNMENT, {"initiative_id": "I1", "theme_id": "T1", "score": "3", "justification": ""}]
    portfolio, problems = parse(alignment=alignment)

    assert portfolio is None
    assert located(problems) == [
        ("error", "duplicate_alignment", "alignment.csv", 4, "theme_id", "T1", "I1"),
    ]


def test_error_alignment_unknown_initiative_and_theme() -> None:
    alignment = [
        *ALIGNMENT,
        {"initiative_id": "I9", "theme_id": "T1", "score": "3"},
        {"initiative_id": "I2", "theme_id": "T9", "score": "3"},
    ]
    portfolio, problems = parse(alignment=alignment)

    assert portfolio is None
    assert located(problems) == [
        ("error", "unknown_initiative", "alignment.csv", 4, "initiative_id", "I9", "I9"),
        ("error", "unknown_theme", "alignment.csv", 5, "theme_id", "T9", "I2"),
    ]


def test_error_score_outside_range() -> None:
    alignment = [
        {"initiative_id": "I1", "theme_id": "T1", "score": "10.5"},
        {"initiative_id": "I1", "theme_id": "T2", "score": "-1"},
        {"initiative_id": "I2", "theme_id": "T1", "score": "10"},
        {"initiative_id": "I3", "theme_id": "T1", "score": "0", "justification": ""},
    ]
    portfolio, problems = parse(alignment=edit(alignment, 2, justification="Audit is the data platform"))

    assert portfolio is None
    assert located(problems) == [
        ("error", "out_of_range", "alignment.csv", 2, "score", "10.5", "I1"),
        ("error", "out_of_range", "alignment.csv", 3, "score", "-1", "I1"),
    ]


def test_error_score_not_a_number() -> None:
    portfolio, problems = parse(alignment=edit(ALIGNMENT, 0, score="high"))

    assert portfolio is None
    assert located(problems) == [("error", "not_a_number", "alignment.csv", 2, "score", "high", "I1")]


def test_error_negative_cost_weight_envelope() -> None:
    portfolio, problems = parse(
        themes=[*THEMES, {"theme_id": "T3", "name": "Security", "weight": "-1"}],
        initiatives=edit(INITIATIVES, 2, cost="-100.00"),
        budget=edit(BUDGET, 1, envelope="-0.01"),
    )

    assert portfolio is None
    assert located(problems) == [
        ("error", "negative", "budget.csv", 3, "envelope", "-0.01", None),
        ("error", "negative", "initiatives.csv", 4, "cost", "-100.00", "I3"),
        ("error", "negative", "themes.csv", 4, "weight", "-1", None),
    ]


def test_error_negative_lens_weight() -> None:
    lenses = [{"segment": "compliance", "criterion": "risk", "weight": "-0.5"},
              {"segment": "compliance", "criterion": "urgency", "weight": "1"}]
    portfolio, problems = parse(lenses=lenses)

    assert portfolio is None
    assert located(problems) == [("error", "negative", "lenses.csv", 2, "weight", "-0.5", None)]


def test_error_unknown_segment() -> None:
    portfolio, problems = parse(
        initiatives=edit(INITIATIVES, 1, segment="run"),
        budget=[*BUDGET, {"segment": "marketing", "envelope": "10"}],
    )

    assert portfolio is None
    assert located(problems) == [
        ("error", "unknown_segment", "budget.csv", 4, "segment", "marketing", None),
        ("error", "unknown_segment", "initiatives.csv", 3, "segment", "run", "I2"),
    ]


def test_segment_added_by_lens_is_known() -> None:
    lenses = [{"segment": "run", "criterion": "technical_necessity", "weight": "1"}]
    initiatives = edit(INITIATIVES, 2, segment="run")
    portfolio, problems = parse(initiatives=initiatives, lenses=lenses)

    assert problems == []
    assert portfolio.segments == ["strategic", "compliance", "infrastructure", "run"]


def test_error_lens_unknown_criterion() -> None:
    lenses = [{"segment": "compliance", "criterion": "risk", "weight": "1"},
              {"segment": "compliance", "criterion": "speed", "weight": "1"}]
    portfolio, problems = parse(lenses=lenses)

    assert portfolio is None
    assert located(problems) == [("error", "unknown_criterion", "lenses.csv", 3, "criterion", "speed", None)]


def test_error_urgency_unknown_criterion() -> None:
    urgency = [{"criterion": "urgency", "weight": "1"}, {"criterion": "speed", "weight": "1"}]
    portfolio, problems = parse(urgency=urgency)

    assert portfolio is None
    assert located(problems) == [("error", "unknown_criterion", "urgency.csv", 3, "criterion", "speed", None)]


def test_error_lens_all_weights_zero() -> None:
    lenses = [{"segment": "compliance", "criterion": "risk", "weight": "0"},
              {"segment": "compliance", "criterion": "urgency", "weight": "0"}]
    portfolio, problems = parse(lenses=lenses)

    assert portfolio is None
    # The lens spans two rows, so the problem names the segment as its value and no single row.
    assert located(problems) == [("error", "zero_lens", "lenses.csv", None, "weight", "compliance", None)]


def test_error_must_fund_with_force_out() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 1, must_fund="yes", force_out="TRUE"))

    assert portfolio is None
    assert located(problems) == [("error", "must_fund_and_force_out", "initiatives.csv", 3, None, None, "I2")]
    assert "must_fund" in problems[0].message
    assert "force_out" in problems[0].message


def test_error_capex_opex_not_cost() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 1, capex="30.00", opex="10.00"))

    assert portfolio is None
    assert located(problems) == [("error", "capex_opex_mismatch", "initiatives.csv", 3, None, None, "I2")]
    assert "30.00" in problems[0].message
    assert "10.00" in problems[0].message
    assert "50.00" in problems[0].message


def test_capex_opex_adding_to_cost_loads() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 0, capex="60.01", opex="39.99"))

    assert problems == []
    assert portfolio.initiatives["capex"][0] == 6001


def test_capex_alone_needs_no_opex() -> None:
    _, problems = parse(initiatives=edit(INITIATIVES, 0, capex="12.00", opex=""))

    assert problems == []


def test_error_cost_not_a_number() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 1, cost="1,2O0"))

    assert portfolio is None
    assert located(problems) == [("error", "not_a_number", "initiatives.csv", 3, "cost", "1,2O0", "I2")]
    assert '"1,2O0"' in problems[0].message


def test_error_cost_below_a_cent() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 1, cost="50.005"))

    assert portfolio is None
    assert located(problems) == [("error", "too_precise", "initiatives.csv", 3, "cost", "50.005", "I2")]


def test_error_cost_beyond_int64() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 1, cost="1e20"))

    assert portfolio is None
    assert [(p.severity, p.file, p.row, p.column, p.value, p.initiative_id) for p in problems] == [
        ("error", "initiatives.csv", 3, "cost", "1e20", "I2"),
    ]


def test_error_yes_no_unreadable() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 2, must_fund="maybe"))

    assert portfolio is None
    assert located(problems) == [("error", "not_yes_no", "initiatives.csv", 4, "must_fund", "maybe", "I3")]


@pytest.mark.parametrize("text", ["31/01/2027", "2027-1-31", "2027-02-30", "20270131", "2027-01-31T10:00"])
def test_error_date_not_iso(text: str) -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 2, start_date=text))

    assert portfolio is None
    assert located(problems) == [("error", "not_a_date", "initiatives.csv", 4, "start_date", text, "I3")]


def test_error_each_bad_row_reported() -> None:
    initiatives = [
        INITIATIVES[0],
        edit(INITIATIVES, 1, deadline="2027/06/30")[1],
        edit(INITIATIVES, 2, risk="11")[2],
        {"initiative_id": "I4", "name": "Portal", "segment": "compliance", "cost": "abc"},
    ]
    portfolio, problems = parse(initiatives=initiatives)

    assert portfolio is None
    assert located(problems) == [
        ("error", "not_a_date", "initiatives.csv", 3, "deadline", "2027/06/30", "I2"),
        ("error", "out_of_range", "initiatives.csv", 4, "risk", "11", "I3"),
        ("error", "not_a_number", "initiatives.csv", 5, "cost", "abc", "I4"),
    ]


def test_error_bad_initiative_not_called_unknown() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 0, cost="1,2O0"))

    assert portfolio is None
    assert located(problems) == [("error", "not_a_number", "initiatives.csv", 2, "cost", "1,2O0", "I1")]


def test_error_bad_theme_not_called_unknown() -> None:
    portfolio, problems = parse(themes=edit(THEMES, 0, weight="high"))

    assert portfolio is None
    assert located(problems) == [("error", "not_a_number", "themes.csv", 2, "weight", "high", None)]


def test_problem_describe_names_location() -> None:
    _, problems = parse(initiatives=edit(INITIATIVES, 1, cost="1,2O0"))
    line = problems[0].describe()

    assert line.startswith('initiatives.csv, row 3, column "cost" (I2): ')
    assert '"1,2O0" is not a number' in line


# --- warnings --------------------------------------------------------------------------------------


def test_warning_unjustified_high_score() -> None:
    alignment = [*ALIGNMENT,
                 {"initiative_id": "I2", "theme_id": "T1", "score": "9", "justification": " "},
                 {"initiative_id": "I3", "theme_id": "T1", "score": "10", "justification": "Hosts the lakehouse"}]
    portfolio, problems = parse(alignment=alignment)

    assert portfolio is not None
    assert located(problems) == [
        ("warning", "unjustified_high_score", "alignment.csv", 4, "justification", "9", "I2"),
    ]


def test_warning_unjustified_follows_threshold_setting() -> None:
    settings = [{"key": "justification_threshold", "value": "8"}]
    portfolio, problems = parse(settings=settings)

    assert portfolio is not None
    assert located(problems) == [
        ("warning", "unjustified_high_score", "alignment.csv", 2, "justification", "8", "I1"),
    ]


def test_warning_score_below_threshold_not_flagged() -> None:
    _, problems = parse(alignment=edit(ALIGNMENT, 0, score="8.999"))

    assert problems == []


def test_portfolio_warnings_after_settings_change() -> None:
    portfolio, _ = parse()
    warnings = portfolio_warnings(portfolio.with_settings(justification_threshold=4.0))

    assert located(warnings) == [
        ("warning", "unjustified_high_score", "alignment.csv", 2, "justification", "8", "I1"),
        ("warning", "unjustified_high_score", "alignment.csv", 3, "justification", "4", "I1"),
    ]


def test_warning_missing_criterion() -> None:
    initiatives = edit(edit(INITIATIVES, 1, risk=""), 2, technical_necessity="")
    portfolio, problems = parse(initiatives=initiatives)

    assert portfolio is not None
    assert located(problems) == [
        ("warning", "missing_criterion", "initiatives.csv", 3, "risk", None, "I2"),
        ("warning", "missing_criterion", "initiatives.csv", 4, "technical_necessity", None, "I3"),
    ]


def test_warning_must_fund_overrun() -> None:
    budget = edit(BUDGET, 1, envelope="49.99")
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 1, must_fund="y"), budget=budget)

    assert portfolio is not None
    assert located(problems) == [("warning", "must_fund_overrun", "budget.csv", None, "envelope", "49.99", None)]
    assert "compliance" in problems[0].message
    assert "0.01" in problems[0].message


def test_must_fund_within_envelope_no_warning() -> None:
    budget = edit(BUDGET, 1, envelope="50.00")
    _, problems = parse(initiatives=edit(INITIATIVES, 1, must_fund="y"), budget=budget)

    assert problems == []


def test_warning_strategic_without_alignment() -> None:
    initiatives = [*INITIATIVES, {"initiative_id": "I4", "name": "Portal", "segment": "strategic",
                                  "cost": "10", "urgency": "1", "risk": "1"}]
    alignment = [*ALIGNMENT, {"initiative_id": "I4", "theme_id": "T2", "score": "0"}]
    portfolio, problems = parse(initiatives=initiatives, alignment=alignment)

    assert portfolio is not None
    assert located(problems) == [("warning", "no_alignment", "initiatives.csv", 5, "initiative_id", "I4", "I4")]


def test_warning_zero_cost() -> None:
    portfolio, problems = parse(initiatives=edit(INITIATIVES, 2, cost="0"))

    assert portfolio is not None
    assert located(problems) == [("warning", "zero_cost", "initiatives.csv", 4, "cost", "0.00", "I3")]


def test_warning_theme_weight_zero() -> None:
    portfolio, problems = parse(themes=edit(THEMES, 1, weight="0"))

    assert portfolio is not None
    assert located(problems) == [("warning", "zero_weight", "themes.csv", 3, "weight", "0", None)]


# --- extra columns ---------------------------------------------------------------------------------


def test_extra_columns_kept() -> None:
    initiatives = [edit(INITIATIVES, 0, owner="Ann", cost_centre="CC-1")[0],
                   edit(INITIATIVES, 1, owner="", cost_centre="CC-2")[1],
                   INITIATIVES[2]]
    portfolio, problems = parse(initiatives=initiatives)

    assert problems == []
    assert portfolio.extra_columns == ("owner", "cost_centre")
    assert portfolio.initiatives["extra"][0] == {"owner": "Ann", "cost_centre": "CC-1"}
    assert portfolio.initiatives["extra"][1] == {"owner": "", "cost_centre": "CC-2"}


# --- row models ------------------------------------------------------------------------------------


def initiative(**values: Any) -> InitiativeRow:
    fields = {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "100"}
    return InitiativeRow(**{**fields, **values})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True), ("TRUE", True), ("yes", True), ("Yes", True), ("y", True), ("Y", True), ("1", True),
        ("false", False), ("False", False), ("no", False), ("NO", False), ("n", False), ("N", False),
        ("0", False), ("", False), ("  ", False), (None, False),
    ],
)
def test_initiative_row_yes_no(text: str | None, expected: bool) -> None:
    assert initiative(must_fund=text).must_fund is expected


@pytest.mark.parametrize("text", ["maybe", "2", "t", "oui"])
def test_initiative_row_yes_no_rejects(text: str) -> None:
    with pytest.raises(ValidationError, match="not yes or no"):
        initiative(force_out=text)


@pytest.mark.parametrize("text", ["2027-01-31", "2028-02-29", " 2027-12-01 "])
def test_initiative_row_iso_date(text: str) -> None:
    assert initiative(deadline=text).deadline == text.strip()


@pytest.mark.parametrize("text", ["01/31/2027", "31.01.2027", "2027-13-01", "2027-02-29", "Jan 31 2027"])
def test_initiative_row_date_rejects(text: str) -> None:
    with pytest.raises(ValidationError, match="is not a date"):
        initiative(end_date=text)


def test_initiative_row_cost_in_cents() -> None:
    assert initiative(cost="1250.50").cost == 125050


def test_initiative_row_cost_typo_names_value() -> None:
    with pytest.raises(ValidationError, match='"1,2O0" is not a number'):
        initiative(cost="1,2O0")


def test_initiative_row_keeps_extra_fields() -> None:
    assert initiative(owner="Ann").model_extra == {"owner": "Ann"}


def test_initiative_row_segment_lowercased() -> None:
    assert initiative(segment=" Strategic ").segment == "strategic"


def test_alignment_row_score_range() -> None:
    with pytest.raises(ValidationError, match="outside 0–10"):
        AlignmentRow(initiative_id="I1", theme_id="T1", score="10.01")


def test_alignment_row_accepts_bounds() -> None:
    low = AlignmentRow(initiative_id="I1", theme_id="T1", score="0")
    high = AlignmentRow(initiative_id="I1", theme_id="T1", score="10", justification="Core of the theme")

    assert low.score == 0.0
    assert high.score == 10.0
