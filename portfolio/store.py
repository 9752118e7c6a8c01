"""The DuckDB store: schema, loading in one transaction, edits and the audit log.

One :class:`Store` wraps one read-write DuckDB connection per database file.
Every read opens its own ``cursor()`` on it, so each browser session reads
independently; every write takes the store's lock and runs in one
transaction, so a failure leaves the last committed state. Money is stored
as ``DECIMAL(18,2)`` and crosses into Python as integer cents.

Each initiative carries a ``version``; an edit names the version it was made
from and is rejected with :class:`ConflictError` when someone else committed
in between. Every commit appends to ``audit_log`` and bumps the store's
``data_version``, which readers use to notice that something changed.

Apart from the plumbing (connections, transactions, bulk inserts and backup),
the statements are written in SQL that PostgreSQL also accepts, because
:class:`portfolio.pgstore.PostgresStore` inherits them. :func:`open_store`
opens that shared store for a ``postgresql://`` URL.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from portfolio.access import Actor, as_actor, require_permission
from portfolio.cycle import DECISION_FLAGS, ActionNotAllowedError, check_transition, require_allowed
from portfolio.errors import ConflictError, InvalidPortfolioError, NotFoundError, StoreError
from portfolio.importing import DEMO_PATH, require_portfolio
from portfolio.models import (
    CRITERIA,
    DATE_FIELDS,
    INITIATIVE_COLUMNS,
    MONEY_FIELDS,
    TEXT_FIELDS,
    AlignmentRow,
    InitiativeRow,
    Portfolio,
    Settings,
    ThemeRow,
    format_cents,
    is_blank,
)
from portfolio.scoring import ScoringParams

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1"

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR NOT NULL, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS theme_versions (
        version INTEGER NOT NULL, position INTEGER NOT NULL, theme_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
        weight DOUBLE NOT NULL, objective VARCHAR, key_results VARCHAR, source_row INTEGER)""",
    """CREATE TABLE IF NOT EXISTS theme_sets (
        version INTEGER NOT NULL, published BOOLEAN NOT NULL, note VARCHAR, created_by VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, published_by VARCHAR, published_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS scenarios (
        name VARCHAR NOT NULL, params VARCHAR NOT NULL, note VARCHAR, version INTEGER NOT NULL,
        created_by VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, updated_by VARCHAR, updated_at TIMESTAMP)""",
    "CREATE SEQUENCE IF NOT EXISTS decision_id START 1",
    """CREATE TABLE IF NOT EXISTS decisions (
        id BIGINT NOT NULL DEFAULT nextval('decision_id'), initiative_id VARCHAR NOT NULL,
        decision VARCHAR NOT NULL, rationale VARCHAR NOT NULL, decided_by VARCHAR NOT NULL,
        decided_at TIMESTAMP NOT NULL, previous_must_fund BOOLEAN NOT NULL, previous_force_out BOOLEAN NOT NULL,
        withdrawn_by VARCHAR, withdrawn_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS initiatives (
        position INTEGER NOT NULL, initiative_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
        segment VARCHAR NOT NULL, cost DECIMAL(18,2) NOT NULL,
        must_fund BOOLEAN NOT NULL, force_out BOOLEAN NOT NULL,
        business_value DOUBLE, urgency DOUBLE, risk DOUBLE, financial_return DOUBLE,
        technical_necessity DOUBLE,
        sponsor VARCHAR, business_unit VARCHAR, status VARCHAR,
        capex DECIMAL(18,2), opex DECIMAL(18,2), actual_spend DECIMAL(18,2),
        start_date DATE, end_date DATE, deadline DATE, description VARCHAR,
        extra VARCHAR, source_row INTEGER,
        version INTEGER NOT NULL, updated_by VARCHAR, updated_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS alignment (
        initiative_id VARCHAR NOT NULL, theme_id VARCHAR NOT NULL, score DECIMAL(6,3) NOT NULL,
        justification VARCHAR, source_row INTEGER)""",
    "CREATE TABLE IF NOT EXISTS budget (segment VARCHAR NOT NULL, envelope DECIMAL(18,2) NOT NULL)",
    """CREATE TABLE IF NOT EXISTS lenses (
        position INTEGER NOT NULL, segment VARCHAR NOT NULL, criterion VARCHAR NOT NULL,
        weight DOUBLE NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS urgency_weights (criterion VARCHAR NOT NULL, weight DOUBLE NOT NULL)",
    "CREATE TABLE IF NOT EXISTS settings (key VARCHAR NOT NULL, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS dependencies (
        initiative_id VARCHAR NOT NULL, requires_id VARCHAR NOT NULL, source_row INTEGER)""",
    # The what-if weights one person shares live in a meeting: at most one row, not part of the portfolio,
    # not audited, and not counted in data_version (presentation_sequence in meta counts its changes).
    """CREATE TABLE IF NOT EXISTS presentation (
        presenter VARCHAR NOT NULL, params VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL)""",
    "CREATE SEQUENCE IF NOT EXISTS audit_id START 1",
    """CREATE TABLE IF NOT EXISTS audit_log (
        id BIGINT NOT NULL DEFAULT nextval('audit_id'), changed_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL,
        action VARCHAR NOT NULL, entity VARCHAR, entity_id VARCHAR, before VARCHAR, after VARCHAR)""",
]

# Keys of meta that every workspace has, with their first values; a workspace created before a key existed
# gets it when it is next opened.
META_DEFAULTS = (("schema_version", SCHEMA_VERSION), ("data_version", "0"), ("presentation_sequence", "0"))

_DATA_TABLES = ("theme_versions", "theme_sets", "scenarios", "decisions", "initiatives", "alignment", "budget",
                "lenses", "urgency_weights", "settings",
                "dependencies")


@dataclass(frozen=True)
class Presentation:
    """The person who shares what-if weights live now, the weights, and the number of changes so far.

    ``presenter`` and ``params`` are None while no one presents.
    """

    presenter: str | None
    params: ScoringParams | None
    sequence: int


@dataclass(frozen=True)
class CycleState:
    """The planning cycle's name, status, current theme-set version and baseline scenario."""

    name: str
    status: str
    theme_version: int
    published: bool
    baseline: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class Store:
    """A portfolio held in one DuckDB database file (or in memory for ``":memory:"``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._connection = duckdb.connect(self.path)
        except duckdb.IOException as exc:
            raise StoreError(_open_failure(self.path, exc)) from exc
        except duckdb.Error as exc:
            raise StoreError(f"{self.path} is not a Portfolio Lens database ({exc}); "
                             "move it away or choose another file with --db") from exc
        self._lock = threading.Lock()
        self._ensure_schema()

    # --- plumbing -------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return a new cursor on the shared connection, for one reader."""
        return self._connection.cursor()

    def close(self) -> None:
        self._connection.close()

    @contextmanager
    def transaction(self, bump: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a write under the store's lock in one transaction: committed on success, rolled back on any error.

        Every committed transaction bumps ``data_version`` so that readers notice it, except one that changes
        no portfolio data (``bump=False``).
        """
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield cursor
                if bump:
                    cursor.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR)"
                                   " WHERE key = 'data_version'")
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()

    def _ensure_schema(self) -> None:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                existing = {row[0] for row in cursor.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
                if existing and "meta" not in existing:
                    raise StoreError(f"{self.path} is a DuckDB database but not a Portfolio Lens workspace; "
                                     "choose another file with --db")
                cursor.execute("BEGIN TRANSACTION")
                for statement in _SCHEMA:
                    cursor.execute(statement)
                for key, value in META_DEFAULTS:
                    cursor.execute("INSERT INTO meta SELECT ?, ? WHERE NOT EXISTS "
                                   "(SELECT 1 FROM meta WHERE key = ?)", [key, value, key])
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def _meta(self, cursor: duckdb.DuckDBPyConnection, key: str) -> str | None:
        row = cursor.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    @staticmethod
    def _set_meta(cursor: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
        cursor.execute("DELETE FROM meta WHERE key = ?", [key])
        cursor.execute("INSERT INTO meta VALUES (?, ?)", [key, value])

    @staticmethod
    def audit(cursor, who: str, action: str, entity: str | None, entity_id: str | None,
               before: Any = None, after: Any = None) -> None:
        cursor.execute(
            "INSERT INTO audit_log (changed_at, who, action, entity, entity_id, before, after)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [_now(), who, action, entity, entity_id,
             None if before is None else json.dumps(before, default=str),
             None if after is None else json.dumps(after, default=str)],
        )

    # --- state ----------------------------------------------------------------

    def data_version(self) -> int:
        """Return a number that grows with every commit; equal numbers mean equal data."""
        cursor = self.cursor()
        try:
            return int(self._meta(cursor, "data_version") or 0)
        finally:
            cursor.close()

    # --- live presentation ----------------------------------------------------

    def presentation(self) -> Presentation:
        """Return the live presentation, the same for every session of every app instance on this workspace."""
        cursor = self.cursor()
        try:
            sequence = int(self._meta(cursor, "presentation_sequence") or 0)
            row = cursor.execute("SELECT presenter, params FROM presentation").fetchone()
        finally:
            cursor.close()
        if row is None:
            return Presentation(None, None, sequence)
        return Presentation(row[0], ScoringParams.model_validate_json(row[1]), sequence)

    def present(self, presenter: str, params: ScoringParams) -> None:
        """Share ``params`` live as ``presenter``, replacing anyone presenting; no change when already shared."""
        current = self.presentation()
        if current.presenter == presenter and current.params == params:
            return
        self._change_presentation(presenter, params.model_dump_json())

    def stop_presenting(self, presenter: str) -> None:
        """End ``presenter``'s presentation; nothing changes when someone else presents, or no one does."""
        if self.presentation().presenter == presenter:
            self._change_presentation(None, None, only_from=presenter)

    def _change_presentation(self, presenter: str | None, payload: str | None, only_from: str | None = None) -> None:
        with self.transaction(bump=False) as cursor:
            # Bumping the sequence first takes its row lock, so that two presenters on PostgreSQL change the
            # presentation one after the other and at most one row remains.
            cursor.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR)"
                           " WHERE key = 'presentation_sequence'")
            if only_from is not None:
                cursor.execute("DELETE FROM presentation WHERE presenter = ?", [only_from])
            else:
                cursor.execute("DELETE FROM presentation")
            if presenter is not None:
                cursor.execute("INSERT INTO presentation VALUES (?, ?, ?)", [presenter, payload, _now()])

    def info(self) -> dict[str, str | None]:
        """Return the portfolio's source, its load time and loader, and the number of edits since."""
        cursor = self.cursor()
        try:
            rows = dict(cursor.execute("SELECT key, value FROM meta").fetchall())
            edits = cursor.execute(
                "SELECT count(*) FROM audit_log WHERE action <> 'load portfolio' AND id > "
                "coalesce((SELECT max(id) FROM audit_log WHERE action = 'load portfolio'), 0)").fetchone()[0]
        finally:
            cursor.close()
        return {"source": rows.get("source"), "loaded_at": rows.get("loaded_at"),
                "loaded_by": rows.get("loaded_by"), "edits_since_load": str(edits),
                "data_version": rows.get("data_version")}

    def is_empty(self) -> bool:
        cursor = self.cursor()
        try:
            return self._meta(cursor, "source") is None
        finally:
            cursor.close()

    def stored_total(self) -> int:
        """Return the total cost in cents as the database sums it (DECIMAL, exact)."""
        cursor = self.cursor()
        try:
            value = cursor.execute("SELECT CAST(coalesce(sum(cost), 0) * 100 AS BIGINT) FROM initiatives").fetchone()
            return int(value[0])
        finally:
            cursor.close()

    # --- load -----------------------------------------------------------------

    def load(self, portfolio: Portfolio, who: str | Actor) -> None:
        """Replace the whole portfolio in one transaction and log it; needs the pmo role."""
        actor = as_actor(who)
        require_permission(actor, "load portfolio")
        who = actor.name
        themes = portfolio.themes.reset_index(drop=True)
        items = portfolio.initiatives.reset_index(drop=True)
        alignment = portfolio.alignment.reset_index(drop=True)
        now = _now()

        initiatives_frame = pd.DataFrame({
            "position": np.arange(len(items), dtype=np.int64),
            "initiative_id": items["initiative_id"].astype(str),
            "name": items["name"].astype(str),
            "segment": items["segment"].astype(str),
            "cost": [format_cents(c) for c in items["cost"]],
            "must_fund": items["must_fund"].astype(bool),
            "force_out": items["force_out"].astype(bool),
            **{c: items[c].astype(float) for c in CRITERIA},
            **{c: items[c].astype(object) for c in TEXT_FIELDS},
            **{c: [None if pd.isna(v) else format_cents(int(v)) for v in items[c]] for c in MONEY_FIELDS},
            **{c: items[c].astype(object) for c in DATE_FIELDS},
            "extra": [json.dumps(e or {}) for e in items["extra"]],
            "source_row": items["row"].astype("Int64"),
        })
        current_version = portfolio.theme_version
        history = portfolio.theme_history
        themes_frame = pd.concat([
            pd.DataFrame({
                "version": history["version"].astype("int64"),
                "position": history.groupby("version").cumcount().astype("int64"),
                "theme_id": history["theme_id"].astype(str), "name": history["name"].astype(str),
                "weight": history["weight"].astype(float), "objective": history["objective"].astype(object),
                "key_results": history["key_results"].astype(object),
                "source_row": pd.array([None] * len(history), dtype="Int64"),
            }),
            pd.DataFrame({
                "version": np.full(len(themes), current_version, dtype=np.int64),
                "position": np.arange(len(themes), dtype=np.int64),
                "theme_id": themes["theme_id"].astype(str), "name": themes["name"].astype(str),
                "weight": themes["weight"].astype(float), "objective": themes["objective"].astype(object),
                "key_results": themes["key_results"].astype(object), "source_row": themes["row"].astype("Int64"),
            }),
        ], ignore_index=True) if len(history) else pd.DataFrame({
            "version": np.full(len(themes), current_version, dtype=np.int64),
            "position": np.arange(len(themes), dtype=np.int64),
            "theme_id": themes["theme_id"].astype(str), "name": themes["name"].astype(str),
            "weight": themes["weight"].astype(float), "objective": themes["objective"].astype(object),
            "key_results": themes["key_results"].astype(object), "source_row": themes["row"].astype("Int64"),
        })
        status = portfolio.settings.cycle_status or ("submissions_open" if len(themes) else "draft")
        alignment_frame = pd.DataFrame({
            "initiative_id": alignment["initiative_id"].astype(str),
            "theme_id": alignment["theme_id"].astype(str),
            "score": [repr(float(s)) for s in alignment["score"]],
            "justification": alignment["justification"].astype(object),
            "source_row": alignment["row"].astype("Int64"),
        })

        with self.transaction() as cursor:
            for table in _DATA_TABLES:
                cursor.execute(f"DELETE FROM {table}")  # table names come from the constant above
            self._insert_frames(cursor, themes_frame, initiatives_frame, alignment_frame, who, now)
            for version in sorted(set(history["version"].astype(int))):
                cursor.execute("INSERT INTO theme_sets VALUES (?, true, 'loaded from file', ?, ?, ?, ?)",
                               [version, who, now, who, now])
            published = status != "draft"
            cursor.execute("INSERT INTO theme_sets VALUES (?, ?, 'loaded from file', ?, ?, ?, ?)",
                           [current_version, published, who, now, who if published else None,
                            now if published else None])
            self._set_meta(cursor, "theme_version", str(current_version))
            self._set_meta(cursor, "cycle_name", portfolio.settings.cycle)
            self._set_meta(cursor, "cycle_status", status)
            self._set_meta(cursor, "baseline_scenario", "")
            for segment, envelope in portfolio.envelopes.items():
                cursor.execute("INSERT INTO budget VALUES (?, CAST(? AS DECIMAL(18,2)))",
                               [segment, format_cents(envelope)])
            position = 0
            for segment, lens in portfolio.lenses.items():
                for criterion, weight in lens.items():
                    cursor.execute("INSERT INTO lenses VALUES (?, ?, ?, ?)", [position, segment, criterion, weight])
                    position += 1
            for criterion, weight in portfolio.urgency.items():
                cursor.execute("INSERT INTO urgency_weights VALUES (?, ?)", [criterion, weight])
            for key, value in portfolio.settings.model_dump(exclude_none=True).items():
                cursor.execute("INSERT INTO settings VALUES (?, ?)", [key, str(value)])
            for item in portfolio.dependencies.itertuples():
                cursor.execute("INSERT INTO dependencies VALUES (?, ?, ?)",
                               [item.initiative_id, item.requires_id, None if pd.isna(item.row) else int(item.row)])
            self._set_meta(cursor, "source", portfolio.source or "(unknown)")
            self._set_meta(cursor, "loaded_at", now.isoformat(sep=" "))
            self._set_meta(cursor, "loaded_by", who)
            self._set_meta(cursor, "extra_columns", json.dumps(list(portfolio.extra_columns)))
            self._set_meta(cursor, "file_labels", json.dumps(portfolio.file_labels))
            self.audit(cursor, who, "load portfolio", "portfolio", None, None,
                        {"source": portfolio.source, "initiatives": len(items), "themes": len(themes)})
        logger.info("loaded %s into %s: %d initiatives, %d themes (by %s)",
                    portfolio.source, self.path, len(items), len(themes), who)

    @staticmethod
    def _insert_frames(cursor, themes: pd.DataFrame, initiatives: pd.DataFrame, alignment: pd.DataFrame,
                       who: str, now: dt.datetime) -> None:
        """Insert the rows ``load`` prepared: theme versions, initiatives (at version 1) and alignment scores.

        Money, dates and scores arrive as text and are cast exactly by the database.
        """
        cursor.register("themes_in", themes)
        cursor.execute("INSERT INTO theme_versions SELECT * FROM themes_in")
        cursor.register("initiatives_in", initiatives)
        cursor.execute(
            "INSERT INTO initiatives SELECT position, initiative_id, name, segment, CAST(cost AS DECIMAL(18,2)),"
            " must_fund, force_out, business_value, urgency, risk, financial_return, technical_necessity,"
            " sponsor, business_unit, status, CAST(capex AS DECIMAL(18,2)), CAST(opex AS DECIMAL(18,2)),"
            " CAST(actual_spend AS DECIMAL(18,2)), CAST(start_date AS DATE), CAST(end_date AS DATE),"
            " CAST(deadline AS DATE), description, extra, source_row, 1, ?, ? FROM initiatives_in",
            [who, now])
        cursor.register("alignment_in", alignment)
        cursor.execute("INSERT INTO alignment SELECT initiative_id, theme_id, CAST(score AS DECIMAL(6,3)),"
                       " justification, source_row FROM alignment_in")
        for name in ("themes_in", "initiatives_in", "alignment_in"):
            cursor.unregister(name)

    # --- read -----------------------------------------------------------------

    def read(self, theme_version: int | None = None) -> Portfolio:
        """Read the whole portfolio back as typed frames (money in cents).

        ``theme_version`` picks the theme set to score against (default: the
        current one); the other versions come back as ``theme_history``.
        """
        cursor = self.cursor()
        try:
            return self._read(cursor, theme_version)
        finally:
            cursor.close()

    def _read(self, cursor: duckdb.DuckDBPyConnection, theme_version: int | None = None) -> Portfolio:
        current = int(self._meta(cursor, "theme_version") or 1)
        version = current if theme_version is None else theme_version
        known = {row[0] for row in cursor.execute("SELECT version FROM theme_sets").fetchall()}
        if known and version not in known:
            raise NotFoundError(f"theme-set version {version} does not exist; versions: "
                                + ", ".join(str(v) for v in sorted(known)))
        themes = cursor.execute(
            "SELECT theme_id, name, weight, objective, key_results, source_row AS row FROM theme_versions"
            " WHERE version = ? ORDER BY position", [version]).df()
        history = cursor.execute(
            "SELECT version, theme_id, name, weight, objective, key_results FROM theme_versions"
            " WHERE version <> ? ORDER BY version, position", [version]).df()
        money = ", ".join(f"CAST({c} * 100 AS BIGINT) AS {c}" for c in MONEY_FIELDS)
        dates = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in DATE_FIELDS)
        items = cursor.execute(
            "SELECT initiative_id, name, segment, CAST(cost * 100 AS BIGINT) AS cost, must_fund, force_out, "
            + ", ".join(CRITERIA) + ", " + ", ".join(TEXT_FIELDS) + f", {money}, {dates}, extra,"
            " source_row AS row, version, updated_by, updated_at FROM initiatives ORDER BY position"
        ).df()
        alignment = cursor.execute(
            "SELECT a.initiative_id, a.theme_id, CAST(a.score AS DOUBLE PRECISION) AS score,"
            " coalesce(a.justification, '') AS justification, a.source_row AS row"
            " FROM alignment a JOIN initiatives i USING (initiative_id)"
            " JOIN (SELECT theme_id, min(version * 100000 + position) AS place FROM theme_versions GROUP BY theme_id)"
            " t USING (theme_id) ORDER BY i.position, t.place"
        ).df()
        envelopes = {s: int(c) for s, c in cursor.execute(
            "SELECT segment, CAST(envelope * 100 AS BIGINT) FROM budget").fetchall()}
        lenses: dict[str, dict[str, float]] = {}
        for segment, criterion, weight in cursor.execute(
                "SELECT segment, criterion, weight FROM lenses ORDER BY position").fetchall():
            lenses.setdefault(segment, {})[criterion] = float(weight)
        urgency = {c: float(w) for c, w in cursor.execute("SELECT criterion, weight FROM urgency_weights").fetchall()}
        settings = Settings.model_validate(dict(cursor.execute("SELECT key, value FROM settings").fetchall()))
        dependencies = cursor.execute(
            "SELECT initiative_id, requires_id, source_row AS row FROM dependencies ORDER BY source_row").df()
        dependencies["row"] = dependencies["row"].astype(object).where(dependencies["row"].notna(), None)
        source = self._meta(cursor, "source") or ""
        extra_columns = tuple(json.loads(self._meta(cursor, "extra_columns") or "[]"))

        for column in MONEY_FIELDS:
            items[column] = pd.array(
                [None if pd.isna(v) else int(v) for v in items[column]], dtype="Int64")
        items["cost"] = items["cost"].astype("int64")
        items["extra"] = [json.loads(e) if e else {} for e in items["extra"]]
        for column in (*TEXT_FIELDS, *DATE_FIELDS):
            items[column] = items[column].astype(object).where(items[column].notna(), None)
        themes["row"] = themes["row"].astype(object).where(themes["row"].notna(), None)
        alignment["row"] = alignment["row"].astype(object).where(alignment["row"].notna(), None)
        items["row"] = items["row"].astype(object).where(items["row"].notna(), None)
        ordered = [*INITIATIVE_COLUMNS, "version", "updated_by", "updated_at"]
        return Portfolio(
            themes=themes,
            initiatives=items[ordered],
            alignment=alignment,
            envelopes=envelopes,
            lenses=lenses,
            urgency=urgency,
            settings=settings,
            source=source,
            extra_columns=extra_columns,
            dependencies=dependencies,
            file_labels=json.loads(self._meta(cursor, "file_labels") or "{}"),
            theme_history=history,
            current_version=version,
        )

    # --- edits ----------------------------------------------------------------

    def save_initiative(
        self,
        initiative: InitiativeRow,
        alignment: list[AlignmentRow],
        who: str | Actor,
        expected_version: int | None,
    ) -> int:
        """Insert or update one initiative and its alignment scores in one transaction.

        ``expected_version`` is the version the edit started from, or None for a
        new initiative. Returns the new version. Raises
        :class:`InvalidPortfolioError` when the edit breaks a rule (unknown
        segment or theme, a score at or above the justification threshold
        without a justification) and :class:`ConflictError` when the
        initiative changed since ``expected_version``.
        """
        actor = as_actor(who)
        who = actor.name
        with self.transaction() as cursor:
            current = cursor.execute(
                "SELECT version, updated_by, updated_at, position, sponsor FROM initiatives WHERE initiative_id = ?",
                [initiative.initiative_id]).fetchone()
            # A sponsor may add initiatives they sponsor and edit the ones they already sponsor.
            require_permission(actor, "edit initiative", initiative.sponsor if current is None else current[4])
            if expected_version is None and current is not None:
                raise ConflictError(f'initiative "{initiative.initiative_id}" already exists; '
                                    "choose another id or edit the existing one")
            if expected_version is not None and current is None:
                raise NotFoundError(f'initiative "{initiative.initiative_id}" no longer exists; '
                                    "someone removed it, reload the page")
            require_allowed("edit initiative", self._cycle(cursor).status)
            if current is not None and current[0] != expected_version:
                raise ConflictError(
                    f'initiative "{initiative.initiative_id}" was changed by {current[1]} at {current[2]} '
                    f"(version {current[0]}, you edited version {expected_version}); reload to see their "
                    "change, then apply yours again")
            self._check_edit(cursor, initiative, alignment)

            before = self._snapshot(cursor, initiative.initiative_id) if current else None
            version = 1 if current is None else current[0] + 1
            if current is None:
                position = cursor.execute("SELECT coalesce(max(position), -1) + 1 FROM initiatives").fetchone()[0]
                extra = "{}"
            else:
                position = current[3]
                extra = cursor.execute("SELECT extra FROM initiatives WHERE initiative_id = ?",
                                       [initiative.initiative_id]).fetchone()[0]
                cursor.execute("DELETE FROM initiatives WHERE initiative_id = ?", [initiative.initiative_id])
            self._insert_initiative(cursor, initiative, position, version, who, extra)
            cursor.execute("DELETE FROM alignment WHERE initiative_id = ?", [initiative.initiative_id])
            for row in alignment:
                cursor.execute("INSERT INTO alignment VALUES (?, ?, CAST(? AS DECIMAL(6,3)), ?, NULL)",
                               [row.initiative_id, row.theme_id, repr(row.score), row.justification])
            after = self._snapshot(cursor, initiative.initiative_id)
            self.audit(cursor, who, "add initiative" if current is None else "edit initiative",
                        "initiative", initiative.initiative_id, before, after)
        logger.info("%s saved initiative %s (version %d)", who, initiative.initiative_id, version)
        return version

    def _check_edit(self, cursor, initiative: InitiativeRow, alignment: list[AlignmentRow]) -> None:
        segments = {row[0] for row in cursor.execute("SELECT DISTINCT segment FROM lenses").fetchall()}
        if initiative.segment not in segments:
            raise InvalidPortfolioError(f'segment "{initiative.segment}" has no lens; use one of '
                                        + ", ".join(sorted(segments)))
        themes = {row[0] for row in cursor.execute(
            "SELECT theme_id FROM theme_versions WHERE version = CAST((SELECT value FROM meta"
            " WHERE key = 'theme_version') AS INTEGER)").fetchall()}
        settings = Settings.model_validate(dict(cursor.execute("SELECT key, value FROM settings").fetchall()))
        seen = set()
        for row in alignment:
            if row.initiative_id != initiative.initiative_id:
                raise InvalidPortfolioError(f'an alignment score names initiative "{row.initiative_id}" '
                                            f'while editing "{initiative.initiative_id}"')
            if row.theme_id not in themes:
                raise InvalidPortfolioError(f'theme "{row.theme_id}" does not exist; choose one of '
                                            + ", ".join(sorted(themes)))
            if row.theme_id in seen:
                raise InvalidPortfolioError(f'theme "{row.theme_id}" is scored twice; keep one score')
            seen.add(row.theme_id)
            if row.score >= settings.justification_threshold and is_blank(row.justification):
                raise InvalidPortfolioError(
                    f'score {row.score:g} for theme "{row.theme_id}" needs a justification: scores of '
                    f"{settings.justification_threshold:g} or more must say why; write one or lower the score")

    @staticmethod
    def _insert_initiative(cursor, row: InitiativeRow, position: int, version: int, who: str, extra: str) -> None:
        values = [
            position, row.initiative_id, row.name, row.segment, format_cents(row.cost), row.must_fund,
            row.force_out, *(getattr(row, c) for c in CRITERIA), *(getattr(row, c) for c in TEXT_FIELDS),
            *(None if getattr(row, c) is None else format_cents(getattr(row, c)) for c in MONEY_FIELDS),
            *(getattr(row, c) for c in DATE_FIELDS), extra, None, version, who, _now(),
        ]
        columns = ["position", "initiative_id", "name", "segment", "cost", "must_fund", "force_out", *CRITERIA,
                   *TEXT_FIELDS, *MONEY_FIELDS, *DATE_FIELDS, "extra", "source_row", "version", "updated_by",
                   "updated_at"]
        placeholders = ", ".join("?" for _ in values)
        # Column names come from the constants above, never from input.
        cursor.execute(f"INSERT INTO initiatives ({', '.join(columns)}) VALUES ({placeholders})", values)

    @staticmethod
    def _snapshot(cursor, initiative_id: str) -> dict[str, Any]:
        # Every column but position, source_row and updated_at, in table order. The names are constants.
        columns = ("initiative_id, name, segment, cost, must_fund, force_out, " + ", ".join(CRITERIA)
                   + ", sponsor, business_unit, status, " + ", ".join(MONEY_FIELDS) + ", " + ", ".join(DATE_FIELDS)
                   + ", description, extra, version, updated_by")
        frame = cursor.execute(f"SELECT {columns} FROM initiatives WHERE initiative_id = ?", [initiative_id]).df()
        record = {k: (None if _is_missing(v) else v) for k, v in frame.iloc[0].to_dict().items()}
        scores = cursor.execute(
            "SELECT theme_id, CAST(score AS DOUBLE PRECISION), justification FROM alignment WHERE initiative_id = ? "
            "ORDER BY theme_id", [initiative_id]).fetchall()
        record["alignment"] = [{"theme_id": t, "score": s, "justification": j} for t, s, j in scores]
        return record

    def initiative_version(self, initiative_id: str) -> int | None:
        cursor = self.cursor()
        try:
            row = cursor.execute("SELECT version FROM initiatives WHERE initiative_id = ?",
                                 [initiative_id]).fetchone()
            return None if row is None else int(row[0])
        finally:
            cursor.close()

    # --- backup -----------------------------------------------------------------

    def backup(self, target: str | Path, who: str | Actor) -> Path:
        """Write a consistent copy of the database to ``target`` while the store stays open.

        The copy is made under the write lock, so no commit lands half-way, into
        a temporary file beside the target that replaces it only when complete.
        Needs the pmo or chair role.
        """
        actor = as_actor(who)
        require_permission(actor, "back up")
        target = Path(target).resolve()
        if str(target) == str(Path(self.path).resolve()):
            raise StoreError(f"{target} is the workspace itself; choose another file for the backup")
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        temporary.unlink(missing_ok=True)
        with self._lock:
            cursor = self._connection.cursor()
            try:
                source = cursor.execute("SELECT current_database()").fetchone()[0]
                # ATTACH takes no parameters; the path is quoted as an SQL string literal.
                quoted = str(temporary).replace("'", "''")
                cursor.execute(f"ATTACH '{quoted}' AS portfolio_backup")
                try:
                    cursor.execute(f'COPY FROM DATABASE "{source}" TO portfolio_backup')
                finally:
                    cursor.execute("DETACH portfolio_backup")
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            finally:
                cursor.close()
        replace_or_remove(temporary, target)
        logger.info("%s backed up %s to %s", actor.name, self.path, target)
        return target

    # --- audit ----------------------------------------------------------------

    def audit_log(self, limit: int = 500) -> pd.DataFrame:
        """Return the newest audit entries first."""
        cursor = self.cursor()
        try:
            return cursor.execute(
                "SELECT id, changed_at, who, action, entity, entity_id, before, after FROM audit_log "
                "ORDER BY id DESC LIMIT ?", [limit]).df()
        finally:
            cursor.close()

    # --- the cycle ---------------------------------------------------------------

    def cycle(self) -> CycleState:
        """Return the cycle's name, status, current theme-set version and baseline scenario."""
        cursor = self.cursor()
        try:
            return self._cycle(cursor)
        finally:
            cursor.close()

    def _cycle(self, cursor) -> CycleState:
        version = int(self._meta(cursor, "theme_version") or 1)
        row = cursor.execute("SELECT published FROM theme_sets WHERE version = ?", [version]).fetchone()
        return CycleState(
            name=self._meta(cursor, "cycle_name") or "Current cycle",
            status=self._meta(cursor, "cycle_status") or "draft",
            theme_version=version,
            published=bool(row[0]) if row else False,
            baseline=self._meta(cursor, "baseline_scenario") or None,
        )

    def set_status(self, target: str, who: str | Actor) -> None:
        """Move the cycle to ``target``; raise :class:`ActionNotAllowedError` for a move the rules forbid."""
        actor = as_actor(who)
        require_permission(actor, "change cycle status")
        who = actor.name
        with self.transaction() as cursor:
            state = self._cycle(cursor)
            check_transition(state.status, target, state.published)
            self._set_meta(cursor, "cycle_status", target)
            self.audit(cursor, who, "change cycle status", "cycle", state.name, {"status": state.status},
                       {"status": target})
        logger.info("%s moved cycle %s from %s to %s", who, state.name, state.status, target)

    def theme_sets(self) -> pd.DataFrame:
        """List the theme-set versions, newest first, with who made and published each."""
        cursor = self.cursor()
        try:
            return cursor.execute(
                "SELECT s.version, s.published, s.note, s.created_by, s.created_at, s.published_by, s.published_at,"
                " count(t.theme_id) AS themes FROM theme_sets s LEFT JOIN theme_versions t USING (version)"
                " GROUP BY s.version, s.published, s.note, s.created_by, s.created_at, s.published_by,"
                " s.published_at ORDER BY s.version DESC").df()
        finally:
            cursor.close()

    def save_theme_set(self, themes: list[ThemeRow], who: str | Actor, note: str = "",
                       based_on: tuple[int, list[dict[str, Any]]] | None = None) -> int:
        """Commit a changed theme set and return its version number.

        An unpublished current version is edited in place; a published one is
        never changed: the edit becomes a new, unpublished version, which is
        then current. Alignment scores are kept, so initiatives keep their
        scores for the themes that survive. ``based_on`` is the version number
        and themes (as :meth:`theme_snapshot` returns them) the edit started
        from; when someone saved another theme set since, the save is rejected
        with :class:`ConflictError`.
        """
        actor = as_actor(who)
        require_permission(actor, "edit themes")
        who = actor.name
        ids = [theme.theme_id for theme in themes]
        if len(set(ids)) != len(ids):
            repeated = next(t for t in ids if ids.count(t) > 1)
            raise InvalidPortfolioError(f'theme "{repeated}" appears twice; theme ids must be unique')
        with self.transaction() as cursor:
            state = self._cycle(cursor)
            require_allowed("edit themes", state.status)
            before = self._themes_snapshot(cursor, state.theme_version)
            if based_on is not None and (based_on[0] != state.theme_version or based_on[1] != before):
                last = cursor.execute("SELECT who, changed_at FROM audit_log WHERE action = 'edit themes'"
                                      " ORDER BY id DESC LIMIT 1").fetchone()
                by = f" by {last[0]} at {last[1]}" if last else ""
                raise ConflictError(f"the themes were changed{by} since you opened them (now version "
                                    f"{state.theme_version}); reload the page and apply your change again")
            version = state.theme_version
            if state.published:
                version = int(cursor.execute("SELECT max(version) FROM theme_sets").fetchone()[0]) + 1
                cursor.execute("INSERT INTO theme_sets VALUES (?, false, ?, ?, ?, NULL, NULL)",
                               [version, note or None, who, _now()])
                self._set_meta(cursor, "theme_version", str(version))
            else:
                cursor.execute("DELETE FROM theme_versions WHERE version = ?", [version])
                if note:
                    cursor.execute("UPDATE theme_sets SET note = ? WHERE version = ?", [note, version])
            for position, theme in enumerate(themes):
                cursor.execute("INSERT INTO theme_versions VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                               [version, position, theme.theme_id, theme.name, theme.weight, theme.objective,
                                theme.key_results])
            self.audit(cursor, who, "edit themes", "theme set", str(version), before,
                       self._themes_snapshot(cursor, version))
        logger.info("%s saved theme set version %d (%d themes)", who, version, len(themes))
        return version

    def publish_themes(self, who: str | Actor) -> int:
        """Publish the current theme-set version; from then on it is never edited in place."""
        actor = as_actor(who)
        require_permission(actor, "edit themes")
        who = actor.name
        with self.transaction() as cursor:
            state = self._cycle(cursor)
            if state.published:
                raise ActionNotAllowedError(f"theme-set version {state.theme_version} is already published")
            if not self._themes_snapshot(cursor, state.theme_version):
                raise ActionNotAllowedError("cannot publish an empty theme set; add at least one theme")
            cursor.execute("UPDATE theme_sets SET published = true, published_by = ?, published_at = ?"
                           " WHERE version = ?", [who, _now(), state.theme_version])
            if state.status == "draft":
                self._set_meta(cursor, "cycle_status", "themes_published")
            self.audit(cursor, who, "publish themes", "theme set", str(state.theme_version), None,
                       {"version": state.theme_version})
        return state.theme_version

    def theme_snapshot(self) -> tuple[int, list[dict[str, Any]]]:
        """Return the current theme-set version and its themes, to pass back as ``based_on`` when saving."""
        cursor = self.cursor()
        try:
            version = self._cycle(cursor).theme_version
            return version, self._themes_snapshot(cursor, version)
        finally:
            cursor.close()

    @staticmethod
    def _themes_snapshot(cursor, version: int) -> list[dict[str, Any]]:
        rows = cursor.execute("SELECT theme_id, name, weight, objective, key_results FROM theme_versions"
                              " WHERE version = ? ORDER BY position", [version]).fetchall()
        return [dict(zip(("theme_id", "name", "weight", "objective", "key_results"), r, strict=True)) for r in rows]

    # --- scenarios ---------------------------------------------------------------

    def save_scenario(self, name: str, params: ScoringParams, who: str | Actor, note: str = "",
                      expected_version: int | None = None) -> int:
        """Save what-if parameters under a name; overwrite only from the version it was loaded at."""
        actor = as_actor(who)
        require_permission(actor, "save scenario")
        who = actor.name
        name = name.strip()
        if not name:
            raise InvalidPortfolioError("a scenario needs a name")
        with self.transaction() as cursor:
            current = cursor.execute("SELECT version, updated_by, updated_at, params FROM scenarios WHERE name = ?",
                                     [name]).fetchone()
            if current is not None and current[0] != expected_version:
                raise ConflictError(f'a scenario named "{name}" already exists (saved by {current[1]} at '
                                    f"{current[2]}); choose another name or load it first")
            payload = params.model_dump_json()
            if current is None:
                version = 1
                cursor.execute("INSERT INTO scenarios VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
                               [name, payload, note or None, who, _now(), who, _now()])
            else:
                version = current[0] + 1
                cursor.execute("UPDATE scenarios SET params = ?, note = ?, version = ?, updated_by = ?,"
                               " updated_at = ? WHERE name = ?", [payload, note or None, version, who, _now(), name])
            self.audit(cursor, who, "save scenario", "scenario", name,
                       None if current is None else json.loads(current[3]), json.loads(payload))
        return version

    def scenarios(self) -> pd.DataFrame:
        """List saved scenarios: name, note, version, who saved them and when."""
        cursor = self.cursor()
        try:
            return cursor.execute("SELECT name, note, version, created_by, created_at, updated_by, updated_at"
                                  " FROM scenarios ORDER BY name").df()
        finally:
            cursor.close()

    def scenario(self, name: str) -> tuple[ScoringParams, int]:
        """Return a scenario's parameters and version; raise :class:`NotFoundError` when it does not exist."""
        cursor = self.cursor()
        try:
            row = cursor.execute("SELECT params, version FROM scenarios WHERE name = ?", [name]).fetchone()
        finally:
            cursor.close()
        if row is None:
            raise NotFoundError(f'no scenario is named "{name}"')
        return ScoringParams.model_validate_json(row[0]), int(row[1])

    def rename_scenario(self, old: str, new: str, who: str | Actor) -> None:
        actor = as_actor(who)
        require_permission(actor, "save scenario")
        who = actor.name
        new = new.strip()
        if not new:
            raise InvalidPortfolioError("a scenario needs a name")
        with self.transaction() as cursor:
            if cursor.execute("SELECT 1 FROM scenarios WHERE name = ?", [old]).fetchone() is None:
                raise NotFoundError(f'no scenario is named "{old}"')
            if cursor.execute("SELECT 1 FROM scenarios WHERE name = ?", [new]).fetchone() is not None:
                raise ConflictError(f'a scenario named "{new}" already exists; choose another name')
            cursor.execute("UPDATE scenarios SET name = ?, updated_by = ?, updated_at = ? WHERE name = ?",
                           [new, who, _now(), old])
            if self._meta(cursor, "baseline_scenario") == old:
                self._set_meta(cursor, "baseline_scenario", new)
            self.audit(cursor, who, "rename scenario", "scenario", new, {"name": old}, {"name": new})

    def delete_scenario(self, name: str, who: str | Actor) -> None:
        actor = as_actor(who)
        require_permission(actor, "save scenario")
        who = actor.name
        with self.transaction() as cursor:
            row = cursor.execute("SELECT params FROM scenarios WHERE name = ?", [name]).fetchone()
            if row is None:
                raise NotFoundError(f'no scenario is named "{name}"')
            if self._meta(cursor, "baseline_scenario") == name:
                raise ActionNotAllowedError(f'"{name}" is the cycle\'s baseline; commit another scenario as the '
                                            "baseline before deleting it")
            cursor.execute("DELETE FROM scenarios WHERE name = ?", [name])
            self.audit(cursor, who, "delete scenario", "scenario", name, json.loads(row[0]), None)

    def commit_baseline(self, name: str, who: str | Actor) -> None:
        """Make a saved scenario the cycle's baseline, the weights "what changed" compares against."""
        actor = as_actor(who)
        require_permission(actor, "commit baseline")
        who = actor.name
        with self.transaction() as cursor:
            state = self._cycle(cursor)
            require_allowed("commit baseline", state.status)
            if cursor.execute("SELECT 1 FROM scenarios WHERE name = ?", [name]).fetchone() is None:
                raise NotFoundError(f'no scenario is named "{name}"')
            self._set_meta(cursor, "baseline_scenario", name)
            self.audit(cursor, who, "commit baseline", "cycle", state.name, {"baseline": state.baseline},
                       {"baseline": name})

    # --- decisions ---------------------------------------------------------------

    def record_decision(self, initiative_id: str, decision: str, rationale: str, who: str | Actor) -> None:
        """Record the committee's decision on an initiative and set its must_fund / force_out flags.

        A new decision replaces an active one. Every decision keeps the flags
        that were set before the first of them, so withdrawing restores the
        flags from before any decision.
        """
        actor = as_actor(who)
        require_permission(actor, "record decision")
        who = actor.name
        if decision not in DECISION_FLAGS:
            raise InvalidPortfolioError(f'"{decision}" is not a decision; use one of ' + ", ".join(DECISION_FLAGS))
        if not rationale.strip():
            raise InvalidPortfolioError("a decision needs a rationale: say why, for the record")
        with self.transaction() as cursor:
            require_allowed("record decision", self._cycle(cursor).status)
            row = cursor.execute("SELECT must_fund, force_out, version FROM initiatives WHERE initiative_id = ?",
                                 [initiative_id]).fetchone()
            if row is None:
                raise NotFoundError(f'initiative "{initiative_id}" does not exist')
            active = cursor.execute(
                "SELECT id, previous_must_fund, previous_force_out, decision FROM decisions"
                " WHERE initiative_id = ? AND withdrawn_at IS NULL", [initiative_id]).fetchone()
            previous = (active[1], active[2]) if active else (row[0], row[1])
            if active:
                cursor.execute("UPDATE decisions SET withdrawn_by = ?, withdrawn_at = ? WHERE id = ?",
                               [who, _now(), active[0]])
            cursor.execute("INSERT INTO decisions (initiative_id, decision, rationale, decided_by, decided_at,"
                           " previous_must_fund, previous_force_out) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [initiative_id, decision, rationale.strip(), who, _now(), previous[0], previous[1]])
            must_fund, force_out = DECISION_FLAGS[decision]
            cursor.execute("UPDATE initiatives SET must_fund = ?, force_out = ?, version = version + 1,"
                           " updated_by = ?, updated_at = ? WHERE initiative_id = ?",
                           [must_fund, force_out, who, _now(), initiative_id])
            self.audit(cursor, who, "record decision", "initiative", initiative_id,
                       {"decision": active[3] if active else None, "must_fund": row[0], "force_out": row[1]},
                       {"decision": decision, "rationale": rationale.strip(), "must_fund": must_fund,
                        "force_out": force_out})
        logger.info("%s recorded decision %s on %s", who, decision, initiative_id)

    def withdraw_decision(self, initiative_id: str, who: str | Actor) -> None:
        """Withdraw the active decision on an initiative and restore the flags it changed."""
        actor = as_actor(who)
        require_permission(actor, "record decision")
        who = actor.name
        with self.transaction() as cursor:
            require_allowed("record decision", self._cycle(cursor).status)
            active = cursor.execute(
                "SELECT id, previous_must_fund, previous_force_out, decision FROM decisions"
                " WHERE initiative_id = ? AND withdrawn_at IS NULL", [initiative_id]).fetchone()
            if active is None:
                raise NotFoundError(f'initiative "{initiative_id}" has no decision to withdraw')
            cursor.execute("UPDATE decisions SET withdrawn_by = ?, withdrawn_at = ? WHERE id = ?",
                           [who, _now(), active[0]])
            cursor.execute("UPDATE initiatives SET must_fund = ?, force_out = ?, version = version + 1,"
                           " updated_by = ?, updated_at = ? WHERE initiative_id = ?",
                           [active[1], active[2], who, _now(), initiative_id])
            self.audit(cursor, who, "withdraw decision", "initiative", initiative_id, {"decision": active[3]},
                       {"decision": None, "must_fund": active[1], "force_out": active[2]})

    def decisions(self, include_withdrawn: bool = False) -> pd.DataFrame:
        """Return the decisions, the active ones only unless asked otherwise, newest first."""
        cursor = self.cursor()
        try:
            where = "" if include_withdrawn else " WHERE withdrawn_at IS NULL"
            return cursor.execute(
                "SELECT initiative_id, decision, rationale, decided_by, decided_at, withdrawn_by, withdrawn_at"
                f" FROM decisions{where} ORDER BY id DESC").df()
        finally:
            cursor.close()


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def replace_or_remove(temporary: Path, target: Path) -> None:
    """Move a finished copy over ``target``, or delete the copy when the move fails."""
    try:
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _open_failure(path: str, exc: Exception) -> str:
    text = str(exc)
    if "lock" in text.lower():
        return (f"{path} is in use by another process (DuckDB allows one writer per file); "
                "stop the other app or command, or choose another file with --db")
    if "not a valid DuckDB database" in text or "corrupt" in text.lower():
        return (f"{path} is damaged or is not a DuckDB database; restore it from a backup, or move it away "
                "and start with a fresh workspace (or choose another file with --db)")
    return f"{path} cannot be opened ({text}); check the path and its permissions, or choose another file with --db"


def is_database_url(path: str | Path) -> bool:
    """Tell whether ``path`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``) rather than a file."""
    return isinstance(path, str) and path.startswith(("postgresql://", "postgres://"))


def open_store(path: str | Path, seed: Path | None = DEMO_PATH, who: str | Actor = "system") -> Store:
    """Open a workspace database, creating it and loading ``seed`` on first run.

    A ``postgresql://`` URL opens the shared PostgreSQL store instead of a DuckDB file.
    """
    if is_database_url(path):
        from portfolio.pgstore import PostgresStore

        shared = PostgresStore(path)
        if seed is not None and shared.is_empty():
            portfolio, _ = require_portfolio(seed)
            if shared.load_if_empty(portfolio, who):
                logger.info("created workspace %s from %s", shared.path, seed)
        return shared

    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    store = Store(path)
    if store.is_empty() and seed is not None:
        portfolio, _ = require_portfolio(seed)
        store.load(portfolio, who)
        logger.info("created workspace %s from %s", path, seed)
    return store


def default_workspace(data: Path | None) -> Path:
    """Return the workspace database path for a portfolio folder or workbook.

    Each source gets its own workspace under ``~/.local/share/portfolio-lens``
    (or ``$PORTFOLIO_LENS_HOME``), so opening another portfolio never
    overwrites the edits held for the first one.
    """
    import hashlib
    import os

    home = Path(os.environ.get("PORTFOLIO_LENS_HOME") or Path.home() / ".local" / "share" / "portfolio-lens")
    if data is None:
        return home / "demo.duckdb"
    resolved = Path(data).resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    return home / f"{resolved.stem or 'portfolio'}-{digest}.duckdb"
