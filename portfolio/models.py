"""Typed models of a portfolio and the validation of canonical files.

A canonical portfolio arrives as raw tables of text (one per file or sheet,
see :mod:`portfolio.importing`). :func:`parse_portfolio` turns them into a
:class:`Portfolio` of typed data frames, or reports every problem it finds.
Row models (pydantic) check one row at a time; cross-row rules (duplicates,
unknown references) and the warnings run on whole columns.

Money is held as integer cents (``int64``) from the moment it is parsed, so
totals reconcile exactly. Row numbers in problems count the header as row 1,
as a spreadsheet shows them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from portfolio.formatting import money

CRITERIA: tuple[str, ...] = (
    "business_value",
    "urgency",
    "risk",
    "financial_return",
    "technical_necessity",
)
# A lens may also weigh the Strategic Alignment Index itself.
LENS_CRITERIA: tuple[str, ...] = (*CRITERIA, "sai")

DEFAULT_LENSES: dict[str, dict[str, float]] = {
    "strategic": {"sai": 1.0},
    "compliance": {"risk": 0.5, "urgency": 0.5},
    "infrastructure": {"financial_return": 0.5, "technical_necessity": 0.5},
}
DEFAULT_URGENCY: dict[str, float] = {"urgency": 0.5, "risk": 0.5}

TABLES: tuple[str, ...] = (
    "themes",
    "initiatives",
    "alignment",
    "budget",
    "lenses",
    "urgency",
    "settings",
    "dependencies",
    "theme_versions",
)
REQUIRED_TABLES: tuple[str, ...] = ("themes", "initiatives", "alignment")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "themes": ("theme_id", "name", "weight"),
    "initiatives": ("initiative_id", "name", "segment", "cost"),
    "alignment": ("initiative_id", "theme_id", "score"),
    "budget": ("segment", "envelope"),
    "lenses": ("segment", "criterion", "weight"),
    "urgency": ("criterion", "weight"),
    "settings": ("key", "value"),
    "dependencies": ("initiative_id", "requires_id"),
    "theme_versions": ("version", "theme_id", "name", "weight"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "themes": ("objective", "key_results"),
    "initiatives": (
        "must_fund",
        "force_out",
        *CRITERIA,
        "sponsor",
        "business_unit",
        "status",
        "capex",
        "opex",
        "actual_spend",
        "start_date",
        "end_date",
        "deadline",
        "description",
    ),
    "alignment": ("justification",),
    "budget": (),
    "lenses": (),
    "urgency": (),
    "settings": (),
    "dependencies": (),
    "theme_versions": ("objective", "key_results"),
}
TEXT_FIELDS: tuple[str, ...] = ("sponsor", "business_unit", "status", "description")
MONEY_FIELDS: tuple[str, ...] = ("capex", "opex", "actual_spend")
DATE_FIELDS: tuple[str, ...] = ("start_date", "end_date", "deadline")

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    """One finding of validation, located as a spreadsheet user would find it."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    code: str
    file: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    initiative_id: str | None = None
    message: str

    def describe(self) -> str:
        """Return the problem as one line: where, which value, what is wrong."""
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f'column "{self.column}"')
        place = ", ".join(where)
        if self.initiative_id:
            place += f" ({self.initiative_id})"
        return f"{place}: {self.message}"


CycleStatus = Literal["draft", "themes_published", "submissions_open", "submissions_closed", "decided"]


class Settings(BaseModel):
    """Portfolio-wide settings from the optional ``settings`` file."""

    model_config = ConfigDict(extra="forbid")

    alignment_threshold: float = Field(50.0, ge=0, le=100)
    urgency_threshold: float = Field(50.0, ge=0, le=100)
    justification_threshold: float = Field(9.0, ge=0, le=10)
    unjustified_high_scores: Literal["count", "cap"] = "count"
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    cycle: str = Field("Current cycle", min_length=1, max_length=80)
    # None: decided at load, "draft" without themes and "submissions_open" with them.
    cycle_status: CycleStatus | None = None


# Cap applied to unjustified high scores when the setting is "cap".
UNJUSTIFIED_CAP = 8.0

# --- value parsers -----------------------------------------------------------

# Plain decimal notation only: no thousands separators, no exponent.
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")

# The largest amount DECIMAL(18,2) holds; larger money is rejected at validation.
MAX_AMOUNT = Decimal("9999999999999999.99")


def is_blank(value: Any) -> bool:
    """Tell whether a cell is empty: None, NaN or only whitespace."""
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_decimal(value: Any) -> Decimal:
    """Parse a plain decimal number such as ``1250.50``; raise ``ValueError`` otherwise."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            raise ValueError(f"{value!r} is not a number")
        return Decimal(repr(value))
    text = str(value).strip()
    if not _PLAIN_NUMBER.match(text):
        raise ValueError(f'"{text}" is not a number')
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid text
        raise ValueError(f'"{text}" is not a number') from exc


def _decimals(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _to_money(value: Any) -> int:
    """Parse money into integer cents; at most two decimal places, never negative."""
    try:
        number = parse_decimal(value)
    except ValueError as exc:
        raise PydanticCustomError("not_a_number", "{text}; write a plain amount such as 1250.50",
                                  {"text": str(exc)}) from exc
    if number < 0:
        raise PydanticCustomError("negative", '"{value}" is negative; amounts must be 0 or more',
                                  {"value": str(value).strip()})
    if _decimals(number) > 2:
        raise PydanticCustomError("too_precise",
                                  '"{value}" has more than 2 decimal places; round it to the cent',
                                  {"value": str(value).strip()})
    if number > MAX_AMOUNT:
        raise PydanticCustomError("too_large", '"{value}" is too large; the largest amount is {limit}',
                                  {"value": str(value).strip(), "limit": str(MAX_AMOUNT)})
    return int(number * 100)


def _to_score(value: Any) -> float:
    """Parse a 0–10 score with at most 3 decimal places."""
    try:
        number = parse_decimal(value)
    except ValueError as exc:
        raise PydanticCustomError("not_a_number", "{text}; write a score from 0 to 10",
                                  {"text": str(exc)}) from exc
    if not Decimal(0) <= number <= Decimal(10):
        raise PydanticCustomError("out_of_range", '"{value}" is outside 0–10; write a score from 0 to 10',
                                  {"value": str(value).strip()})
    if _decimals(number) > 3:
        raise PydanticCustomError("too_precise",
                                  '"{value}" has more than 3 decimal places; round it',
                                  {"value": str(value).strip()})
    return float(number)


def _to_weight(value: Any) -> float:
    try:
        number = parse_decimal(value)
    except ValueError as exc:
        raise PydanticCustomError("not_a_number", "{text}; write a weight of 0 or more",
                                  {"text": str(exc)}) from exc
    if number < 0:
        raise PydanticCustomError("negative", '"{value}" is negative; weights must be 0 or more',
                                  {"value": str(value).strip()})
    return float(number)


_YES = {"true", "yes", "y", "1"}
_NO = {"false", "no", "n", "0", ""}


def parse_yes_no(value: Any) -> bool:
    """Parse a yes/no cell: true/false, yes/no, y/n, 1/0 in any case; blank is no."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise PydanticCustomError("not_yes_no", '"{value}" is not yes or no; write yes, no, true or false',
                              {"value": str(value).strip()})


def _to_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text).isoformat() if len(text) == 10 else _bad_date(text)
    except ValueError:
        return _bad_date(text)


def _bad_date(text: str) -> str:
    raise PydanticCustomError("not_a_date", '"{value}" is not a date; write it as yyyy-mm-dd',
                              {"value": text})


def _blank_to_none(value: Any) -> Any:
    return None if is_blank(value) else value


def _required_text(value: Any) -> str:
    if is_blank(value):
        raise PydanticCustomError("missing", "the value is missing; fill it in")
    return str(value).strip()


def _optional_text(value: Any) -> str | None:
    return None if is_blank(value) else str(value).strip()


def _lower_text(value: Any) -> str:
    return _required_text(value).lower()


RequiredText = Annotated[str, BeforeValidator(_required_text)]
LowerText = Annotated[str, BeforeValidator(_lower_text)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
Cents = Annotated[int, BeforeValidator(lambda v: _to_money(_required(v)))]
OptionalCents = Annotated[int | None, BeforeValidator(lambda v: None if is_blank(v) else _to_money(v))]
Score = Annotated[float, BeforeValidator(lambda v: _to_score(_required(v)))]
OptionalScore = Annotated[float | None, BeforeValidator(lambda v: None if is_blank(v) else _to_score(v))]
Weight = Annotated[float, BeforeValidator(lambda v: _to_weight(_required(v)))]
YesNo = Annotated[bool, BeforeValidator(parse_yes_no)]
OptionalDate = Annotated[str | None, BeforeValidator(lambda v: None if is_blank(v) else _to_date(v))]


def _required(value: Any) -> Any:
    if is_blank(value):
        raise PydanticCustomError("missing", "the value is missing; fill it in")
    return value


# --- row models ----------------------------------------------------------------


class ThemeRow(BaseModel):
    """One strategic theme: an OKR objective with its raw weight."""

    model_config = ConfigDict(extra="ignore")

    theme_id: RequiredText
    name: RequiredText
    weight: Weight
    objective: OptionalText = None
    key_results: OptionalText = None


class InitiativeRow(BaseModel):
    """One initiative as a file row or a form submits it; money in cents."""

    model_config = ConfigDict(extra="allow")

    initiative_id: RequiredText
    name: RequiredText
    segment: LowerText
    cost: Cents
    must_fund: YesNo = False
    force_out: YesNo = False
    business_value: OptionalScore = None
    urgency: OptionalScore = None
    risk: OptionalScore = None
    financial_return: OptionalScore = None
    technical_necessity: OptionalScore = None
    sponsor: OptionalText = None
    business_unit: OptionalText = None
    status: OptionalText = None
    capex: OptionalCents = None
    opex: OptionalCents = None
    actual_spend: OptionalCents = None
    start_date: OptionalDate = None
    end_date: OptionalDate = None
    deadline: OptionalDate = None
    description: OptionalText = None

    @model_validator(mode="after")
    def _consistent(self) -> InitiativeRow:
        if self.must_fund and self.force_out:
            raise PydanticCustomError(
                "must_fund_and_force_out",
                "must_fund and force_out are both set; an initiative cannot be forced in and out",
            )
        if self.capex is not None and self.opex is not None and self.capex + self.opex != self.cost:
            raise PydanticCustomError(
                "capex_opex_mismatch",
                "capex {capex} + opex {opex} does not equal cost {cost}; correct one of the three",
                {"capex": _fmt_cents(self.capex), "opex": _fmt_cents(self.opex),
                 "cost": _fmt_cents(self.cost)},
            )
        return self


class AlignmentRow(BaseModel):
    """One alignment score: how strongly an initiative serves a theme, 0–10."""

    model_config = ConfigDict(extra="ignore")

    initiative_id: RequiredText
    theme_id: RequiredText
    score: Score
    justification: OptionalText = None


class BudgetRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    segment: LowerText
    envelope: Cents


class LensRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    segment: LowerText
    criterion: LowerText
    weight: Weight


class UrgencyRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    criterion: LowerText
    weight: Weight


class SettingRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: LowerText
    value: OptionalText = None


class DependencyRow(BaseModel):
    """Initiative ``initiative_id`` can only be funded together with ``requires_id``."""

    model_config = ConfigDict(extra="ignore")

    initiative_id: RequiredText
    requires_id: RequiredText


class ThemeVersionRow(ThemeRow):
    """One theme of an earlier, published version of the theme set."""

    version: Annotated[int, Field(ge=1)]


ROW_MODELS: dict[str, type[BaseModel]] = {
    "themes": ThemeRow,
    "initiatives": InitiativeRow,
    "alignment": AlignmentRow,
    "budget": BudgetRow,
    "lenses": LensRow,
    "urgency": UrgencyRow,
    "settings": SettingRow,
    "dependencies": DependencyRow,
    "theme_versions": ThemeVersionRow,
}


def _fmt_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def format_cents(cents: int) -> str:
    """Format integer cents as a plain decimal amount, e.g. ``125050`` as ``1250.50``."""
    return _fmt_cents(int(cents))


# --- the portfolio -------------------------------------------------------------


@dataclass(frozen=True)
class RawTable:
    """One file or sheet as read: every cell as text, blank as ``""``."""

    label: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio as typed data frames.

    ``initiatives`` keeps the file order and holds ``cost`` and the other money
    columns in integer cents, criteria as floats with NaN where missing, and
    ``extra`` (a dict per row) for the unknown columns of the file. Every frame
    carries ``row``, the row number the item had in its file (None for items
    added in the app).
    """

    themes: pd.DataFrame
    initiatives: pd.DataFrame
    alignment: pd.DataFrame
    envelopes: dict[str, int]
    lenses: dict[str, dict[str, float]]
    urgency: dict[str, float]
    settings: Settings
    source: str = ""
    extra_columns: tuple[str, ...] = field(default_factory=tuple)
    dependencies: pd.DataFrame = field(default_factory=lambda: empty_frame(DEPENDENCY_COLUMNS))
    file_labels: dict[str, str] = field(default_factory=dict)
    theme_history: pd.DataFrame = field(default_factory=lambda: empty_frame(THEME_HISTORY_COLUMNS))

    # The version number of ``themes``; 0 means one more than the newest version in ``theme_history``.
    current_version: int = 0

    @property
    def theme_version(self) -> int:
        """Return the number of the theme set in ``themes``."""
        if self.current_version:
            return self.current_version
        if self.theme_history.empty:
            return 1
        return int(self.theme_history["version"].max()) + 1

    def label(self, table: str) -> str:
        """Return how messages name a table: its file or sheet as read, else ``<table>.csv``."""
        return self.file_labels.get(table, f"{table}.csv")

    @property
    def segments(self) -> list[str]:
        """Known segments: those with a lens, in the order lenses define them."""
        return list(self.lenses)

    @property
    def theme_weights(self) -> dict[str, float]:
        return dict(zip(self.themes["theme_id"], self.themes["weight"], strict=True))

    def with_settings(self, **changes: Any) -> Portfolio:
        return replace(self, settings=self.settings.model_copy(update=changes))


THEME_COLUMNS = ("theme_id", "name", "weight", "objective", "key_results", "row")
INITIATIVE_COLUMNS = (
    "initiative_id",
    "name",
    "segment",
    "cost",
    "must_fund",
    "force_out",
    *CRITERIA,
    *TEXT_FIELDS,
    *MONEY_FIELDS,
    *DATE_FIELDS,
    "extra",
    "row",
)
ALIGNMENT_COLUMNS = ("initiative_id", "theme_id", "score", "justification", "row")
DEPENDENCY_COLUMNS = ("initiative_id", "requires_id", "row")
THEME_HISTORY_COLUMNS = ("version", "theme_id", "name", "weight", "objective", "key_results")


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})


def _validate_rows(
    table: RawTable, model: type[BaseModel], problems: list[Problem]
) -> list[tuple[int, BaseModel]]:
    """Validate each row; return (row number, model) for the valid ones."""
    records = table.frame.to_dict("records")
    numbers = row_numbers(table)
    adapter = TypeAdapter(list[model])
    try:
        return [(numbers[index], item) for index, item in enumerate(adapter.validate_python(records))]
    except ValidationError as exc:
        failed: set[int] = set()
        for error in exc.errors():
            index = error["loc"][0]
            failed.add(index)
            record = records[index]
            column = str(error["loc"][1]) if len(error["loc"]) > 1 else None
            value = record.get(column) if column else None
            item_id = record.get("initiative_id") or None
            problems.append(
                Problem(
                    severity="error",
                    code=error["type"],
                    file=table.label,
                    row=numbers[index],
                    column=column,
                    value=None if is_blank(value) else str(value),
                    initiative_id=str(item_id).strip() if item_id else None,
                    message=_error_message(error),
                )
            )
        valid = []
        for index, record in enumerate(records):
            if index not in failed:
                valid.append((numbers[index], model.model_validate(record)))
        return valid


def row_numbers(table: RawTable) -> list[int]:
    """Return the spreadsheet row number of each row: the frame's index when readers set it, else position + 2."""
    index = table.frame.index
    if index.dtype.kind == "i" and index.name == "row":
        return [int(v) for v in index]
    return list(range(2, len(index) + 2))


def _error_message(error: dict[str, Any]) -> str:
    message = error["msg"]
    # pydantic prefixes custom messages raised in validators with "Value error, ".
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


def _check_columns(table: RawTable, name: str, problems: list[Problem]) -> bool:
    columns = list(table.frame.columns)
    ok = True
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            problems.append(Problem(severity="error", code="duplicate_column", file=table.label,
                                    row=1, column=column,
                                    message="the header names this column twice; rename or remove one"))
            ok = False
        seen.add(column)
    for column in REQUIRED_COLUMNS[name]:
        if column not in seen:
            problems.append(Problem(severity="error", code="missing_column", file=table.label, row=1,
                                    column=column,
                                    message=f'the required column "{column}" is missing; add it to the header'))
            ok = False
    return ok


def _duplicates(values: list[str]) -> list[int]:
    seen: set[str] = set()
    repeated = []
    for index, value in enumerate(values):
        if value in seen:
            repeated.append(index)
        seen.add(value)
    return repeated


def parse_portfolio(tables: dict[str, RawTable], source: str = "") -> tuple[Portfolio | None, list[Problem]]:
    """Validate raw canonical tables and build the portfolio.

    Returns the portfolio (None when any error was found) and every problem,
    errors and warnings, in file order.
    """
    problems: list[Problem] = []
    for name in REQUIRED_TABLES:
        if name not in tables:
            problems.append(Problem(severity="error", code="missing_file", file=f"{name}.csv",
                                    message=f'the required file or sheet "{name}" is missing; '
                                            "add it, with a header row at least"))
    usable = {name: t for name, t in tables.items() if name in TABLES and _check_columns(t, name, problems)}
    if any(p.severity == "error" for p in problems):
        return None, problems

    rows = {name: _validate_rows(usable[name], ROW_MODELS[name], problems) if name in usable else []
            for name in TABLES}

    settings = _parse_settings(rows["settings"], usable.get("settings"), problems)
    lenses = _parse_lenses(rows["lenses"], usable.get("lenses"), problems)
    urgency = _parse_urgency(rows["urgency"], usable.get("urgency"), problems)

    themes = _themes_frame(rows["themes"], usable["themes"], problems)
    history = _history_frame(rows["theme_versions"], usable.get("theme_versions"), problems)
    # Ids of rows rejected for other reasons still count as known, so that one bad row does not also
    # report every alignment row naming it. Alignment to a theme of an earlier version is kept as
    # history; scoring uses the current set only.
    theme_ids = {str(v).strip() for v in usable["themes"].frame["theme_id"] if not is_blank(v)}
    theme_ids |= set(history["theme_id"])
    initiatives = _initiatives_frame(rows["initiatives"], usable["initiatives"], lenses, problems)
    initiative_ids = {str(v).strip() for v in usable["initiatives"].frame["initiative_id"] if not is_blank(v)}
    alignment = _alignment_frame(rows["alignment"], usable["alignment"], initiative_ids, theme_ids, problems)
    dependencies = _dependencies_frame(rows["dependencies"], usable.get("dependencies"), initiative_ids, problems)
    envelopes = _parse_budget(rows["budget"], usable.get("budget"), lenses, problems)

    if any(p.severity == "error" for p in problems):
        return None, problems

    known = set(REQUIRED_COLUMNS["initiatives"]) | set(OPTIONAL_COLUMNS["initiatives"])
    extra_columns = tuple(c for c in usable["initiatives"].frame.columns if c not in known)
    portfolio = Portfolio(
        themes=themes,
        initiatives=initiatives,
        alignment=alignment,
        envelopes=envelopes,
        lenses=lenses,
        urgency=urgency,
        settings=settings,
        source=source,
        extra_columns=extra_columns,
        dependencies=dependencies,
        file_labels={name: table.label for name, table in tables.items()},
        theme_history=history,
    )
    problems.extend(portfolio_warnings(portfolio))
    return portfolio, problems


def _parse_settings(rows, table: RawTable | None, problems: list[Problem]) -> Settings:
    values: dict[str, str] = {}
    for row_number, row in rows:
        if row.key not in Settings.model_fields:
            problems.append(Problem(severity="warning", code="unknown_setting", file=table.label,
                                    row=row_number, column="key", value=row.key,
                                    message=f'"{row.key}" is not a known setting and is ignored; known: '
                                            + ", ".join(Settings.model_fields)))
            continue
        values[row.key] = row.value
        values.setdefault("_row_" + row.key, row_number)
    clean = {k: v for k, v in values.items() if not k.startswith("_row_") and v is not None}
    try:
        return Settings.model_validate(clean)
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0])
            problems.append(Problem(severity="error", code="invalid_setting", file=table.label,
                                    row=values.get("_row_" + key), column="value",
                                    value=str(clean.get(key)),
                                    message=f'setting "{key}": {_error_message(error)}'))
        return Settings()


def _parse_lenses(rows, table: RawTable | None, problems: list[Problem]) -> dict[str, dict[str, float]]:
    lenses = {segment: dict(weights) for segment, weights in DEFAULT_LENSES.items()}
    given: dict[str, dict[str, float]] = {}
    for row_number, row in rows:
        if row.criterion not in LENS_CRITERIA:
            problems.append(Problem(severity="error", code="unknown_criterion", file=table.label,
                                    row=row_number, column="criterion", value=row.criterion,
                                    message=f'"{row.criterion}" is not a criterion; use one of '
                                            + ", ".join(LENS_CRITERIA)))
            continue
        lens = given.setdefault(row.segment, {})
        if row.criterion in lens:
            problems.append(Problem(severity="error", code="duplicate_lens_row", file=table.label,
                                    row=row_number, column="criterion", value=row.criterion,
                                    message=f'segment "{row.segment}" names "{row.criterion}" twice; keep one row'))
            continue
        lens[row.criterion] = row.weight
    for segment, lens in given.items():
        if sum(lens.values()) <= 0:
            problems.append(Problem(severity="error", code="zero_lens", file=table.label,
                                    column="weight", value=segment,
                                    message=f'every weight of the lens of segment "{segment}" is zero; '
                                            "give at least one criterion a weight above zero"))
        lenses[segment] = lens
    return lenses


def _parse_urgency(rows, table: RawTable | None, problems: list[Problem]) -> dict[str, float]:
    if not rows:
        return dict(DEFAULT_URGENCY)
    weights: dict[str, float] = {}
    for row_number, row in rows:
        if row.criterion not in CRITERIA:
            problems.append(Problem(severity="error", code="unknown_criterion", file=table.label,
                                    row=row_number, column="criterion", value=row.criterion,
                                    message=f'"{row.criterion}" is not a criterion; use one of '
                                            + ", ".join(CRITERIA)))
            continue
        if row.criterion in weights:
            problems.append(Problem(severity="error", code="duplicate_urgency_row", file=table.label,
                                    row=row_number, column="criterion", value=row.criterion,
                                    message=f'"{row.criterion}" appears twice; keep one row'))
            continue
        weights[row.criterion] = row.weight
    if weights and sum(weights.values()) <= 0:
        problems.append(Problem(severity="error", code="zero_lens", file=table.label, column="weight",
                                message="every urgency weight is zero; give at least one criterion "
                                        "a weight above zero"))
    return weights


def _parse_budget(rows, table: RawTable | None, lenses, problems: list[Problem]) -> dict[str, int]:
    envelopes: dict[str, int] = {}
    for row_number, row in rows:
        if row.segment not in lenses:
            problems.append(_unknown_segment(table.label, row_number, row.segment, lenses))
            continue
        if row.segment in envelopes:
            problems.append(Problem(severity="error", code="duplicate_envelope", file=table.label,
                                    row=row_number, column="segment", value=row.segment,
                                    message=f'segment "{row.segment}" has two envelopes; keep one row'))
            continue
        envelopes[row.segment] = row.envelope
    return envelopes


def _unknown_segment(label: str, row_number: int, segment: str, lenses, initiative_id=None) -> Problem:
    return Problem(severity="error", code="unknown_segment", file=label, row=row_number,
                   column="segment", value=segment, initiative_id=initiative_id,
                   message=f'"{segment}" is not a segment with a lens; use one of '
                           + ", ".join(lenses) + " or add its lens to the lenses file")


def _themes_frame(rows, table: RawTable, problems: list[Problem]) -> pd.DataFrame:
    if not rows:
        return empty_frame(THEME_COLUMNS).astype({"weight": float})
    ids = [row.theme_id for _, row in rows]
    for index in _duplicates(ids):
        problems.append(Problem(severity="error", code="duplicate_theme", file=table.label,
                                row=rows[index][0], column="theme_id", value=ids[index],
                                message=f'theme_id "{ids[index]}" appears more than once; ids must be unique'))
    frame = pd.DataFrame([row.model_dump() for _, row in rows])
    frame["row"] = [number for number, _ in rows]
    frame["weight"] = frame["weight"].astype(float)
    return frame[list(THEME_COLUMNS)]


def _initiatives_frame(rows, table: RawTable, lenses, problems: list[Problem]) -> pd.DataFrame:
    if not rows:
        return _typed_initiatives(empty_frame(INITIATIVE_COLUMNS))
    ids = [row.initiative_id for _, row in rows]
    for index in _duplicates(ids):
        problems.append(Problem(severity="error", code="duplicate_initiative", file=table.label,
                                row=rows[index][0], column="initiative_id", value=ids[index],
                                initiative_id=ids[index],
                                message=f'initiative_id "{ids[index]}" appears more than once; '
                                        "ids must be unique"))
    for row_number, row in rows:
        if row.segment not in lenses:
            problems.append(_unknown_segment(table.label, row_number, row.segment, lenses,
                                             row.initiative_id))
    known = set(InitiativeRow.model_fields)
    records = []
    for row_number, row in rows:
        record = {name: getattr(row, name) for name in known}
        record["extra"] = {k: ("" if is_blank(v) else str(v)) for k, v in (row.model_extra or {}).items()}
        record["row"] = row_number
        records.append(record)
    return _typed_initiatives(pd.DataFrame.from_records(records))


def _typed_initiatives(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the initiative columns their dtypes: cents int64, criteria float, flags bool."""
    frame = frame.copy()
    frame["cost"] = frame["cost"].astype("int64")
    frame["must_fund"] = frame["must_fund"].astype(bool)
    frame["force_out"] = frame["force_out"].astype(bool)
    for name in CRITERIA:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    for name in MONEY_FIELDS:
        frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
    if "extra" not in frame:
        frame["extra"] = [{} for _ in range(len(frame))]
    return frame[list(INITIATIVE_COLUMNS)].reset_index(drop=True)


def _alignment_frame(rows, table: RawTable, known_initiatives: set[str], known_themes: set[str],
                     problems: list[Problem]) -> pd.DataFrame:
    if not rows:
        return empty_frame(ALIGNMENT_COLUMNS).astype({"score": float})
    seen: set[tuple[str, str]] = set()
    for row_number, row in rows:
        if row.initiative_id not in known_initiatives:
            problems.append(Problem(severity="error", code="unknown_initiative", file=table.label,
                                    row=row_number, column="initiative_id", value=row.initiative_id,
                                    initiative_id=row.initiative_id,
                                    message=f'initiative "{row.initiative_id}" is not in the initiatives file; '
                                            "fix the id or add the initiative"))
        if row.theme_id not in known_themes:
            problems.append(Problem(severity="error", code="unknown_theme", file=table.label,
                                    row=row_number, column="theme_id", value=row.theme_id,
                                    initiative_id=row.initiative_id,
                                    message=f'theme "{row.theme_id}" is not in the themes file; '
                                            "fix the id or add the theme"))
        pair = (row.initiative_id, row.theme_id)
        if pair in seen:
            problems.append(Problem(severity="error", code="duplicate_alignment", file=table.label,
                                    row=row_number, column="theme_id", value=row.theme_id,
                                    initiative_id=row.initiative_id,
                                    message=f'initiative "{row.initiative_id}" is scored against theme '
                                            f'"{row.theme_id}" twice; keep one row'))
        seen.add(pair)
    frame = pd.DataFrame([row.model_dump() for _, row in rows])
    frame["row"] = [number for number, _ in rows]
    frame["score"] = frame["score"].astype(float)
    frame["justification"] = frame["justification"].fillna("")
    return frame[list(ALIGNMENT_COLUMNS)]


def _history_frame(rows, table: RawTable | None, problems: list[Problem]) -> pd.DataFrame:
    if not rows:
        return empty_frame(THEME_HISTORY_COLUMNS).astype({"weight": float})
    seen: set[tuple[int, str]] = set()
    for row_number, row in rows:
        key = (row.version, row.theme_id)
        if key in seen:
            problems.append(Problem(severity="error", code="duplicate_theme", file=table.label, row=row_number,
                                    column="theme_id", value=row.theme_id,
                                    message=f'theme "{row.theme_id}" appears twice in version {row.version}; '
                                            "keep one row"))
        seen.add(key)
    frame = pd.DataFrame([row.model_dump() for _, row in rows])
    frame["weight"] = frame["weight"].astype(float)
    return frame[list(THEME_HISTORY_COLUMNS)].sort_values("version", kind="stable").reset_index(drop=True)


def _dependencies_frame(rows, table: RawTable | None, known: set[str], problems: list[Problem]) -> pd.DataFrame:
    if not rows:
        return empty_frame(DEPENDENCY_COLUMNS)
    seen: set[tuple[str, str]] = set()
    for row_number, row in rows:
        for column in ("initiative_id", "requires_id"):
            value = getattr(row, column)
            if value not in known:
                problems.append(Problem(severity="error", code="unknown_initiative", file=table.label,
                                        row=row_number, column=column, value=value, initiative_id=row.initiative_id,
                                        message=f'initiative "{value}" is not in the initiatives file; '
                                                "fix the id or add the initiative"))
        if row.initiative_id == row.requires_id:
            problems.append(Problem(severity="error", code="self_dependency", file=table.label, row=row_number,
                                    column="requires_id", value=row.requires_id, initiative_id=row.initiative_id,
                                    message="an initiative cannot require itself; remove the row"))
        pair = (row.initiative_id, row.requires_id)
        if pair in seen:
            problems.append(Problem(severity="error", code="duplicate_dependency", file=table.label,
                                    row=row_number, column="requires_id", value=row.requires_id,
                                    initiative_id=row.initiative_id,
                                    message="this dependency appears twice; keep one row"))
        seen.add(pair)
    frame = pd.DataFrame([row.model_dump() for _, row in rows])
    frame["row"] = [number for number, _ in rows]
    return frame[list(DEPENDENCY_COLUMNS)]


# --- warnings ------------------------------------------------------------------


def unjustified_mask(alignment: pd.DataFrame, threshold: float) -> pd.Series:
    """Mark alignment rows scored at or above the threshold without a justification."""
    blank = alignment["justification"].fillna("").astype(str).str.strip() == ""
    return (alignment["score"] >= threshold) & blank


def missing_criteria(portfolio: Portfolio) -> pd.DataFrame:
    """List (initiative_id, criterion, row) for criteria an initiative's scores use but lack."""
    initiatives = portfolio.initiatives
    found = []
    for segment, lens in portfolio.lenses.items():
        used = [c for c, w in lens.items() if c != "sai" and w > 0]
        used += [c for c, w in portfolio.urgency.items() if w > 0 and c not in used]
        subset = initiatives[initiatives["segment"] == segment]
        for criterion in used:
            gaps = subset[subset[criterion].isna()]
            found.extend(
                (iid, criterion, row) for iid, row in zip(gaps["initiative_id"], gaps["row"], strict=True)
            )
    return pd.DataFrame(found, columns=["initiative_id", "criterion", "row"])


def portfolio_warnings(portfolio: Portfolio) -> list[Problem]:
    """Return the validation warnings of a loaded portfolio (the data that loads but needs a look)."""
    warnings: list[Problem] = []
    settings = portfolio.settings
    # Scores for themes of earlier versions are history: only the current theme set is checked.
    alignment = portfolio.alignment[portfolio.alignment["theme_id"].isin(set(portfolio.themes["theme_id"]))]
    initiatives = portfolio.initiatives

    flagged = alignment[unjustified_mask(alignment, settings.justification_threshold)]
    effect = ("counts as given" if settings.unjustified_high_scores == "count"
              else f"is capped at {UNJUSTIFIED_CAP:g}")
    for item in flagged.itertuples():
        warnings.append(Problem(severity="warning", code="unjustified_high_score", file=portfolio.label("alignment"),
                                row=_row(item.row), column="justification", value=f"{item.score:g}",
                                initiative_id=item.initiative_id,
                                message=f'score {item.score:g} for theme "{item.theme_id}" has no justification '
                                        f"and {effect}; add a justification or lower the score"))

    for item in missing_criteria(portfolio).itertuples():
        warnings.append(Problem(severity="warning", code="missing_criterion", file=portfolio.label("initiatives"),
                                row=_row(item.row), column=item.criterion, initiative_id=item.initiative_id,
                                message=f'criterion "{item.criterion}" is missing and counts as 0; score it'))

    currency = settings.currency
    for segment, envelope in portfolio.envelopes.items():
        forced = initiatives[(initiatives["segment"] == segment) & initiatives["must_fund"]]
        total = int(forced["cost"].sum())
        if total > envelope:
            warnings.append(Problem(severity="warning", code="must_fund_overrun", file=portfolio.label("budget"),
                                    column="envelope", value=format_cents(envelope),
                                    message=f'must-fund initiatives of segment "{segment}" cost '
                                            f"{money(total, currency, exact=True)}, over its envelope of "
                                            f"{money(envelope, currency, exact=True)} by "
                                            f"{money(total - envelope, currency, exact=True)}"))

    linked = set(alignment.loc[alignment["score"] > 0, "initiative_id"])
    strategic = initiatives[(initiatives["segment"] == "strategic") & ~initiatives["initiative_id"].isin(linked)]
    for item in strategic.itertuples():
        warnings.append(Problem(severity="warning", code="no_alignment", file=portfolio.label("initiatives"),
                                row=_row(item.row), column="initiative_id", value=item.initiative_id,
                                initiative_id=item.initiative_id,
                                message="strategic initiative with no alignment to any theme; "
                                        "score it against the themes it serves"))

    for item in initiatives[initiatives["cost"] == 0].itertuples():
        warnings.append(Problem(severity="warning", code="zero_cost", file=portfolio.label("initiatives"),
                                row=_row(item.row), column="cost", value="0.00",
                                initiative_id=item.initiative_id,
                                message="cost is zero; check that the initiative really costs nothing"))

    for item in portfolio.themes[portfolio.themes["weight"] == 0].itertuples():
        warnings.append(Problem(severity="warning", code="zero_weight", file=portfolio.label("themes"),
                                row=_row(item.row), column="weight", value="0",
                                message=f'theme "{item.theme_id}" has weight zero and does not count in SAI'))
    return warnings


def _row(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def errors_of(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
