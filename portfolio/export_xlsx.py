"""The XLSX report: a summary, one sheet per segment with its funding line, the reconciliation, the flags.

Every value goes through :func:`xlsx_value`, so text is formula-escaped
(see :func:`portfolio.export.escape_formula`) and numbers stay numbers. Money
is written in currency units with a currency number format.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from portfolio.export import (
    Report,
    Table,
    escape_formula,
    flags_table,
    funding_line_text,
    funding_summaries,
    funding_table,
    lens_weights_table,
    overrun_text,
    reconciliation,
    segment_table,
    theme_weights_table,
    thresholds_table,
    urgency_weights_table,
)
from portfolio.formatting import currency_symbol
from portfolio.funding import SegmentFunding

# Excel's limit of characters in one cell; longer text is cut with an ellipsis.
XLSX_MAX_CELL_CHARS = 32_767
# Excel's limit of characters in a sheet name, and the characters it forbids there.
XLSX_MAX_SHEET_NAME = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def xlsx_value(value: Any) -> Any:
    """Turn one value into a safe XLSX cell value: text cleaned and escaped, numbers as numbers, NaN empty."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, Decimal):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if len(text) > XLSX_MAX_CELL_CHARS:
        text = text[:XLSX_MAX_CELL_CHARS - 1] + "…"
    return escape_formula(text)


class _SheetNames:
    """Sheet names that Excel accepts: at most 31 characters, no []:*?/\\, unique ignoring case."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, requested: str) -> str:
        base = _SHEET_NAME_FORBIDDEN.sub("_", requested).strip("'").strip() or "sheet"
        base = base[:XLSX_MAX_SHEET_NAME]
        name, number = base, 2
        while name.lower() in self.used:
            suffix = f" ({number})"
            name = base[:XLSX_MAX_SHEET_NAME - len(suffix)] + suffix
            number += 1
        self.used.add(name.lower())
        return name


class _XlsxStyles:
    """The fonts, fills, borders and number formats of the workbook, made once per workbook."""

    def __init__(self, currency: str) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        symbol = currency_symbol(currency).replace('"', "")
        self.formats = {
            # Spreadsheets are read by finance, so money shows to the cent even where the pack rounds it.
            "money": f'"{symbol}"#,##0.00',
            "money_exact": f'"{symbol}"#,##0.00',
            "score": "0.0",
            "weight": "0.###",
            "share": "0.0%",
            "pp": "+0.0;-0.0;0.0",
            "change": "+0;-0;0",
            "int": "0",
        }
        self.title = Font(bold=True, size=14)
        self.heading = Font(bold=True, size=12)
        self.bold = Font(bold=True)
        self.note = Font(italic=True, color="555555")
        self.header_fill = PatternFill("solid", fgColor="DCE6F1")
        self.funded_fill = PatternFill("solid", fgColor="E3F1E8")
        self.line = Side(style="thick", color="D55E00")
        self.thin = Side(style="thin", color="999999")
        self.Border = Border
        self.wrap = Alignment(wrap_text=True, vertical="top")


class _SheetWriter:
    """Write rows into one worksheet; every value goes through :func:`xlsx_value`."""

    def __init__(self, sheet, styles: _XlsxStyles) -> None:
        self.sheet = sheet
        self.styles = styles
        self.row = 1

    def put(self, column: int, value: Any, kind: str = "text", font=None):
        cell = self.sheet.cell(row=self.row, column=column)
        cell.value = xlsx_value(value)
        if kind in ("money", "money_exact") and isinstance(cell.value, (int, float, Decimal)):
            cell.value = Decimal(int(cell.value)).scaleb(-2)
        number_format = self.styles.formats.get(kind)
        if number_format:
            cell.number_format = number_format
        if font is not None:
            cell.font = font
        return cell

    def line(self, *values: Any, font=None) -> None:
        for column, value in enumerate(values, start=1):
            self.put(column, value, font=font)
        self.row += 1

    def skip(self, rows: int = 1) -> None:
        self.row += rows

    def table(self, table: Table, fills: Iterable[bool] | None = None) -> tuple[int, int]:
        """Write a titled table and return the sheet rows of its header and of its last data row."""
        self.line(table.title, font=self.styles.heading)
        if table.note:
            self.line(table.note, font=self.styles.note)
        header = self.row
        for column, name in enumerate(table.columns, start=1):
            cell = self.put(column, table.labels[name], font=self.styles.bold)
            cell.fill = self.styles.header_fill
            cell.alignment = self.styles.wrap
        self.row += 1
        shaded = list(fills) if fills is not None else [False] * len(table.frame)
        for record, fill in zip(table.frame[table.columns].itertuples(index=False), shaded, strict=True):
            for column, (name, value) in enumerate(zip(table.columns, record, strict=True), start=1):
                cell = self.put(column, value, table.kinds[name])
                if fill:
                    cell.fill = self.styles.funded_fill
            self.row += 1
        return header, self.row - 1


def _set_widths(sheet, widths: dict[str, float]) -> None:
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width


def xlsx_bytes(report: Report) -> bytes:
    """Build the XLSX report: a summary, one sheet per segment, the reconciliation and the flags.

    Money cells are numbers in currency units with a currency number format;
    shares are fractions formatted as percent. In each segment sheet funded
    rows are shaded and a thick line runs under the last funded row. Every
    text cell goes through :func:`escape_formula`.

    NOTE: openpyxl styles and serializes cell by cell, so large portfolios
    are slow: about 10 s for 20,000 generated initiatives, measured on a
    shared two-core container, so roughly a minute for 100,000.
    """
    from openpyxl import Workbook

    styles = _XlsxStyles(report.currency)
    names = _SheetNames()
    workbook = Workbook()
    workbook.properties.creator = "Portfolio Lens"
    workbook.properties.created = report.made_at.astimezone(dt.UTC).replace(tzinfo=None)

    summary_sheet = workbook.active
    summary_sheet.title = names.take("Summary")
    _write_summary(_SheetWriter(summary_sheet, styles), report)

    summaries = {s.segment: s for s in funding_summaries(report)}
    for segment in report.segments:
        sheet = workbook.create_sheet(names.take(segment))
        _write_segment(_SheetWriter(sheet, styles), report, summaries[segment])

    recon_sheet = workbook.create_sheet(names.take("Reconciliation"))
    writer = _SheetWriter(recon_sheet, styles)
    writer.line("Spend reconciliation", font=styles.title)
    writer.skip()
    recon = reconciliation(report)
    writer.table(recon.checks)
    writer.skip()
    writer.table(funding_table(report))
    writer.skip()
    writer.table(recon.themes)
    _set_widths(recon_sheet, {"A": 16, "B": 44, "C": 18, "D": 18, "E": 18, "F": 16, "G": 18, "H": 18, "I": 16})

    flags_sheet = workbook.create_sheet(names.take("Flags"))
    writer = _SheetWriter(flags_sheet, styles)
    flags = flags_table(report)
    writer.table(flags)
    _set_widths(flags_sheet, {"A": 24, "B": 18, "C": 7, "D": 18, "E": 16, "F": 14, "G": 90})
    flags_sheet.freeze_panes = "A4" if flags.note else "A3"

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_summary(writer: _SheetWriter, report: Report) -> None:
    styles = writer.styles
    writer.line("Portfolio Lens: scored portfolio", font=styles.title)
    writer.skip()
    facts = [("Cycle", report.cycle), ("Source", report.source), ("Made", report.made_at_text),
             ("Weights", report.weights_note), ("Currency", report.currency), ("Initiatives", len(report.result))]
    if report.sai_notice:
        facts.append(("Notice", report.sai_notice))
    for label, value in facts:
        writer.put(1, label, font=styles.bold)
        writer.put(2, value)
        writer.row += 1
    writer.skip()
    for table in (funding_table(report), theme_weights_table(report), lens_weights_table(report),
                  urgency_weights_table(report), thresholds_table(report)):
        writer.table(table)
        writer.skip()
    _set_widths(writer.sheet, {"A": 26, "B": 34, "C": 18, "D": 18, "E": 18, "F": 18, "G": 18, "H": 16, "I": 18})


# Column widths of a segment sheet, in characters.
_SEGMENT_WIDTHS: dict[str, float] = {"rank": 7, "rank_change": 8, "initiative_id": 14, "name": 48, "status": 15,
                                     "crossing": 15, "cost": 15, "running_total": 16, "segment_score": 14,
                                     "urgency": 10, "sai": 8, "quadrant": 16, "sponsor": 30}


def _write_segment(writer: _SheetWriter, report: Report, summary: SegmentFunding) -> None:
    from openpyxl.utils import get_column_letter

    styles = writer.styles
    sheet = writer.sheet
    table, rows = segment_table(report, summary.segment)
    writer.line(f"Segment {summary.segment}: ranked list and funding line", font=styles.title)
    writer.line(funding_line_text(report, summary, rows), font=styles.note)
    if summary.overrun:
        writer.line(overrun_text(report, summary), font=styles.note)
    writer.line(f"Weights: {report.weights_note}. Made {report.made_at_text}.", font=styles.note)
    writer.skip()
    funded = rows["funded"].fillna(False).to_numpy(dtype=bool)
    header, _ = writer.table(replace(table, title="Ranked list in funding order"), fills=funded)

    last_column = get_column_letter(len(table.columns))
    sheet.freeze_panes = sheet.cell(row=header + 1, column=table.columns.index("name") + 2)
    if len(rows):
        sheet.auto_filter.ref = f"A{header}:{last_column}{header + len(rows)}"
    if summary.envelope is not None:
        # The line sits under the last funded row, or under the header when nothing is funded.
        line_row = header + (int(np.flatnonzero(funded)[-1]) + 1 if funded.any() else 0)
        for column in range(1, len(table.columns) + 1):
            sheet.cell(row=line_row, column=column).border = styles.Border(bottom=styles.line)
    _set_widths(sheet, {get_column_letter(index): _SEGMENT_WIDTHS.get(name, 14)
                        for index, name in enumerate(table.columns, start=1)})
