"""Export: the scored portfolio as CSV and XLSX, the steering-committee pack, and the portfolio as canonical files."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import streamlit as st

from portfolio.errors import PortfolioLensError
from portfolio.export import Report, build_report, canonical_zip, csv_bytes, portfolio_with_params, theme_weights_table
from portfolio.export_pack import html_pack
from portfolio.export_xlsx import xlsx_bytes
from ui import state
from ui.text import literal

logger = logging.getLogger(__name__)

current = state.view()
what_if = state.params(current)
result = state.scored(current, what_if)
info = state.store().info()

if what_if == current.committed_params:
    weights_note = "committed weights"
elif what_if == current.baseline_params and current.cycle.baseline:
    weights_note = f'weights of the baseline scenario "{current.cycle.baseline}"'
elif state.following():
    weights_note = f"what-if weights of the presenter, {state.presentation().presenter}"
else:
    weights_note = "what-if weights of this session"
edits = int(info.get("edits_since_load") or 0)
source = f"{info['source'] or 'unknown source'}, loaded {info['loaded_at']} UTC, {edits} edits since loading"
stem = Path(info["source"] or "portfolio").name or "portfolio"

st.title("Export")
st.caption("Download the scored portfolio, the steering-committee pack, or the portfolio itself as canonical "
           "files. Each file is built when you click, from the weights shown below.")


def _report() -> Report:
    """Build the report at download time, so that its date is when the file was made."""
    return build_report(current.portfolio, what_if, inputs=current.inputs, result=result, source=source,
                        made_at=dt.datetime.now(dt.UTC), weights_note=weights_note,
                        stored_total=current.stored_total, cycle=current.cycle.name, warnings=current.warnings,
                        decisions=current.decisions)


def _file_name(suffix: str) -> str:
    return f"portfolio-lens-{stem}-{dt.date.today().isoformat()}{suffix}"


if what_if == current.committed_params:
    st.caption("These files use the **committed weights**.")
else:
    st.info(f"These files use the **{weights_note}**, not the committed ones; the tables compare them with the "
            "committed weights.", icon=":material/tune:")

weights = theme_weights_table(_report())
if weights.frame.empty:
    st.caption(weights.note)
else:
    st.dataframe(weights.frame[["name", "committed", "used", "share"]], hide_index=True, key="export_weights",
                 column_config={"name": "Theme", "committed": "Committed weight", "used": "Weight used",
                                "share": st.column_config.NumberColumn("Share of weight used", format="percent")})

st.subheader("Reports")
st.caption("Text cells that begin with =, +, -, @, a tab, a carriage return or a null character are prefixed "
           "with ' in the CSV and XLSX files, so that no spreadsheet evaluates them as formulas.")
reports = st.columns(3)
with reports[0]:
    st.download_button("Scored portfolio (CSV)", data=lambda: csv_bytes(_report()), file_name=_file_name(".csv"),
                       mime="text/csv", key="export_csv", on_click="ignore", icon=":material/table:",
                       help="One row per initiative: segments in turn, each in funding order, with rank, "
                            "scores, funding status and running total.")
with reports[1]:
    st.download_button("Scored portfolio (XLSX)", data=lambda: xlsx_bytes(_report()),
                       file_name=_file_name(".xlsx"),
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="export_xlsx", on_click="ignore", icon=":material/grid_on:",
                       help="A summary sheet with the weights, one sheet per segment with its funding line, the "
                            "reconciliation and the open flags.")
with reports[2]:
    st.download_button("Steering-committee pack (HTML)", data=lambda: html_pack(_report()),
                       file_name=_file_name(".html"), mime="text/html", key="export_pack", on_click="ignore",
                       icon=":material/description:",
                       help="One self-contained page that opens offline and prints: the quadrant, each "
                            "segment's ranked list and funding line, the reconciliation, the open flags.")

st.subheader("Portfolio data")
try:
    exported = portfolio_with_params(current.portfolio, what_if)
except PortfolioLensError as exc:
    logger.warning("canonical export rejected: %s", exc)
    st.warning(f"The canonical files cannot be built from these weights: {literal(exc)}.", icon=":material/warning:")
    exported = None
st.caption("The portfolio as canonical CSV files in one .zip, raw values and no formula escaping, with the "
           "weights, envelopes and thresholds above written into it. The Data page loads the .zip again.")
st.download_button("Canonical files (.zip)", data=(lambda: canonical_zip(exported)) if exported is not None else b"",
                   file_name=_file_name(".zip"), mime="application/zip", key="export_canonical",
                   on_click="ignore", icon=":material/folder_zip:", disabled=exported is None)
