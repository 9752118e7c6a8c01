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
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

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
    format_cents,
    is_blank,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1"

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR NOT NULL, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS themes (
        position INTEGER NOT NULL, theme_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
        weight DOUBLE NOT NULL, objective VARCHAR, key_results VARCHAR, source_row INTEGER)""",
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
    "CREATE SEQUENCE IF NOT EXISTS audit_id START 1",
    """CREATE TABLE IF NOT EXISTS audit_log (
        id BIGINT NOT NULL DEFAULT nextval('audit_id'), changed_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL,
        action VARCHAR NOT NULL, entity VARCHAR, entity_id VARCHAR, before VARCHAR, after VARCHAR)""",
]

_DATA_TABLES = ("themes", "initiatives", "alignment", "budget", "lenses", "urgency_weights", "settings",
                "dependencies")


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
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a write under the store's lock in one transaction: committed on success, rolled back on any error.

        Every committed transaction bumps ``data_version`` so that readers notice it.
        """
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield cursor
                cursor.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")
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
                for key, value in (("schema_version", SCHEMA_VERSION), ("data_version", "0")):
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

    def info(self) -> dict[str, str | None]:
        """Return where the portfolio came from, when and by whom it was loaded, and the edit count."""
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

    def load(self, portfolio: Portfolio, who: str) -> None:
        """Replace the whole portfolio in one transaction and log it."""
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
        themes_frame = pd.DataFrame({
            "position": np.arange(len(themes), dtype=np.int64),
            "theme_id": themes["theme_id"].astype(str), "name": themes["name"].astype(str),
            "weight": themes["weight"].astype(float), "objective": themes["objective"].astype(object),
            "key_results": themes["key_results"].astype(object), "source_row": themes["row"].astype("Int64"),
        })
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
            cursor.register("themes_in", themes_frame)
            cursor.execute("INSERT INTO themes SELECT * FROM themes_in")
            cursor.register("initiatives_in", initiatives_frame)
            cursor.execute(
                "INSERT INTO initiatives SELECT position, initiative_id, name, segment, CAST(cost AS DECIMAL(18,2)),"
                " must_fund, force_out, business_value, urgency, risk, financial_return, technical_necessity,"
                " sponsor, business_unit, status, CAST(capex AS DECIMAL(18,2)), CAST(opex AS DECIMAL(18,2)),"
                " CAST(actual_spend AS DECIMAL(18,2)), CAST(start_date AS DATE), CAST(end_date AS DATE),"
                " CAST(deadline AS DATE), description, extra, source_row, 1, ?, ? FROM initiatives_in",
                [who, now])
            cursor.register("alignment_in", alignment_frame)
            cursor.execute("INSERT INTO alignment SELECT initiative_id, theme_id, CAST(score AS DECIMAL(6,3)),"
                           " justification, source_row FROM alignment_in")
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
            for key, value in portfolio.settings.model_dump().items():
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
            for name in ("themes_in", "initiatives_in", "alignment_in"):
                cursor.unregister(name)
        logger.info("loaded %s into %s: %d initiatives, %d themes (by %s)",
                    portfolio.source, self.path, len(items), len(themes), who)

    # --- read -----------------------------------------------------------------

    def read(self) -> Portfolio:
        """Read the whole portfolio back as typed frames (money in cents)."""
        cursor = self.cursor()
        try:
            return self._read(cursor)
        finally:
            cursor.close()

    def _read(self, cursor: duckdb.DuckDBPyConnection) -> Portfolio:
        themes = cursor.execute(
            "SELECT theme_id, name, weight, objective, key_results, source_row AS row FROM themes ORDER BY position"
        ).df()
        money = ", ".join(f"CAST({c} * 100 AS BIGINT) AS {c}" for c in MONEY_FIELDS)
        dates = ", ".join(f"strftime({c}, '%Y-%m-%d') AS {c}" for c in DATE_FIELDS)
        items = cursor.execute(
            "SELECT initiative_id, name, segment, CAST(cost * 100 AS BIGINT) AS cost, must_fund, force_out, "
            + ", ".join(CRITERIA) + ", " + ", ".join(TEXT_FIELDS) + f", {money}, {dates}, extra,"
            " source_row AS row, version, updated_by, updated_at FROM initiatives ORDER BY position"
        ).df()
        alignment = cursor.execute(
            "SELECT a.initiative_id, a.theme_id, CAST(a.score AS DOUBLE) AS score,"
            " coalesce(a.justification, '') AS justification, a.source_row AS row"
            " FROM alignment a JOIN initiatives i USING (initiative_id)"
            " JOIN themes t USING (theme_id) ORDER BY i.position, t.position"
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
        )

    # --- edits ----------------------------------------------------------------

    def save_initiative(
        self,
        initiative: InitiativeRow,
        alignment: list[AlignmentRow],
        who: str,
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
        with self.transaction() as cursor:
            current = cursor.execute(
                "SELECT version, updated_by, updated_at, position FROM initiatives WHERE initiative_id = ?",
                [initiative.initiative_id]).fetchone()
            if expected_version is None and current is not None:
                raise ConflictError(f'initiative "{initiative.initiative_id}" already exists; '
                                    "choose another id or edit the existing one")
            if expected_version is not None and current is None:
                raise NotFoundError(f'initiative "{initiative.initiative_id}" no longer exists; '
                                    "someone removed it, reload the page")
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
        themes = {row[0] for row in cursor.execute("SELECT theme_id FROM themes").fetchall()}
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
        frame = cursor.execute(
            "SELECT * EXCLUDE (position, source_row, updated_at) FROM initiatives WHERE initiative_id = ?",
            [initiative_id]).df()
        record = {k: (None if _is_missing(v) else v) for k, v in frame.iloc[0].to_dict().items()}
        scores = cursor.execute(
            "SELECT theme_id, CAST(score AS DOUBLE), justification FROM alignment WHERE initiative_id = ? "
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


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _open_failure(path: str, exc: Exception) -> str:
    text = str(exc)
    if "lock" in text.lower():
        return (f"{path} is in use by another process (DuckDB allows one writer per file); "
                "stop the other app or command, or choose another file with --db")
    return f"{path} cannot be opened ({text}); check the path and its permissions"


def open_store(path: str | Path, seed: Path | None = DEMO_PATH, who: str = "system") -> Store:
    """Open a workspace database, creating it and loading ``seed`` on first run."""
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
