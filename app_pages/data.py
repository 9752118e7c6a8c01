"""Data: which portfolio is loaded and from where, its validation report, and loading another one."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import streamlit as st

from portfolio.errors import PortfolioLensError
from portfolio.importing import MAX_FILE_BYTES, read_upload
from portfolio.models import errors_of, parse_portfolio
from portfolio.store import default_workspace, is_database_url
from ui import state
from ui.text import literal

logger = logging.getLogger(__name__)

current = state.view()
store = state.store()
info = store.info()

st.title("Data")

flash = st.session_state.pop("data_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

st.subheader("Loaded portfolio")
facts = st.columns(4)
facts[0].metric("Initiatives", f"{len(current.portfolio.initiatives):,}")
facts[1].metric("Themes", f"{len(current.portfolio.themes):,}")
facts[2].metric("Edits since loading", info["edits_since_load"])
facts[3].metric("Currency", current.currency)
st.text(f"Source: {info['source']}\nLoaded {info['loaded_at']} UTC by {info['loaded_by']}\n"
        f"Workspace database: {store.path}")

st.subheader("Validation report")
warnings = list(current.warnings)
if not warnings:
    st.success("No warnings: every high score is justified, every criterion scored, every envelope covers "
               "its must-fund initiatives.", icon=":material/check_circle:")
else:
    report = pd.DataFrame([{
        "kind": w.code.replace("_", " "), "file": w.file, "row": w.row, "column": w.column,
        "initiative": w.initiative_id, "value": w.value, "message": w.message} for w in warnings])
    report = report.sort_values(["kind", "file", "row"], kind="stable", na_position="first")
    report = report.astype({"row": "Int64"}).fillna({c: "" for c in ("column", "initiative", "value")})
    counts = report["kind"].value_counts()
    st.caption("Warnings do not stop the portfolio from loading but each needs a look: "
               + "; ".join(f"{kind}: {count}" for kind, count in counts.items()) + ".")
    kinds = st.multiselect("Show", list(counts.index), key="data_warning_kinds", placeholder="all kinds")
    shown = report[report["kind"].isin(kinds)] if kinds else report
    st.dataframe(shown, hide_index=True, width="stretch", key="data_report",
                 column_config={"row": st.column_config.NumberColumn("Row", format="%d")})

st.subheader("Load another portfolio")
st.caption(f"Upload a canonical portfolio: an .xlsx workbook with the sheets themes, initiatives, alignment "
           f"(and optionally budget, lenses, urgency, settings), or a .zip of those CSV files. Up to "
           f"{MAX_FILE_BYTES // 1024 // 1024} MB. It is validated before anything changes.")
upload = st.file_uploader("Portfolio file", type=["xlsx", "zip"], key="data_upload")
if upload is not None:
    try:
        tables = read_upload(upload.name, upload.getvalue())
        portfolio, problems = parse_portfolio(tables, source=f"upload: {upload.name}")
    except PortfolioLensError as exc:
        logger.warning("rejected upload %s: %s", upload.name, exc)
        st.error(f"{literal(upload.name)} cannot be loaded: {literal(exc)}", icon=":material/error:")
        portfolio, problems = None, []
    errors = errors_of(problems)
    if problems:
        st.dataframe(pd.DataFrame([{"severity": p.severity, "where": p.describe().split(": ", 1)[0],
                                    "value": p.value, "problem": p.message} for p in problems]),
                     hide_index=True, width="stretch", key="data_upload_report")
    if errors:
        st.error(f"{len(errors)} errors: nothing was loaded. Fix them in the file and upload it again.",
                 icon=":material/error:")
    elif portfolio is not None:
        edits = int(info["edits_since_load"] or 0)
        st.info(f"{upload.name} is valid: {len(portfolio.initiatives):,} initiatives, "
                f"{len(portfolio.themes)} themes, {len(problems)} warnings.", icon=":material/info:")
        confirmed = True
        if edits:
            confirmed = st.checkbox(f"Replace the current portfolio and its {edits} edits since loading "
                                    "(they stay in the audit log)", key="data_confirm_replace")
        if st.button("Load into the workspace", type="primary", disabled=not confirmed, key="data_load_button"):
            who = state.actor()
            if who is None:
                st.error("Enter your name in the sidebar first: the audit log records who loaded what.",
                         icon=":material/badge:")
                st.stop()
            try:
                store.load(portfolio, who)
            except PortfolioLensError as exc:
                st.error(f"Not loaded: {literal(exc)}.", icon=":material/block:")
                st.stop()
            state.reset_params()
            st.session_state["data_flash"] = f"Loaded {literal(upload.name)}."
            st.rerun()

source = info["source"] or ""
if source and Path(source).exists():
    with st.expander("Reload from the source files"):
        st.caption(f"Reads {source} again and replaces the workspace, discarding edits made since loading.")
        if st.button("Reload", key="data_reload_button"):
            try:
                who = state.actor()
                if who is None:
                    raise PortfolioLensError("enter your name in the sidebar first")
                state.reload_from(Path(source), who)
            except PortfolioLensError as exc:
                st.error(f"Not reloaded: {literal(exc)}", icon=":material/error:")
            else:
                st.session_state["data_flash"] = f"Reloaded {literal(source)}."
                st.rerun()

st.subheader("Back up the workspace")
st.caption("Writes a consistent copy of the workspace database while the app keeps running; needs the pmo or "
           "chair role.")
if st.button("Make a backup", key="data_backup_button"):
    who = state.actor()
    if who is None:
        st.error("Enter your name in the sidebar first: the audit log records who made the backup.",
                 icon=":material/badge:")
    else:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        # A PostgreSQL workspace has no folder of its own: its backups go beside the local workspaces.
        folder = default_workspace(None).parent if is_database_url(store.path) else Path(store.path).parent
        stem = "postgresql" if is_database_url(store.path) else Path(store.path).stem
        target = folder / "backups" / f"{stem}-{stamp}.duckdb"
        try:
            written = store.backup(target, who)
        except PortfolioLensError as exc:
            st.error(f"No backup made: {literal(exc)}.", icon=":material/block:")
        else:
            st.success(f"Backup written to {written}.", icon=":material/check_circle:")
            st.download_button("Download the backup", written.read_bytes(), file_name=written.name,
                               mime="application/octet-stream", key="data_backup_download")

