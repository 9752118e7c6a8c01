"""Re-import a newer export over the stored portfolio: the difference by initiative_id, then one commit.

`diff_reimport` compares a newly imported portfolio with the stored one on the
fields the new file fills, and lists the initiatives added, changed (field by
field), unchanged and missing from the new file. Fields the file does not fill,
such as scores entered in the app after the first import, keep their stored
values. `apply_reimport` commits that difference in one store transaction:
changed initiatives are replaced with a new version, added ones inserted, and
missing ones kept, removed or marked, as the user chose. On any error nothing
changes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import ValidationError

from portfolio.access import Actor, as_actor, require_permission
from portfolio.cycle import require_allowed
from portfolio.errors import ConflictError, InvalidPortfolioError
from portfolio.importing import canonical_frames
from portfolio.models import (
    CRITERIA,
    DATE_FIELDS,
    MONEY_FIELDS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    TEXT_FIELDS,
    InitiativeRow,
    Portfolio,
    format_cents,
)
from portfolio.store import Store

logger = logging.getLogger(__name__)

MissingAction = Literal["keep", "remove", "mark"]
MISSING_ACTIONS: dict[MissingAction, str] = {
    "keep": "Keep them as they are",
    "remove": "Remove them (and their alignment scores and dependencies)",
    "mark": "Keep them and set their status",
}

CANONICAL_FIELDS: tuple[str, ...] = (*REQUIRED_COLUMNS["initiatives"], *OPTIONAL_COLUMNS["initiatives"])
# Blockers listed by name before the rest are counted.
MAX_LISTED_BLOCKERS = 10

_ROW_COLUMNS = (
    "position",
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
    "source_row",
    "version",
)


@dataclass(frozen=True)
class FieldChange:
    """One field of one initiative: its stored value and the value in the new file, as canonical text."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ChangedInitiative:
    """An initiative in both the store and the new file whose values differ in at least one field."""

    initiative_id: str
    name: str
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class ReimportDiff:
    """The difference between the stored portfolio (at `base_version`) and a newly imported one.

    `fields` are the initiative columns the new file fills; only they are
    compared and updated. `blockers` are reasons the update cannot be
    committed as it is, each one sentence. `names` gives every listed id its
    name: from the new file for added and changed ones, from the store for
    missing ones.
    """

    base_version: int
    fields: tuple[str, ...]
    added: tuple[str, ...]
    changed: tuple[ChangedInitiative, ...]
    unchanged: tuple[str, ...]
    missing: tuple[str, ...]
    blockers: tuple[str, ...]
    names: dict[str, str]
    source: str = ""
    rows: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """The record to store for each added or changed initiative: canonical text, `extra` and `row`."""
    extra_columns: tuple[str, ...] = ()

    def summary(self) -> str:
        """Return the difference in one sentence, e.g. "12 added, 180 changed, 26 unchanged, 29 missing"."""
        return (
            f"{len(self.added):,} added, {len(self.changed):,} changed, {len(self.unchanged):,} unchanged, "
            f"{len(self.missing):,} missing from the new file"
        )

    def changes_frame(self) -> pd.DataFrame:
        """Return one row per changed field: initiative_id, name, field, before, after."""
        rows = [
            (item.initiative_id, item.name, change.field, change.before, change.after)
            for item in self.changed
            for change in item.changes
        ]
        return pd.DataFrame(rows, columns=["initiative_id", "name", "field", "before", "after"])

    def ids_frame(self, ids: Sequence[str]) -> pd.DataFrame:
        """Return the ids with their names, for listing added or missing initiatives."""
        return pd.DataFrame({"initiative_id": list(ids), "name": [self.names.get(i, "") for i in ids]})


@dataclass(frozen=True)
class ReimportPlan:
    """A difference and what to do with the initiatives missing from the new file.

    With `missing_action` "mark", `mark_status` becomes their status; by
    default "missing from import <today's date>".
    """

    diff: ReimportDiff
    missing_action: MissingAction = "keep"
    mark_status: str = ""

    @property
    def status_for_missing(self) -> str:
        return self.mark_status.strip() or f"missing from import {dt.date.today().isoformat()}"


@dataclass(frozen=True)
class ReimportResult:
    """The counts of initiatives a committed re-import added, changed, removed, marked and kept."""

    added: int
    changed: int
    removed: int
    marked: int
    kept: int

    def summary(self) -> str:
        """Return the counts in one phrase, e.g. "51 added, 166 updated, 32 marked as missing from the file"."""
        parts = [f"{self.added:,} added", f"{self.changed:,} updated"]
        if self.removed:
            parts.append(f"{self.removed:,} removed as missing from the file")
        if self.marked:
            parts.append(f"{self.marked:,} marked as missing from the file")
        if self.kept:
            parts.append(f"{self.kept:,} missing from the file kept as they were")
        return ", ".join(parts)


# --- The difference ------------------------------------------------------------------------------


def diff_reimport(
    stored: Portfolio,
    new: Portfolio,
    fields: Sequence[str],
    base_version: int,
    currency: str | None = None,
) -> ReimportDiff:
    """Compare a newly imported portfolio with the stored one by initiative_id, on the new file's `fields`.

    `fields` are the initiative columns the new file fills (canonical and
    extra). `base_version` is the store's data_version that `stored` was read
    at, and apply_reimport rejects a commit over a later one. `currency` is
    the currency the new file states, or None when it states none. The update
    is blocked by a currency other than the store's, by segments without a
    lens in the store, and by merged records that break a rule of one
    initiative (capex and opex that no longer add up to cost).
    """
    fields = tuple(dict.fromkeys(["initiative_id", *fields]))
    stored_text = _texts(stored)
    new_text = _texts(new)
    compared = [name for name in fields if name != "initiative_id"]

    stored_ids = list(stored_text.index)
    new_ids = list(new_text.index)
    stored_set = set(stored_ids)
    new_set = set(new_ids)
    added = [i for i in new_ids if i not in stored_set]
    missing = [i for i in stored_ids if i not in new_set]
    common = [i for i in new_ids if i in stored_set]

    changed, unchanged = _compare(stored_text, new_text, common, compared)
    names = {i: new_text.at[i, "name"] for i in new_ids}
    names.update({i: stored_text.at[i, "name"] for i in missing})

    extra_columns = tuple(name for name in compared if name not in CANONICAL_FIELDS)
    rows = _merged_rows(stored, stored_text, new, new_text, added, [item.initiative_id for item in changed], compared)
    blockers = _blockers(stored, rows, currency)

    diff = ReimportDiff(
        base_version=base_version,
        fields=tuple(compared),
        added=tuple(added),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        missing=tuple(missing),
        blockers=tuple(blockers),
        names=names,
        source=new.source,
        rows=rows,
        extra_columns=extra_columns,
    )
    logger.info("Re-import of %s over data version %d: %s", new.source, base_version, diff.summary())
    return diff


def _texts(portfolio: Portfolio) -> pd.DataFrame:
    """Return the initiatives as canonical text, indexed by initiative_id, blanks as ""."""
    frame = canonical_frames(portfolio)["initiatives"]
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    return frame.set_index("initiative_id", drop=False)


def _compare(
    stored: pd.DataFrame, new: pd.DataFrame, common: list[str], fields: list[str]
) -> tuple[list[ChangedInitiative], list[str]]:
    if not common:
        return [], []
    before = stored.reindex(index=common, columns=fields, fill_value="").fillna("")
    after = new.reindex(index=common, columns=fields, fill_value="").fillna("")
    differs = before.ne(after)

    changed: list[ChangedInitiative] = []
    unchanged: list[str] = []
    for initiative_id, row in zip(common, differs.to_numpy(), strict=True):
        if not row.any():
            unchanged.append(initiative_id)
            continue
        changes = tuple(
            FieldChange(field=name, before=before.at[initiative_id, name], after=after.at[initiative_id, name])
            for name, different in zip(fields, row, strict=True)
            if different
        )
        changed.append(ChangedInitiative(initiative_id, new.at[initiative_id, "name"], changes))
    return changed, unchanged


def _merged_rows(
    stored: Portfolio,
    stored_text: pd.DataFrame,
    new: Portfolio,
    new_text: pd.DataFrame,
    added: list[str],
    changed: list[str],
    fields: list[str],
) -> dict[str, dict[str, Any]]:
    """Return the record to store for each added or changed initiative.

    A changed initiative keeps its stored value in every field the new file
    does not fill, and its stored extra columns beside the new file's.
    """
    canonical = [name for name in fields if name in CANONICAL_FIELDS]
    extras = [name for name in fields if name not in CANONICAL_FIELDS]
    new_items = new.initiatives.set_index("initiative_id", drop=False)
    stored_items = stored.initiatives.set_index("initiative_id", drop=False)

    rows: dict[str, dict[str, Any]] = {}
    for initiative_id in added:
        record = {name: new_text.at[initiative_id, name] for name in CANONICAL_FIELDS if name in new_text.columns}
        extra = {name: new_text.at[initiative_id, name] for name in extras}
        rows[initiative_id] = {"record": record, "extra": extra, "row": new_items.at[initiative_id, "row"]}

    for initiative_id in changed:
        record = {name: stored_text.at[initiative_id, name] for name in CANONICAL_FIELDS}
        record.update({name: new_text.at[initiative_id, name] for name in canonical})
        extra = dict(stored_items.at[initiative_id, "extra"] or {})
        extra.update({name: new_text.at[initiative_id, name] for name in extras})
        rows[initiative_id] = {"record": record, "extra": extra, "row": new_items.at[initiative_id, "row"]}
    return rows


def _blockers(stored: Portfolio, rows: dict[str, dict[str, Any]], currency: str | None) -> list[str]:
    blockers: list[str] = []
    if currency is not None and currency != stored.settings.currency:
        blockers.append(
            f"the new file's amounts are in {currency} but the workspace holds {stored.settings.currency}; "
            "replace the workspace portfolio instead, or import with a profile in the workspace's currency"
        )

    segments = set(stored.lenses)
    invalid: list[str] = []
    for initiative_id, row in rows.items():
        segment = row["record"].get("segment", "")
        if segment and segment not in segments:
            invalid.append(
                f'{initiative_id}: segment "{segment}" has no lens in the workspace (it has {", ".join(stored.lenses)})'
            )
            continue
        try:
            row["model"] = InitiativeRow.model_validate(row["record"])
        except ValidationError as error:
            first = error.errors()[0]
            invalid.append(f"{initiative_id}: {first['msg']}")

    if invalid:
        listed = "; ".join(invalid[:MAX_LISTED_BLOCKERS])
        more = f" and {len(invalid) - MAX_LISTED_BLOCKERS:,} more" if len(invalid) > MAX_LISTED_BLOCKERS else ""
        count = "1 initiative" if len(invalid) == 1 else f"{len(invalid):,} initiatives"
        blockers.append(
            f"{count} would break the workspace's rules once updated ({listed}{more}); "
            "fix them in the file or replace the workspace portfolio"
        )
    return blockers


# --- The commit ----------------------------------------------------------------------------------


def apply_reimport(store: Store, portfolio: Portfolio, plan: ReimportPlan, who: str | Actor) -> ReimportResult:
    """Commit a re-import in one store transaction; on any error nothing changes.

    Changed initiatives are replaced with version + 1 and keep their place in
    the list and their alignment scores. Added ones are appended with version
    1, in the order of the new file. Missing ones are kept, removed (with their
    alignment scores and dependencies), or get `plan.status_for_missing` as
    their status (version + 1). Every initiative touched gets an audit entry
    with the fields before and after, and the re-import gets one summary entry.

    Raises AccessDeniedError without the pmo role, ActionNotAllowedError when
    the cycle's status does not allow imports, InvalidPortfolioError when the
    difference has blockers, and ConflictError when the store changed since
    the difference was computed.
    """
    actor = as_actor(who)
    require_permission(actor, "import")
    diff = plan.diff
    if diff.blockers:
        raise InvalidPortfolioError(f"the re-import cannot be committed: {diff.blockers[0]}")

    now = _now()
    with store.transaction() as cursor:
        version = int(_meta(cursor, "data_version") or 0)
        if version != diff.base_version:
            raise ConflictError(
                f"the workspace changed since the difference was computed (data version {diff.base_version}, now "
                f"{version}); check the import again to see the new difference, then commit"
            )
        require_allowed("import", _meta(cursor, "cycle_status") or "draft")

        _replace_rows(cursor, diff, actor.name, now)
        removed, marked = _handle_missing(cursor, plan, actor.name, now)
        _write_audit(cursor, diff, plan, actor.name, now)
        _update_meta(cursor, diff)
        Store.audit(
            cursor,
            actor.name,
            "re-import portfolio",
            "portfolio",
            None,
            None,
            {
                "source": diff.source,
                "added": len(diff.added),
                "changed": len(diff.changed),
                "missing": len(diff.missing),
                "missing_action": plan.missing_action,
            },
        )

    result = ReimportResult(
        added=len(diff.added),
        changed=len(diff.changed),
        removed=removed,
        marked=marked,
        kept=len(diff.missing) - removed - marked,
    )
    logger.info("%s re-imported %s into %s: %s", actor.name, diff.source, store.path, result.summary())
    return result


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _meta(cursor: Any, key: str) -> str | None:
    row = cursor.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _replace_rows(cursor: Any, diff: ReimportDiff, who: str, now: dt.datetime) -> None:
    """Delete the changed initiatives and insert every added and changed one from the merged records."""
    ids = [*diff.added, *(item.initiative_id for item in diff.changed)]
    if not ids:
        return

    current = {
        initiative_id: (position, version)
        for initiative_id, position, version in cursor.execute(
            "SELECT initiative_id, position, version FROM initiatives"
        ).fetchall()
    }
    next_position = max((position for position, _ in current.values()), default=-1) + 1
    places: list[tuple[int, int]] = []
    for initiative_id in ids:
        if initiative_id in current:
            position, version = current[initiative_id]
            places.append((position, version + 1))
        else:
            places.append((next_position, 1))
            next_position += 1

    frame = _row_frame([diff.rows[i] for i in ids], places)
    changed = pd.DataFrame({"initiative_id": [item.initiative_id for item in diff.changed]}, dtype=object)
    _stage(cursor, "reimport_changed", changed)
    _stage(cursor, "reimport_rows", frame)
    try:
        cursor.execute("DELETE FROM initiatives WHERE initiative_id IN (SELECT initiative_id FROM reimport_changed)")
        cursor.execute(
            "INSERT INTO initiatives (" + ", ".join(_ROW_COLUMNS) + ", updated_by, updated_at) "
            "SELECT CAST(position AS INTEGER), initiative_id, name, segment, CAST(cost AS DECIMAL(18,2)), "
            "CAST(must_fund AS BOOLEAN), CAST(force_out AS BOOLEAN), "
            + ", ".join(f"CAST({c} AS DOUBLE PRECISION)" for c in CRITERIA)
            + ", "
            + ", ".join(f"CAST({c} AS VARCHAR)" for c in TEXT_FIELDS)
            + ", "
            + ", ".join(f"CAST({c} AS DECIMAL(18,2))" for c in MONEY_FIELDS)
            + ", "
            + ", ".join(f"CAST({c} AS DATE)" for c in DATE_FIELDS)
            + ", extra, CAST(source_row AS INTEGER), CAST(version AS INTEGER), ?, ? FROM reimport_rows",
            [who, now],
        )
    finally:
        _unstage(cursor, "reimport_rows")
        _unstage(cursor, "reimport_changed")


def _stage(cursor: Any, name: str, frame: pd.DataFrame) -> None:
    """Make `frame` readable as the table `name` until _unstage, with every value as text (None stays NULL).

    DuckDB reads the frame where it is. The PostgreSQL store's cursor copies it
    into a temporary table that the transaction drops when it ends. `name`
    and the column names are constants of this module, never input.
    """
    text = frame.astype(object).where(frame.notna(), None)
    text = text.apply(lambda column: column.map(lambda value: None if value is None else str(value)))
    if not hasattr(cursor, "copy_frame"):
        cursor.register(name, text)
        return
    columns = ", ".join(f"{column} VARCHAR" for column in frame.columns)
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP")
    cursor.copy_frame(name, text)


def _unstage(cursor: Any, name: str) -> None:
    if not hasattr(cursor, "copy_frame"):
        cursor.unregister(name)
        return
    cursor.execute(f"DROP TABLE {name}")


def _row_frame(rows: list[dict[str, Any]], places: list[tuple[int, int]]) -> pd.DataFrame:
    """Build the frame of initiatives rows to insert; column names come from _ROW_COLUMNS, never from input."""
    models: list[InitiativeRow] = [row["model"] for row in rows]
    data: dict[str, Any] = {
        "position": pd.array([place[0] for place in places], dtype="int64"),
        "initiative_id": [model.initiative_id for model in models],
        "name": [model.name for model in models],
        "segment": [model.segment for model in models],
        "cost": [format_cents(model.cost) for model in models],
        "must_fund": pd.array([model.must_fund for model in models], dtype="bool"),
        "force_out": pd.array([model.force_out for model in models], dtype="bool"),
    }
    for column in CRITERIA:
        data[column] = pd.array([getattr(model, column) for model in models], dtype="Float64")
    for column in TEXT_FIELDS:
        data[column] = pd.Series([getattr(model, column) for model in models], dtype="string")
    for column in MONEY_FIELDS:
        data[column] = pd.Series(
            [None if getattr(model, column) is None else format_cents(getattr(model, column)) for model in models],
            dtype="string",
        )
    for column in DATE_FIELDS:
        data[column] = pd.Series([getattr(model, column) for model in models], dtype="string")
    data["extra"] = [json.dumps(row["extra"]) for row in rows]
    data["source_row"] = pd.array([None if pd.isna(row["row"]) else int(row["row"]) for row in rows], dtype="Int64")
    data["version"] = pd.array([place[1] for place in places], dtype="int64")
    return pd.DataFrame(data, columns=list(_ROW_COLUMNS))


def _handle_missing(cursor: Any, plan: ReimportPlan, who: str, now: dt.datetime) -> tuple[int, int]:
    """Remove or mark the initiatives missing from the new file, as planned; return (removed, marked)."""
    missing = list(plan.diff.missing)
    if not missing or plan.missing_action == "keep":
        return 0, 0

    _stage(cursor, "reimport_missing", pd.DataFrame({"initiative_id": missing}, dtype=object))
    try:
        if plan.missing_action == "remove":
            cursor.execute("DELETE FROM alignment WHERE initiative_id IN (SELECT initiative_id FROM reimport_missing)")
            cursor.execute(
                "DELETE FROM dependencies WHERE initiative_id IN (SELECT initiative_id FROM reimport_missing) "
                "OR requires_id IN (SELECT initiative_id FROM reimport_missing)"
            )
            cursor.execute(
                "DELETE FROM initiatives WHERE initiative_id IN (SELECT initiative_id FROM reimport_missing)"
            )
            return len(missing), 0

        cursor.execute(
            "UPDATE initiatives SET status = ?, version = version + 1, updated_by = ?, updated_at = ? "
            "WHERE initiative_id IN (SELECT initiative_id FROM reimport_missing)",
            [plan.status_for_missing, who, now],
        )
        return 0, len(missing)
    finally:
        _unstage(cursor, "reimport_missing")


def _write_audit(cursor: Any, diff: ReimportDiff, plan: ReimportPlan, who: str, now: dt.datetime) -> None:
    """Append one audit entry per initiative added, changed, removed or marked, with the fields before and after."""
    entries: list[tuple[str, str, str | None, str | None]] = []
    for initiative_id in diff.added:
        entries.append(("import: add initiative", initiative_id, None, json.dumps(diff.rows[initiative_id]["record"])))
    for item in diff.changed:
        before = {change.field: change.before for change in item.changes}
        after = {change.field: change.after for change in item.changes}
        entries.append(("import: change initiative", item.initiative_id, json.dumps(before), json.dumps(after)))
    if plan.missing_action == "remove":
        entries.extend(("import: remove initiative", i, None, None) for i in diff.missing)
    if plan.missing_action == "mark":
        after = json.dumps({"status": plan.status_for_missing})
        entries.extend(("import: mark initiative missing", i, None, after) for i in diff.missing)
    if not entries:
        return

    frame = pd.DataFrame(entries, columns=["action", "entity_id", "before", "after"], dtype=object)
    _stage(cursor, "reimport_audit", frame)
    try:
        cursor.execute(
            "INSERT INTO audit_log (changed_at, who, action, entity, entity_id, before, after) "
            "SELECT CAST(? AS TIMESTAMP), CAST(? AS VARCHAR), action, 'initiative', entity_id, before, after "
            "FROM reimport_audit",
            [now, who],
        )
    finally:
        _unstage(cursor, "reimport_audit")


def _update_meta(cursor: Any, diff: ReimportDiff) -> None:
    """Record the new file as the source and add its extra columns to those the store shows."""
    extra_columns = json.loads(_meta(cursor, "extra_columns") or "[]")
    merged = list(dict.fromkeys([*extra_columns, *diff.extra_columns]))
    entries = [("extra_columns", json.dumps(merged))]
    if diff.source:
        entries.append(("source", diff.source))
    for key, value in entries:
        cursor.execute("DELETE FROM meta WHERE key = ?", [key])
        cursor.execute("INSERT INTO meta VALUES (?, ?)", [key, value])
