"""Import foreign portfolio exports through mapping profiles.

A mapping profile is a TOML data file that describes how to read one kind of export
(encodings, separator, duplicate headers), which source column feeds which
canonical field, how values translate (value maps, money units, date formats),
and which extra canonical tables (lenses, urgency, settings, budget) to write
verbatim. `import_file` applies a profile to one file and writes a canonical
portfolio folder: themes.csv, initiatives.csv and alignment.csv, plus the
extra tables the profile defines.

Every source row is either imported or rejected with its reason, and every
value that could not be used is reported with its row and column.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil
import tomllib
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from portfolio.errors import PortfolioLensError
from portfolio.models import (
    CRITERIA,
    DATE_FIELDS,
    DEFAULT_LENSES,
    MONEY_FIELDS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Settings,
)

logger = logging.getLogger(__name__)

V = TypeVar("V")

PROFILE_DIR = Path(__file__).resolve().parent.parent / "data" / "mappings"
"""Folder of the built-in profiles, found by name.

NOTE: it lies outside the `portfolio` package, so an installed wheel does not
contain it; load a profile by path there.
"""

# The canonical file format, as portfolio.models defines it.
INITIATIVE_COLUMNS = (*REQUIRED_COLUMNS["initiatives"], *OPTIONAL_COLUMNS["initiatives"])
REQUIRED_INITIATIVE_COLUMNS = REQUIRED_COLUMNS["initiatives"]
MONEY_COLUMNS = ("cost", *MONEY_FIELDS)
DATE_COLUMNS = DATE_FIELDS
YES_NO_COLUMNS = ("must_fund", "force_out")
DEFAULT_SEGMENTS = tuple(DEFAULT_LENSES)
SETTING_KEYS = tuple(Settings.model_fields)
THEME_COLUMNS = (*REQUIRED_COLUMNS["themes"], *OPTIONAL_COLUMNS["themes"])
ALIGNMENT_COLUMNS = (*REQUIRED_COLUMNS["alignment"], *OPTIONAL_COLUMNS["alignment"])

CENT = Decimal("0.01")
CRITERION_MIN = Decimal(0)
CRITERION_MAX = Decimal(10)
MAX_VALUE_CHARS = 80
PROFILE_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
YES_WORDS = frozenset({"true", "yes", "y", "1"})
NO_WORDS = frozenset({"false", "no", "n", "0"})


class MappingError(PortfolioLensError, ValueError):
    """A profile or a source file that cannot be imported at all.

    The message names the profile entry, file or value at fault and what to do.
    Problems of single rows are not raised but listed in the ImportReport.
    """


class InvalidValueError(PortfolioLensError, ValueError):
    """A source value that the parse helpers cannot use.

    The message is a predicate that follows the quoted value, for example
    'is not an amount (expected a number such as 1,139.18)'.
    """


# --- Parse helpers: pure functions from source text to canonical values ------------------------


def clean_text(text: str) -> str:
    """Strip surrounding whitespace and normalize line breaks to "\\n".

    Exports written on Windows and re-saved elsewhere mix CRLF, CR and LF inside
    one field (a break may arrive as "\\r\\r\\r\\n"), so every CR becomes a line
    break and runs of more than one blank line shrink to one.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\xa0]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def normalize_key(text: str) -> str:
    """Return the form in which value-map keys are compared.

    Case, runs of whitespace and spaces around "/" do not matter, so "Amber/red",
    "Amber/Red" and "amber / red" are the same key.
    """
    key = " ".join(text.split()).casefold()
    return re.sub(r"\s*/\s*", "/", key)


def parse_decimal(text: str, *, thousands_separator: str = ",", decimal_separator: str = ".") -> Decimal | None:
    """Parse a plain decimal number such as "-1,234.5" exactly.

    Thousands separators, where used, must group the digits by three; an empty
    `thousands_separator` allows none. Returns None for blank text. Raises
    InvalidValueError for anything else that is not a number.
    """
    stripped = text.strip()
    if not stripped:
        return None

    negative = stripped.startswith(("-", "\u2212"))
    if negative:
        stripped = stripped[1:].strip()

    integer_part = r"\d+"
    if thousands_separator:
        integer_part = rf"\d{{1,3}}(?:{re.escape(thousands_separator)}\d{{3}})+|\d+"
    point = re.escape(decimal_separator)
    match = re.fullmatch(rf"(?P<int>{integer_part})?(?:{point}(?P<frac>\d+))?", stripped)
    if match is None or not (match["int"] or match["frac"]):
        raise InvalidValueError("is not a number")

    integer_digits = (match["int"] or "0").replace(thousands_separator or " ", "")
    value = Decimal(f"{integer_digits}.{match['frac'] or '0'}")
    return -value if negative else value


def parse_money(
    text: str,
    *,
    unit: Decimal | int = 1,
    currency_symbols: Sequence[str] = (),
    thousands_separator: str = ",",
    decimal_separator: str = ".",
) -> Decimal | None:
    """Parse an amount such as "£1,139.18" and convert it to the portfolio currency.

    `unit` is the size of one source unit in the portfolio currency (1,000,000
    for amounts in millions). A currency symbol may come before or after the
    number, and a minus sign before or after the symbol. The result is rounded
    to the cent, halves away from zero. Returns None for blank text. Raises
    InvalidValueError for anything else that is not an amount, such as free text.
    """
    stripped = text.strip()
    if not stripped:
        return None

    negative = stripped.startswith(("-", "\u2212"))
    if negative:
        stripped = stripped[1:].strip()

    for symbol in sorted(currency_symbols, key=len, reverse=True):
        if stripped.startswith(symbol):
            stripped = stripped[len(symbol) :].strip()
            break
        if stripped.endswith(symbol):
            stripped = stripped[: -len(symbol)].strip()
            break

    if stripped.startswith(("-", "\u2212")):
        if negative:
            raise InvalidValueError("is not an amount: it has two minus signs")
        negative = True
        stripped = stripped[1:].strip()

    example = f"1{thousands_separator}139{decimal_separator}18"
    if not stripped:
        raise InvalidValueError(f"is not an amount (expected a number such as {example})")
    try:
        number = parse_decimal(stripped, thousands_separator=thousands_separator, decimal_separator=decimal_separator)
    except InvalidValueError:
        raise InvalidValueError(f"is not an amount (expected a number such as {example})") from None

    assert number is not None  # `stripped` is not blank here
    amount = (number * Decimal(unit)).quantize(CENT, rounding=ROUND_HALF_UP)
    return -amount if negative else amount


def parse_date(text: str, formats: Sequence[str] = ("%Y-%m-%d",)) -> date | None:
    """Parse a date written in one of `formats` (strptime codes), trying them in order.

    Returns None for blank text. Raises InvalidValueError for anything else,
    naming the accepted forms.
    """
    stripped = text.strip()
    if not stripped:
        return None

    for date_format in formats:
        try:
            return datetime.strptime(stripped, date_format).date()
        except ValueError:
            continue

    forms = " or ".join(describe_date_format(date_format) for date_format in formats)
    raise InvalidValueError(f"is not a date in the form {forms}")


def describe_date_format(date_format: str) -> str:
    """Return a strptime format as people write it, e.g. "%d.%m.%Y" as "dd.mm.yyyy"."""
    return date_format.replace("%Y", "yyyy").replace("%m", "mm").replace("%d", "dd")


def map_value(text: str, value_map: Mapping[str, V], map_name: str = "") -> V | None:
    """Translate a source value through a value map, comparing keys with normalize_key.

    Returns None for blank text. Raises InvalidValueError for a value the map
    does not contain, naming up to eight of the accepted values.
    """
    if not text.strip():
        return None

    lookup_key = normalize_key(text)
    for key, value in value_map.items():
        if normalize_key(key) == lookup_key:
            return value

    accepted = list(value_map)
    listed = ", ".join(accepted[:8]) + (", …" if len(accepted) > 8 else "")
    name = f' "{map_name}"' if map_name else ""
    raise InvalidValueError(f"is not a value of the map{name} ({listed})")


def parse_yes_no(text: str) -> bool:
    """Parse a yes/no value: true/false, yes/no, y/n or 1/0 in any case; blank is no.

    Raises InvalidValueError for anything else.
    """
    word = text.strip().casefold()
    if not word or word in NO_WORDS:
        return False
    if word in YES_WORDS:
        return True
    raise InvalidValueError("is not a yes/no value (expected true/false, yes/no, y/n or 1/0)")


def format_decimal(value: Decimal) -> str:
    """Format a number without exponent or trailing zeros, e.g. Decimal("5.0") as "5"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def format_money(value: Decimal) -> str:
    """Format an amount as a plain decimal with two places, e.g. 7900000.00."""
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Collapse whitespace to single spaces and cut the text to `limit` characters with "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def deduplicate_headers(names: Sequence[str]) -> list[str]:
    """Rename repeated header names by appending ".1", ".2", … as pandas does.

    The first occurrence keeps its name, so a file with two `colour_rating`
    columns gives `colour_rating` and `colour_rating.1`. A generated name that
    is already taken by another header is skipped.
    """
    used_names = set(names)
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        if name not in seen:
            seen.add(name)
            result.append(name)
            continue

        suffix = 1
        while f"{name}.{suffix}" in used_names:
            suffix += 1
        renamed = f"{name}.{suffix}"
        used_names.add(renamed)
        seen.add(renamed)
        result.append(renamed)
    return result


def first_non_blank(values: Sequence[str]) -> tuple[int, str] | None:
    """Return the position and value of the first value that is not blank, or None."""
    for position, value in enumerate(values):
        if value.strip():
            return position, value
    return None


# --- Profile model -------------------------------------------------------------------------------

ParseKind = Literal["text", "money", "number", "date", "map", "yes_no"]
MapValue = str | int | float | bool


class ReaderOptions(BaseModel):
    """Options for reading the source file."""

    model_config = ConfigDict(extra="forbid")

    encodings: list[str] = Field(default_factory=lambda: ["utf-8-sig", "cp1252"], min_length=1)
    separator: str = Field(default=",", min_length=1, max_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    duplicate_headers: Literal["number", "reject"] = "number"

    @field_validator("encodings")
    @classmethod
    def _check_encodings(cls, encodings: list[str]) -> list[str]:
        for encoding in encodings:
            try:
                "".encode(encoding)
            except LookupError:
                raise ValueError(f'"{encoding}" is not an encoding Python knows') from None
        return encodings


class MoneyFormat(BaseModel):
    """Amount notation of the source and the size of one source unit."""

    model_config = ConfigDict(extra="forbid")

    unit: Decimal = Field(default=Decimal(1), gt=0)
    currency_symbols: list[str] = Field(default_factory=list)
    thousands_separator: str = Field(default=",", max_length=1)
    decimal_separator: str = Field(default=".", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _check_separators(self) -> MoneyFormat:
        if self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator must differ")
        return self


class DateFormats(BaseModel):
    """The strptime formats that source dates may use, tried in order."""

    model_config = ConfigDict(extra="forbid")

    formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"], min_length=1)


class ColumnRule(BaseModel):
    """The rule that fills one output column from the source.

    `source` names one or more source columns (after duplicate headers are
    numbered); the first non-blank of those present in the file is used. At
    least one of them must be in the file unless `source_optional` is set. A
    rule without a source writes its `default` into every row.

    A blank value takes the `default` where one is given. An unusable value
    (one its `parse` rejects) rejects the row when `required` is set, and is
    otherwise replaced by the default or left blank, with a warning.
    """

    model_config = ConfigDict(extra="forbid")

    source: list[str] = Field(default_factory=list)
    parse: ParseKind = "text"
    map: str | None = None
    required: bool = False
    source_optional: bool = False
    default: MapValue | None = None
    unit: Decimal | None = Field(default=None, gt=0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source_as_list(cls, source: object) -> object:
        return [source] if isinstance(source, str) else source

    @model_validator(mode="after")
    def _check_rule(self) -> ColumnRule:
        if self.parse == "map" and self.map is None:
            raise ValueError('parse = "map" needs map = "<name of a value map>"')
        if self.parse != "map" and self.map is not None:
            raise ValueError(f'map is set but parse is "{self.parse}"; set parse = "map"')
        if not self.source and self.default is None:
            raise ValueError("give a source column, a default, or both")
        return self


class LensRow(BaseModel):
    """One criterion weight of a segment's lens."""

    model_config = ConfigDict(extra="forbid")

    segment: str = Field(min_length=1)
    criterion: str
    weight: Decimal = Field(ge=0)

    @field_validator("criterion")
    @classmethod
    def _check_criterion(cls, criterion: str) -> str:
        if criterion not in (*CRITERIA, "sai"):
            raise ValueError(f'"{criterion}" is not a criterion ({", ".join(CRITERIA)}, sai)')
        return criterion


class UrgencyRow(BaseModel):
    """One criterion weight of the urgency score."""

    model_config = ConfigDict(extra="forbid")

    criterion: str
    weight: Decimal = Field(ge=0)

    @field_validator("criterion")
    @classmethod
    def _check_criterion(cls, criterion: str) -> str:
        if criterion not in CRITERIA:
            raise ValueError(f'"{criterion}" is not a criterion ({", ".join(CRITERIA)})')
        return criterion


class BudgetRow(BaseModel):
    """The envelope of one segment, in the portfolio currency."""

    model_config = ConfigDict(extra="forbid")

    segment: str = Field(min_length=1)
    envelope: Decimal = Field(ge=0)


class MappingProfile(BaseModel):
    """A mapping profile: how to turn one kind of foreign export into a canonical portfolio."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    reader: ReaderOptions = Field(default_factory=ReaderOptions)
    money: MoneyFormat = Field(default_factory=MoneyFormat)
    dates: DateFormats = Field(default_factory=DateFormats)
    columns: dict[str, ColumnRule]
    extra_columns: dict[str, ColumnRule] = Field(default_factory=dict)
    value_maps: dict[str, dict[str, MapValue]] = Field(default_factory=dict)
    lenses: list[LensRow] | None = None
    urgency: list[UrgencyRow] | None = None
    settings: dict[str, MapValue] | None = None
    budget: list[BudgetRow] | None = None

    @property
    def segments(self) -> set[str]:
        """The segments that have a lens: the default three and every segment of `lenses`."""
        return set(DEFAULT_SEGMENTS) | {row.segment for row in self.lenses or []}

    @model_validator(mode="after")
    def _check_profile(self) -> MappingProfile:
        self._check_columns()
        self._check_value_maps()
        self._check_tables()
        self._check_defaults()
        return self

    def _check_columns(self) -> None:
        missing = [name for name in REQUIRED_INITIATIVE_COLUMNS if name not in self.columns]
        if missing:
            raise ValueError(f"columns must map the required fields {', '.join(missing)}")

        for target, rule in self.columns.items():
            if target not in INITIATIVE_COLUMNS:
                raise ValueError(
                    f"columns.{target} is not a canonical initiatives column; "
                    f"put a column to keep as it is under [extra_columns.{target}]"
                )
            expected = _expected_parse(target)
            if expected and rule.parse not in expected:
                raise ValueError(
                    f'columns.{target} needs parse = {" or ".join(map(repr, expected))}, not "{rule.parse}"'
                )

        for target in self.extra_columns:
            if target in INITIATIVE_COLUMNS:
                raise ValueError(f"extra_columns.{target} is a canonical column; map it under [columns.{target}]")

    def _check_value_maps(self) -> None:
        for name, value_map in self.value_maps.items():
            keys = Counter(normalize_key(key) for key in value_map)
            clashes = [key for key, count in keys.items() if count > 1]
            if clashes:
                raise ValueError(
                    f"value_maps.{name} has keys that differ only in case or spacing: " + ", ".join(clashes)
                )

        rules = {**self.columns, **self.extra_columns}
        for target, rule in rules.items():
            if rule.map is None:
                continue
            if rule.map not in self.value_maps:
                raise ValueError(f'{target} uses the value map "{rule.map}", which [value_maps] does not define')
            for key, value in self.value_maps[rule.map].items():
                self._check_mapped_value(target, rule.map, key, value)

    def _check_mapped_value(self, target: str, map_name: str, key: str, value: MapValue) -> None:
        where = f'value_maps.{map_name}."{key}" (used by {target})'
        if target in CRITERIA:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{where} must be a number from 0 to 10, not {value!r}")
            if not CRITERION_MIN <= Decimal(str(value)) <= CRITERION_MAX:
                raise ValueError(f"{where} is {value}, outside 0–10")
        if target == "segment" and value not in self.segments:
            raise ValueError(f'{where} is the segment "{value}", which has no lens; add [[lenses]] rows for it')

    def _check_tables(self) -> None:
        segments_with_weight: dict[str, Decimal] = {}
        for row in self.lenses or []:
            segments_with_weight[row.segment] = segments_with_weight.get(row.segment, Decimal(0)) + row.weight
        zero = [segment for segment, total in segments_with_weight.items() if total == 0]
        if zero:
            raise ValueError(f"the lens of {', '.join(zero)} has only zero weights")

        if self.urgency is not None and sum(row.weight for row in self.urgency) == 0:
            raise ValueError("urgency needs at least one criterion with a weight above zero")

        unknown = sorted(set(self.settings or {}) - set(SETTING_KEYS))
        if unknown:
            raise ValueError(f"settings has unknown keys {', '.join(unknown)}; known: {', '.join(SETTING_KEYS)}")

        unknown_budget = sorted({row.segment for row in self.budget or []} - self.segments)
        if unknown_budget:
            raise ValueError(f"budget names segments without a lens: {', '.join(unknown_budget)}")

    def _check_defaults(self) -> None:
        for section, rules in (("columns", self.columns), ("extra_columns", self.extra_columns)):
            for target, rule in rules.items():
                if rule.default is None:
                    continue
                try:
                    default = _format_default(rule, target, self)
                except InvalidValueError as error:
                    raise ValueError(f'{section}.{target}.default "{rule.default}" {error}') from None
                if target == "segment" and default not in self.segments:
                    raise ValueError(f'columns.segment.default "{default}" is a segment without a lens')


def _expected_parse(target: str) -> tuple[ParseKind, ...]:
    if target in MONEY_COLUMNS:
        return ("money",)
    if target in DATE_COLUMNS:
        return ("date",)
    if target in YES_NO_COLUMNS:
        return ("yes_no",)
    if target in CRITERIA:
        return ("number", "map")
    return ()


def available_profiles() -> list[str]:
    """Return the names of the built-in profiles in PROFILE_DIR."""
    if not PROFILE_DIR.is_dir():
        return []
    return sorted(path.stem for path in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> MappingProfile:
    """Load a mapping profile by name (a file in PROFILE_DIR) or by path.

    A Path is a path, and so is a string that ends in ".toml" or contains a
    path separator. Any other string is the name of a built-in profile. The
    profile's `name` defaults to the file name without ".toml".

    Raises MappingError when the file is not found, is not valid TOML, or does
    not describe a valid profile.
    """
    path = _profile_path(name_or_path)

    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise MappingError(f"mapping profile file {path} not found; check the path") from None
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"mapping profile {path} is not valid TOML: {error}") from None

    data.setdefault("name", path.stem)
    try:
        profile = MappingProfile.model_validate(data)
    except ValidationError as error:
        raise MappingError(f"mapping profile {path} is invalid: {_describe(error)}") from None

    logger.debug("Loaded mapping profile %s from %s", profile.name, path)
    return profile


def _profile_path(name_or_path: str | Path) -> Path:
    if isinstance(name_or_path, Path):
        return name_or_path

    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(text)

    if not PROFILE_NAME_PATTERN.fullmatch(text):
        raise MappingError(f'"{text}" is not a profile name; use letters, digits, "-", "_" or give a path')
    path = PROFILE_DIR / f"{text}.toml"
    if not path.is_file():
        known = ", ".join(available_profiles()) or "none"
        raise MappingError(
            f'mapping profile "{text}" not found in {PROFILE_DIR} (available: {known}); '
            "give a profile name from that list or the path of a .toml file"
        )
    return path


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


# --- Import report -------------------------------------------------------------------------------


ProblemCode = Literal[
    "unusable_value",
    "blank_required",
    "duplicate_id",
    "empty_row",
    "extra_fields",
    "sources_disagree",
]


class ImportProblem(BaseModel):
    """One value or row that the import could not use as given."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["error", "warning"] = Field(
        description="error: the row is rejected; warning: the row is imported without the value."
    )
    code: ProblemCode
    file: str = Field(description="Name of the source file.")
    row: int = Field(
        description=(
            "Row as a spreadsheet shows the file: the header is row 1 and the first record "
            "row 2. A quoted field may span several lines, so this is the CSV record number "
            "plus 1, not the line number in a text editor."
        )
    )
    column: str | None = Field(
        default=None,
        description='Source column, with repeated headers numbered as in "colour_rating.1".',
    )
    value: str = Field(default="", description="Source value, shortened to about 80 characters.")
    initiative_id: str | None = None
    message: str = Field(description="What is wrong with the value and what happens to the row.")

    def describe(self) -> str:
        """Return the problem as one line: file, row, column, initiative, value and message."""
        place = [self.file, f"row {self.row}"]
        if self.column is not None:
            place.append(f'column "{self.column}"')
        located = ", ".join(place)
        if self.initiative_id:
            located += f" ({self.initiative_id})"

        if self.value:
            subject = f'"{self.value}" '
        elif self.column is not None:
            subject = "the value "
        else:
            subject = ""
        return f"{located}: {subject}{self.message}"

    def __str__(self) -> str:
        return f"{self.severity}: {self.describe()}"


class ImportReport(BaseModel):
    """The outcome of importing one file: counts, encoding and every problem found.

    rows_read == imported + rejected always holds; `warned` counts the imported
    rows that have at least one warning. Rejected rows carry only their errors.
    """

    source: Path
    profile: str
    out_dir: Path
    encoding: str
    rows_read: int = 0
    imported: int = 0
    warned: int = 0
    rejected: int = 0
    rejection_reasons: dict[str, int] = Field(
        default_factory=dict,
        description='Number of rejected rows per reason, e.g. {"without a usable cost": 27}.',
    )
    problems: list[ImportProblem] = Field(default_factory=list)

    @property
    def errors(self) -> list[ImportProblem]:
        """The problems that rejected a row."""
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[ImportProblem]:
        """The problems that left an imported row with a blank or default value."""
        return [problem for problem in self.problems if problem.severity == "warning"]

    def summary_line(self) -> str:
        """Return the report in one sentence.

        For example: "gmpp_2023.csv: 244 rows read, 217 imported (31 with
        warnings), 27 rejected: 27 without a usable cost." The reasons for
        rejection are ordered by count, largest first.
        """
        line = (
            f"{self.source.name}: {_count(self.rows_read, 'row')} read, "
            f"{self.imported} imported ({self.warned} with warnings), {self.rejected} rejected"
        )
        if not self.rejection_reasons:
            return line + "."
        reasons = sorted(self.rejection_reasons.items(), key=lambda item: (-item[1], item[0]))
        return line + ": " + ", ".join(f"{count} {reason}" for reason, count in reasons) + "."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- Import --------------------------------------------------------------------------------------


@dataclass
class _SourceTable:
    path: Path
    encoding: str
    header: list[str]
    records: list[list[str]]


@dataclass
class _BoundRule:
    """A column rule with its source columns looked up in the file's header."""

    target: str
    rule: ColumnRule
    columns: list[tuple[str, int]]


@dataclass
class _RowOutcome:
    """The canonical values of one source row, its problems and, if rejected, the reason."""

    file: str
    row_number: int
    values: dict[str, str] = field(default_factory=dict)
    problems: list[ImportProblem] = field(default_factory=list)
    rejection_reason: str | None = None
    pending: dict[tuple[str | None, str, str, str], list[str]] = field(default_factory=dict)

    def add_problem(
        self,
        code: ProblemCode,
        severity: Literal["error", "warning"],
        message: str,
        column: str | None = None,
        value: str = "",
    ) -> None:
        self.problems.append(
            ImportProblem(
                severity=severity,
                code=code,
                file=self.file,
                row=self.row_number,
                column=column,
                value=shorten(value),
                initiative_id=self.values.get("initiative_id") or None,
                message=message,
            )
        )

    def defer_warning(self, column: str | None, value: str, reason: str, replacement: str, target: str) -> None:
        """Note that `target` got `replacement` (blank or a default) for an unusable value.

        Fields that read the same unusable value, such as risk and urgency from
        one rating, share one warning; flush_warnings adds them to `problems`.
        """
        self.pending.setdefault((column, value, reason, replacement), []).append(target)

    def flush_warnings(self) -> None:
        for (column, value, reason, replacement), targets in self.pending.items():
            names = " and ".join(targets)
            if len(targets) > 2:
                names = ", ".join(targets[:-1]) + " and " + targets[-1]
            verb = "is" if len(targets) == 1 else "are"
            consequence = f"{names} {verb} left blank"
            if replacement:
                consequence = f"{names} {verb} set to the default {replacement}"
            self.add_problem("unusable_value", "warning", f"{reason}; {consequence}", column, value)
        self.pending.clear()

    def reject(self, reason: str) -> None:
        """Mark the row rejected; the first reason is the one the summary counts."""
        self.rejection_reason = self.rejection_reason or reason


def import_file(source: Path, profile: MappingProfile, out_dir: Path) -> ImportReport:
    """Import one foreign export with a mapping profile and write a canonical portfolio folder.

    Writes themes.csv and alignment.csv (header only: an imported portfolio
    has no themes yet), initiatives.csv with one row per imported source row,
    and lenses.csv, urgency.csv, settings.csv and budget.csv where the profile
    defines them. All files are UTF-8 with a comma separator; money has two
    decimals in the portfolio currency and dates are ISO yyyy-mm-dd.

    Everything is built in a temporary folder beside `out_dir` and renamed into
    place when complete, so a failure leaves no `out_dir` behind.

    Raises MappingError when the file cannot be read or decoded, a source
    column that the profile needs is not in the header, or `out_dir` exists and
    is not an empty folder. Problems with single rows do not raise: they are in
    the returned report.
    """
    source = Path(source)
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)

    table = _read_source(source, profile.reader)
    bound_columns = _bind_rules(profile.columns, table, profile, "columns")
    bound_extras = _bind_rules(profile.extra_columns, table, profile, "extra_columns")

    report = ImportReport(source=source, profile=profile.name, out_dir=out_dir, encoding=table.encoding)
    output_columns = [
        name for name in INITIATIVE_COLUMNS if name in REQUIRED_INITIATIVE_COLUMNS or name in profile.columns
    ] + list(profile.extra_columns)
    initiative_rows = _map_records(table, bound_columns + bound_extras, output_columns, profile, report)

    tables = {"initiatives": (output_columns, initiative_rows), **_fixed_tables(profile)}
    _write_folder(out_dir, tables)

    logger.info(
        "Imported %s with profile %s into %s: %d rows read, %d imported, %d rejected",
        source,
        profile.name,
        out_dir,
        report.rows_read,
        report.imported,
        report.rejected,
    )
    return report


def _check_out_dir(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise MappingError(f"output path {out_dir} is a file; give the path of a new folder")
    if any(out_dir.iterdir()):
        raise MappingError(
            f"output folder {out_dir} is not empty; give a new or empty folder, the import never overwrites files"
        )


def _read_source(source: Path, reader: ReaderOptions) -> _SourceTable:
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise MappingError(f"source file {source} not found; check the path") from None
    except IsADirectoryError:
        raise MappingError(f"source {source} is a folder; give the path of one file") from None

    text, encoding = _decode(data, reader.encodings, source)

    # newline="" keeps CR, LF and CRLF as they are so that the csv module can
    # end records at any of them and keep line breaks inside quoted fields.
    stream = io.StringIO(text, newline="")
    parser = csv.reader(stream, delimiter=reader.separator, quotechar=reader.quote)
    try:
        rows = list(parser)
    except csv.Error as error:
        raise MappingError(
            f"{source.name} cannot be read as CSV near line {parser.line_num} ({error}); "
            f'check that the separator is "{reader.separator}" and every quote is closed'
        ) from None

    if not rows or not any(cell.strip() for cell in rows[0]):
        raise MappingError(f"{source.name} has no header row; the first line must name the columns")

    raw_header = [cell.strip() for cell in rows[0]]
    repeated = sorted({name for name in raw_header if raw_header.count(name) > 1})
    if repeated and reader.duplicate_headers == "reject":
        raise MappingError(
            f"{source.name} repeats the header(s) {', '.join(repeated)}; rename them in the file "
            'or set reader.duplicate_headers = "number" in the profile'
        )

    return _SourceTable(path=source, encoding=encoding, header=deduplicate_headers(raw_header), records=rows[1:])


def _decode(data: bytes, encodings: Sequence[str], source: Path) -> tuple[str, str]:
    failures = []
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            failures.append(f"{encoding} (byte 0x{data[error.start]:02X} at offset {error.start})")
    raise MappingError(
        f"{source.name} cannot be decoded with {', '.join(failures)}; "
        "add the file's encoding to reader.encodings in the profile"
    )


def _bind_rules(
    rules: Mapping[str, ColumnRule], table: _SourceTable, profile: MappingProfile, section: str
) -> list[_BoundRule]:
    positions = {name: index for index, name in enumerate(table.header)}
    bound = []
    for target, rule in rules.items():
        columns = [(name, positions[name]) for name in rule.source if name in positions]
        if rule.source and not columns and not rule.source_optional:
            wanted = " or ".join(f'"{name}"' for name in rule.source)
            raise MappingError(
                f"{table.path.name} has no column {wanted}, which {section}.{target} of profile "
                f"{profile.name} reads; the file has: {', '.join(table.header)}. "
                "Fix the source name in the profile or use the profile made for this file"
            )
        bound.append(_BoundRule(target=target, rule=rule, columns=columns))
    return bound


def _map_records(
    table: _SourceTable,
    rules: list[_BoundRule],
    output_columns: list[str],
    profile: MappingProfile,
    report: ImportReport,
) -> list[list[str]]:
    """Map every source record, count the outcomes in `report` and return the output rows."""
    rows: list[list[str]] = []
    first_row_of_id: dict[str, int] = {}
    reasons: Counter[str] = Counter()

    for index, record in enumerate(table.records):
        outcome = _RowOutcome(file=table.path.name, row_number=index + 2)
        _map_record(record, len(table.header), rules, profile, outcome)
        _check_unique_id(outcome, first_row_of_id, rules)

        report.rows_read += 1
        if outcome.rejection_reason is not None:
            report.rejected += 1
            reasons[outcome.rejection_reason] += 1
            report.problems.extend(p for p in outcome.problems if p.severity == "error")
            continue

        report.imported += 1
        if outcome.problems:
            report.warned += 1
            report.problems.extend(outcome.problems)
        rows.append([outcome.values.get(name, "") for name in output_columns])

    report.rejection_reasons = dict(reasons)
    return rows


def _check_unique_id(outcome: _RowOutcome, first_row_of_id: dict[str, int], rules: list[_BoundRule]) -> None:
    """Reject a row whose initiative_id an earlier imported row already has."""
    if outcome.rejection_reason is not None:
        return

    initiative_id = outcome.values["initiative_id"]
    first_row = first_row_of_id.get(initiative_id)
    if first_row is None:
        first_row_of_id[initiative_id] = outcome.row_number
        return

    id_rule = next(bound for bound in rules if bound.target == "initiative_id")
    column = id_rule.columns[0][0] if id_rule.columns else None
    outcome.add_problem(
        "duplicate_id",
        "error",
        f"repeats the initiative_id of row {first_row}; the row is rejected. Give each row its own id in the source",
        column,
        initiative_id,
    )
    outcome.reject("with a duplicate initiative_id")


def _map_record(
    record: list[str],
    header_width: int,
    rules: list[_BoundRule],
    profile: MappingProfile,
    outcome: _RowOutcome,
) -> None:
    """Map one source record into `outcome`: its values, problems and rejection reason."""
    if not any(cell.strip() for cell in record):
        outcome.add_problem("empty_row", "error", "empty row; the row is rejected")
        outcome.reject("empty")
        return

    surplus = [cell for cell in record[header_width:] if cell.strip()]
    if surplus:
        outcome.add_problem(
            "extra_fields",
            "error",
            f"lies beyond the last header column: the record has {len(record)} fields but the "
            f"header has {header_width}, so its values may be shifted; the row is rejected. "
            "Check the separator and quotes in this row",
            value=surplus[0],
        )
        outcome.reject("with more fields than the header")
        return

    cells = record + [""] * (header_width - len(record))

    # The id goes first so that every later problem of the row can name it.
    ordered = sorted(rules, key=lambda bound: bound.target != "initiative_id")
    for bound in ordered:
        _map_field(bound, cells, profile, outcome)
    outcome.flush_warnings()


def _map_field(bound: _BoundRule, cells: list[str], profile: MappingProfile, outcome: _RowOutcome) -> None:
    """Fill one output column of a row from its source columns, or record why it cannot be."""
    rule = bound.rule
    target = bound.target
    values = [cells[index] for _, index in bound.columns]
    chosen = first_non_blank(values)

    if chosen is None:
        column = bound.columns[0][0] if bound.columns else None
        raw = ""
    else:
        column = bound.columns[chosen[0]][0]
        raw = chosen[1]
        _check_agreement(bound, values, chosen, outcome)

    try:
        value = _parse_value(raw, rule, target, profile)
        if target == "segment" and value is not None and value not in profile.segments:
            raise InvalidValueError(f'gives the segment "{value}", which has no lens')
    except InvalidValueError as error:
        _handle_unusable(bound, column, raw, str(error), profile, outcome)
        return

    if value is not None:
        outcome.values[target] = value
        return

    if rule.default is not None:
        outcome.values[target] = _format_default(rule, target, profile)
        return

    if rule.required:
        outcome.add_problem(
            "blank_required",
            "error",
            f"is blank; the row is rejected because {target} is required. Fill in {column or target} in the source",
            column,
        )
        outcome.reject(f"without a usable {target}")
        return

    outcome.values[target] = ""


def _check_agreement(bound: _BoundRule, values: list[str], chosen: tuple[int, str], outcome: _RowOutcome) -> None:
    """Warn when another source column of the same field contains a different non-blank value."""
    chosen_key = normalize_key(clean_text(chosen[1]))
    for position, other in enumerate(values):
        if position == chosen[0] or not other.strip():
            continue
        if normalize_key(clean_text(other)) == chosen_key:
            continue

        first, second = bound.columns[chosen[0]][0], bound.columns[position][0]
        outcome.add_problem(
            "sources_disagree",
            "warning",
            f'differs from "{shorten(other, 40)}" in column "{second}"; '
            f'{bound.target} uses the first non-blank column, "{first}"',
            first,
            chosen[1],
        )


def _handle_unusable(
    bound: _BoundRule,
    column: str | None,
    raw: str,
    reason: str,
    profile: MappingProfile,
    outcome: _RowOutcome,
) -> None:
    """Reject the row for a required field; otherwise warn and use the default or a blank."""
    rule = bound.rule
    target = bound.target
    if rule.required:
        outcome.add_problem(
            "unusable_value",
            "error",
            f"{reason}; the row is rejected because {target} is required. "
            "Enter a usable value in the source to import this row",
            column,
            raw,
        )
        outcome.reject(f"without a usable {target}")
        return

    replacement = _format_default(rule, target, profile) if rule.default is not None else ""
    outcome.values[target] = replacement
    outcome.defer_warning(column, raw, reason, replacement, target)


def _parse_value(raw: str, rule: ColumnRule, target: str, profile: MappingProfile) -> str | None:
    """Parse one source value by its rule and format it as the canonical text, or None if blank."""
    if rule.parse == "text":
        return clean_text(raw) or None

    if rule.parse == "money":
        money = profile.money
        amount = parse_money(
            raw,
            unit=rule.unit or money.unit,
            currency_symbols=money.currency_symbols,
            thousands_separator=money.thousands_separator,
            decimal_separator=money.decimal_separator,
        )
        if amount is None:
            return None
        _check_bounds(amount, rule, target)
        return format_money(amount)

    if rule.parse == "number":
        number = parse_decimal(
            raw,
            thousands_separator=profile.money.thousands_separator,
            decimal_separator=profile.money.decimal_separator,
        )
        if number is None:
            return None
        _check_bounds(number, rule, target)
        return format_decimal(number)

    if rule.parse == "date":
        parsed = parse_date(raw, profile.dates.formats)
        return parsed.isoformat() if parsed else None

    if rule.parse == "yes_no":
        return "true" if parse_yes_no(raw) else "false"

    assert rule.map is not None  # checked when the profile loads
    mapped = map_value(raw, profile.value_maps[rule.map], rule.map)
    return None if mapped is None else _format_map_value(mapped)


def _check_bounds(number: Decimal, rule: ColumnRule, target: str) -> None:
    minimum = rule.minimum
    maximum = rule.maximum
    if target in CRITERIA:
        minimum = CRITERION_MIN if minimum is None else max(minimum, CRITERION_MIN)
        maximum = CRITERION_MAX if maximum is None else min(maximum, CRITERION_MAX)
    if minimum is not None and number < minimum:
        raise InvalidValueError(f"is below the minimum {format_decimal(minimum)}")
    if maximum is not None and number > maximum:
        raise InvalidValueError(f"is above the maximum {format_decimal(maximum)}")


def _format_map_value(value: MapValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_decimal(Decimal(str(value)))
    return value


def _format_default(rule: ColumnRule, target: str, profile: MappingProfile) -> str:
    """Format a rule's default as canonical text.

    A map rule's default is already an output value, such as a segment name.
    Any other default is parsed like a source value, so a money default of 0
    becomes "0.00". Raises InvalidValueError when the rule cannot parse the default.
    """
    default = rule.default
    assert default is not None  # callers check
    if rule.parse == "map":
        return _format_map_value(default)
    return _parse_value(_format_map_value(default), rule, target, profile) or ""


def _fixed_tables(profile: MappingProfile) -> dict[str, tuple[list[str], list[list[str]]]]:
    tables: dict[str, tuple[list[str], list[list[str]]]] = {
        "themes": (list(THEME_COLUMNS), []),
        "alignment": (list(ALIGNMENT_COLUMNS), []),
    }
    if profile.lenses is not None:
        tables["lenses"] = (
            ["segment", "criterion", "weight"],
            [[row.segment, row.criterion, format_decimal(row.weight)] for row in profile.lenses],
        )
    if profile.urgency is not None:
        tables["urgency"] = (
            ["criterion", "weight"],
            [[row.criterion, format_decimal(row.weight)] for row in profile.urgency],
        )
    if profile.settings is not None:
        tables["settings"] = (
            ["key", "value"],
            [[key, _format_map_value(value)] for key, value in profile.settings.items()],
        )
    if profile.budget is not None:
        tables["budget"] = (
            ["segment", "envelope"],
            [[row.segment, format_money(row.envelope)] for row in profile.budget],
        )
    return tables


def _write_folder(out_dir: Path, tables: Mapping[str, tuple[list[str], list[list[str]]]]) -> None:
    """Write every table into a temporary folder beside `out_dir`, then rename it into place."""
    _check_out_dir(out_dir)
    out_dir = out_dir.absolute()  # so that "." has a name and a parent
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:12]}.partial"
    staging.mkdir()

    try:
        for name, (header, rows) in tables.items():
            _write_csv(staging / f"{name}.csv", header, rows)
        if out_dir.exists():
            out_dir.rmdir()  # empty, as _check_out_dir made sure
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
