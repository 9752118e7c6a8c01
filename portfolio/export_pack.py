"""The steering-committee pack: one self-contained HTML page that opens offline and prints well.

Plotly's JavaScript is embedded inline once, with the first chart; later
charts reuse it. Every text that users typed is HTML-escaped, in tables with
:func:`html.escape` and in charts by :mod:`portfolio.charts`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio.charts import quadrant_figure, segment_spend_figure, theme_gap_figure, unscored_figure
from portfolio.compare import compare_results
from portfolio.export import (
    Reconciliation,
    Report,
    Table,
    crossed_ids,
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
from portfolio.formatting import money
from portfolio.funding import STATUS_FORCED_OUT, SegmentFunding, evaluate
from portfolio.reconcile import alignment_gap, attribute_spend


def _html_cell(value: Any, kind: str, currency: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "" if kind in ("text", "change") else "—"
    if kind == "money":
        return html.escape(money(int(value), currency))
    if kind == "money_exact":
        return html.escape(money(int(value), currency, exact=True))
    if kind == "score":
        return f"{float(value):.1f}"
    if kind == "weight":
        return f"{float(value):g}"
    if kind == "share":
        return f"{float(value) * 100:.1f} %"
    if kind == "pp":
        return f"{float(value):+.1f}"
    if kind == "int":
        return str(int(value))
    if kind == "change":
        return f"{int(value):+d}"
    return html.escape(str(value))


_NUMERIC_KINDS = frozenset({"money", "money_exact", "score", "weight", "share", "pp", "int", "change"})


def _cell_class(column: str, kind: str) -> str:
    return f"col-{column}" + (" num" if kind in _NUMERIC_KINDS else "")


def html_table(table: Table, currency: str, row_classes: list[str] | None = None,
               line_after: int | None = None, line_text: str = "", css_class: str = "") -> str:
    """Render a table as plain HTML, every value escaped.

    ``line_after`` inserts a funding-line row after that data row (-1: before
    the first row), labelled with ``line_text``.
    """
    kinds = table.kinds
    head = "".join(f'<th class="{_cell_class(c, kinds[c])}">{html.escape(table.labels[c])}</th>'
                   for c in table.columns)
    line = (f'<tr class="funding-line"><td colspan="{len(table.columns)}">{html.escape(line_text)}</td></tr>'
            if line_after is not None else "")
    body = [line] if line_after == -1 else []
    classes = row_classes or [""] * len(table.frame)
    records = table.frame[table.columns].itertuples(index=False)
    for index, (record, row_class) in enumerate(zip(records, classes, strict=True)):
        cells = "".join(f'<td class="{_cell_class(c, kinds[c])}">{_html_cell(v, kinds[c], currency)}</td>'
                        for c, v in zip(table.columns, record, strict=True))
        body.append(f'<tr class="{row_class}">{cells}</tr>')
        if line_after == index:
            body.append(line)
    return (f'<table class="{css_class}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _figure_html(figure, first: bool) -> str:
    figure.update_layout(dragmode=False, clickmode="none")
    return figure.to_html(include_plotlyjs=True if first else False, full_html=False,
                          config={"displayModeBar": False, "responsive": True}, default_width="100%")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "segment"


def _section(title: str, body: str, anchor: str = "", css_class: str = "") -> str:
    anchor_attr = f' id="{html.escape(anchor)}"' if anchor else ""
    return f'<section{anchor_attr} class="{css_class}"><h2>{html.escape(title)}</h2>{body}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>' if text else ""


def html_pack(report: Report) -> str:
    """Build the steering-committee pack: one self-contained HTML page that opens offline.

    It contains the weights, date and source it was made from, the quadrant,
    each segment's ranked list with its funding line, the spend
    reconciliation and the open flags. Plotly's JavaScript is embedded once,
    inline; every text that users typed is HTML-escaped; the CSS lays the page
    out for print.
    """
    currency = report.currency
    summaries = funding_summaries(report)
    recon = reconciliation(report)
    flags = flags_table(report)
    figures: list[str] = []

    def figure(fig) -> str:
        text = _figure_html(fig, first=not figures)
        figures.append(text)
        return f'<div class="figure">{text}</div>'

    title = "Portfolio review: steering committee pack"
    source_name = Path(report.source).name or report.source or "portfolio"
    parts = [f"<header><h1>{html.escape(title)}</h1>", _facts_html(report), "</header>"]
    parts.append(_key_numbers_html(report, summaries, recon, len(flags.frame)))
    parts.append(_weights_html(report))
    parts.append(_changes_html(report))
    parts.append(_quadrant_html(report, figure))
    for summary in summaries:
        parts.append(_segment_html(report, summary))
    parts.append(_reconciliation_html(report, summaries, recon, figure))
    parts.append(_flags_html(flags, currency))
    parts.append(f'<footer>Made by Portfolio Lens on {html.escape(report.made_at_text)} from '
                 f'{html.escape(report.source)} with {html.escape(report.weights_note)}.</footer>')
    return _PAGE.format(title=html.escape(f"{title}: {source_name}"), style=_STYLE, body="\n".join(parts),
                        script=_PRINT_SCRIPT)


def _facts_html(report: Report) -> str:
    facts = [("Cycle", report.cycle), ("Source", report.source), ("Made", report.made_at_text),
             ("Weights", report.weights_note), ("Currency", report.currency),
             ("Initiatives", f"{len(report.result):,}")]
    items = "".join(f"<dt>{html.escape(label)}</dt><dd>{html.escape(str(value))}</dd>" for label, value in facts)
    return f'<dl class="facts">{items}</dl>'


def _key_numbers_html(report: Report, summaries: list[SegmentFunding], recon: Reconciliation,
                      flag_count: int) -> str:
    currency = report.currency
    proposed = sum(s.proposed for s in summaries)
    funded = sum(s.funded for s in summaries)
    envelopes = sum(s.envelope or 0 for s in summaries)
    funded_count = sum(s.funded_count for s in summaries)
    with_envelope = sum(s.envelope is not None for s in summaries)
    tiles = [
        ("Proposed", money(proposed, currency), f"{len(report.result):,} initiatives"),
        ("Funded", money(funded, currency) if with_envelope else "—",
         f"{funded_count:,} initiatives" if with_envelope else "no segment has an envelope"),
        ("Envelopes", money(envelopes, currency) if with_envelope else "—",
         f"{with_envelope} of {len(summaries)} segments have one"),
        ("Reconciliation", "passes" if recon.passed else "FAILS", "every total to the cent"),
        ("Open flags", f"{flag_count:,}", "validation warnings"),
    ]
    body = "".join(f'<div class="tile"><div class="label">{html.escape(label)}</div>'
                   f'<div class="value">{html.escape(value)}</div><div class="sub">{html.escape(sub)}</div></div>'
                   for label, value, sub in tiles)
    notice = f'<p class="notice">{html.escape(report.sai_notice)}.</p>' if report.sai_notice else ""
    return f'<section class="key-numbers"><div class="tiles">{body}</div>{notice}</section>'


def _changed_rows(table: Table) -> list[str]:
    """Mark the rows whose value used differs from the committed one."""
    frame = table.frame
    return ["changed" if committed != used else "" for committed, used in zip(frame["committed"], frame["used"],
                                                                              strict=True)]


def _weights_html(report: Report) -> str:
    currency = report.currency
    themes = theme_weights_table(report)
    lenses = lens_weights_table(report)
    urgency = urgency_weights_table(report)
    thresholds = thresholds_table(report)
    intro = (f"Every score, rank and funding line in this pack is computed with the {report.weights_note} below. "
             "Shares are the normalized weights.")
    if report.is_what_if:
        intro += " Values that differ from the committed ones are in bold."
    theme_body = html_table(themes, currency, _changed_rows(themes)) if len(themes.frame) else ""
    body = [f"<p>{html.escape(intro)}</p>", '<div class="columns"><div>',
            "<h3>Theme weights</h3>", _note(themes.note), theme_body, "</div><div>",
            "<h3>Lens weights</h3>", html_table(lenses, currency, _changed_rows(lenses), css_class="compact"),
            "<h3>Urgency weights</h3>", html_table(urgency, currency, _changed_rows(urgency), css_class="compact"),
            "<h3>Thresholds</h3>", html_table(thresholds, currency, _changed_rows(thresholds), css_class="compact"),
            _note(thresholds.note), "</div></div>"]
    return _section("Weights, date and source", "".join(body), "weights")


# Rows of the "what changed" table; the rest are counted, not listed.
MAX_CHANGES_SHOWN = 40


def _changes_html(report: Report) -> str:
    """List who crossed the funding line and who moved rank against the committed weights; "" when unchanged."""
    if report.params == report.committed:
        return ""
    changes, summary = compare_results(evaluate(report.inputs, report.committed), report.result)
    currency = report.currency
    if changes.empty:
        return _section("What changed against the committed weights",
                        "<p>Nothing moved: every rank and every funding decision is as committed.</p>", "changes")
    text = (f"{summary.moved} initiatives moved rank; {summary.crossed_in} crossed into funding "
            f"({money(summary.money_in, currency)}) and {summary.crossed_out} out of it "
            f"({money(summary.money_out, currency)}).")
    listed = changes.head(MAX_CHANGES_SHOWN)
    table = Table("What changed", listed.assign(segment=listed["segment"].astype(str)),
                  {"segment": "Segment", "initiative_id": "ID", "name": "Initiative", "rank_before": "Rank before",
                   "rank_after": "Rank now", "rank_change": "Moved up", "crossing": "Funding line", "cost": "Cost"},
                  {"segment": "text", "initiative_id": "text", "name": "text", "rank_before": "int",
                   "rank_after": "int", "rank_change": "change", "crossing": "text", "cost": "money"})
    more = len(changes) - len(listed)
    body = [f"<p>{html.escape(text)} Crossings first, then the largest moves.</p>", html_table(table, currency)]
    if more > 0:
        body.append(_note(f"{more:,} more initiatives moved less; the XLSX and CSV exports list every rank."))
    return _section("What changed against the committed weights", "".join(body), "changes")


def _quadrant_html(report: Report, figure: Callable[[Any], str]) -> str:
    currency = report.currency
    segments = list(report.segments)
    if report.sai_notice:
        body = [f'<p class="notice">{html.escape(report.sai_notice)}, so there is no quadrant. The chart shows '
                "each segment's initiatives against urgency; filled bubbles are funded, hollow ones are not, and "
                "bubble area is cost.</p>",
                figure(unscored_figure(report.result, segments, currency, height=460))]
        return _section("Urgency by segment", "".join(body), "quadrant", "page-break")

    body = [f"<p>Alignment (SAI) against urgency under the {html.escape(report.weights_note)}, thresholds "
            f"{report.params.alignment_threshold:g} and {report.params.urgency_threshold:g}. Bubble area is cost; "
            "filled bubbles are funded, hollow ones are not.</p>"]
    crossed = set(crossed_ids(report))
    if crossed:
        body.append(_note(f"A dark ring marks the {len(crossed)} initiatives that crossed the funding line "
                          "against the committed weights."))
    body.append(figure(quadrant_figure(report.result, report.params, segments, currency, highlight=crossed,
                                       height=620)))
    missing = int(report.result["quadrant"].isna().sum())
    if missing:
        body.append(_note(f"{missing} initiatives have no urgency score (every urgency weight is zero) and are "
                          "not on the chart."))
    return _section("Alignment and urgency", "".join(body), "quadrant", "page-break")


def _segment_html(report: Report, summary: SegmentFunding) -> str:
    table, rows = segment_table(report, summary.segment)
    funded = rows["funded"].fillna(False).to_numpy(dtype=bool)
    classes = []
    for is_funded, status in zip(funded, rows["status"], strict=True):
        if is_funded:
            classes.append("funded")
        elif status == STATUS_FORCED_OUT:
            classes.append("out")
        else:
            classes.append("")
    line_after = None
    line_text = ""
    if summary.envelope is not None:
        line_after = int(np.flatnonzero(funded)[-1]) if funded.any() else -1
        line_text = (f"Funding line: envelope {money(summary.envelope, report.currency)}, funded "
                     f"{money(summary.funded, report.currency)}, headroom {money(summary.headroom, report.currency)}")
    body = [_note(funding_line_text(report, summary, rows))]
    if summary.overrun:
        body.append(f'<p class="notice">{html.escape(overrun_text(report, summary))}</p>')
    if rows.empty:
        body.append("<p>No initiatives in this segment.</p>")
    else:
        body.append(html_table(table, report.currency, classes, line_after, line_text, css_class="ranked"))
    return _section(f"Segment: {summary.segment}", "".join(body), f"segment-{_anchor(summary.segment)}",
                    "segment")


def _reconciliation_html(report: Report, summaries: list[SegmentFunding], recon: Reconciliation,
                         figure: Callable[[Any], str]) -> str:
    currency = report.currency
    verdict = ("Every invariant holds to the cent." if recon.passed
               else "An invariant fails: the totals below do not reconcile.")
    body = [f'<p class="{"ok" if recon.passed else "notice"}">{html.escape(verdict)}</p>',
            "<h3>By segment, against the envelopes</h3>", figure(segment_spend_figure(summaries, currency, 340)),
            html_table(funding_table(report), currency, css_class="compact")]
    if report.inputs.theme_ids:
        gap = alignment_gap(attribute_spend(report.inputs), report.params,
                            dict(zip(report.portfolio.themes["theme_id"], report.portfolio.themes["name"],
                                     strict=True)))
        body += ["<h3>By theme, against the weights (whole proposed portfolio)</h3>",
                 figure(theme_gap_figure(gap, 320)), _note(recon.themes.note),
                 html_table(recon.themes, currency, css_class="compact")]
    else:
        body.append(_note(f"No themes yet: all {money(recon.no_link_proposed, currency)} of the proposed spend "
                          "has no OKR link."))
    body += ["<h3>Checks</h3>", html_table(recon.checks, currency, css_class="compact")]
    return _section("Spend reconciliation", "".join(body), "reconciliation", "page-break")


def _flags_html(flags: Table, currency: str) -> str:
    frame = flags.frame
    if frame.empty:
        return _section("Open flags", "<p>No open flags.</p>", "flags")
    counts = frame["kind"].value_counts()
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    body = f"<p>{html.escape(flags.note)} {len(frame):,} in all: {html.escape(summary)}.</p>"
    where = [file if pd.isna(row) else f"{file}, row {row}" for file, row in zip(frame["file"], frame["row"],
                                                                                  strict=True)]
    table = Table(flags.title, frame.assign(where=where),
                  {"kind": "Kind", "where": "Where", "column": "Column", "initiative_id": "Initiative",
                   "value": "Value", "message": "Message"},
                  {"kind": "text", "where": "text", "column": "text", "initiative_id": "text", "value": "text",
                   "message": "text"})
    return _section(f"Open flags ({len(frame):,})", body + html_table(table, currency, css_class="flags"),
                    "flags", "page-break")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
<script>{script}</script>
</body>
</html>
"""

_STYLE = """
@page { size: A4 landscape; margin: 12mm 10mm; }
* { box-sizing: border-box; }
body { font-family: Inter, "Source Sans Pro", Arial, sans-serif; font-size: 13px; color: #1f2328;
       margin: 0 auto; padding: 24px 32px; max-width: 1320px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 19px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #0072B2; }
h3 { font-size: 15px; margin: 18px 0 6px; }
header { border-bottom: 1px solid #ccc; padding-bottom: 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 0; }
dl.facts dt { font-weight: 600; color: #555; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.tiles { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; margin: 16px 0 4px; }
.tile { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; }
.tile .label { color: #555; font-size: 12px; }
.tile .value { font-size: 20px; font-weight: 600; }
.tile .sub { color: #777; font-size: 11px; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; align-items: start; }
.columns h3:first-child { margin-top: 4px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 6px; border-bottom: 1px solid #e1e4e8; text-align: left; vertical-align: top; }
th { background: #DCE6F1; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
table.compact { width: auto; min-width: 50%; }
td.col-initiative_id, td.col-status, td.col-quadrant, td.col-kind, td.col-crossing { white-space: nowrap; }
td.col-message { min-width: 40%; }
tr.funded td { background: #E3F1E8; }
tr.changed td { font-weight: 700; }
tr.out td { color: #777; }
tr.funding-line td { border-top: 3px solid #D55E00; border-bottom: 3px solid #D55E00; color: #D55E00;
                     font-weight: 600; background: #fff; padding: 2px 6px; }
.note { color: #555; margin: 4px 0; }
.notice { background: #FFF4E5; border-left: 4px solid #E69F00; padding: 6px 10px; }
.ok { color: #1a7f37; font-weight: 600; }
.figure { margin: 8px 0; break-inside: avoid; }
footer { margin-top: 32px; padding-top: 8px; border-top: 1px solid #ccc; color: #777; font-size: 11px; }
@media print {
  body { padding: 0; max-width: none; font-size: 10px; }
  h2 { font-size: 15px; margin-top: 12px; }
  .page-break, section.segment { break-before: page; }
  .tiles { grid-template-columns: repeat(5, 1fr); }
  thead { display: table-header-group; }
  tr, .tile { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  tr.funded td, th, tr.funding-line td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# Plotly sizes responsive charts to the window; print has another width, so resize around printing.
_PRINT_SCRIPT = """
(function () {
  function resize() {
    if (!window.Plotly) { return; }
    document.querySelectorAll('.js-plotly-plot').forEach(function (plot) { window.Plotly.Plots.resize(plot); });
  }
  window.addEventListener('beforeprint', resize);
  window.addEventListener('afterprint', resize);
})();
"""
