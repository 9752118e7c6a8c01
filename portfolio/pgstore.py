"""The shared PostgreSQL store, for several app instances on one portfolio.

:class:`PostgresStore` has the interface, schema, versions and audit log of the
DuckDB :class:`~portfolio.store.Store`. It inherits every rule and statement
of that class, whose SQL both engines accept. It replaces only the plumbing:
a pool of server connections, server-side transactions, bulk loading through
``COPY``, and a backup that writes a DuckDB file. Scoring stays in DuckDB and
NumPy, on the frames read from here.

Each write transaction first locks the ``data_version`` row of ``meta`` (which
it bumps at the end anyway), so writes from every process and instance run one
at a time, and the version checks of initiatives and scenarios always read
the latest commit. Each read runs in one ``REPEATABLE READ, READ ONLY``
transaction, so it sees a single committed state.

Open one with a libpq URL, for example
``postgresql://portfolio_lens:secret@db.internal:5432/portfolio_lens``. A
libpq ``options`` parameter such as ``?options=-csearch_path%3Dfy2027``
selects the schema, so that one database can hold several workspaces.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from portfolio.access import Actor, as_actor, require_permission
from portfolio.errors import StoreError
from portfolio.models import Portfolio
from portfolio.store import _DATA_TABLES, _SCHEMA, META_DEFAULTS, Store, replace_or_remove

logger = logging.getLogger(__name__)

# Connections per store, so per app instance. PostgreSQL allows 100 connections by default (max_connections).
POOL_MAX_SIZE = 10
CONNECT_TIMEOUT_S = 10
# How long a request waits for a free pooled connection, and a write for another write to finish.
POOL_TIMEOUT_S = 30
LOCK_TIMEOUT = "30s"
# Key of the advisory lock that makes creating the schema and loading the first portfolio one step per database.
SETUP_LOCK_KEY = 7_089_412_655

# The DuckDB schema in PostgreSQL's spelling of its types; money stays exact as NUMERIC(18,2).
_POSTGRES_SCHEMA = [re.sub(r"\bDOUBLE\b", "DOUBLE PRECISION", statement).replace("DECIMAL(", "NUMERIC(")
                    for statement in _SCHEMA] + [
    "CREATE INDEX IF NOT EXISTS meta_key ON meta (key)",
    "CREATE INDEX IF NOT EXISTS initiatives_initiative_id ON initiatives (initiative_id)",
    "CREATE INDEX IF NOT EXISTS alignment_initiative_id ON alignment (initiative_id)",
    "CREATE INDEX IF NOT EXISTS decisions_initiative_id ON decisions (initiative_id)",
    "CREATE INDEX IF NOT EXISTS audit_log_id ON audit_log (id)",
]

# PostgreSQL type OIDs (pg_type.oid) and the pandas dtypes DuckDB's df() gives the same SQL types.
_INTEGER_DTYPES = {21: ("int16", "Int16"), 23: ("int32", "Int32"), 20: ("int64", "Int64")}
_FLOAT_OIDS = {700, 701, 1700}
_BOOLEAN_OID = 16
_DATETIME_OIDS = {1082, 1114}
_TEXT_OIDS = {25, 1042, 1043}


# "scheme://user:password@" anywhere in a text, for values that do not parse as one URL.
_USER_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def redact(url: str) -> str:
    """Return ``url`` without its password, for messages, logs and cache keys."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USER_PASSWORD.sub(r"\1@", url)
    if not parts.scheme or not parts.netloc:
        return _USER_PASSWORD.sub(r"\1@", url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        netloc = f"{credentials.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _passwords(url: str) -> list[str]:
    """Return the password of ``url`` as written and decoded, from the user part or the query."""
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "password"]
    return [text for value in found if value for text in {value, unquote(value)}]


def _reason(exc: BaseException, url: str) -> str:
    """Return the first line of a driver error, with any password of ``url`` masked."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    for password in _passwords(url):
        text = text.replace(password, "***")
    return text


def _store_error(server: str, exc: psycopg.Error) -> StoreError:
    reason = _reason(exc, server)
    if isinstance(exc, PoolTimeout):
        return StoreError(f"no connection to the PostgreSQL database {server} became free within {POOL_TIMEOUT_S} s "
                          f"({reason}); check that the server is running, then try again")
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return StoreError(f"another change to the PostgreSQL database {server} held the write lock for more than "
                          f"{LOCK_TIMEOUT}; nothing was saved, try again")
    # SQLSTATE class 08 is a connection failure and 57P an administrator or crash shutdown; None means no reply.
    if isinstance(exc, psycopg.OperationalError) and (exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))):
        return StoreError(f"lost the connection to the PostgreSQL database {server} ({reason}); "
                          "check that the server is running, then try again")
    return StoreError(f"the PostgreSQL database {server} rejected a statement ({reason}); nothing was saved")


def _frame(description: Sequence[Any] | None, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Build the data frame DuckDB's ``df()`` returns for the same result: the same dtype for each SQL type.

    Integers are numpy integers, or nullable ones when a value is missing; NUMERIC
    and doubles are float64; dates and timestamps are datetime64[us]; text is
    pandas' string dtype, or object when every value is missing.
    """
    columns = list(description or ())
    values_by_column = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    frame = pd.DataFrame({position: _column(column.type_code, values)
                          for position, (column, values) in enumerate(zip(columns, values_by_column, strict=True))})
    frame.columns = [column.name for column in columns]
    return frame


def _column(oid: int, values: tuple[Any, ...]) -> Any:
    """Convert one result column of the PostgreSQL type ``oid`` to the array :func:`_frame` describes."""
    missing = None in values
    if oid in _INTEGER_DTYPES:
        exact, nullable = _INTEGER_DTYPES[oid]
        return pd.array(values, dtype=nullable) if missing else np.array(values, dtype=exact)
    if oid in _FLOAT_OIDS:
        # NUMERIC arrives as Decimal and NULL as None, which numpy turns into NaN.
        return np.array(values, dtype="float64")
    if oid == _BOOLEAN_OID:
        return pd.array(values, dtype="boolean") if missing else np.array(values, dtype=bool)
    if oid in _DATETIME_OIDS:
        return np.array(values, dtype="datetime64[us]")
    if oid in _TEXT_OIDS and any(value is not None for value in values):
        return pd.array(values, dtype="str")
    return np.array(values, dtype=object)


class _Cursor:
    """A psycopg cursor that takes the DuckDB store's ``?`` placeholders, so that Store's statements run as written.

    Driver errors become :class:`StoreError` naming the server, never its password.
    NOTE: every ``?`` in a statement with parameters becomes a placeholder, so such
    a statement must not contain a literal question mark.
    """

    def __init__(self, cursor: psycopg.Cursor[Any], server: str) -> None:
        self.raw = cursor
        self.server = server

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> _Cursor:
        if params is not None:
            statement = statement.replace("%", "%%").replace("?", "%s")
        try:
            self.raw.execute(statement, params)  # type: ignore[arg-type]  # statements are constants of the stores
        except psycopg.Error as exc:
            raise _store_error(self.server, exc) from exc
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.raw.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.raw.fetchall()

    def df(self) -> pd.DataFrame:
        return _frame(self.raw.description, self.raw.fetchall())

    def copy_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` to ``table`` with ``COPY``; the column names are the frame's."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(str(c)) for c in frame.columns))
        # Missing values of every kind (None, NaN, pd.NA, NaT) go in as NULL, as DuckDB stores them.
        rows = frame.astype(object).where(frame.notna(), None)
        try:
            with self.raw.copy(statement) as copy:
                for row in rows.itertuples(index=False, name=None):
                    copy.write_row(row)
        except psycopg.Error as exc:
            raise _store_error(self.server, exc) from exc


class _ReadCursor(_Cursor):
    """A cursor for one reader: a pooled connection in one REPEATABLE READ, READ ONLY transaction until ``close``."""

    def __init__(self, pool: ConnectionPool, server: str) -> None:
        try:
            self._connection = pool.getconn()
        except psycopg.Error as exc:
            raise _store_error(server, exc) from exc
        self._pool = pool
        super().__init__(self._connection.cursor(), server)
        try:
            self.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            self._connection.rollback()
        except psycopg.Error:
            logger.warning("could not end a read transaction on %s; the pool replaces the connection", self.server)
        finally:
            self._pool.putconn(self._connection)


def _configure(connection: psycopg.Connection[Any]) -> None:
    """Set ISO dates on every new connection, so that a DATE cast to text reads YYYY-MM-DD as in DuckDB."""
    connection.autocommit = True
    connection.execute("SET datestyle = 'ISO, YMD'")
    connection.autocommit = False


class PostgresStore(Store):
    """A portfolio held in a PostgreSQL database (or one schema of it) that several app instances share.

    ``path`` is the URL without its password. Raises :class:`StoreError` when the
    server cannot be reached or the schema contains tables of another application.

    NOTE: budget, urgency weights and settings have no position column, so their
    dict order follows the server's scan order, which after a VACUUM may differ
    from the order of the file.
    """

    def __init__(self, url: str) -> None:
        self.path = redact(url)
        try:
            settings = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(f"{self.path} is not a valid PostgreSQL URL ({_reason(exc, url)}); write it as "
                             "postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from exc
        options = {} if "connect_timeout" in settings else {"connect_timeout": CONNECT_TIMEOUT_S}
        self._check_server(url, options)
        self._pool = ConnectionPool(url, min_size=1, max_size=POOL_MAX_SIZE, kwargs=options, timeout=POOL_TIMEOUT_S,
                                    configure=_configure, check=ConnectionPool.check_connection, open=False,
                                    name="portfolio-lens")
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S + 5)
            self._ensure_schema()
        except BaseException:
            self._pool.close()
            raise
        logger.info("opened the PostgreSQL workspace %s", self.path)

    def _check_server(self, url: str, options: dict[str, Any]) -> None:
        """Connect once, so that a wrong URL, password or schema fails with the server's reason."""
        try:
            with psycopg.connect(url, **options) as connection:
                schema = connection.execute("SELECT current_schema()").fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the PostgreSQL database {self.path} ({_reason(exc, url)}); check "
                             "that the server is running and the URL, user and password") from exc
        if schema is None or schema[0] is None:
            raise StoreError(f"{self.path} has no schema on its search_path; create the schema or correct the "
                             "search_path in the URL's options")

    # --- plumbing -------------------------------------------------------------

    @contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            connection = self._pool.getconn()
        except psycopg.Error as exc:
            raise _store_error(self.path, exc) from exc
        try:
            yield connection
        finally:
            self._pool.putconn(connection)

    def cursor(self) -> _ReadCursor:  # type: ignore[override]
        """Return a cursor for one reader that sees one committed state; the caller must ``close()`` it."""
        return _ReadCursor(self._pool, self.path)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def transaction(self, bump: bool = True) -> Iterator[_Cursor]:  # type: ignore[override]
        """Run a write in one server-side transaction: committed on success, rolled back on any error.

        The transaction first locks the ``data_version`` row, waiting at most
        ``LOCK_TIMEOUT`` for another write from any process; every commit bumps
        ``data_version``. A write that changes no portfolio data (``bump=False``)
        takes neither step and orders itself with the row locks it takes.
        """
        with self._pooled() as connection:
            cursor = _Cursor(connection.cursor(), self.path)
            try:
                cursor.execute("SELECT set_config('lock_timeout', ?, true)", [LOCK_TIMEOUT])
                if bump:
                    cursor.execute("SELECT value FROM meta WHERE key = 'data_version' FOR UPDATE")
                yield cursor
                if bump:
                    cursor.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR)"
                                   " WHERE key = 'data_version'")
                connection.commit()
            except BaseException as exc:
                self._rollback(connection)
                if isinstance(exc, psycopg.Error):
                    raise _store_error(self.path, exc) from exc
                raise

    def _rollback(self, connection: psycopg.Connection[Any]) -> None:
        try:
            connection.rollback()
        except psycopg.Error:
            logger.warning("could not roll back on %s; the pool replaces the connection", self.path)

    def _ensure_schema(self) -> None:
        with self._pooled() as connection:
            cursor = _Cursor(connection.cursor(), self.path)
            try:
                # Instances starting together on an empty database create the tables one at a time.
                cursor.execute("SELECT pg_advisory_xact_lock(?)", [SETUP_LOCK_KEY])
                existing = {row[0] for row in cursor.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                ).fetchall()}
                if existing and "meta" not in existing:
                    raise StoreError(f"{self.path} contains other tables but no Portfolio Lens workspace; choose "
                                     "another database, or another schema with the URL's search_path option")
                for statement in _POSTGRES_SCHEMA:
                    cursor.execute(statement)
                for key, value in META_DEFAULTS:
                    cursor.execute("INSERT INTO meta SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = ?)",
                                   [key, value, key])
                connection.commit()
            except BaseException as exc:
                self._rollback(connection)
                if isinstance(exc, psycopg.Error):
                    raise _store_error(self.path, exc) from exc
                raise

    # --- load -----------------------------------------------------------------

    @staticmethod
    def _insert_frames(cursor, themes: pd.DataFrame, initiatives: pd.DataFrame, alignment: pd.DataFrame,
                       who: str, now: Any) -> None:
        """Insert the rows ``load`` prepared with ``COPY``; the server casts the text of money, dates and scores."""
        cursor.copy_frame("theme_versions", themes)
        cursor.copy_frame("initiatives", initiatives.assign(version=1, updated_by=who, updated_at=now))
        cursor.copy_frame("alignment", alignment)

    def load_if_empty(self, portfolio: Portfolio, who: str | Actor) -> bool:
        """Load ``portfolio`` unless the store contains one already, and return whether it did.

        An advisory lock makes the check and the load one step across processes,
        so instances that start together on an empty database load it once.
        """
        with self._pooled() as connection:
            try:
                connection.execute("SELECT pg_advisory_xact_lock(%s)", [SETUP_LOCK_KEY])
                if not self.is_empty():
                    return False
                self.load(portfolio, who)
                return True
            except psycopg.Error as exc:
                raise _store_error(self.path, exc) from exc
            finally:
                self._rollback(connection)

    # --- backup ---------------------------------------------------------------

    def backup(self, target: str | Path, who: str | Actor) -> Path:
        """Write the whole workspace to ``target`` as a DuckDB workspace file, and return its path.

        The copy contains every table of the schema, the audit log included, read in one
        snapshot, so no commit lands half-way. It is written to a temporary file beside
        the target that replaces it only when complete, and opens like any DuckDB
        workspace (``portfolio-lens app --db FILE``). Needs the pmo or chair role.
        """
        actor = as_actor(who)
        require_permission(actor, "back up")
        target = Path(target).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.partial")
        temporary.unlink(missing_ok=True)
        try:
            copy = Store(temporary)
            try:
                reader = self.cursor()
                try:
                    _copy_tables(reader, copy)
                finally:
                    reader.close()
            finally:
                copy.close()
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        replace_or_remove(temporary, target)
        logger.info("%s backed up %s to %s", actor.name, self.path, target)
        return target


def _copy_tables(reader: _Cursor, copy: Store) -> None:
    """Copy every table from PostgreSQL into a new DuckDB store, in one DuckDB transaction.

    Values cross as text, which DuckDB casts to each column's type, so money stays exact.
    """
    duck = copy.cursor()
    try:
        duck.execute("BEGIN TRANSACTION")
        for table in ("meta", *_DATA_TABLES, "audit_log"):
            columns = [row[0] for row in duck.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall()]
            selected = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(sql.SQL("CAST({} AS TEXT)").format(sql.Identifier(c)) for c in columns),
                sql.Identifier(table))
            rows = reader.execute(selected.as_string(reader.raw)).fetchall()
            duck.execute(f"DELETE FROM {table}")  # table names come from the store's constants
            duck.register("backup_in", pd.DataFrame(rows, columns=columns, dtype=object))
            duck.execute(f"INSERT INTO {table} SELECT * FROM backup_in")
            duck.unregister("backup_in")
        for sequence, table in (("audit_id", "audit_log"), ("decision_id", "decisions")):
            # The next id in the copy continues after the last one copied.
            duck.execute(f"SELECT setval('{sequence}', max(id)) FROM {table} HAVING max(id) IS NOT NULL")
        duck.execute("COMMIT")
    except BaseException:
        duck.execute("ROLLBACK")
        raise
    finally:
        duck.close()
