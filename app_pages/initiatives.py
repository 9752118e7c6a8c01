"""Initiatives: search and sort every initiative; add or edit one with its alignment scores."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from portfolio.cycle import STATUS_LABELS
from portfolio.errors import ConflictError, PortfolioLensError
from portfolio.explain import CRITERION_LABELS
from portfolio.models import CRITERIA, AlignmentRow, InitiativeRow, format_cents
from portfolio.search import search_initiatives
from ui import state
from ui.tables import funding_status, money_column, score_column
from ui.text import literal

current = state.view()
what_if = state.params(current)
result = state.scored(current, what_if)
portfolio = current.portfolio
currency = current.currency
threshold = portfolio.settings.justification_threshold
CONFLICT_KEY = "initiatives_conflict"

st.title("Initiatives")

filters = st.columns([3, 1, 1])
query = filters[0].text_input("Search", placeholder="id, name, sponsor, business unit or description",
                              key="initiatives_query")
segment_filter = filters[1].multiselect("Segment", list(current.inputs.segments), key="initiatives_segments")
status_filter = filters[2].multiselect("Funding", ["funded", "must fund", "below the line", "no envelope",
                                                   "not scored", "forced out"], key="initiatives_funding")

items = portfolio.initiatives
table = pd.DataFrame({
    "initiative_id": items["initiative_id"], "name": items["name"], "segment": items["segment"],
    "cost": items["cost"] / 100, "sai": result["sai"], "urgency": result["urgency"],
    "segment_score": result["segment_score"], "rank": result["rank"], "funding": funding_status(result),
    "sponsor": items["sponsor"], "business_unit": items["business_unit"], "status": items["status"],
    # Criteria as scored (0–10) under their own keys: "urgency" above is the 0–100 urgency score.
    **{f"criterion_{c}": items[c] for c in CRITERIA},
})
for column in portfolio.extra_columns:
    table[column] = [extra.get(column, "") for extra in items["extra"]]
mask = search_initiatives(items, query)
if segment_filter:
    mask &= table["segment"].isin(segment_filter).to_numpy()
if status_filter:
    mask &= table["funding"].isin(status_filter).to_numpy()
shown = table[mask]
st.caption(f"{len(shown):,} of {len(table):,} initiatives. Click a column header to sort.")
st.dataframe(shown, hide_index=True, width="stretch", height=420, key="initiatives_table",
             column_config={
                 "initiative_id": "ID", "name": "Initiative", "segment": "Segment",
                 "cost": money_column("Cost", currency), "sai": score_column("SAI"),
                 "urgency": score_column("Urgency score", "0–100, from the urgency criteria"),
                 "segment_score": score_column("Segment score"),
                 "rank": st.column_config.NumberColumn("Rank", format="%d"), "funding": "Funding",
                 "sponsor": "Sponsor", "business_unit": "Business unit", "status": "Status",
                 **{f"criterion_{c}": st.column_config.NumberColumn(f"{CRITERION_LABELS[c]} (0–10)", format="%g")
                    for c in CRITERIA}})

st.subheader("Add or edit an initiative")
if current.cycle.status != "submissions_open":
    st.warning(f"The cycle is {STATUS_LABELS[current.cycle.status]}: sponsors submit and score initiatives only "
               "while submissions are open, so saving is refused until the PMO reopens them.",
               icon=":material/block:")
NEW = "(new initiative)"
choices = [NEW, *items["initiative_id"].tolist()]
names = dict(zip(items["initiative_id"], items["name"], strict=True))
default = state.selected_initiative()
pending = st.session_state.pop("initiatives_saved_id", None)
if pending in names:
    st.session_state["initiatives_edit_id"] = pending
flash = st.session_state.pop("initiatives_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")
state.seed_widget("initiatives_edit_id", default if default in names else NEW)
editing = st.selectbox("Initiative to edit", choices, key="initiatives_edit_id",
                       format_func=lambda i: i if i == NEW else f"{i} · {names[i]}")
is_new = editing == NEW
record = None if is_new else items[items["initiative_id"] == editing].iloc[0]
existing = portfolio.alignment[portfolio.alignment["initiative_id"] == editing]
existing_scores = dict(zip(existing["theme_id"], existing["score"], strict=True))
existing_notes = dict(zip(existing["theme_id"], existing["justification"], strict=True))


def _value(column: str, default: object = None) -> object:
    if record is None:
        return default
    value = record[column]
    return default if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _money_text(column: str) -> str:
    value = _value(column)
    return "" if value is None else f"{int(value) / 100:.2f}"


# The form is keyed by initiative only, so that someone else's commit (which redraws the page) does not
# reset what this person is typing; the version it started from is remembered for the conflict check.
# Forgetting a form gives it a new generation: new widget keys, because the browser would otherwise send
# the old typed values back for the old keys.
generation = st.session_state.get(f"initiatives_generation_{editing}", 0)
form_key = f"initiatives_form_{editing}" + (f"_{generation}" if generation else "")
base_version = st.session_state.setdefault(f"{form_key}_base_version", int(_value("version", 0)))


def _forget_form() -> None:
    """Drop the form's typed values and base version, so that it shows the saved initiative again."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(form_key)]:
        del st.session_state[key]
    st.session_state[f"initiatives_generation_{editing}"] = generation + 1


with st.form(form_key, enter_to_submit=False):
    top = st.columns([1, 2, 1, 1])
    initiative_id = top[0].text_input("ID", value="" if is_new else editing, disabled=not is_new, key=f"{form_key}_id")
    name = top[1].text_input("Name", value=_value("name", ""), key=f"{form_key}_name")
    segments = list(current.inputs.segments)
    segment = top[2].selectbox("Segment", segments,
                               index=segments.index(_value("segment", segments[0])), key=f"{form_key}_segment")
    cost = top[3].text_input(f"Cost ({currency})", value=_money_text("cost"), placeholder="e.g. 1250000.00",
                          key=f"{form_key}_cost")

    flags = st.columns(4)
    must_fund = flags[0].checkbox("Must fund", value=bool(_value("must_fund", False)), key=f"{form_key}_must")
    force_out = flags[1].checkbox("Force out", value=bool(_value("force_out", False)), key=f"{form_key}_out")
    sponsor = flags[2].text_input("Sponsor", value=_value("sponsor", ""), key=f"{form_key}_sponsor")
    business_unit = flags[3].text_input("Business unit", value=_value("business_unit", ""),
                                       key=f"{form_key}_unit")

    st.markdown("**Criteria** (0–10; leave blank when not yet scored)")
    criteria_columns = st.columns(len(CRITERIA))
    criteria = {}
    for column, criterion in zip(criteria_columns, CRITERIA, strict=True):
        current_value = _value(criterion)
        criteria[criterion] = column.number_input(
            CRITERION_LABELS[criterion], min_value=0.0, max_value=10.0, step=0.5,
            value=None if current_value is None else float(current_value), placeholder="blank",
            key=f"{form_key}_{criterion}")

    st.markdown(f"**Alignment to themes** (0–10). A score of {threshold:g} or more needs a justification.")
    alignment_inputs = {}
    for theme_id, theme_name in current.theme_names.items():
        left, right = st.columns([1, 3])
        score = left.number_input(literal(theme_name), min_value=0.0, max_value=10.0, step=1.0,
                                  value=float(existing_scores.get(theme_id, 0.0)), key=f"{form_key}_score_{theme_id}")
        note = right.text_input(f"Justification for {literal(theme_name)}", value=existing_notes.get(theme_id, ""),
                                key=f"{form_key}_note_{theme_id}", placeholder="which key result it moves, and how")
        alignment_inputs[theme_id] = (score, note)
    if not current.theme_names:
        st.caption("No themes yet, so there is nothing to score alignment against.")

    details = st.columns(3)
    capex = details[0].text_input("Capex", value=_money_text("capex"), key=f"{form_key}_capex")
    opex = details[1].text_input("Opex", value=_money_text("opex"), key=f"{form_key}_opex")
    status = details[2].text_input("Status", value=_value("status", ""), key=f"{form_key}_status")
    description = st.text_area("Description", value=_value("description", ""), key=f"{form_key}_description")
    submitted = st.form_submit_button("Save", type="primary")

if submitted:
    who = state.actor()
    fields = {
        "initiative_id": initiative_id if is_new else editing, "name": name, "segment": segment, "cost": cost,
        "must_fund": must_fund, "force_out": force_out, "sponsor": sponsor, "business_unit": business_unit,
        "status": status, "capex": capex, "opex": opex, "description": description,
        **criteria,
        **{c: _value(c) for c in ("actual_spend", "start_date", "end_date", "deadline")},
    }
    if fields["actual_spend"] is not None:
        fields["actual_spend"] = f"{int(fields['actual_spend']) / 100:.2f}"
    try:
        if who is None:
            raise PortfolioLensError("enter your name in the sidebar first: the audit log records who changed what")
        row = InitiativeRow.model_validate(fields)
        scores = [AlignmentRow(initiative_id=row.initiative_id, theme_id=t, score=s, justification=n or None)
                  for t, (s, n) in alignment_inputs.items() if s > 0]
        version = state.store().save_initiative(row, scores, who, None if is_new else base_version)
    except ValidationError as exc:
        for error in exc.errors():
            field = error["loc"][0] if error["loc"] else "initiative"
            st.error(f"{field}: {error['msg'].removeprefix('Value error, ')}", icon=":material/error:")
    except ConflictError as exc:
        if is_new:
            st.error(f"Not saved: {literal(exc)}.", icon=":material/error:")
        else:
            # Keep the edit: the section below shows it beside the saved version and lets the user choose.
            st.session_state[CONFLICT_KEY] = {"row": row, "scores": scores, "message": str(exc)}
    except PortfolioLensError as exc:
        st.error(f"Not saved: {literal(exc)}.", icon=":material/error:")
    else:
        _forget_form()
        st.session_state["initiatives_saved_id"] = row.initiative_id
        st.session_state["initiatives_flash"] = f"Saved {row.initiative_id} (version {version})."
        state.select_initiative(row.initiative_id)
        st.rerun()


def _comparison(mine: InitiativeRow, mine_scores: list[AlignmentRow], theirs: pd.Series,
                their_scores: pd.DataFrame) -> pd.DataFrame:
    """List the fields where the unsaved edit and the saved initiative differ, as text side by side."""
    rows = []
    for field in InitiativeRow.model_fields:
        value = getattr(mine, field)
        saved = theirs.get(field)
        saved = None if saved is None or (not isinstance(saved, str) and pd.isna(saved)) else saved
        if field in ("cost", "capex", "opex", "actual_spend"):
            value = None if value is None else format_cents(value)
            saved = None if saved is None else format_cents(int(saved))
        if field in CRITERIA and saved is not None:
            saved = float(saved)
        if value != saved and not (value in (None, "") and saved in (None, "")):
            rows.append({"field": field, "your edit": "" if value is None else str(value),
                         "saved now": "" if saved is None else str(saved)})
    mine_by_theme = {score.theme_id: (score.score, score.justification or "") for score in mine_scores}
    theirs_by_theme = {t: (float(v), j or "") for t, v, j in zip(their_scores["theme_id"], their_scores["score"],
                                                                  their_scores["justification"], strict=True)}
    for theme_id in sorted(set(mine_by_theme) | set(theirs_by_theme)):
        if mine_by_theme.get(theme_id) != theirs_by_theme.get(theme_id):
            rows.append({"field": f"score for {current.theme_names.get(theme_id, theme_id)}",
                         "your edit": "{:g} {}".format(*mine_by_theme.get(theme_id, (0, ""))).strip(),
                         "saved now": "{:g} {}".format(*theirs_by_theme.get(theme_id, (0, ""))).strip()})
    return pd.DataFrame(rows, columns=["field", "your edit", "saved now"])


conflict = st.session_state.get(CONFLICT_KEY)
if conflict is not None and conflict["row"].initiative_id == editing:
    latest = state.store().read()
    saved_rows = latest.initiatives[latest.initiatives["initiative_id"] == editing]
    st.warning(f"Not saved: {conflict['message']}.", icon=":material/sync_problem:")
    if saved_rows.empty:
        st.caption("The initiative no longer exists.")
    else:
        saved = saved_rows.iloc[0]
        saved_scores = latest.alignment[latest.alignment["initiative_id"] == editing]
        st.markdown("**Your edit beside the saved version**")
        st.dataframe(_comparison(conflict["row"], conflict["scores"], saved, saved_scores), hide_index=True,
                     width="stretch", key="initiatives_conflict_table")
        choices = st.columns(2)
        if choices[0].button("Save my edit over theirs", key="initiatives_conflict_overwrite", type="primary"):
            try:
                if state.actor() is None:
                    raise PortfolioLensError("enter your name in the sidebar first")
                version = state.store().save_initiative(conflict["row"], conflict["scores"], state.actor(),
                                                        int(saved["version"]))
            except PortfolioLensError as exc:
                st.error(f"Not saved: {literal(exc)}.", icon=":material/error:")
            else:
                st.session_state.pop(CONFLICT_KEY, None)
                _forget_form()
                st.session_state["initiatives_flash"] = f"Saved {editing} (version {version}) over the other edit."
                st.rerun()
        if choices[1].button("Discard my edit and reload", key="initiatives_conflict_discard"):
            st.session_state.pop(CONFLICT_KEY, None)
            _forget_form()
            st.rerun()

