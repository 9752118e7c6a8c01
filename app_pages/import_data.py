"""Import: read a foreign export or a canonical portfolio, map it, check it, and commit it in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pandas as pd
import streamlit as st

from portfolio import importing, mapping, reading
from portfolio.errors import PortfolioLensError
from portfolio.models import CRITERIA, DEFAULT_LENSES, errors_of, parse_portfolio
from portfolio.reimport import MISSING_ACTIONS, ReimportPlan, apply_reimport, diff_reimport
from ui import state
from ui.text import literal

logger = logging.getLogger(__name__)

INTERACTIVE = "Map the columns on this page"
LEAVE_OUT = "(leave out)"
KEEP_EXTRA = "(keep as an extra column)"
ENCODINGS = {"Automatic (UTF-8, else Windows-1252)": None, "UTF-8": "utf-8", "Windows-1252 (cp1252)": "cp1252",
             "Latin-1 (ISO 8859-1)": "latin-1", "UTF-16": "utf-16"}
SEPARATORS = {"Automatic": None, "Comma ,": ",", "Semicolon ;": ";", "Tab": "\t", "Pipe |": "|"}
UNITS = {"as written (1)": Decimal(1), "thousands (× 1,000)": Decimal(1_000),
         "millions (× 1,000,000)": Decimal(1_000_000), "billions (× 1,000,000,000)": Decimal(1_000_000_000)}
NOTATIONS = {"1,234.56": (",", "."), "1.234,56": (".", ","), "1 234,56": (" ", ","), "1234.56": ("", ".")}
CURRENCY_SYMBOLS = {"GBP": ["£", "GBP"], "USD": ["$", "USD", "US$"], "EUR": ["€", "EUR"]}
CHECKED_KEY = "import_checked"
TABLE_KEY = "import_table"
MODE_KEY = "import_mode"
FLASH_KEY = "import_flash"

current = state.view()
store = state.store()
limit_mb = importing.MAX_FILE_BYTES // 1024 // 1024

st.title("Import")
st.caption("Bring in a portfolio exported from a spreadsheet, ServiceNow, Planview, Clarity or a government "
           "portal. Nothing in the workspace changes until you commit, and a commit is all or nothing.")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")


def show_problems(problems: list[mapping.ImportProblem], key: str) -> None:
    """Show one line per problem: where it is in the file, the value, and what is wrong and what to do."""
    frame = pd.DataFrame([{"where": p.place if p.row else p.file, "column": p.column, "initiative": p.initiative_id,
                           "what is wrong and what to do": p.message, "value": p.value} for p in problems])
    st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config={
        "where": st.column_config.TextColumn(width="small"),
        "value": st.column_config.TextColumn(width="medium"),
        "what is wrong and what to do": st.column_config.TextColumn(width="large")})


def progress_bar(label: str) -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """Return a function that moves a progress bar and one that removes the bar when the work is done."""
    slot = st.empty()
    bar = slot.progress(0.0, text=label)

    def update(share: float, text: str) -> None:
        bar.progress(min(max(share, 0.0), 1.0), text=text)

    return update, slot.empty


steps_shown: list[str] = []


def heading(title: str) -> None:
    """Show the next numbered step; steps that do not apply to this file are left out of the count."""
    steps_shown.append(title)
    st.subheader(f"{len(steps_shown)}. {title}")


heading("Choose the file and its mapping")
upload = st.file_uploader(
    "File to import (CSV, TSV, .xlsx, or a .zip of a canonical portfolio folder)",
    type=["csv", "txt", "tsv", "xlsx", "zip"], key="import_upload",
    help=f"Up to {limit_mb} MB per file and {importing.MAX_CELL_CHARS:,} characters per cell; "
         "larger files or cells are rejected with a message that says so.")
# Drawn whether or not a file is chosen: replacing a file empties the uploader for one run, and a widget
# left out of a run loses its value.
choice = st.selectbox("Mapping", [INTERACTIVE, *mapping.available_profiles()], key="import_profile",
                      help="A saved mapping profile (a .toml file in data/mappings) reads one kind of export; "
                           "or map the columns yourself below and save the mapping as a new profile. A .zip of a "
                           "canonical portfolio needs no mapping.")
if upload is None:
    st.info("Choose a file to start. Its first rows are shown as read before anything is mapped.",
            icon=":material/upload_file:")
    st.stop()

data = upload.getvalue()
file_name = upload.name
canonical = file_name.lower().endswith(".zip")


# --- 1. Reading the file -----------------------------------------------------------------------
profile: mapping.MappingProfile | None = None
checked: mapping.CheckedImport | None = None
overrides: mapping.ReadOverrides | None = None

if canonical:
    heading("Canonical portfolio")
    st.caption("A .zip of a canonical folder (themes.csv, initiatives.csv, alignment.csv, …) needs no mapping.")
else:
    heading("Read the file")
    if choice != INTERACTIVE:
        try:
            profile = mapping.load_profile(choice)
        except PortfolioLensError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
        if profile.description:
            st.caption(profile.description)

    columns = st.columns(4)
    encoding = ENCODINGS[columns[0].selectbox("Encoding", list(ENCODINGS), key="import_encoding",
                                              help="Which character set the file uses; change it when letters "
                                                   "such as £ or é look wrong in the preview.")]
    separator = SEPARATORS[columns[1].selectbox("Separator", list(SEPARATORS), key="import_separator",
                                                help="What separates the fields of a CSV file.")]
    header_row = columns[2].number_input("Header row", min_value=1, value=None, step=1, key="import_header_row",
                                         placeholder="automatic",
                                         help="Row that names the columns, 1 for the first; leave empty to find it.")
    transpose = columns[3].checkbox("Transpose", key="import_transpose",
                                    help="For a table with one project per column and the field names down the "
                                         "first column.")
    sheet = None
    if data.startswith(b"PK\x03\x04"):
        try:
            sheets = reading.workbook_sheets(data, file_name)
        except reading.UnreadableFileError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
        if "initiatives" in {name.strip().lower() for name in sheets}:
            canonical = True
        else:
            sheet = st.selectbox("Sheet", sheets, key="import_sheet")

if not canonical:
    overrides = mapping.ReadOverrides(encoding=encoding, separator=separator,
                                      header_row=int(header_row) if header_row else None,
                                      transpose=transpose, sheet=sheet)
    # Reading a large file takes seconds, so the table is kept until the file or a reading option changes.
    read_key = (upload.file_id, profile.name if profile else "", repr(overrides))
    cached_table = st.session_state.get(TABLE_KEY)
    if cached_table is not None and cached_table[0] == read_key:
        table = cached_table[1]
    else:
        try:
            if profile is not None:
                table = mapping.read_for_profile(file_name, data, profile, overrides)
            else:
                table = reading.read_source(file_name, data, reading.ReadOptions(
                    encoding=encoding, separator=separator, header_row=overrides.header_row, transpose=transpose,
                    sheet=sheet))
        except PortfolioLensError as exc:
            logger.warning("Rejected upload %s: %s", file_name, exc)
            st.error(f"{literal(file_name)} cannot be read: {literal(exc)}", icon=":material/error:")
            st.stop()
        st.session_state[TABLE_KEY] = (read_key, table)

    st.caption(f"Read as: {table.describe()}")
    if table.transpose_suggested and not table.transposed:
        st.warning("This file looks transposed: one record per column, with the field names down the first "
                   "column. Tick **Transpose** above to read it that way.", icon=":material/swap_horiz:")
    st.markdown("**First rows as read**")
    st.dataframe(table.preview(20), width="stretch", key="import_preview")

# --- 2. Mapping ---------------------------------------------------------------------------------
if not canonical and profile is None:
    heading("Map the columns")
    st.caption("Choose the portfolio field each column fills. initiative_id, name, segment and cost are required: "
               "a row without a usable value for one of them is rejected with its reason.")
    targets = [LEAVE_OUT, *mapping.INITIATIVE_COLUMNS, KEEP_EXTRA]
    used: set[str] = set()
    suggestions = []
    for column in table.header:
        target = mapping.suggest_target(column)
        if target in used:
            target = None
        used.add(target or "")
        suggestions.append(target or LEAVE_OUT)
    samples = [next((row[index] for row in table.records[:50] if index < len(row) and row[index].strip()), "")
               for index in range(len(table.header))]
    plan = st.data_editor(
        pd.DataFrame({"column in the file": table.header, "example": [mapping.shorten(s, 40) for s in samples],
                      "maps to": suggestions}),
        column_config={"maps to": st.column_config.SelectboxColumn("maps to", options=targets, required=True)},
        disabled=["column in the file", "example"], hide_index=True, width="stretch", key="import_column_map")

    segments = list(dict.fromkeys([*DEFAULT_LENSES, *current.portfolio.lenses]))
    chosen = {row["maps to"]: row["column in the file"] for _, row in plan.iterrows()
              if row["maps to"] not in (LEAVE_OUT, KEEP_EXTRA)}
    extras = [row["column in the file"] for _, row in plan.iterrows() if row["maps to"] == KEEP_EXTRA]
    repeated = [target for target in chosen if (plan["maps to"] == target).sum() > 1]
    if repeated:
        st.warning(f"{', '.join(repeated)} is chosen for more than one column; the first column is used.",
                   icon=":material/warning:")

    def column_values(column: str) -> list[str]:
        index = table.header.index(column)
        return [row[index] if index < len(row) else "" for row in table.records]

    fields: list[mapping.FieldChoice] = []
    money_columns = [column for target, column in chosen.items() if target in mapping.MONEY_COLUMNS]
    date_columns = [column for target, column in chosen.items() if target in mapping.DATE_COLUMNS]
    money = mapping.MoneyFormat()
    dates = mapping.DateFormats()

    left, right = st.columns(2)
    with left:
        st.markdown("**Money**")
        currency = st.selectbox("Portfolio currency", ["GBP", "USD", "EUR"],
                                index=["GBP", "USD", "EUR"].index(current.currency)
                                if current.currency in ("GBP", "USD", "EUR") else 0, key="import_currency")
        money_samples = [value for column in money_columns for value in column_values(column)[:200]]
        guessed_notation = mapping.guess_number_notation(money_samples)
        notation = st.selectbox("Number notation", list(NOTATIONS), key="import_notation",
                                index=list(NOTATIONS.values()).index(guessed_notation),
                                help="How the file writes thousands and decimals. (1,234) in brackets is negative.")
        unit_guess = mapping.guess_unit(money_columns[0]) if money_columns else Decimal(1)
        unit_label = st.selectbox("Amounts are in", list(UNITS), key="import_unit",
                                  index=list(UNITS.values()).index(unit_guess),
                                  help="The unit of a bare number such as 7.9; a value written £1.2m or $3bn "
                                       "states its own unit.")
        thousands, point = NOTATIONS[notation]
        money = mapping.MoneyFormat(unit=UNITS[unit_label], currency_symbols=CURRENCY_SYMBOLS[currency],
                                    thousands_separator=thousands, decimal_separator=point)
    with right:
        st.markdown("**Dates**")
        date_samples = [value for column in date_columns for value in column_values(column)[:200]]
        formats, serials = mapping.guess_date_formats(date_samples)
        date_formats = st.multiselect(
            "Date formats", list(mapping.DATE_FORMAT_CANDIDATES), default=formats[:2], key="import_date_formats",
            format_func=mapping.describe_date_format, help="Tried in order; the first that fits is used.")
        excel_days = st.checkbox("Excel day numbers such as 45292 are dates", value=serials,
                                 key="import_excel_days")
        dates = mapping.DateFormats(formats=date_formats or ["%Y-%m-%d"], excel_serials=excel_days)

    for target, column in chosen.items():
        parse = mapping.suggest_parse(target)
        value_map = None
        scale = None
        if parse == "map":
            values = column_values(column)
            distinct = list(dict.fromkeys(value.strip() for value in values if value.strip()))
            if target in CRITERIA and distinct and all(v.endswith("%") for v in distinct[:50]):
                parse, scale = "percent", Decimal(10)
            elif target in CRITERIA and distinct and all(
                    mapping.suggest_value_map([v], target).get(v) is not None and v[:1].isdigit()
                    for v in distinct[:50]):
                parse = "number"
            else:
                st.markdown(f"**Values of {column} → {target}**")
                proposal = mapping.suggest_value_map(distinct[:200], target, segments)
                counts = pd.Series(values).str.strip().value_counts()
                editor = pd.DataFrame({"value in the file": list(proposal),
                                       "rows": [int(counts.get(v, 0)) for v in proposal],
                                       "becomes": list(proposal.values())})
                if target == "segment":
                    config = st.column_config.SelectboxColumn("becomes", options=segments)
                else:
                    config = st.column_config.NumberColumn("becomes", min_value=0, max_value=10, step=1,
                                                           help="0–10 on the criterion scale")
                edited = st.data_editor(editor, column_config={"becomes": config}, hide_index=True,
                                        disabled=["value in the file", "rows"], key=f"import_value_map_{target}")
                value_map = {row["value in the file"]: (row["becomes"] if target == "segment"
                                                        else float(row["becomes"]))
                             for _, row in edited.iterrows() if pd.notna(row["becomes"]) and row["becomes"] != ""}
                unmapped = [v for v in proposal if v not in value_map]
                if unmapped:
                    listed = ", ".join(unmapped[:5]) + (" …" if len(unmapped) > 5 else "")
                    consequence = "those rows are rejected" if target == "segment" else f"their {target} is left blank"
                    st.caption(f"No value chosen for {listed}: {consequence}.")
        fields.append(mapping.FieldChoice(target=target, source=[column], parse=parse, value_map=value_map,
                                          scale=scale))
    fields.extend(mapping.FieldChoice(target=column, source=[column], extra=True) for column in extras
                  if column not in mapping.INITIATIVE_COLUMNS)

    if "segment" not in chosen:
        default_segment = st.selectbox("Segment for every row (no column gives it)", segments,
                                       key="import_default_segment")
        fields.append(mapping.FieldChoice(target="segment", default=default_segment))
    status_default = st.text_input("Status for rows without one (optional)", key="import_default_status")
    if status_default.strip() and "status" not in chosen:
        fields.append(mapping.FieldChoice(target="status", default=status_default.strip()))

    # Segments beyond the default three need their lens in the profile: only those the mapping uses.
    used_segments = {str(value) for choice in fields if choice.target == "segment"
                     for value in [*(choice.value_map or {}).values(), choice.default] if value}
    lenses = [mapping.LensRow(segment=segment, criterion=criterion, weight=Decimal(str(weight)))
              for segment, lens in current.portfolio.lenses.items()
              if segment in used_segments and segment not in DEFAULT_LENSES
              for criterion, weight in lens.items()]
    # A saved profile keeps only what the user chose; "auto" finds separator and header again in the next export.
    reader_options = mapping.ReaderOptions(
        encodings=[encoding] if encoding else ["utf-8-sig", "cp1252"], separator=separator or "auto",
        header_row=overrides.header_row or "auto", transpose=transpose, sheet=sheet)
    try:
        profile = mapping.build_profile("unsaved", fields, reader=reader_options, money=money, dates=dates,
                                        settings={"currency": currency}, lenses=lenses)
    except PortfolioLensError as exc:
        st.error(f"The mapping is not complete yet: {literal(exc)}", icon=":material/edit:")
        st.stop()

    with st.expander("Save this mapping as a profile"):
        st.caption("A saved profile appears in the Mapping list above and works from the command line: "
                   "portfolio-lens import FILE --mapping NAME --out DIR.")
        profile_name = st.text_input("Profile name", key="import_profile_name", placeholder="e.g. planview-2025")
        overwrite = st.checkbox("Replace a profile of that name", key="import_profile_overwrite")
        if st.button("Save profile", key="import_save_profile", disabled=not profile_name.strip()):
            try:
                path = mapping.save_profile(profile.model_copy(update={"name": profile_name.strip()}),
                                            overwrite=overwrite)
            except PortfolioLensError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                logger.info("Saved mapping profile %s", path)
                st.success(f"Saved {path}.", icon=":material/check_circle:")

# --- 3. Check -------------------------------------------------------------------------------------
heading("Check")
signature = (upload.file_id, profile.model_dump_json() if profile else "", repr(overrides))
check_result = st.session_state.get(CHECKED_KEY)
if check_result is not None and check_result[0] != signature:
    check_result = None
if st.button("Check the import", type="primary" if check_result is None else "secondary", key="import_check"):
    update, done = progress_bar("Reading the file…")
    try:
        if canonical:
            tables = importing.read_upload(file_name, data)
            portfolio, problems = parse_portfolio(tables, source=f"upload: {file_name}")
            check_result = (signature, None, portfolio, problems)
        else:
            mapped = mapping.map_source(table, profile, update)
            update(1.0, "Validating the portfolio…")
            checked = mapping.check_import(mapped)
            check_result = (signature, checked, checked.portfolio, [])
    except PortfolioLensError as exc:
        logger.warning("Import of %s rejected: %s", file_name, exc)
        done()
        st.error(f"{literal(file_name)} cannot be imported: {literal(exc)}", icon=":material/error:")
        st.stop()
    done()
    st.session_state[CHECKED_KEY] = check_result
    # A new check proposes the commit mode again from the new file's overlap with the workspace.
    st.session_state.pop(MODE_KEY, None)
if check_result is None:
    st.caption("Checking maps every row and validates the result; nothing is committed yet.")
    st.stop()

_, checked, portfolio, canonical_problems = check_result
if checked is not None:
    report = checked.report
    numbers = st.columns(4)
    numbers[0].metric("Rows read", f"{report.rows_read:,}")
    numbers[1].metric("To import", f"{report.imported:,}")
    numbers[2].metric("Rejected", f"{report.rejected:,}")
    numbers[3].metric("Imported with warnings", f"{report.warned:,}")
    st.caption(report.summary_line() + " Every row read is either imported or rejected with its reason.")
    if report.errors:
        rows = "1 row" if report.rejected == 1 else f"{report.rejected:,} rows"
        st.markdown(f"**Errors: {rows} will not be imported**")
        show_problems(report.errors, "import_errors")
    if report.warnings:
        values = "1 value" if len(report.warnings) == 1 else f"{len(report.warnings):,} values"
        st.markdown(f"**Warnings: {values} left blank or set to a default, in rows that are imported**")
        show_problems(report.warnings, "import_warnings")
    blocking = [p for p in checked.problems if p.severity == "error"]
    if blocking:
        st.error("The imported rows do not make a valid portfolio; nothing can be committed.",
                 icon=":material/error:")
        show_problems(blocking, "import_blocking")
    checks = [p for p in checked.problems if p.severity == "warning"]
    if checks:
        with st.expander(f"Portfolio checks: {len(checks):,} warnings about the imported portfolio"):
            st.caption("They do not stop the import; most are criteria the file does not provide, which you can "
                       "score after importing.")
            show_problems(checks, "import_checks")
    if report.imported == 0:
        st.error(f"No row of {file_name} can be imported, so there is nothing to commit; fix the file or the "
                 "mapping and check again.", icon=":material/error:")
        st.stop()
else:
    errors = errors_of(canonical_problems)
    if canonical_problems:
        st.dataframe(pd.DataFrame([{"severity": p.severity, "where": p.describe().split(": ", 1)[0],
                                    "value": p.value, "problem": p.message} for p in canonical_problems]),
                     hide_index=True, width="stretch", key="import_canonical_report")
    if errors:
        st.error(f"{len(errors)} errors: nothing can be committed. Fix them in the file and upload it again.",
                 icon=":material/error:")
    elif portfolio is not None:
        st.info(f"{file_name} is valid: {len(portfolio.initiatives):,} initiatives, {len(portfolio.themes):,} "
                f"themes, {len(canonical_problems):,} warnings (listed above).", icon=":material/info:")
if portfolio is None:
    st.stop()

# --- 4. Commit ------------------------------------------------------------------------------------
heading("Commit")
stored = current.portfolio
overlap = len(set(stored.initiatives["initiative_id"]) & set(portfolio.initiatives["initiative_id"]))
modes = ["Update the workspace by initiative_id", "Replace the workspace portfolio"]
state.seed_widget(MODE_KEY, modes[0] if overlap else modes[1])
mode = st.radio("How to commit", modes, key=MODE_KEY, horizontal=True,
                help="Updating changes only the fields the file fills and keeps scores, themes and alignment; "
                     "replacing loads the file as the whole portfolio.")
st.caption(f"{overlap:,} of the file's {len(portfolio.initiatives):,} initiatives are already in the workspace.")
actor = state.actor()
if actor is None:
    st.info("Enter your name in the sidebar before you commit: the audit log records who imported.",
            icon=":material/person:")

if mode == modes[0]:
    fields = checked.mapped.fields if checked is not None else tuple(importing.canonical_frames(portfolio)[
        "initiatives"].columns)
    currency = (checked.mapped.profile.settings or {}).get("currency") if checked is not None else None
    diff = diff_reimport(stored, portfolio, fields, current.version, str(currency) if currency else None)
    numbers = st.columns(4)
    numbers[0].metric("Added", f"{len(diff.added):,}")
    numbers[1].metric("Changed", f"{len(diff.changed):,}")
    numbers[2].metric("Unchanged", f"{len(diff.unchanged):,}")
    numbers[3].metric("Missing from the file", f"{len(diff.missing):,}")
    st.caption(f"Compared on the fields the file fills: {', '.join(diff.fields)}.")
    for blocker in diff.blockers:
        st.error(f"Cannot update: {blocker}.", icon=":material/block:")
    changes, added, missing = st.tabs(["Changed, field by field", "Added", "Missing from the file"])
    with changes:
        st.dataframe(diff.changes_frame(), hide_index=True, width="stretch", key="import_diff_changed",
                     column_config={"before": st.column_config.TextColumn(width="medium"),
                                    "after": st.column_config.TextColumn(width="medium")})
    with added:
        st.dataframe(diff.ids_frame(diff.added), hide_index=True, width="stretch", key="import_diff_added")
    with missing:
        st.dataframe(diff.ids_frame(diff.missing), hide_index=True, width="stretch", key="import_diff_missing")
    action = st.radio(f"The {len(diff.missing):,} initiatives missing from the file", list(MISSING_ACTIONS),
                      format_func=MISSING_ACTIONS.__getitem__, key="import_missing_action", horizontal=True)
    mark_status = ""
    if action == "mark":
        mark_status = st.text_input("Status to set", key="import_mark_status",
                                    placeholder=ReimportPlan(diff).status_for_missing)
    disabled = bool(diff.blockers) or actor is None
    if st.button("Commit the update", type="primary", disabled=disabled, key="import_commit_update"):
        try:
            result = apply_reimport(store, portfolio, ReimportPlan(diff, action, mark_status), actor)
        except PortfolioLensError as exc:
            logger.warning("Re-import of %s not committed: %s", file_name, exc)
            st.error(f"Nothing was committed: {literal(exc)}", icon=":material/error:")
        else:
            state.reset_params()
            st.session_state.pop(CHECKED_KEY, None)
            st.session_state[FLASH_KEY] = f"Updated the workspace from {file_name}: {result.summary()}."
            st.rerun()
else:
    edits = int(store.info()["edits_since_load"] or 0)
    themes = f" and {len(stored.themes):,} themes" if len(stored.themes) else ""
    st.warning(f"Replacing removes the workspace's {len(stored.initiatives):,} initiatives{themes}, and the {edits:,} "
               "edits made since loading (they stay in the audit log). The file has no themes or alignment scores of "
               "its own." if checked is not None else
               f"Replacing loads {file_name} as the whole portfolio, discarding {edits:,} edits made since loading "
               "(they stay in the audit log).", icon=":material/warning:")
    confirmed = st.checkbox(f"Replace the workspace with the {len(portfolio.initiatives):,} initiatives of "
                            f"{file_name}", key="import_confirm_replace")
    if st.button("Commit the replacement", type="primary", disabled=not confirmed or actor is None,
                 key="import_commit_replace"):
        try:
            store.load(portfolio, actor)
        except PortfolioLensError as exc:
            logger.warning("Replacement by %s not committed: %s", file_name, exc)
            st.error(f"Nothing was committed: {literal(exc)}", icon=":material/error:")
        else:
            state.reset_params()
            st.session_state.pop(CHECKED_KEY, None)
            st.session_state[FLASH_KEY] = f"Replaced the workspace portfolio with {file_name}."
            st.rerun()
