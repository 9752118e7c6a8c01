"""Exports: the scored portfolio as CSV and XLSX, the steering-committee pack, and canonical files.

Every export is built from one :class:`Report`: a portfolio scored under one
set of :class:`~portfolio.scoring.ScoringParams` (the committed weights or a
session's what-if), with the date and source it was made from. The functions
return bytes or text, so the app's download buttons and the command line
share them; :func:`write_file_atomic` puts a file on disk without ever
leaving half of it behind. This module contains the report, its tables, the
CSV and the canonical files; :mod:`portfolio.export_xlsx` builds the workbook and
:mod:`portfolio.export_pack` the steering-committee pack.

Formula escaping. A spreadsheet evaluates a text cell that begins with
``=``, ``+``, ``-`` or ``@`` (and some also after a leading tab, carriage
return or null character), so a name typed as ``=HYPERLINK(...)`` could run
when a report is opened. In the CSV and XLSX reports every text cell that
begins with one of those characters is prefixed with a single quote ``'``,
as OWASP ASVS 5.0 requirement 1.2.10 requires. The cell then shows the quote
and the text as typed. Numbers are written as numbers and never escaped, so
``-3.5`` stays a number. Canonical files are data for re-import, not
reports: they keep raw values, unescaped, so that a round trip is exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import secrets
import zipfile
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio.cycle import DECISIONS
from portfolio.errors import InvalidPortfolioError
from portfolio.explain import CRITERION_LABELS
from portfolio.formatting import money
from portfolio.funding import (
    SegmentFunding,
    evaluate,
    funding_status,
    ranked_segment,
    segment_funding,
)
from portfolio.importing import canonical_frames, write_canonical
from portfolio.models import Portfolio, Problem, format_cents, portfolio_warnings
from portfolio.reconcile import NO_LINK, Check, alignment_gap, attribute_spend, reconcile
from portfolio.scoring import QUADRANT_LABELS, ScoringInputs, ScoringParams, prepare, sai_notice

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\x00")
FORMULA_ESCAPE = "'"


# Columns of :func:`report_frame`, in order. Money in integer cents.
REPORT_COLUMNS: tuple[str, ...] = (
    "segment",
    "rank",
    "initiative_id",
    "name",
    "status",
    "funded",
    "must_fund",
    "force_out",
    "cost",
    "running_total",
    "segment_score",
    "urgency",
    "sai",
    "quadrant",
    "sponsor",
    "business_unit",
    "decision",
    "decision_rationale",
)


def escape_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would evaluate with ``'``; return any other value unchanged.

    Text beginning with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return
    or a null character is escaped. Numbers, booleans and None pass through, so ``-1`` (a number)
    stays ``-1`` and ``"-1"`` (text) becomes ``"'-1"``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return FORMULA_ESCAPE + value
    return value


# --- the report -----------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A portfolio scored under one set of parameters, with what it was made from.

    ``result`` is :func:`portfolio.funding.evaluate` of ``inputs`` under
    ``params``. ``made_at`` is timezone-aware. ``weights_note`` names in words
    the weights used (committed, what-if, overrides). ``stored_total``
    is the database's own total in cents when the report comes from a
    workspace, so that the reconciliation checks it too. ``cycle`` is the
    planning cycle's name. ``warnings`` are the portfolio's validation
    warnings when the caller has them already; they are computed otherwise.
    """

    portfolio: Portfolio
    inputs: ScoringInputs
    params: ScoringParams
    result: pd.DataFrame
    source: str
    made_at: dt.datetime
    weights_note: str
    stored_total: int | None = None
    cycle: str = ""
    warnings: tuple[Problem, ...] | None = None
    # The committee's active decisions (initiative_id, decision, rationale), from a workspace; files hold none.
    decisions: pd.DataFrame | None = None

    @cached_property
    def committed(self) -> ScoringParams:
        """The portfolio's committed parameters, to show beside the ones used."""
        return ScoringParams.from_portfolio(self.portfolio)

    @property
    def is_what_if(self) -> bool:
        """Whether the parameters used differ from the committed ones."""
        return self.params != self.committed

    @cached_property
    def committed_result(self) -> pd.DataFrame:
        """The scores under the committed parameters, to compare the what-if with."""
        return self.result if not self.is_what_if else evaluate(self.inputs, self.committed)

    @cached_property
    def details(self) -> dict[str, np.ndarray]:
        """Sponsor and business unit per initiative, in file order, read once from the portfolio."""
        items = self.portfolio.initiatives
        return {column: items[column].to_numpy(dtype=object) for column in ("sponsor", "business_unit")}

    @property
    def currency(self) -> str:
        return self.portfolio.settings.currency

    @property
    def segments(self) -> tuple[str, ...]:
        return self.inputs.segments

    @property
    def made_at_text(self) -> str:
        """Return ``made_at`` in UTC as ``yyyy-mm-dd hh:mm UTC``."""
        return self.made_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def sai_notice(self) -> str | None:
        return sai_notice(self.inputs, self.params)


def build_report(
    portfolio: Portfolio,
    params: ScoringParams | None = None,
    *,
    inputs: ScoringInputs | None = None,
    result: pd.DataFrame | None = None,
    source: str | None = None,
    made_at: dt.datetime | None = None,
    weights_note: str | None = None,
    stored_total: int | None = None,
    cycle: str | None = None,
    warnings: list[Problem] | tuple[Problem, ...] | None = None,
    decisions: pd.DataFrame | None = None,
) -> Report:
    """Score a portfolio for export; pass ``inputs`` and ``result`` when they are already computed.

    ``params`` defaults to the committed parameters, ``source`` to the
    portfolio's source, ``cycle`` to its ``cycle`` setting, ``made_at`` to
    now (UTC), and ``weights_note`` to "committed weights" or "what-if
    weights" depending on ``params``.
    """
    committed = ScoringParams.from_portfolio(portfolio)
    params = committed if params is None else params
    inputs = prepare(portfolio) if inputs is None else inputs
    result = evaluate(inputs, params) if result is None else result
    if weights_note is None:
        weights_note = "committed weights" if params == committed else "what-if weights"
    return Report(
        portfolio=portfolio,
        inputs=inputs,
        params=params,
        result=result,
        source=portfolio.source if source is None else source,
        made_at=dt.datetime.now(dt.UTC) if made_at is None else made_at,
        weights_note=weights_note,
        stored_total=stored_total,
        cycle=portfolio.settings.cycle if cycle is None else cycle,
        warnings=None if warnings is None else tuple(warnings),
        decisions=decisions,
    )


def ranked_report_segment(report: Report, segment: str) -> pd.DataFrame:
    """Return one segment in funding order with ``status`` and ``running_total`` (Int64 cents).

    Funded rows come first (the order of :func:`portfolio.funding.ranked_segment`
    guarantees it), so the funding line runs under the last row whose
    ``funded`` is true. For a what-if, ``rank_change`` (positive: moved up)
    and ``crossing`` compare with the committed parameters.
    """
    baseline = report.committed_result if report.is_what_if else None
    rows = ranked_segment(report.result, segment, baseline)
    rows["running_total"] = pd.array(rows["running_total"].astype("Float64").round(), dtype="Int64")
    rows["status"] = funding_status(rows)
    # evaluate() keeps the initiatives' file order in a default index, so the index picks the same rows.
    positions = rows.index.to_numpy()
    for column, values in report.details.items():
        rows[column] = values[positions]
    decisions = report.decisions
    if decisions is not None and len(decisions):
        by_id = decisions.set_index("initiative_id")
        rows["decision"] = rows["initiative_id"].map(by_id["decision"].map(DECISIONS)).fillna("")
        rows["decision_rationale"] = rows["initiative_id"].map(by_id["rationale"]).fillna("")
    else:
        rows["decision"] = ""
        rows["decision_rationale"] = ""
    return rows


def crossed_ids(report: Report) -> list[str]:
    """Return the initiatives on the other side of the funding line than under the committed parameters."""
    if not report.is_what_if:
        return []
    now = report.result["funded"].fillna(False).to_numpy(dtype=bool)
    before = report.committed_result["funded"].fillna(False).to_numpy(dtype=bool)
    return [str(i) for i in report.result["initiative_id"].to_numpy()[now != before]]


def report_frame(report: Report) -> pd.DataFrame:
    """Return the scored portfolio as one table: segments in lens order, each in funding order.

    Columns are :data:`REPORT_COLUMNS`. ``cost`` (int64) and ``running_total``
    (Int64) are cents, and ``running_total`` is empty where the line does not
    count the initiative. Scores are floats, NaN where undefined. ``funded`` is a
    nullable boolean. ``quadrant`` is the key (``fund_now``, ...) or None.
    """
    parts = [ranked_report_segment(report, segment) for segment in report.segments]
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame({column: [] for column in REPORT_COLUMNS})
    frame = pd.concat(parts)
    frame["segment"] = frame["segment"].astype(str)
    frame["quadrant"] = frame["quadrant"].astype(object).where(frame["quadrant"].notna(), None)
    return frame[list(REPORT_COLUMNS)].reset_index(drop=True)


# --- tables shared by the XLSX workbook and the HTML pack -----------------------------

# Column kinds decide how a value is written:
#   text, int, change (a signed whole number), score (0–100), weight (a raw weight),
#   money (cents, in whole units in the pack), money_exact (cents, to the cent),
#   share (a fraction, shown as percent), pp (percentage points).
Kinds = dict[str, str]


@dataclass(frozen=True)
class Table:
    """A titled table with a label and a kind of value for each column."""

    title: str
    frame: pd.DataFrame
    labels: dict[str, str]
    kinds: Kinds
    note: str = ""

    @property
    def columns(self) -> list[str]:
        return list(self.labels)


def _share(weight: float, total: float) -> float:
    return weight / total if total > 0 else float("nan")


def theme_weights_table(report: Report) -> Table:
    """Return the theme weights: committed and used raw weights and the normalized share of the weight used."""
    themes = report.portfolio.themes
    used = report.params.theme_weights
    total = sum(used.values())
    frame = pd.DataFrame({
        "theme_id": themes["theme_id"].to_numpy(),
        "name": themes["name"].to_numpy(),
        "committed": [report.committed.theme_weights.get(t) for t in themes["theme_id"]],
        "used": [used.get(t, 0.0) for t in themes["theme_id"]],
    })
    frame["share"] = [_share(w, total) for w in frame["used"]]
    return Table("Theme weights", frame,
                 {"theme_id": "Theme ID", "name": "Theme", "committed": "Committed weight", "used": "Weight used",
                  "share": "Share of weight used"},
                 {"theme_id": "text", "name": "text", "committed": "weight", "used": "weight", "share": "share"},
                 note="" if total > 0 else sai_notice_text(len(themes)))


def sai_notice_text(theme_count: int) -> str:
    """Explain an undefined SAI for a portfolio with ``theme_count`` themes."""
    if theme_count == 0:
        return "No themes yet, so SAI is undefined."
    return "Every theme weight is zero, so SAI is undefined."


def lens_weights_table(report: Report) -> Table:
    """Return the lens weights per segment: committed and used criterion weights and the share within the lens."""
    records = []
    for segment in report.segments:
        lens = report.params.lenses.get(segment, {})
        committed = report.committed.lenses.get(segment, {})
        total = sum(lens.values())
        for criterion in dict.fromkeys([*committed, *lens]):
            weight = lens.get(criterion, 0.0)
            records.append((segment, CRITERION_LABELS.get(criterion, criterion), committed.get(criterion), weight,
                            _share(weight, total)))
    frame = pd.DataFrame(records, columns=["segment", "criterion", "committed", "used", "share"])
    return Table("Lens weights", frame,
                 {"segment": "Segment", "criterion": "Criterion", "committed": "Committed weight",
                  "used": "Weight used", "share": "Share of the lens"},
                 {"segment": "text", "criterion": "text", "committed": "weight", "used": "weight", "share": "share"})


def urgency_weights_table(report: Report) -> Table:
    """Return the urgency weights: committed and used criterion weights and their shares."""
    used = report.params.urgency
    committed = report.committed.urgency
    total = sum(used.values())
    criteria = list(dict.fromkeys([*committed, *used]))
    frame = pd.DataFrame({
        "criterion": [CRITERION_LABELS.get(c, c) for c in criteria],
        "committed": [committed.get(c) for c in criteria],
        "used": [used.get(c, 0.0) for c in criteria],
    })
    frame["share"] = [_share(w, total) for w in frame["used"]]
    return Table("Urgency weights", frame,
                 {"criterion": "Criterion", "committed": "Committed weight", "used": "Weight used",
                  "share": "Share of urgency"},
                 {"criterion": "text", "committed": "weight", "used": "weight", "share": "share"})


def thresholds_table(report: Report) -> Table:
    """Return the quadrant thresholds (committed and used) and the justification threshold."""
    settings = report.portfolio.settings
    frame = pd.DataFrame([
        ("Alignment threshold (SAI)", report.committed.alignment_threshold, report.params.alignment_threshold),
        ("Urgency threshold", report.committed.urgency_threshold, report.params.urgency_threshold),
        ("Justification threshold (alignment score)", settings.justification_threshold,
         settings.justification_threshold),
    ], columns=["setting", "committed", "used"])
    return Table("Thresholds", frame, {"setting": "Setting", "committed": "Committed", "used": "Used"},
                 {"setting": "text", "committed": "weight", "used": "weight"},
                 note=f"Unjustified high scores: {settings.unjustified_high_scores}. Currency: {settings.currency}.")


def funding_summaries(report: Report) -> list[SegmentFunding]:
    return segment_funding(report.result, report.params, report.segments)


def funding_table(report: Report) -> Table:
    """Return per segment: initiatives, how many are funded, proposed and funded cost, envelope, headroom, overrun."""
    summaries = funding_summaries(report)
    frame = pd.DataFrame({
        "segment": [s.segment for s in summaries],
        "count": [s.count for s in summaries],
        "funded_count": [s.funded_count for s in summaries],
        "proposed": [s.proposed for s in summaries],
        "funded": [s.funded for s in summaries],
        "envelope": pd.array([s.envelope for s in summaries], dtype="Int64"),
        "committed_envelope": pd.array([report.committed.envelopes.get(s.segment) for s in summaries],
                                       dtype="Int64"),
        "headroom": pd.array([s.headroom for s in summaries], dtype="Int64"),
        "overrun": [s.overrun for s in summaries],
    })
    total = {"segment": "total", "count": frame["count"].sum(), "funded_count": frame["funded_count"].sum(),
             "proposed": frame["proposed"].sum(), "funded": frame["funded"].sum(),
             "envelope": frame["envelope"].sum(min_count=1), "committed_envelope":
             frame["committed_envelope"].sum(min_count=1), "headroom": frame["headroom"].sum(min_count=1),
             "overrun": frame["overrun"].sum()}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    for column in ("envelope", "committed_envelope", "headroom"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    return Table("Envelopes and funding", frame,
                 {"segment": "Segment", "count": "Initiatives", "funded_count": "Funded", "proposed": "Proposed cost",
                  "funded": "Funded cost", "envelope": "Envelope used", "committed_envelope": "Committed envelope",
                  "headroom": "Headroom", "overrun": "Must-fund overrun"},
                 {"segment": "text", "count": "int", "funded_count": "int", "proposed": "money", "funded": "money",
                  "envelope": "money", "committed_envelope": "money", "headroom": "money", "overrun": "money"},
                 note="A segment without an envelope has no funding line. Headroom is the envelope left under "
                      "the line.")


@dataclass(frozen=True)
class Reconciliation:
    """Spend by theme for the proposed and the funded portfolio, and the invariants checked on both."""

    themes: Table
    checks: Table
    no_link_proposed: int
    no_link_funded: int

    @property
    def passed(self) -> bool:
        return bool((self.checks.frame["result"] == "passes").all())


def reconciliation(report: Report) -> Reconciliation:
    """Attribute spend to themes for the proposed and the funded part and check the invariants."""
    funded = report.result["funded"].fillna(False).to_numpy(dtype=bool)
    proposed = np.ones(len(report.result), dtype=bool)
    names = dict(zip(report.portfolio.themes["theme_id"], report.portfolio.themes["name"], strict=True))

    checks: list[tuple[str, Check]] = []
    gaps = {}
    no_link = {}
    for label, mask in (("proposed", proposed), ("funded", funded)):
        attribution = attribute_spend(report.inputs, mask)
        no_link[label] = int(attribution.loc[attribution["theme_id"] == NO_LINK, "spend"].iloc[0])
        gaps[label] = alignment_gap(attribution, report.params, names)
        stored = report.stored_total if label == "proposed" else None
        checks.extend((label, check) for check in reconcile(report.result, attribution, mask, stored_total=stored))

    frame = pd.DataFrame({
        "theme_id": gaps["proposed"]["theme_id"],
        "name": gaps["proposed"]["name"],
        "weight_share": gaps["proposed"]["weight_share"] / 100,
        "proposed": gaps["proposed"]["spend"],
        "proposed_share": gaps["proposed"]["spend_share"] / 100,
        "proposed_gap": gaps["proposed"]["gap"],
        "funded": gaps["funded"]["spend"].to_numpy(),
        "funded_share": gaps["funded"]["spend_share"].to_numpy() / 100,
        "funded_gap": gaps["funded"]["gap"].to_numpy(),
    })
    themes = Table("Spend by theme against the weights", frame,
                   {"theme_id": "Theme ID", "name": "Theme", "weight_share": "Share of weight",
                    "proposed": "Proposed: attributed spend", "proposed_share": "Proposed: share of spend",
                    "proposed_gap": "Proposed: gap (pp)", "funded": "Funded: attributed spend",
                    "funded_share": "Funded: share of spend", "funded_gap": "Funded: gap (pp)"},
                   {"theme_id": "text", "name": "text", "weight_share": "share", "proposed": "money",
                    "proposed_share": "share", "proposed_gap": "pp", "funded": "money", "funded_share": "share",
                    "funded_gap": "pp"},
                   note="Each initiative's cost is split over the themes in proportion to its alignment scores. "
                        "The gap is the share of spend minus the share of weight, in percentage points; spend "
                        f'with no OKR link is left out of the shares: {money(no_link["proposed"], report.currency)} '
                        f'proposed, {money(no_link["funded"], report.currency)} funded.')
    check_frame = pd.DataFrame({
        "set": [label for label, _ in checks],
        "check": [check.name for _, check in checks],
        "expected": [check.expected for _, check in checks],
        "actual": [check.actual for _, check in checks],
        "result": ["passes" if check.passed else "FAILS" for _, check in checks],
    })
    check_table = Table("Reconciliation checks", check_frame,
                        {"set": "Initiatives", "check": "Invariant", "expected": "Expected", "actual": "Actual",
                         "result": "Result"},
                        {"set": "text", "check": "text", "expected": "money_exact", "actual": "money_exact",
                         "result": "text"},
                        note="Totals are compared exactly, to the cent.")
    return Reconciliation(themes, check_table, no_link["proposed"], no_link["funded"])


def report_flags(report: Report) -> list[Problem]:
    """Return the portfolio's validation warnings, with must-fund overruns checked against the envelopes used.

    The warnings of :func:`portfolio.models.portfolio_warnings` judge the
    committed envelopes. A what-if may change them, so the overrun warnings
    here are computed from the envelopes the report uses.
    """
    warnings = portfolio_warnings(report.portfolio) if report.warnings is None else report.warnings
    flags = [p for p in warnings if p.code != "must_fund_overrun"]
    currency = report.currency
    for summary in funding_summaries(report):
        if not summary.overrun:
            continue
        flags.append(Problem(
            severity="warning", code="must_fund_overrun", file=report.portfolio.label("budget"), column="envelope",
            value=format_cents(summary.envelope),
            message=f'must-fund initiatives of segment "{summary.segment}" cost '
                    f"{money(summary.must_fund, currency, exact=True)}, over its envelope of "
                    f"{money(summary.envelope, currency, exact=True)} by "
                    f"{money(summary.overrun, currency, exact=True)}"))
    return flags


def flags_table(report: Report) -> Table:
    """Return the open flags as a table: kind, file, row, column, initiative, value, message."""
    flags = report_flags(report)
    frame = pd.DataFrame({
        "kind": [p.code.replace("_", " ") for p in flags],
        "file": [p.file for p in flags],
        "row": pd.array([p.row for p in flags], dtype="Int64"),
        "column": [p.column for p in flags],
        "initiative_id": [p.initiative_id for p in flags],
        "value": [p.value for p in flags],
        "message": [p.message for p in flags],
    })
    return Table("Open flags", frame,
                 {"kind": "Kind", "file": "File", "row": "Row", "column": "Column", "initiative_id": "Initiative",
                  "value": "Value", "message": "Message"},
                 {"kind": "text", "file": "text", "row": "int", "column": "text", "initiative_id": "text",
                  "value": "text", "message": "text"},
                 note="Warnings do not stop the portfolio from loading, but each needs a look.")


# --- CSV ------------------------------------------------------------------------------


def _plain_float(value: float) -> str:
    if pd.isna(value):
        return ""
    text = f"{float(value):.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _yes_no(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    return "true" if value else "false"


def csv_bytes(report: Report) -> bytes:
    """Write :func:`report_frame` as CSV: UTF-8 with a byte-order mark, so that spreadsheets detect it.

    Money is a plain amount with two decimals (``2964200.00``), scores are
    plain decimals, ``funded`` is ``true``, ``false`` or empty. Text cells are
    escaped with :func:`escape_formula`; numbers are not.
    """
    frame = report_frame(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_formula(column) for column in REPORT_COLUMNS])
    money_columns = {"cost", "running_total"}
    float_columns = {"segment_score", "urgency", "sai"}
    flag_columns = {"funded", "must_fund", "force_out"}
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(REPORT_COLUMNS, record, strict=True):
            if column in money_columns:
                cells.append("" if pd.isna(value) else format_cents(int(value)))
            elif column in float_columns:
                cells.append(_plain_float(value))
            elif column in flag_columns:
                cells.append(_yes_no(value))
            elif column == "rank":
                cells.append(str(int(value)))
            else:
                cells.append("" if value is None or pd.isna(value) else escape_formula(str(value)))
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8-sig")


# --- canonical files ------------------------------------------------------------------


def portfolio_with_params(portfolio: Portfolio, params: ScoringParams) -> Portfolio:
    """Return the portfolio with the parameters' weights, envelopes and thresholds written into it.

    Theme weights replace those of the themes they name, and lenses the lens
    of each segment they name. Urgency weights, when given, replace the
    urgency lens. Envelopes replace the budget. Raises
    :class:`InvalidPortfolioError` when a lens or the urgency weights are all
    zero, because the files would then not load again.
    """
    for segment, lens in params.lenses.items():
        if segment in portfolio.lenses and lens and sum(lens.values()) <= 0:
            raise InvalidPortfolioError(f'every weight of the lens of segment "{segment}" is zero, so the files '
                                        "would not load again; give at least one criterion a weight above zero")
    if params.urgency and sum(params.urgency.values()) <= 0:
        raise InvalidPortfolioError("every urgency weight is zero, so the files would not load again; "
                                    "give at least one criterion a weight above zero")
    unknown = sorted(set(params.envelopes) - set(portfolio.lenses))
    if unknown:
        raise InvalidPortfolioError(f'an envelope names segment "{unknown[0]}", which has no lens; '
                                    "remove the envelope or add the segment's lens")

    themes = portfolio.themes.copy()
    themes["weight"] = [float(params.theme_weights.get(t, w)) for t, w in
                        zip(themes["theme_id"], themes["weight"], strict=True)]
    lenses = {segment: dict(params.lenses.get(segment) or lens) for segment, lens in portfolio.lenses.items()}
    settings = portfolio.settings.model_copy(update={"alignment_threshold": params.alignment_threshold,
                                                     "urgency_threshold": params.urgency_threshold})
    return replace(portfolio, themes=themes, lenses=lenses, urgency=dict(params.urgency or portfolio.urgency),
                   envelopes=dict(params.envelopes), settings=settings)


def write_canonical_folder(portfolio: Portfolio, params: ScoringParams, out_dir: Path) -> None:
    """Write the portfolio with the parameters' weights as a canonical CSV folder, atomically.

    Raises :class:`InvalidPortfolioError` when ``out_dir`` is a file or a
    folder that is not empty, or when the parameters would not load again
    (see :func:`portfolio_with_params`).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidPortfolioError(f"{out_dir} is a file; give the path of a new or empty folder")
    write_canonical(portfolio_with_params(portfolio, params), out_dir)


def canonical_files(portfolio: Portfolio) -> dict[str, bytes]:
    """Return the canonical CSV files of a portfolio, by file name, with raw (unescaped) values.

    The bytes are what :func:`portfolio.importing.write_canonical` writes.
    """
    files = {}
    for name, frame in canonical_frames(portfolio).items():
        files[f"{name}.csv"] = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return files


def canonical_zip(portfolio: Portfolio) -> bytes:
    """Return the canonical CSV files in one .zip archive, which the Data page and ``read_upload`` accept."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in canonical_files(portfolio).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_file_atomic(path: Path, data: bytes | str) -> None:
    """Write a file through a temporary file beside it and a rename, so the target is whole or untouched.

    An existing file at ``path`` is replaced; a folder at ``path`` raises
    :class:`InvalidPortfolioError`. Missing parent folders are created.
    """
    path = Path(path)
    if path.is_dir():
        raise InvalidPortfolioError(f"{path} is a folder; give the path of a file to write")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with open(..., "xb") rather than mkstemp so that the file gets the usual
    # permissions of the umask, not mkstemp's owner-only 0600.
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.writing"
    try:
        with open(temporary, "xb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def segment_table(report: Report, segment: str) -> tuple[Table, pd.DataFrame]:
    """Return one segment's ranked list as a table, and the rows it was built from."""
    rows = ranked_report_segment(report, segment)
    frame = pd.DataFrame({
        "rank": rows["rank"].to_numpy(),
        "initiative_id": rows["initiative_id"].to_numpy(),
        "name": rows["name"].to_numpy(),
        "status": rows["status"].to_numpy(),
        "cost": rows["cost"].to_numpy(),
        "running_total": rows["running_total"].array,
        "segment_score": rows["segment_score"].to_numpy(),
        "urgency": rows["urgency"].to_numpy(),
        "sai": rows["sai"].to_numpy(),
        "quadrant": [QUADRANT_LABELS.get(q, "") if isinstance(q, str) else "" for q in rows["quadrant"]],
        "sponsor": rows["sponsor"].to_numpy(),
        "decision": rows["decision"].to_numpy(),
    })
    labels = {"rank": "Rank", "initiative_id": "ID", "name": "Initiative", "status": "Funding", "cost": "Cost",
              "running_total": "Running total", "segment_score": "Segment score", "urgency": "Urgency",
              "sai": "SAI", "quadrant": "Quadrant", "sponsor": "Sponsor", "decision": "Decision"}
    kinds = {"rank": "int", "initiative_id": "text", "name": "text", "status": "text", "cost": "money",
             "running_total": "money", "segment_score": "score", "urgency": "score", "sai": "score",
             "quadrant": "text", "sponsor": "text", "decision": "text"}
    if "rank_change" in rows:
        moved = pd.array(rows["rank_change"].to_numpy(), dtype="Int64")
        moved[moved == 0] = pd.NA
        frame.insert(1, "rank_change", moved)
        frame.insert(5, "crossing", rows["crossing"].to_numpy())
        labels = {"rank": "Rank", "rank_change": "Moved", **{k: v for k, v in labels.items() if k != "rank"},
                  "crossing": "Crossed"}
        labels = {key: labels[key] for key in frame.columns}
        kinds.update(rank_change="change", crossing="text")
    return Table(segment, frame, labels, kinds), rows


def funding_line_text(report: Report, summary: SegmentFunding, rows: pd.DataFrame) -> str:
    """Describe where a segment's funding line runs, in one sentence."""
    currency = report.currency
    if summary.envelope is None:
        return f"No envelope for {summary.segment}: the list is ranked but has no funding line."
    funded = rows["funded"].fillna(False).to_numpy(dtype=bool)
    where = (f"the funding line runs under {rows['initiative_id'].iloc[int(np.flatnonzero(funded)[-1])]}"
             if funded.any() else "the funding line runs above the first initiative: nothing is funded")
    return (f"{summary.funded_count} of {summary.count} funded for {money(summary.funded, currency)} of the "
            f"{money(summary.envelope, currency)} envelope, headroom {money(summary.headroom, currency)}; {where}.")


def overrun_text(report: Report, summary: SegmentFunding) -> str:
    """Describe a must-fund overrun of the segment's envelope, or return "" when there is none."""
    if not summary.overrun:
        return ""
    return f"Must-fund initiatives alone overrun the envelope by {money(summary.overrun, report.currency)}."
