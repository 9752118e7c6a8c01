"""Import foreign portfolio exports through mapping profiles.

A mapping profile is a TOML data file for one kind of export. It describes how to
read the file (encodings, separator, sheet, header row, layout) and which source
column feeds which canonical field. It also gives how values translate (value maps,
money units, percentages, date formats) and which extra canonical tables (lenses,
urgency, settings, budget) to write verbatim. `map_source` applies a profile to a file read by
`portfolio.reading` and returns the canonical tables in memory, so the app can
validate them before anything is committed; `check_import` validates them as a
portfolio; `import_file` writes them as a canonical portfolio folder.

Every source row is either imported or rejected with its reason, and every
value that could not be used is reported with its row and column.
`build_profile` and `save_profile` turn a mapping made in the app into a
profile file that the command line can use.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from portfolio import reading
from portfolio.errors import PortfolioLensError
from portfolio.models import (
    CRITERIA,
    DATE_FIELDS,
    DEFAULT_LENSES,
    MONEY_FIELDS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Portfolio,
    Problem,
    RawTable,
    Settings,
    parse_portfolio,
)
from portfolio.reading import ReadOptions, SourceTable, UnreadableFileError

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

# Cell texts that exports write for "no value"; a number, date or rating column reads them as blank.
MISSING_VALUES = ("N/A", "NA", "n.a.", "#N/A", "-", "–", "—", "null", "none")
# A longer cell is never compared with the missing-value words (a profile may add its own up to this length).
MISSING_VALUE_MAX_CHARS = 20

# Magnitude words after an amount, as in "£1.2m" or "$3bn"; they state the unit of that value.
MAGNITUDES = {
    "k": Decimal(1_000),
    "thousand": Decimal(1_000),
    "m": Decimal(1_000_000),
    "mn": Decimal(1_000_000),
    "mm": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "b": Decimal(1_000_000_000),
    "bn": Decimal(1_000_000_000),
    "billion": Decimal(1_000_000_000),
}
_MAGNITUDE_WORDS = "|".join(sorted(MAGNITUDES, key=len, reverse=True))
_MAGNITUDE_SUFFIX = re.compile(rf"(?i)(?P<number>.*\d)\s*(?P<word>{_MAGNITUDE_WORDS})")

# Excel counts days from 1899-12-30 (its serial 60 is the 29 February 1900 that never was).
# Serials outside 1 January 1950 to 31 December 2199 are not taken for dates: an amount or
# a year such as 2024 in a date column is far more likely than a date in 1905.
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_SERIAL_MIN = 18_264
EXCEL_SERIAL_MAX = 109_574

# Excel's display of a date it made from text such as "3-4" or "4/3", as a CSV file saved from Excel holds it.
_EXCEL_DATE_TEXT = re.compile(r"(?i)\d{1,2}-[a-z]{3}(-\d{2,4})?|[a-z]{3}-\d{2,4}")
EXCEL_DATE_FIX = "format the column as Text in Excel and type the value again"
EXCEL_DATE_REASON = (
    'is a date in the workbook where no date belongs: Excel may have turned text such as "3-4" into a date '
    f"({EXCEL_DATE_FIX})"
)


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
    if "\n" not in text and "\r" not in text:
        return text.strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\xa0]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


@lru_cache(maxsize=4096)
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
    negative_parentheses: bool = True,
    magnitude_suffixes: bool = True,
) -> Decimal | None:
    """Parse an amount such as "£1,139.18", "(1,234)" or "£1.2m" and convert it to the portfolio currency.

    `unit` is the size of one source unit in the portfolio currency (1,000,000
    for amounts in millions). A currency symbol may come before or after the
    number, and a minus sign before or after the symbol. With
    `negative_parentheses`, an amount in brackets is negative, as accountants
    write it. With `magnitude_suffixes`, a word of MAGNITUDES after the number
    ("k", "m", "bn", "million") states that value's unit and replaces `unit`.
    The result is rounded to the cent, halves away from zero. Returns None for
    blank text. Raises InvalidValueError for anything else that is not an
    amount, such as free text.
    """
    stripped = text.strip()
    if not stripped:
        return None

    negative, stripped = _strip_negative(stripped, negative_parentheses, False)
    for symbol in sorted(currency_symbols, key=len, reverse=True):
        if stripped.startswith(symbol):
            stripped = stripped[len(symbol) :].strip()
            break
        if stripped.endswith(symbol):
            stripped = stripped[: -len(symbol)].strip()
            break
    negative, stripped = _strip_negative(stripped, negative_parentheses, negative)

    scale = Decimal(unit)
    suffix = _MAGNITUDE_SUFFIX.fullmatch(stripped) if magnitude_suffixes else None
    if suffix is not None:
        stripped = suffix["number"].strip()
        scale = MAGNITUDES[suffix["word"].lower()]

    example = f"1{thousands_separator}139{decimal_separator}18"
    if not stripped:
        raise InvalidValueError(f"is not an amount (expected a number such as {example})")
    try:
        number = parse_decimal(stripped, thousands_separator=thousands_separator, decimal_separator=decimal_separator)
    except InvalidValueError:
        raise InvalidValueError(f"is not an amount (expected a number such as {example})") from None

    assert number is not None  # `stripped` is not blank here
    amount = (number * scale).quantize(CENT, rounding=ROUND_HALF_UP)
    return -amount if negative else amount


def _strip_negative(text: str, parentheses: bool, negative: bool) -> tuple[bool, str]:
    """Remove a leading minus sign or, with `parentheses`, surrounding brackets; note that the amount is negative."""
    if text.startswith(("-", "\u2212")):
        sign, text = True, text[1:].strip()
    elif parentheses and text.startswith("(") and text.endswith(")"):
        sign, text = True, text[1:-1].strip()
    else:
        return negative, text

    if negative:
        raise InvalidValueError("is not an amount: it has two minus signs")
    return sign, text


def parse_percent(
    text: str, *, scale: Decimal | int = 100, thousands_separator: str = ",", decimal_separator: str = "."
) -> Decimal | None:
    """Parse a percentage such as "45%", "45 %" or a bare "45" and return it on a scale where 100 % is `scale`.

    With `scale` 10, "45%" becomes 4.5 on the 0–10 criterion scale. Returns
    None for blank text. Raises InvalidValueError for anything else.
    """
    stripped = text.strip()
    if not stripped:
        return None

    if stripped.endswith("%"):
        stripped = stripped[:-1].strip()
    try:
        number = parse_decimal(stripped, thousands_separator=thousands_separator, decimal_separator=decimal_separator)
    except InvalidValueError:
        raise InvalidValueError("is not a percentage (expected a number such as 45%)") from None

    assert number is not None  # `stripped` is not blank here
    return number * Decimal(scale) / 100


def parse_excel_serial(text: str) -> date | None:
    """Return the date of an Excel serial day number such as 45292 (2024-01-01), or None for other text.

    Only serials from EXCEL_SERIAL_MIN to EXCEL_SERIAL_MAX count, so a year or
    an amount in a date column is not taken for a date. A fraction (a time of
    day) is dropped.
    """
    match = re.fullmatch(r"(\d{5,6})(?:\.\d+)?", text.strip())
    if match is None:
        return None
    serial = int(match[1])
    if not EXCEL_SERIAL_MIN <= serial <= EXCEL_SERIAL_MAX:
        return None
    return EXCEL_EPOCH + timedelta(days=serial)


def is_missing(text: str, missing_values: Sequence[str] = MISSING_VALUES) -> bool:
    """Tell whether a cell is blank or one of the `missing_values`, compared as normalize_key does."""
    key = normalize_key(text)
    return not key or any(key == normalize_key(word) for word in missing_values)


def looks_like_excel_date(text: str) -> bool:
    """Tell whether text looks like a date Excel made from other text, such as "4-Mar" from "3-4"."""
    return _EXCEL_DATE_TEXT.fullmatch(text.strip()) is not None


def parse_date(text: str, formats: Sequence[str] = ("%Y-%m-%d",), excel_serials: bool = False) -> date | None:
    """Parse a date written in one of `formats` (strptime codes), trying them in order.

    With `excel_serials`, an Excel serial day number such as 45292 is a date
    too (see parse_excel_serial). A two-digit year ("%y") is 2000–2068 for 00–68
    and 1969–1999 otherwise, as Python's strptime reads it. Returns None for
    blank text. Raises InvalidValueError for anything else, naming the
    accepted forms.
    """
    stripped = text.strip()
    if not stripped:
        return None

    for date_format in formats:
        try:
            return datetime.strptime(stripped, date_format).date()
        except ValueError:
            continue

    if excel_serials:
        serial = parse_excel_serial(stripped)
        if serial is not None:
            return serial

    forms = " or ".join(describe_date_format(date_format) for date_format in formats)
    if excel_serials:
        forms += " or an Excel day number such as 45292"
    raise InvalidValueError(f"is not a date in the form {forms}")


def describe_date_format(date_format: str) -> str:
    """Return a strptime format as people write it, e.g. "%d.%m.%Y" as "dd.mm.yyyy"."""
    words = {"%Y": "yyyy", "%y": "yy", "%m": "mm", "%d": "dd", "%b": "mmm", "%B": "mmmm"}
    return re.sub(r"%[YymdbB]", lambda match: words[match[0]], date_format)


def map_value(
    text: str, value_map: Mapping[str, V], map_name: str = "", normalized: Mapping[str, V] | None = None
) -> V | None:
    """Translate a source value through a value map, comparing keys with normalize_key.

    `normalized` is the same map keyed by normalize_key, where the caller has
    it, so that a lookup does not normalize every key again. Returns None for
    blank text. Raises InvalidValueError for a value the map does not contain,
    naming up to eight of the accepted values.
    """
    if not text.strip():
        return None

    lookup_key = normalize_key(text)
    if normalized is None:
        normalized = {normalize_key(key): value for key, value in value_map.items()}
    if lookup_key in normalized:
        return normalized[lookup_key]

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
    return reading.number_repeated(names)


def first_non_blank(values: Sequence[str]) -> tuple[int, str] | None:
    """Return the position and value of the first value that is not blank, or None."""
    for position, value in enumerate(values):
        if value.strip():
            return position, value
    return None


# --- Profile model -------------------------------------------------------------------------------

ParseKind = Literal["text", "money", "number", "percent", "date", "map", "yes_no"]
MapValue = str | int | float | bool


class ReaderOptions(BaseModel):
    """Options for reading the source file.

    `separator` and `header_row` may be "auto": the separator is sniffed and
    the header is the first row that names the most of the profile's source
    columns. `sheet` names the workbook sheet to read (by default the first
    with data). `missing_values` are cell texts that mean "no value" in every
    column that is not plain text.
    """

    model_config = ConfigDict(extra="forbid")

    encodings: list[str] = Field(default_factory=lambda: ["utf-8-sig", "cp1252"], min_length=1)
    separator: str = Field(default="auto", min_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    duplicate_headers: Literal["number", "reject"] = "number"
    header_row: int | Literal["auto"] = "auto"
    transpose: bool = False
    sheet: str | None = None
    missing_values: list[str] = Field(default_factory=lambda: list(MISSING_VALUES))

    @field_validator("separator")
    @classmethod
    def _check_separator(cls, separator: str) -> str:
        if separator != "auto" and len(separator) != 1:
            raise ValueError(f'"{separator}" is not a separator; give one character such as ";" or "auto"')
        return separator

    @field_validator("missing_values")
    @classmethod
    def _check_missing_values(cls, words: list[str]) -> list[str]:
        long_words = [word for word in words if len(word.strip()) > MISSING_VALUE_MAX_CHARS]
        if long_words:
            raise ValueError(f"missing_values may be at most {MISSING_VALUE_MAX_CHARS} characters: {long_words[0]!r}")
        return words

    @field_validator("header_row")
    @classmethod
    def _check_header_row(cls, header_row: int | str) -> int | str:
        if isinstance(header_row, int) and header_row < 1:
            raise ValueError("header_row counts from 1, the first row of the file")
        return header_row

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
    negative_parentheses: bool = True
    magnitude_suffixes: bool = True

    @model_validator(mode="after")
    def _check_separators(self) -> MoneyFormat:
        if self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator must differ")
        return self


class DateFormats(BaseModel):
    """The strptime formats that source dates may use, tried in order, and whether Excel day numbers count."""

    model_config = ConfigDict(extra="forbid")

    formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"], min_length=1)
    excel_serials: bool = False


class ColumnRule(BaseModel):
    """The rule that fills one output column from the source.

    `source` names one or more source columns (after duplicate headers are
    numbered); the first non-blank of those present in the file is used. At
    least one of them must be in the file unless `source_optional` is set. A
    rule without a source writes its `default` into every row.

    A blank value takes the `default` where one is given. An unusable value
    (one its `parse` rejects) rejects the row when `required` is set, and is
    otherwise replaced by the default or left blank, with a warning. `unit`
    overrides the profile's money unit for this column; `scale` is what 100 %
    becomes for parse = "percent" (default 100).
    """

    model_config = ConfigDict(extra="forbid")

    source: list[str] = Field(default_factory=list)
    parse: ParseKind = "text"
    map: str | None = None
    required: bool = False
    source_optional: bool = False
    default: MapValue | None = None
    unit: Decimal | None = Field(default=None, gt=0)
    scale: Decimal | None = Field(default=None, gt=0)
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

    _lookups: dict[str, tuple[dict[str, MapValue], dict[str, MapValue]]] = PrivateAttr(default_factory=dict)

    def value_lookup(self, name: str) -> dict[str, MapValue]:
        """Return the value map `name` keyed by normalize_key, built once per map object."""
        value_map = self.value_maps[name]
        cached = self._lookups.get(name)
        if cached is None or cached[0] is not value_map:
            cached = (value_map, {normalize_key(key): value for key, value in value_map.items()})
            self._lookups[name] = cached
        return cached[1]

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
        return ("number", "percent", "map")
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


# --- Building and saving profiles ----------------------------------------------------------------

# Source header words that suggest a canonical field, checked in this order; for the interactive mapping.
TARGET_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("initiative_id", ("project_number", "project id", "initiative_id", "id", "number", "code", "ref", "key")),
    ("name", ("project_name", "name", "title", "short description")),
    ("segment", ("segment", "category", "report_category", "portfolio", "type")),
    ("cost", ("cost", "budget", "baseline", "total_baseline", "amount", "estimate", "capex+opex")),
    ("risk", ("risk", "rag", "rating", "colour_rating", "dca", "health")),
    ("business_value", ("business value", "value", "benefit score")),
    ("urgency", ("urgency", "priority")),
    ("sponsor", ("sponsor", "owner", "department", "manager")),
    ("business_unit", ("business unit", "unit", "division")),
    ("status", ("status", "state", "phase", "stage")),
    ("start_date", ("start_date", "start", "begin")),
    ("end_date", ("end_date", "end", "finish")),
    ("deadline", ("deadline", "due")),
    ("description", ("description", "description_aims", "summary", "aims")),
)

# Ratings that the interactive mapping proposes on the 0–10 criterion scale; the user can change each.
RATING_SUGGESTIONS: dict[str, int] = {
    "red": 9,
    "amber/red": 7,
    "amber": 5,
    "amber/green": 3,
    "green": 1,
    "critical": 10,
    "very high": 9,
    "high": 8,
    "medium": 5,
    "moderate": 5,
    "low": 2,
    "very low": 1,
}

DATE_FORMAT_CANDIDATES = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
)

_UNIT_HINTS = ((re.compile(r"(?i)£\s*m|\$\s*m|€\s*m|\bmillions?\b|\(m\)|\bmn\b"), Decimal(1_000_000)),
               (re.compile(r"(?i)£\s*k|\$\s*k|€\s*k|\bthousands?\b|\(k\)|\b000s\b|'000"), Decimal(1_000)),
               (re.compile(r"(?i)\bbillions?\b|\(bn\)|£\s*bn|\$\s*bn"), Decimal(1_000_000_000)))


def suggest_target(column: str) -> str | None:
    """Return the canonical initiative field that a source header most likely names, or None."""
    key = normalize_key(column).replace("_", " ")
    words = set(re.findall(r"\w+", key))
    for target, hints in TARGET_HINTS:
        if any(key == hint.replace("_", " ") for hint in hints):
            return target
    for target, hints in TARGET_HINTS:
        for hint in (hint.replace("_", " ") for hint in hints):
            if (" " in hint and hint in key) or hint in words:
                return target
    return None


def suggest_parse(target: str) -> ParseKind:
    """Return the parse kind a canonical field needs by default: money, date, yes/no, map or text."""
    if target in MONEY_COLUMNS:
        return "money"
    if target in DATE_COLUMNS:
        return "date"
    if target in YES_NO_COLUMNS:
        return "yes_no"
    if target in CRITERIA or target == "segment":
        return "map"
    return "text"


def suggest_value_map(values: Sequence[str], target: str, segments: Sequence[str] = DEFAULT_SEGMENTS) -> dict:
    """Propose a value map for the distinct source values of a column.

    Criteria get RATING_SUGGESTIONS where a value is a known rating and a
    number 0–10 stays itself; segments keep a value that already names a
    segment. Anything else maps to None, for the user to fill in.
    """
    proposal: dict[str, MapValue | None] = {}
    for value in values:
        text = value.strip()
        if not text or normalize_key(text) in {normalize_key(key) for key in proposal}:
            continue
        if target in CRITERIA:
            suggestion: MapValue | None = RATING_SUGGESTIONS.get(normalize_key(text))
            if suggestion is None:
                try:
                    number = parse_decimal(text)
                except InvalidValueError:
                    number = None
                if number is not None and CRITERION_MIN <= number <= CRITERION_MAX:
                    suggestion = int(number) if number == number.to_integral_value() else float(number)
            proposal[text] = suggestion
        elif target == "segment":
            proposal[text] = normalize_key(text) if normalize_key(text) in segments else None
        else:
            proposal[text] = text
    return proposal


def guess_unit(column: str) -> Decimal:
    """Return the money unit a header states, such as 1,000,000 for "Cost (£m)"; 1 when it states none."""
    for pattern, unit in _UNIT_HINTS:
        if pattern.search(column):
            return unit
    return Decimal(1)


def guess_number_notation(samples: Sequence[str]) -> tuple[str, str]:
    """Return (thousands separator, decimal separator) that the sample amounts use.

    A comma followed by one or two digits at the end ("1.234,56", "7,5") means
    a decimal comma; anything else reads as "1,234.56".
    """
    for sample in samples:
        if re.search(r"\d,\d{1,2}\s*\D*$", sample.strip()) or re.search(r"\d\.\d{3},", sample):
            return ".", ","
    return ",", "."


def guess_date_formats(samples: Sequence[str]) -> tuple[list[str], bool]:
    """Return the date formats that parse the samples, most successful first, and whether Excel day numbers occur.

    Where "%d/%m/%Y" and "%m/%d/%Y" both parse every sample, the day-first
    form comes first: the order of DATE_FORMAT_CANDIDATES decides.
    """
    filled = [sample.strip() for sample in samples if sample.strip()]
    counts = []
    for candidate in DATE_FORMAT_CANDIDATES:
        parsed = 0
        for sample in filled:
            try:
                datetime.strptime(sample, candidate)
            except ValueError:
                continue
            parsed += 1
        if parsed:
            counts.append((parsed, candidate))
    counts.sort(key=lambda item: (-item[0], DATE_FORMAT_CANDIDATES.index(item[1])))
    serials = any(parse_excel_serial(sample) is not None for sample in filled)
    return [candidate for _, candidate in counts] or ["%Y-%m-%d"], serials


@dataclass
class FieldChoice:
    """One output column of a mapping made in the app, filled from source columns, a default, or both.

    `extra` keeps the column beside the canonical ones under its `target`
    name. `value_map` is used when `parse` is "map".
    """

    target: str
    source: list[str] = field(default_factory=list)
    parse: ParseKind = "text"
    value_map: dict[str, MapValue] | None = None
    default: MapValue | None = None
    unit: Decimal | None = None
    scale: Decimal | None = None
    extra: bool = False


def build_profile(
    name: str,
    fields: Sequence[FieldChoice],
    *,
    reader: ReaderOptions | None = None,
    money: MoneyFormat | None = None,
    dates: DateFormats | None = None,
    description: str = "",
    settings: Mapping[str, MapValue] | None = None,
    lenses: Sequence[LensRow] | None = None,
) -> MappingProfile:
    """Build a mapping profile from choices made in the app.

    The required canonical fields are marked required, cost may not be
    negative, and each map rule gets a value map named after its column.
    `lenses` define segments beyond the default three, such as those of the
    workspace the import goes into. Raises MappingError, naming the entry at
    fault, when the choices do not make a valid profile (a required field
    unmapped, a value map with a value outside 0–10, an unknown segment).
    """
    if not PROFILE_NAME_PATTERN.fullmatch(name):
        raise MappingError(f'"{name}" is not a profile name; use letters, digits, "-", "_" and "."')

    columns: dict[str, dict] = {}
    extras: dict[str, dict] = {}
    value_maps: dict[str, dict[str, MapValue]] = {}
    for choice in fields:
        rule: dict = {"source": list(choice.source), "parse": choice.parse}
        if choice.parse == "map":
            rule["map"] = choice.target
            value_maps[choice.target] = {key: _whole(value) for key, value in (choice.value_map or {}).items()}
        for key in ("default", "unit", "scale"):
            if getattr(choice, key) is not None:
                rule[key] = getattr(choice, key)
        if not choice.extra and choice.target in REQUIRED_INITIATIVE_COLUMNS:
            rule["required"] = True
        if choice.target == "cost":
            rule["minimum"] = 0
        (extras if choice.extra else columns)[choice.target] = rule

    data: dict = {
        "name": name,
        "description": description,
        "reader": (reader or ReaderOptions()).model_dump(),
        "money": (money or MoneyFormat()).model_dump(),
        "dates": (dates or DateFormats()).model_dump(),
        "columns": columns,
        "extra_columns": extras,
        "value_maps": value_maps,
    }
    if settings:
        data["settings"] = dict(settings)
    if lenses:
        data["lenses"] = [row.model_dump() for row in lenses]
    try:
        return MappingProfile.model_validate(data)
    except ValidationError as error:
        raise MappingError(f"the mapping is not complete: {_describe(error)}") from None


def _whole(value: MapValue) -> MapValue:
    """Return a float with no fraction as an int, so that a saved value map reads 9 rather than 9.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def save_profile(profile: MappingProfile, directory: Path | None = None, overwrite: bool = False) -> Path:
    """Save a profile as `<name>.toml` in `directory` (PROFILE_DIR by default) and return the path.

    The file is written beside its final name and renamed into place, and it
    is read back before that: what is saved loads as an equal profile. Raises
    MappingError when a profile of that name exists and `overwrite` is not set.
    """
    if not PROFILE_NAME_PATTERN.fullmatch(profile.name):
        raise MappingError(f'"{profile.name}" is not a profile name; use letters, digits, "-", "_" and "."')
    directory = Path(directory or PROFILE_DIR)
    path = directory / f"{profile.name}.toml"
    if path.exists() and not overwrite:
        raise MappingError(f'a mapping profile named "{profile.name}" already exists; choose another name')

    text = profile_to_toml(profile)
    reloaded = MappingProfile.model_validate({**tomllib.loads(text), "name": profile.name})
    if reloaded != profile:
        raise MappingError(f'profile "{profile.name}" does not survive writing as TOML; report this as a bug')

    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".{profile.name}.{uuid.uuid4().hex[:12]}.partial"
    try:
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    logger.info("Saved mapping profile %s to %s", profile.name, path)
    return path


def profile_to_toml(profile: MappingProfile) -> str:
    """Write a profile as TOML, leaving out its name (the file's name) and every value left at its default."""
    data = profile.model_dump(mode="python", exclude_defaults=True, exclude={"name"})
    lines = [f"# Mapping profile {profile.name}, saved by Portfolio Lens on {date.today().isoformat()}.", ""]
    _write_toml_table(lines, [], data)
    return "\n".join(lines).rstrip("\n") + "\n"


def _write_toml_table(lines: list[str], path: list[str], table: Mapping[str, object]) -> None:
    scalars = {key: value for key, value in table.items() if not _is_toml_table(value)}
    header = ".".join(_toml_key(part) for part in path)
    if path and (scalars or not table):
        lines.append(f"[{header}]")
    for key, value in scalars.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    if scalars:
        lines.append("")

    for key, value in table.items():
        if isinstance(value, dict):
            _write_toml_table(lines, [*path, key], value)
        elif _is_toml_table(value):
            for item in value:
                lines.append(f"[[{'.'.join(_toml_key(part) for part in [*path, key])}]]")
                lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items())
                lines.append("")


def _is_toml_table(value: object) -> bool:
    """Tell whether a value is written as a table: a dict, or a non-empty list of dicts (an array of tables)."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise MappingError(f"{value!r} cannot be written in a profile; report this as a bug")


def _toml_string(text: str) -> str:
    escapes = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for character in text:
        if character in escapes:
            out.append(escapes[character])
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            out.append(f"\\u{ord(character):04X}")
        else:
            out.append(character)
    return '"' + "".join(out) + '"'


# --- Import report -------------------------------------------------------------------------------


ProblemCode = Literal[
    "unusable_value",
    "blank_required",
    "duplicate_id",
    "empty_row",
    "extra_fields",
    "sources_disagree",
    "excel_date",
    "invalid_row",
    "portfolio_check",
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
            "row 2 unless the header sits lower. A quoted field may span several lines, so in a "
            "CSV file this is the record number, not the line number in a text editor. In a "
            "transposed file it is the number of the record's column."
        )
    )
    record: str | None = Field(
        default=None,
        description='Where a record of a transposed file is, such as "column D"; None for a row.',
    )
    column: str | None = Field(
        default=None,
        description='Source column, with repeated headers numbered as in "colour_rating.1".',
    )
    value: str = Field(default="", description="Source value, shortened to about 80 characters.")
    initiative_id: str | None = None
    message: str = Field(description="What is wrong with the value and what happens to the row.")

    @property
    def place(self) -> str:
        """Where the record is in the file: "row 5", or "column D" in a transposed file."""
        return self.record or f"row {self.row}"

    def describe(self) -> str:
        """Return the problem as one line: file, row, column, initiative, value and message."""
        place = [self.file, self.place]
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
    """The outcome of importing one file: counts, how it was read and every problem found.

    rows_read == imported + rejected always holds; `warned` counts the imported
    rows that have at least one warning. Rejected rows carry only their errors.
    """

    source: Path
    profile: str
    out_dir: Path | None = None
    encoding: str | None = Field(default=None, description="Encoding of a text file; None for a workbook.")
    read_as: str = Field(default="", description="How the file was read, in one sentence.")
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


class NothingImportedError(MappingError):
    """A file none of whose rows can be imported; `report` lists why each was rejected."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


def require_rows(report: ImportReport) -> None:
    """Raise NothingImportedError unless at least one row of the file was imported."""
    if report.imported:
        return

    name = report.source.name
    if not report.rows_read:
        raise NothingImportedError(f"{name} has a header but no rows; export it again with the rows", report)

    reasons = sorted(report.rejection_reasons.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{count} {reason}" for reason, count in reasons)
    first = report.errors[0].describe() if report.errors else "no reason recorded"
    rows = "the only row" if report.rows_read == 1 else f"none of the {report.rows_read:,} rows"
    raise NothingImportedError(
        f"{rows} of {name} can be imported ({listed}), so nothing was imported; fix the file or the mapping. "
        f"First problem: {first}",
        report,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- Import --------------------------------------------------------------------------------------

ProgressCallback = Callable[[float, str], None]
"""Receives the share of the work done (0 to 1) and what is being done, for a progress bar."""

PROGRESS_EVERY_ROWS = 2_000


@dataclass(frozen=True)
class ReadOverrides:
    """Reading options that a user states for one file, over those of the profile; None keeps the profile's."""

    encoding: str | None = None
    separator: str | None = None
    header_row: int | None = None
    transpose: bool | None = None
    sheet: str | None = None


@dataclass
class MappedImport:
    """A foreign export mapped in memory: the canonical tables as text and the report of every source row.

    `tables` are raw canonical tables ready for models.parse_portfolio. The
    initiatives frame is indexed by the spreadsheet row (for a transposed file,
    the column number) of each imported record, so validation names the place
    in the source file. `source_columns` gives, for each canonical or extra
    column, the source column it reads first, for messages.
    """

    source: SourceTable
    profile: MappingProfile
    report: ImportReport
    tables: dict[str, RawTable]
    source_columns: dict[str, str]

    @property
    def fields(self) -> tuple[str, ...]:
        """The initiative columns the file fills: canonical ones first, then the extra columns."""
        return tuple(self.tables["initiatives"].frame.columns)

    def place(self, position: int) -> str:
        """Return where a record is in the file, from its row (or transposed, column) number."""
        if self.source.transposed:
            return f"column {reading.column_letter(position)}"
        return f"row {position}"


def read_options(profile: MappingProfile, overrides: ReadOverrides | None = None) -> ReadOptions:
    """Combine a profile's reader options with a user's overrides into options for portfolio.reading."""
    overrides = overrides or ReadOverrides()
    reader = profile.reader
    separator = overrides.separator or (None if reader.separator == "auto" else reader.separator)
    header_row = overrides.header_row or (None if reader.header_row == "auto" else reader.header_row)
    expected = [name for rule in (*profile.columns.values(), *profile.extra_columns.values()) for name in rule.source]
    return ReadOptions(
        encoding=overrides.encoding,
        encodings=tuple(reader.encodings),
        separator=separator,
        quote=reader.quote,
        header_row=header_row,
        transpose=reader.transpose if overrides.transpose is None else overrides.transpose,
        sheet=overrides.sheet or reader.sheet,
        expected_columns=tuple(dict.fromkeys(expected)),
    )


def read_for_profile(
    name: str, data: bytes, profile: MappingProfile, overrides: ReadOverrides | None = None
) -> SourceTable:
    """Read a foreign export held in memory with the profile's reader options and the user's overrides.

    Raises MappingError when the file cannot be read; see reading.read_source.
    """
    try:
        return reading.read_source(name, data, read_options(profile, overrides))
    except UnreadableFileError as error:
        raise MappingError(str(error)) from None


def import_bytes(
    name: str,
    data: bytes,
    profile: MappingProfile,
    overrides: ReadOverrides | None = None,
    progress: ProgressCallback | None = None,
) -> MappedImport:
    """Read and map a foreign export held in memory, such as an upload; nothing is written anywhere."""
    return map_source(read_for_profile(name, data, profile, overrides), profile, progress)


def map_source(table: SourceTable, profile: MappingProfile, progress: ProgressCallback | None = None) -> MappedImport:
    """Map every record of a source table through a profile into canonical tables held in memory.

    Raises MappingError when a source column that the profile needs is not in
    the header, or the header repeats a name and the profile rejects that.
    Problems of single rows do not raise: they are in the report, and the
    rejected rows are left out of the tables.
    """
    _check_repeated_headers(table, profile)
    bound_columns = _bind_rules(profile.columns, table, profile, "columns")
    bound_extras = _bind_rules(profile.extra_columns, table, profile, "extra_columns")

    report = ImportReport(
        source=Path(table.name),
        profile=profile.name,
        encoding=table.encoding,
        read_as=table.describe(),
    )
    output_columns = [
        name for name in INITIATIVE_COLUMNS if name in REQUIRED_INITIATIVE_COLUMNS or name in profile.columns
    ] + list(profile.extra_columns)
    rows, positions = _map_records(table, bound_columns + bound_extras, output_columns, profile, report, progress)

    frame = pd.DataFrame(rows, columns=range(len(output_columns)), dtype=object)
    frame.columns = output_columns
    frame.index = pd.Index(positions, dtype="int64", name="row")
    label = table.name if table.sheet is None else f'{table.name}, sheet "{table.sheet}"'
    tables = {"initiatives": RawTable(label=label, frame=frame)}
    for name, (header, fixed_rows) in _fixed_tables(profile).items():
        tables[name] = RawTable(label=f"{name}.csv", frame=pd.DataFrame(fixed_rows, columns=header, dtype=object))

    source_columns = {
        bound.target: bound.columns[0][0] for bound in bound_columns + bound_extras if bound.columns
    }
    logger.info(
        "Mapped %s with profile %s: %d rows read, %d imported, %d rejected",
        table.name,
        profile.name,
        report.rows_read,
        report.imported,
        report.rejected,
    )
    return MappedImport(source=table, profile=profile, report=report, tables=tables, source_columns=source_columns)


def import_file(
    source: Path, profile: MappingProfile, out_dir: Path, overrides: ReadOverrides | None = None
) -> ImportReport:
    """Import one foreign export with a mapping profile and write a canonical portfolio folder.

    Writes themes.csv and alignment.csv (header only: an imported portfolio
    has no themes yet), initiatives.csv with one row per imported source row,
    and lenses.csv, urgency.csv, settings.csv and budget.csv where the profile
    defines them. All files are UTF-8 with a comma separator; money has two
    decimals in the portfolio currency and dates are ISO yyyy-mm-dd.

    Everything is built in a temporary folder beside `out_dir` and renamed into
    place when complete, so a failure leaves no `out_dir` behind.

    Raises MappingError when the file cannot be read or decoded, is over the
    upload limit, a source column that the profile needs is not in the header,
    or `out_dir` exists and is not an empty folder; NothingImportedError (a
    MappingError) when no row can be imported. Problems with single rows do not
    raise: they are in the returned report.
    """
    source = Path(source)
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)

    try:
        table = reading.read_source_file(source, read_options(profile, overrides))
    except UnreadableFileError as error:
        raise MappingError(str(error)) from None
    mapped = map_source(table, profile)
    mapped.report.source = source
    mapped.report.out_dir = out_dir
    require_rows(mapped.report)

    tables = {
        name: (list(raw.frame.columns), raw.frame.to_numpy().tolist()) for name, raw in mapped.tables.items()
    }
    _write_folder(out_dir, tables)

    logger.info("Wrote the import of %s into %s", source, out_dir)
    return mapped.report


# --- Validation before commit --------------------------------------------------------------------


@dataclass
class CheckedImport:
    """A mapped import validated as a portfolio.

    `portfolio` is None when the tables do not load, and `problems` then lists
    the errors that stop them. Otherwise `problems` lists the portfolio's
    warnings (such as a missing criterion). Each is located in the source file.
    """

    mapped: MappedImport
    portfolio: Portfolio | None
    problems: list[ImportProblem]

    @property
    def report(self) -> ImportReport:
        return self.mapped.report


def check_import(mapped: MappedImport) -> CheckedImport:
    """Validate the mapped tables as a canonical portfolio before anything is committed.

    A row that breaks a rule of one initiative (capex and opex that do not add
    up to cost, must_fund with force_out, an amount too large to store) is
    rejected like a row the mapping rejected. It leaves the tables and the
    report counts it with its error, so the other rows can still load. Errors
    that are not about one row keep the portfolio from loading.
    """
    initiatives = mapped.tables["initiatives"]
    portfolio: Portfolio | None = None
    problems: list[Problem] = []

    # Rejecting rows cannot create new errors of other rows, so a second pass normally ends the loop.
    for _ in range(3):
        portfolio, problems = parse_portfolio(mapped.tables, source=mapped.source.name)
        row_errors = [
            problem
            for problem in problems
            if problem.severity == "error" and problem.file == initiatives.label and problem.row is not None
        ]
        if portfolio is not None or not row_errors:
            break
        _reject_invalid_rows(mapped, row_errors)

    found = [_locate(mapped, problem) for problem in problems]
    logger.info(
        "Checked the import of %s: %s, %d problems", mapped.source.name, "loads" if portfolio else "does not load",
        len(found),
    )
    return CheckedImport(mapped=mapped, portfolio=portfolio, problems=found)


def _reject_invalid_rows(mapped: MappedImport, row_errors: list[Problem]) -> None:
    report = mapped.report
    table = mapped.tables["initiatives"]
    rows = sorted({problem.row for problem in row_errors if problem.row is not None})
    frame = table.frame.drop(index=rows)
    mapped.tables["initiatives"] = RawTable(label=table.label, frame=frame)

    reason = "failing portfolio validation"
    report.imported -= len(rows)
    report.rejected += len(rows)
    report.rejection_reasons[reason] = report.rejection_reasons.get(reason, 0) + len(rows)
    for problem in row_errors:
        located = _locate(mapped, problem)
        report.problems.append(
            located.model_copy(
                update={"code": "invalid_row", "message": f"{problem.message}; the row is rejected"}
            )
        )


def _locate(mapped: MappedImport, problem: Problem) -> ImportProblem:
    """Translate a validation problem of the canonical tables into one located in the source file."""
    in_initiatives = problem.file == mapped.tables["initiatives"].label
    column = problem.column
    if in_initiatives and column is not None:
        column = mapped.source_columns.get(column, column)
    row = problem.row if in_initiatives and problem.row is not None else 0
    record = None
    if mapped.source.transposed and in_initiatives and problem.row is not None:
        record = mapped.place(problem.row)
    return ImportProblem(
        severity=problem.severity,
        code="portfolio_check",
        file=problem.file,
        row=row,
        record=record,
        column=column,
        value=shorten(problem.value or ""),
        initiative_id=problem.initiative_id,
        message=problem.message,
    )


# --- Mapping records -----------------------------------------------------------------------------


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
    record: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    problems: list[ImportProblem] = field(default_factory=list)
    rejection_reason: str | None = None
    pending: dict[tuple[str | None, str, str, str], list[str]] = field(default_factory=dict)

    @property
    def place(self) -> str:
        return self.record or f"row {self.row_number}"

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
                record=self.record,
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


def _check_repeated_headers(table: SourceTable, profile: MappingProfile) -> None:
    if not table.repeated_headers or profile.reader.duplicate_headers != "reject":
        return
    raise MappingError(
        f"{table.name} repeats the header(s) {', '.join(table.repeated_headers)}; rename them in the file "
        'or set reader.duplicate_headers = "number" in the profile'
    )


def _bind_rules(
    rules: Mapping[str, ColumnRule], table: SourceTable, profile: MappingProfile, section: str
) -> list[_BoundRule]:
    positions = {name: index for index, name in enumerate(table.header)}
    bound = []
    for target, rule in rules.items():
        columns = [(name, positions[name]) for name in rule.source if name in positions]
        if rule.source and not columns and not rule.source_optional:
            wanted = " or ".join(f'"{name}"' for name in rule.source)
            hint = "Fix the source name in the profile or use the profile made for this file"
            if table.transpose_suggested:
                hint = "The file looks transposed (one record per column): read it transposed"
            raise MappingError(
                f"{table.name} has no column {wanted}, which {section}.{target} of profile "
                f"{profile.name} reads; the file has: {', '.join(table.header)}. {hint}"
            )
        bound.append(_BoundRule(target=target, rule=rule, columns=columns))
    return bound


def _map_records(
    table: SourceTable,
    rules: list[_BoundRule],
    output_columns: list[str],
    profile: MappingProfile,
    report: ImportReport,
    progress: ProgressCallback | None = None,
) -> tuple[list[list[str]], list[int]]:
    """Map every source record, count the outcomes in `report` and return the output rows and their positions."""
    rows: list[list[str]] = []
    positions: list[int] = []
    first_place_of_id: dict[str, str] = {}
    reasons: Counter[str] = Counter()
    problems: list[ImportProblem] = []
    typed_cells = _typed_cells(table)
    total = len(table.records)
    counts: Counter[str] = Counter()
    # The id goes first so that every later problem of a row can name it.
    rules = sorted(rules, key=lambda bound: bound.target != "initiative_id")

    for index, record in enumerate(table.records):
        if progress is not None and index % PROGRESS_EVERY_ROWS == 0:
            progress(index / max(total, 1), f"Mapping row {index + 1:,} of {total:,}")

        outcome = _RowOutcome(
            file=table.name,
            row_number=table.positions[index],
            record=table.place(index) if table.transposed else None,
        )
        _map_record(record, len(table.header), rules, profile, outcome, typed_cells.get(index, {}))
        _check_unique_id(outcome, first_place_of_id, rules)

        counts["rows_read"] += 1
        if outcome.rejection_reason is not None:
            counts["rejected"] += 1
            reasons[outcome.rejection_reason] += 1
            problems.extend(p for p in outcome.problems if p.severity == "error")
            continue

        counts["imported"] += 1
        if outcome.problems:
            counts["warned"] += 1
            problems.extend(outcome.problems)
        rows.append([outcome.values.get(name, "") for name in output_columns])
        positions.append(table.positions[index])

    if progress is not None:
        progress(1.0, f"Mapped {total:,} rows")
    report.rows_read += counts["rows_read"]
    report.imported += counts["imported"]
    report.rejected += counts["rejected"]
    report.warned += counts["warned"]
    report.problems.extend(problems)
    report.rejection_reasons = dict(reasons)
    return rows, positions


def _typed_cells(table: SourceTable) -> dict[int, dict[int, str]]:
    """Return, per record, the columns whose workbook cells are dates ("date") or numbers ("number")."""
    typed: dict[int, dict[int, str]] = {}
    for kind, cells in (("date", table.date_cells), ("number", table.number_cells)):
        for record, column in cells:
            typed.setdefault(record, {})[column] = kind
    return typed


def _check_unique_id(outcome: _RowOutcome, first_place_of_id: dict[str, str], rules: list[_BoundRule]) -> None:
    """Reject a row whose initiative_id an earlier imported row already has."""
    if outcome.rejection_reason is not None:
        return

    initiative_id = outcome.values["initiative_id"]
    first_place = first_place_of_id.get(initiative_id)
    if first_place is None:
        first_place_of_id[initiative_id] = outcome.place
        return

    id_rule = next(bound for bound in rules if bound.target == "initiative_id")
    column = id_rule.columns[0][0] if id_rule.columns else None
    outcome.add_problem(
        "duplicate_id",
        "error",
        f"repeats the initiative_id of {first_place}; the row is rejected. Give each row its own id in the source",
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
    typed_cells: Mapping[int, str],
) -> None:
    """Map one source record into `outcome`: its values, problems and rejection reason.

    `rules` come with the initiative_id rule first, so that every later problem
    of the row can name the id.
    """
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
    for bound in rules:
        _map_field(bound, cells, profile, outcome, typed_cells)
    outcome.flush_warnings()


def _map_field(
    bound: _BoundRule,
    cells: list[str],
    profile: MappingProfile,
    outcome: _RowOutcome,
    typed_cells: Mapping[int, str],
) -> None:
    """Fill one output column of a row from its source columns, or record why it cannot be."""
    rule = bound.rule
    target = bound.target
    values = [cells[index] for _, index in bound.columns]
    missing = _missing_keys(tuple(profile.reader.missing_values)) if rule.parse != "text" else frozenset()
    chosen = _first_present(values, missing)

    if chosen is None:
        column = bound.columns[0][0] if bound.columns else None
        raw = next((value for value in values if value.strip()), "")
        cell_kind = None
    else:
        column = bound.columns[chosen[0]][0]
        raw = chosen[1]
        cell_kind = typed_cells.get(bound.columns[chosen[0]][1])
        if len(values) > 1:
            _check_agreement(bound, values, chosen, outcome, profile.reader.missing_values if missing else ())

    if cell_kind == "date" and rule.parse == "text":
        reason = f"{EXCEL_DATE_REASON}; {target} keeps the date as read"
        outcome.add_problem("excel_date", "warning", reason, column, raw)
    try:
        if cell_kind == "date" and rule.parse != "text" and rule.parse != "date":
            raise InvalidValueError(EXCEL_DATE_REASON)
        value = _parse_value(raw if chosen is not None else "", rule, target, profile, cell_kind == "number")
        if target == "segment" and value is not None and value not in profile.segments:
            raise InvalidValueError(f'gives the segment "{value}", which has no lens')
    except InvalidValueError as error:
        reason = str(error)
        if rule.parse != "date" and looks_like_excel_date(raw):
            reason = f'{reason}. It looks like a date that Excel made from text such as "3-4"; {EXCEL_DATE_FIX}'
        _handle_unusable(bound, column, raw, reason, profile, outcome)
        return

    if value is not None:
        outcome.values[target] = value
        return

    if rule.default is not None:
        outcome.values[target] = _format_default(rule, target, profile)
        return

    if rule.required:
        what = "marks a missing value" if raw.strip() else "is blank"
        outcome.add_problem(
            "blank_required",
            "error",
            f"{what}; the row is rejected because {target} is required. Fill in {column or target} in the source",
            column,
            raw,
        )
        outcome.reject(f"without a usable {target}")
        return

    outcome.values[target] = ""


def _first_present(values: Sequence[str], missing: frozenset[str]) -> tuple[int, str] | None:
    """Return the position and value of the first value that is neither blank nor a missing-value word."""
    for position, value in enumerate(values):
        stripped = value.strip()
        if not stripped:
            continue
        if not missing or len(stripped) > MISSING_VALUE_MAX_CHARS or normalize_key(stripped) not in missing:
            return position, value
    return None


@lru_cache(maxsize=16)
def _missing_keys(missing_values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(normalize_key(word) for word in missing_values)


def _check_agreement(
    bound: _BoundRule,
    values: list[str],
    chosen: tuple[int, str],
    outcome: _RowOutcome,
    missing_values: Sequence[str] = (),
) -> None:
    """Warn when another source column of the same field contains a different non-blank value."""
    chosen_key = normalize_key(clean_text(chosen[1]))
    missing = _missing_keys(tuple(missing_values))
    for position, other in enumerate(values):
        if position == chosen[0] or not other.strip() or normalize_key(other) in missing:
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


def _parse_value(
    raw: str, rule: ColumnRule, target: str, profile: MappingProfile, workbook_number: bool = False
) -> str | None:
    """Parse one source value by its rule and format it as the canonical text, or None if blank.

    `workbook_number` marks a number cell of a workbook. Its text is in plain
    notation whatever the profile's separators, and in a date column it is an
    Excel day number.
    """
    if rule.parse == "text":
        return clean_text(raw) or None

    money = profile.money
    thousands, point = ("", ".") if workbook_number else (money.thousands_separator, money.decimal_separator)

    if rule.parse == "money":
        amount = parse_money(
            raw,
            unit=rule.unit or money.unit,
            currency_symbols=money.currency_symbols,
            thousands_separator=thousands,
            decimal_separator=point,
            negative_parentheses=money.negative_parentheses,
            magnitude_suffixes=money.magnitude_suffixes,
        )
        if amount is None:
            return None
        _check_bounds(amount, rule, target)
        return format_money(amount)

    if rule.parse == "number":
        number = parse_decimal(raw, thousands_separator=thousands, decimal_separator=point)
        if number is None:
            return None
        _check_bounds(number, rule, target)
        return format_decimal(number)

    if rule.parse == "percent":
        share = parse_percent(raw, scale=rule.scale or 100, thousands_separator=thousands, decimal_separator=point)
        if share is None:
            return None
        _check_bounds(share, rule, target)
        return format_decimal(share)

    if rule.parse == "date":
        parsed = parse_date(raw, profile.dates.formats, profile.dates.excel_serials or workbook_number)
        return parsed.isoformat() if parsed else None

    if rule.parse == "yes_no":
        return "true" if parse_yes_no(raw) else "false"

    assert rule.map is not None  # checked when the profile loads
    mapped = map_value(raw, profile.value_maps[rule.map], rule.map, profile.value_lookup(rule.map))
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


@lru_cache(maxsize=1024, typed=True)
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


def _check_out_dir(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise MappingError(f"output path {out_dir} is a file; give the path of a new folder")
    if any(out_dir.iterdir()):
        raise MappingError(
            f"output folder {out_dir} is not empty; give a new or empty folder, the import never overwrites files"
        )
