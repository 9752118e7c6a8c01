"""The store's contract against both backends: a DuckDB file and a shared PostgreSQL database.

The PostgreSQL cases use the server that ``scripts/postgres`` starts on
127.0.0.1 (as root) at the URL it prints, passed in ``PORTFOLIO_LENS_TEST_POSTGRES``
(default: that script's URL). Each case gets a schema of its own, dropped
afterwards. When the server cannot be reached, these cases fail under CI=true
and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import psycopg
import pytest
from portfolio_files import load_rows, write_portfolio
from psycopg import sql

from portfolio.access import AccessDeniedError, Actor
from portfolio.cycle import ActionNotAllowedError
from portfolio.errors import ConflictError, InvalidPortfolioError, NotFoundError, StoreError
from portfolio.models import INITIATIVE_COLUMNS, AlignmentRow, InitiativeRow, Portfolio, ThemeRow
from portfolio.pgstore import PostgresStore, redact
from portfolio.scoring import ScoringParams
from portfolio.store import Store, is_database_url, open_store

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL = "postgresql://portfolio_lens:portfolio-lens-test@127.0.0.1:5432/portfolio_lens"

THEMES = [{"theme_id": "T1", "name": "Cloud", "weight": "3"}, {"theme_id": "T2", "name": "Data", "weight": "1"}]
INITIATIVES = [
    {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "0.10", "urgency": "6", "risk": "4",
     "capex": "0.04", "opex": "0.06", "start_date": "2027-01-31", "sponsor": "CIO", "owner": "Ann"},
    {"initiative_id": "I2", "name": "Audit trail", "segment": "compliance", "cost": "0.20", "urgency": "8",
     "must_fund": "yes", "sponsor": "CFO"},
    {"initiative_id": "I3", "name": "Storage", "segment": "infrastructure", "cost": "1250000.55", "urgency": "2",
     "risk": "2", "financial_return": "5", "technical_necessity": "7"},
]
ALIGNMENT = [
    {"initiative_id": "I1", "theme_id": "T1", "score": "8"},
    {"initiative_id": "I1", "theme_id": "T2", "score": "9.5", "justification": "The lakehouse is the data plan"},
]
BUDGET = [{"segment": "strategic", "envelope": "100.00"}]
SETTINGS = [{"key": "cycle", "value": "FY2027"}]
VIEWER = Actor(name="Vic Viewer", roles=frozenset({"viewer"}))


# --- PostgreSQL per test -----------------------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Return the URL of the test server; fail under CI, or skip elsewhere, when it cannot be reached."""
    url = os.environ.get("PORTFOLIO_LENS_TEST_POSTGRES") or DEFAULT_POSTGRES_URL
    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
        return url
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    message = (f"PostgreSQL is not reachable at {redact(url)} ({reason}); run `bash scripts/postgres` as root "
               "and set PORTFOLIO_LENS_TEST_POSTGRES to the URL it prints")
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def with_search_path(url: str, schema: str) -> str:
    """Return ``url`` with libpq options that make ``schema`` the only schema on the search path."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """Return the URL of a new, empty schema on the test server; the schema is dropped after the test."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield with_search_path(postgres_server, schema)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


# --- the parametrized store ----------------------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return where a workspace lives: a DuckDB file path, or the URL of a fresh PostgreSQL schema."""
    if request.param == "duckdb":
        return str(tmp_path / "workspace.duckdb")
    return request.getfixturevalue("postgres_url")


def open_at(location: str) -> Store:
    return PostgresStore(location) if is_database_url(location) else Store(location)


@pytest.fixture
def portfolio(tmp_path: Path) -> Portfolio:
    return load_rows(tmp_path / "portfolio", themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT,
                     budget=BUDGET, settings=SETTINGS)


@pytest.fixture
def store(location: str, portfolio: Portfolio) -> Iterator[Store]:
    opened = open_at(location)
    opened.load(portfolio, "loader")
    yield opened
    opened.close()


def missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


def assert_same_portfolio(read: Portfolio, expected: Portfolio) -> None:
    columns = list(INITIATIVE_COLUMNS)
    pd.testing.assert_frame_equal(missing_as_none(read.initiatives[columns]),
                                  missing_as_none(expected.initiatives[columns]))
    pd.testing.assert_frame_equal(missing_as_none(read.alignment), missing_as_none(expected.alignment))
    pd.testing.assert_frame_equal(missing_as_none(read.themes), missing_as_none(expected.themes))
    assert read.envelopes == expected.envelopes
    assert read.lenses == expected.lenses
    assert read.urgency == expected.urgency
    assert read.settings == expected.settings
    assert read.extra_columns == expected.extra_columns


def lakehouse(**changes: Any) -> InitiativeRow:
    fields = {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "0.10", "urgency": 6,
              "risk": 4, "sponsor": "CIO"}
    return InitiativeRow(**{**fields, **changes})


def score(theme_id: str, value: float, justification: str | None = None, initiative_id: str = "I1") -> AlignmentRow:
    return AlignmentRow(initiative_id=initiative_id, theme_id=theme_id, score=value, justification=justification)


def flags(store: Store, initiative_id: str) -> tuple[bool, bool]:
    row = store.read().initiatives.set_index("initiative_id").loc[initiative_id]
    return bool(row["must_fund"]), bool(row["force_out"])


# --- load and read -------------------------------------------------------------------------------------


def test_load_read_round_trip(store: Store, portfolio: Portfolio) -> None:
    assert_same_portfolio(store.read(), portfolio)


def test_read_money_exact_cents(store: Store) -> None:
    items = store.read().initiatives

    assert items["cost"].tolist() == [10, 20, 125000055]
    assert items["cost"].dtype == "int64"
    assert items["capex"].tolist()[0] == 4
    assert items["opex"].tolist()[0] == 6
    assert pd.isna(items["capex"][1])
    assert store.stored_total() == 10 + 20 + 125000055
    assert store.read().envelopes == {"strategic": 10000}


def test_read_versions_and_extra(store: Store) -> None:
    read = store.read()

    assert read.initiatives["version"].tolist() == [1, 1, 1]
    assert read.initiatives["updated_by"].tolist() == ["loader"] * 3
    assert read.extra_columns == ("owner",)
    assert read.initiatives["extra"][0] == {"owner": "Ann"}
    assert read.initiatives["start_date"][0] == "2027-01-31"


def test_info_after_load(store: Store, portfolio: Portfolio) -> None:
    info = store.info()

    assert info["source"] == portfolio.source
    assert info["loaded_by"] == "loader"
    assert info["edits_since_load"] == "0"
    assert info["data_version"] == "1"


def test_load_failing_at_end_keeps_previous(store: Store, portfolio: Portfolio, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    other = load_rows(tmp_path / "other", themes=THEMES, initiatives=INITIATIVES[:1])
    version = store.data_version()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    # The audit entry is the last statement of a load, after every row went in.
    monkeypatch.setattr(Store, "audit", staticmethod(fail))

    with pytest.raises(RuntimeError, match="audit log unavailable"):
        store.load(other, "intruder")
    assert_same_portfolio(store.read(), portfolio)
    assert store.data_version() == version
    assert store.info()["loaded_by"] == "loader"


def test_load_failing_insert_keeps_previous(store: Store, portfolio: Portfolio) -> None:
    # Budget rows go in after the initiatives, and 10**18 currency units overflow a money column of 18 digits.
    overflowing = replace(portfolio, envelopes={"strategic": 10**20})
    version = store.data_version()

    with pytest.raises((duckdb.Error, StoreError)):
        store.load(overflowing, "intruder")
    assert_same_portfolio(store.read(), portfolio)
    assert store.data_version() == version


def test_load_replaces_previous(store: Store, tmp_path: Path) -> None:
    smaller = load_rows(tmp_path / "smaller", themes=THEMES, initiatives=INITIATIVES[1:], budget=[])
    store.load(smaller, "loader")

    assert_same_portfolio(store.read(), smaller)


# --- initiatives ---------------------------------------------------------------------------------------


def test_save_initiative_versions(store: Store) -> None:
    assert store.save_initiative(lakehouse(name="Lakehouse v2"), [score("T1", 7)], "ann", 1) == 2
    assert store.save_initiative(lakehouse(name="Lakehouse v3"), [], "bob", 2) == 3

    item = store.read().initiatives.iloc[0]
    assert item["name"] == "Lakehouse v3"
    assert item["version"] == 3
    assert item["updated_by"] == "bob"
    assert store.initiative_version("I1") == 3
    assert store.read().initiatives["initiative_id"].tolist() == ["I1", "I2", "I3"]


def test_save_initiative_stale_version_names_who(store: Store) -> None:
    store.save_initiative(lakehouse(name="Lakehouse by Ann"), [], "ann", 1)

    with pytest.raises(ConflictError, match="changed by ann") as caught:
        store.save_initiative(lakehouse(name="Lakehouse by Bob"), [], "bob", 1)
    assert "version 2" in str(caught.value)
    assert "you edited version 1" in str(caught.value)
    assert store.read().initiatives["name"][0] == "Lakehouse by Ann"


def test_save_initiative_new_and_taken_id(store: Store) -> None:
    new = InitiativeRow(initiative_id="I9", name="Chatbot", segment="strategic", cost="12.34")

    assert store.save_initiative(new, [score("T2", 6, initiative_id="I9")], "ann", None) == 1
    assert store.read().initiatives["cost"].tolist()[-1] == 1234
    with pytest.raises(ConflictError, match="I9"):
        store.save_initiative(new, [], "ann", None)
    with pytest.raises(NotFoundError, match="I8"):
        store.save_initiative(new.model_copy(update={"initiative_id": "I8"}), [], "ann", 3)


def test_justification_rule(store: Store) -> None:
    version = store.data_version()

    with pytest.raises(InvalidPortfolioError, match="justification"):
        store.save_initiative(lakehouse(), [score("T1", 9)], "ann", 1)
    with pytest.raises(InvalidPortfolioError, match="justification"):
        store.save_initiative(lakehouse(), [score("T1", 10, "   ")], "ann", 1)
    assert store.data_version() == version
    assert store.initiative_version("I1") == 1

    assert store.save_initiative(lakehouse(), [score("T1", 9, "Moves every analytics workload")], "ann", 1) == 2
    assert store.read().alignment["justification"][0] == "Moves every analytics workload"


def test_edit_rules_unknown_theme_and_segment(store: Store) -> None:
    with pytest.raises(InvalidPortfolioError, match="T7"):
        store.save_initiative(lakehouse(), [score("T7", 5)], "ann", 1)
    with pytest.raises(InvalidPortfolioError, match="marketing"):
        store.save_initiative(lakehouse(segment="marketing"), [], "ann", 1)
    with pytest.raises(InvalidPortfolioError, match="T1"):
        store.save_initiative(lakehouse(), [score("T1", 5), score("T1", 6)], "ann", 1)
    assert store.initiative_version("I1") == 1


# --- the cycle, themes, scenarios and decisions ------------------------------------------------------


def test_cycle_status_rules(store: Store) -> None:
    assert store.cycle().status == "submissions_open"

    with pytest.raises(ActionNotAllowedError, match="Decided"):
        store.set_status("decided", "pmo")
    store.set_status("submissions_closed", "pmo")
    with pytest.raises(ActionNotAllowedError, match="Submissions closed"):
        store.save_initiative(lakehouse(name="Too late"), [], "ann", 1)
    assert store.read().initiatives["name"][0] == "Lakehouse"

    store.set_status("submissions_open", "pmo")
    assert store.save_initiative(lakehouse(name="Reopened"), [], "ann", 1) == 2
    assert store.audit_log().iloc[1]["action"] == "change cycle status"


def test_theme_set_versions(store: Store) -> None:
    themes = [ThemeRow(theme_id="T1", name="Cloud", weight=3), ThemeRow(theme_id="T3", name="AI", weight=1)]

    assert store.save_theme_set(themes, "pmo", "Q2 OKRs") == 2
    assert not store.cycle().published
    assert store.save_theme_set(themes[:1], "pmo") == 2
    assert store.read(1).themes["theme_id"].tolist() == ["T1", "T2"]
    assert store.read().themes["theme_id"].tolist() == ["T1"]

    assert store.publish_themes("pmo") == 2
    assert store.cycle().published
    sets = store.theme_sets()
    assert sets["version"].tolist() == [2, 1]
    assert sets["themes"].tolist() == [1, 2]
    assert sets["published_by"].tolist() == ["pmo", "loader"]
    with pytest.raises(NotFoundError, match="versions: 1, 2"):
        store.read(7)


def test_scenarios(store: Store) -> None:
    params = ScoringParams.from_portfolio(store.read()).with_theme_weights({"T1": 0.0})

    assert store.save_scenario("Plan", params, "cio", "data first") == 1
    with pytest.raises(ConflictError, match="Plan"):
        store.save_scenario("Plan", params, "cfo")
    assert store.save_scenario("Plan", params, "cfo", expected_version=1) == 2
    assert store.scenario("Plan") == (params, 2)

    store.rename_scenario("Plan", "Plan B", "cio")
    store.commit_baseline("Plan B", "chair")
    assert store.cycle().baseline == "Plan B"
    with pytest.raises(ActionNotAllowedError, match="baseline"):
        store.delete_scenario("Plan B", "cio")
    with pytest.raises(NotFoundError, match="Plan"):
        store.scenario("Plan")
    listed = store.scenarios()
    assert listed["name"].tolist() == ["Plan B"]
    assert listed["version"].tolist() == [2]
    assert listed["updated_by"].tolist() == ["cio"]


def test_decisions_withdraw_restores_flags(store: Store) -> None:
    assert flags(store, "I1") == (False, False)

    store.record_decision("I1", "fund", "sponsor escalation", "chair")
    assert flags(store, "I1") == (True, False)
    store.record_decision("I1", "reject", "changed our mind", "chair")
    assert flags(store, "I1") == (False, True)
    assert store.decisions()["decision"].tolist() == ["reject"]

    store.withdraw_decision("I1", "chair")
    assert flags(store, "I1") == (False, False)
    assert store.decisions().empty
    assert store.decisions(include_withdrawn=True)["decision"].tolist() == ["reject", "fund"]
    assert store.initiative_version("I1") == 4
    with pytest.raises(NotFoundError, match="no decision"):
        store.withdraw_decision("I1", "chair")
    with pytest.raises(InvalidPortfolioError, match="rationale"):
        store.record_decision("I2", "fund", "  ", "chair")


# --- roles, audit and data_version -------------------------------------------------------------------


def test_viewer_rejected_everywhere(store: Store, portfolio: Portfolio, tmp_path: Path) -> None:
    version = store.data_version()
    attempts = {
        "edit initiative": lambda: store.save_initiative(lakehouse(name="Viewer's"), [], VIEWER, 1),
        "load portfolio": lambda: store.load(portfolio, VIEWER),
        "edit themes": lambda: store.save_theme_set([ThemeRow(theme_id="T1", name="G", weight=1)], VIEWER),
        "change cycle status": lambda: store.set_status("submissions_closed", VIEWER),
        "save scenario": lambda: store.save_scenario("Mine", ScoringParams(), VIEWER),
        "record decision": lambda: store.record_decision("I1", "fund", "because", VIEWER),
        "back up": lambda: store.backup(tmp_path / "copy.duckdb", VIEWER),
    }

    for action, attempt in attempts.items():
        with pytest.raises(AccessDeniedError, match=f"Vic Viewer cannot {action}"):
            attempt()
    assert store.data_version() == version
    assert store.read().initiatives["name"][0] == "Lakehouse"


def test_sponsor_edits_only_own(store: Store) -> None:
    sponsor = Actor(name="CIO", roles=frozenset({"sponsor"}))

    assert store.save_initiative(lakehouse(name="Mine"), [], sponsor, 1) == 2
    audit_trail = InitiativeRow(initiative_id="I2", name="Not mine", segment="compliance", cost="0.20")
    with pytest.raises(AccessDeniedError, match="CFO"):
        store.save_initiative(audit_trail, [], sponsor, 1)


def test_audit_before_after(store: Store) -> None:
    store.save_initiative(lakehouse(name="Lakehouse v2", cost="0.35"), [score("T1", 7)], "ann", 1)
    entry = store.audit_log().iloc[0]
    before = json.loads(entry["before"])
    after = json.loads(entry["after"])

    assert (entry["who"], entry["action"], entry["entity"], entry["entity_id"]) == (
        "ann", "edit initiative", "initiative", "I1")
    assert (before["name"], before["version"], before["cost"]) == ("Lakehouse", 1, 0.1)
    assert (after["name"], after["version"], after["cost"]) == ("Lakehouse v2", 2, 0.35)
    assert before["start_date"] == "2027-01-31 00:00:00"
    assert after["start_date"] is None
    assert [a["theme_id"] for a in before["alignment"]] == ["T1", "T2"]
    assert after["alignment"] == [{"theme_id": "T1", "score": 7.0, "justification": None}]
    assert store.audit_log()["action"].tolist() == ["edit initiative", "load portfolio"]
    assert store.info()["edits_since_load"] == "1"


def test_data_version_grows_each_commit(location: str, portfolio: Portfolio) -> None:
    opened = open_at(location)
    try:
        versions = [opened.data_version()]
        opened.load(portfolio, "loader")
        versions.append(opened.data_version())
        opened.save_initiative(lakehouse(name="Lakehouse v2"), [], "ann", 1)
        versions.append(opened.data_version())
        with pytest.raises(ConflictError):
            opened.save_initiative(lakehouse(name="Stale"), [], "bob", 1)
        versions.append(opened.data_version())
        opened.set_status("submissions_closed", "pmo")
        versions.append(opened.data_version())
    finally:
        opened.close()

    assert versions == [0, 1, 2, 2, 3]


def test_reopen_keeps_data(location: str, portfolio: Portfolio) -> None:
    first = open_at(location)
    first.load(portfolio, "loader")
    first.save_initiative(lakehouse(name="Lakehouse v2"), [], "ann", 1)
    first.close()
    second = open_at(location)
    try:
        assert second.read().initiatives["name"][0] == "Lakehouse v2"
        assert second.data_version() == 2
    finally:
        second.close()


def test_backup_writes_duckdb_copy(store: Store, tmp_path: Path) -> None:
    store.record_decision("I3", "defer", "next year", "chair")
    backed_up = store.read()
    target = store.backup(tmp_path / "backup" / "copy.duckdb", "pmo")
    store.save_initiative(lakehouse(name="After the backup"), [], "pmo", 1)
    copy = Store(target)
    try:
        read = copy.read()
        assert_same_portfolio(read, backed_up)
        assert read.initiatives["cost"].tolist() == [10, 20, 125000055]
        assert copy.stored_total() == 125000085
        assert copy.decisions()["decision"].tolist() == ["defer"]
        assert copy.audit_log()["action"].tolist() == ["record decision", "load portfolio"]
        # The copy is a working workspace: its next audit entry follows the copied ones.
        copy.save_initiative(lakehouse(name="Edited in the copy"), [], "pmo", 1)
        assert copy.audit_log()["id"].tolist() == [3, 2, 1]
    finally:
        copy.close()


def test_presentation_shared_not_audited(location: str, portfolio: Portfolio) -> None:
    """Two stores on one workspace stand for two app instances (on DuckDB, two opens one after the other)."""
    presenter_store = open_at(location)
    presenter_store.load(portfolio, "loader")
    version = presenter_store.data_version()
    weights = ScoringParams.from_portfolio(portfolio)
    moved = weights.model_copy(update={"theme_weights": {**weights.theme_weights, "T1": 99.0}})
    try:
        assert presenter_store.presentation().presenter is None

        presenter_store.present("Chair", weights)
        presenter_store.present("Chair", weights)  # unchanged weights write nothing
        first = presenter_store.presentation()
        presenter_store.present("Chair", moved)
        second = presenter_store.presentation()

        assert (first.presenter, first.params) == ("Chair", weights)
        assert (second.presenter, second.params) == ("Chair", moved)
        assert second.sequence == first.sequence + 1
        assert presenter_store.data_version() == version
        assert presenter_store.audit_log()["action"].tolist() == ["load portfolio"]

        if is_database_url(location):
            follower_store = open_at(location)
            try:
                assert follower_store.presentation() == second
                # Someone else's stop changes nothing; the presenter's own ends it for every instance.
                follower_store.stop_presenting("Somebody else")
                assert follower_store.presentation() == second
                presenter_store.stop_presenting("Chair")
                ended = follower_store.presentation()
            finally:
                follower_store.close()
        else:
            presenter_store.stop_presenting("Somebody else")
            assert presenter_store.presentation() == second
            presenter_store.stop_presenting("Chair")
            ended = presenter_store.presentation()
        assert (ended.presenter, ended.params, ended.sequence) == (None, None, second.sequence + 1)
    finally:
        presenter_store.close()

    reopened = open_at(location)
    try:
        assert reopened.presentation().sequence == second.sequence + 1
        assert reopened.data_version() == version
    finally:
        reopened.close()


def test_two_presenters_one_row(location: str, portfolio: Portfolio) -> None:
    """Four threads present at once; on PostgreSQL through two stores, as two app instances would."""
    first = open_at(location)
    first.load(portfolio, "loader")
    second = open_at(location) if is_database_url(location) else first
    weights = ScoringParams.from_portfolio(portfolio)
    errors: list[BaseException] = []

    def present(number: int) -> None:
        try:
            for weight in range(20):
                (first, second)[number % 2].present(f"P{number}", weights.model_copy(
                    update={"theme_weights": {**weights.theme_weights, "T1": float(weight)}}))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=present, args=(number,)) for number in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cursor = first.cursor()
        try:
            rows = cursor.execute("SELECT count(*) FROM presentation").fetchone()[0]
        finally:
            cursor.close()

        assert errors == []
        assert rows == 1
        assert second.presentation().presenter in {"P0", "P1", "P2", "P3"}
        assert first.presentation().sequence == 80
    finally:
        first.close()
        if second is not first:
            second.close()


def test_backup_command_line(location: str, portfolio: Portfolio, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from portfolio.cli import main

    source = open_at(location)
    source.load(portfolio, "loader")
    backed_up = source.read()
    source.close()
    target = tmp_path / "cli-backup.duckdb"

    assert main(["backup", location, str(target)]) == 0

    assert capsys.readouterr().out.strip() == f"wrote {target.resolve()}"
    copy = Store(target)
    try:
        assert_same_portfolio(copy.read(), backed_up)
        assert copy.audit_log()["action"].tolist() == ["load portfolio"]
    finally:
        copy.close()


def test_backup_cli_empty_shared_workspace(postgres_url: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from portfolio.cli import main

    assert main(["backup", postgres_url, str(tmp_path / "empty.duckdb")]) == 1

    error = capsys.readouterr().err
    assert "holds no Portfolio Lens workspace yet" in error
    assert "portfolio-lens-test" not in error
    assert not (tmp_path / "empty.duckdb").exists()


def test_concurrent_editors_lose_no_update(location: str, tmp_path: Path) -> None:
    """Twenty threads each add 1 to a counter in overlapping initiatives, retrying on conflict.

    On PostgreSQL the threads share four separate stores, as four app instances would.
    """
    initiatives = [{"initiative_id": f"I{n}", "name": f"Initiative {n}", "segment": "strategic", "cost": "10.00",
                    "description": "count=0"} for n in range(5)]
    first = open_at(location)
    first.load(load_rows(tmp_path / "counters", themes=THEMES[:1], initiatives=initiatives), "loader")
    stores = [first] + ([PostgresStore(location) for _ in range(3)] if is_database_url(location) else [])
    threads, rounds = 20, 6
    refused: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def editor(number: int) -> None:
        store = stores[number % len(stores)]
        try:
            for step in range(rounds):
                initiative_id = f"I{(number + step) % 5}"
                while True:
                    row = store.read().initiatives.set_index("initiative_id").loc[initiative_id]
                    count = int(row["description"].removeprefix("count="))
                    edit = InitiativeRow(initiative_id=initiative_id, name=row["name"], segment="strategic",
                                         cost="10.00", description=f"count={count + 1}")
                    try:
                        store.save_initiative(edit, [score("T1", number % 9, initiative_id=initiative_id)],
                                              f"editor {number}", int(row["version"]))
                    except ConflictError:
                        with lock:
                            refused.append(number)
                        continue
                    break
        except BaseException as exc:  # reported by the main thread, where the test can fail
            failures.append(exc)

    started = time.monotonic()
    workers = [threading.Thread(target=editor, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    elapsed = time.monotonic() - started
    try:
        assert not failures, failures[0]
        assert not any(worker.is_alive() for worker in workers)
        counts = first.read().initiatives["description"].str.removeprefix("count=").astype(int)
        lost = threads * rounds - int(counts.sum())
        print(f"{location.split(':')[0]}: {threads * rounds} edits by {threads} threads on {len(stores)} stores "  # noqa: T201
              f"in {elapsed:.1f} s, {lost} lost, {len(refused)} refused then retried")
        assert lost == 0
        assert len(refused) > 0
        assert first.data_version() == 1 + threads * rounds
    finally:
        for store in stores:
            store.close()


# --- PostgreSQL only --------------------------------------------------------------------------------


def test_postgres_frames_match_duckdb(postgres_url: str, portfolio: Portfolio, tmp_path: Path) -> None:
    """The same portfolio and edit give the same frames, dtypes included, and the same audit entry."""
    shared = PostgresStore(postgres_url)
    local = Store(tmp_path / "local.duckdb")
    try:
        for store in (shared, local):
            store.load(portfolio, "loader")
            store.save_initiative(lakehouse(name="Lakehouse v2", deadline="2028-06-30"), [score("T1", 7)], "ann", 1)
            store.save_scenario("Plan", ScoringParams.from_portfolio(portfolio), "cio")
            store.record_decision("I2", "defer", "next year", "chair")
        ours, theirs = shared.read(), local.read()
        for name in ("initiatives", "alignment", "themes", "theme_history", "dependencies"):
            pd.testing.assert_frame_equal(getattr(ours, name).drop(columns=["updated_at"], errors="ignore"),
                                          getattr(theirs, name).drop(columns=["updated_at"], errors="ignore"))
        assert ours.settings == theirs.settings
        assert ours.file_labels == theirs.file_labels
        for listing in ("theme_sets", "scenarios", "decisions", "audit_log"):
            assert dict(getattr(shared, listing)().dtypes) == dict(getattr(local, listing)().dtypes), listing
        entries = [store.audit_log()[["who", "action", "entity", "entity_id", "before", "after"]]
                   for store in (shared, local)]
        pd.testing.assert_frame_equal(entries[0], entries[1])
        assert shared.stored_total() == local.stored_total()
        assert {k: v for k, v in shared.info().items() if k != "loaded_at"} == {
            k: v for k, v in local.info().items() if k != "loaded_at"}
    finally:
        shared.close()
        local.close()


def test_two_stores_see_each_others_commits(postgres_url: str, portfolio: Portfolio) -> None:
    first = PostgresStore(postgres_url)
    second = PostgresStore(postgres_url)
    try:
        first.load(portfolio, "loader")
        version = second.data_version()
        first.save_initiative(lakehouse(name="Seen by the other instance"), [], "ann", 1)

        assert second.data_version() == version + 1
        assert second.read().initiatives["name"][0] == "Seen by the other instance"
        with pytest.raises(ConflictError, match="changed by ann"):
            second.save_initiative(lakehouse(name="Stale"), [], "bob", 1)
    finally:
        first.close()
        second.close()


def test_open_store_url_seeds_once(postgres_url: str, portfolio: Portfolio, tmp_path: Path) -> None:
    seed = write_portfolio(tmp_path / "seed", themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT,
                           budget=BUDGET, settings=SETTINGS)
    first = open_store(postgres_url, seed=seed, who="setup")
    first.save_initiative(lakehouse(name="Kept"), [], "ann", 1)
    second = open_store(postgres_url, seed=seed, who="setup")
    try:
        assert isinstance(first, PostgresStore)
        assert second.read().initiatives["name"][0] == "Kept"
        assert second.audit_log()["action"].tolist() == ["edit initiative", "load portfolio"]
        assert second.info()["loaded_by"] == "setup"
        assert "portfolio-lens-test" not in second.path
    finally:
        first.close()
        second.close()


def test_wrong_password_names_server_not_password(postgres_server: str) -> None:
    wrong = postgres_server.replace(":portfolio-lens-test@", ":not-the-password-42@")
    assert wrong != postgres_server, "the test server's URL does not carry the default test password"

    with pytest.raises(StoreError) as caught:
        PostgresStore(wrong)
    message = str(caught.value)
    assert "not-the-password-42" not in message
    assert "postgresql://portfolio_lens@127.0.0.1" in message
    assert "password" in message


def test_unreachable_server_message(postgres_server: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(StoreError, match=f"cannot connect to the PostgreSQL database .*127.0.0.1:{port}"):
        PostgresStore(f"postgresql://portfolio_lens:secret-value@127.0.0.1:{port}/portfolio_lens")


def test_other_tables_rejected(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE sales (amount INTEGER)")

    with pytest.raises(StoreError, match="contains other tables but no Portfolio Lens workspace"):
        PostgresStore(postgres_url)


def test_killed_writer_leaves_last_commit(postgres_url: str, portfolio: Portfolio) -> None:
    """A writer killed inside its transaction changes nothing and releases the write lock."""
    store = PostgresStore(postgres_url)
    try:
        store.load(portfolio, "loader")
        before = store.read().initiatives.drop(columns=["extra"])
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import time
            from portfolio.pgstore import PostgresStore
            store = PostgresStore({postgres_url!r})
            with store.transaction() as cursor:
                cursor.execute("UPDATE initiatives SET name = 'half-written', cost = 0")
                print("inside", flush=True)
                time.sleep(120)
        """)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert child.stdout.readline().strip() == "inside", child.stderr.read()
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)

        pd.testing.assert_frame_equal(store.read().initiatives.drop(columns=["extra"]), before)
        assert store.save_initiative(lakehouse(name="After the crash"), [], "ann", 1) == 2
    finally:
        store.close()


# --- two app instances on one database, in a real browser -------------------------------------------

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    # NOTE: another process could take the port before the app binds it; the start then fails with its log.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(database: str, home: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start ``portfolio-lens app`` on a free loopback port with ``database``; return the process, URL and log."""
    port = free_port()
    log_path = home / f"app-{port}.log"
    env = {**os.environ, "PORTFOLIO_LENS_DB": database, "PORTFOLIO_LENS_HOME": str(home),
           "STREAMLIT_SERVER_ADDRESS": "127.0.0.1", "STREAMLIT_SERVER_HEADLESS": "true",
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    env.pop("PORTFOLIO_LENS_DATA", None)
    with log_path.open("wb") as log:
        # A session of its own, so that stop_app can signal the console script and its Streamlit child together.
        process = subprocess.Popen([str(Path(sys.executable).parent / "portfolio-lens"), "app", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}", log_path


def wait_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None:
            break
        time.sleep(0.25)
    log = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
    pytest.fail(f"the app at {url} did not become healthy within {START_TIMEOUT_S} s; log tail:\n{log}",
                pytrace=False)


def stop_app(process: subprocess.Popen[bytes]) -> None:
    """Terminate the app's process group, the console script and its Streamlit child; kill what outlives the wait."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    process.wait(timeout=STOP_TIMEOUT_S)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)  # raises once no process of the group is left
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.browser
def test_two_app_instances_share_edits(postgres_url: str, tmp_path: Path, browser: Browser) -> None:
    """An edit saved on instance A's Initiatives page appears on instance B's page, which only polls."""
    from playwright.sync_api import expect

    # Seeded from the demo here, so that neither instance starts on an empty schema.
    open_store(postgres_url, who="test setup").close()
    new_name = f"Shared edit {uuid.uuid4().hex[:6]}"
    apps = [start_app(postgres_url, tmp_path) for _ in range(2)]
    try:
        for process, url, log_path in apps:
            wait_healthy(process, url, log_path)
        (_, url_a, _), (_, url_b, _) = apps

        page_b = browser.new_context(viewport={"width": 1600, "height": 1100}).new_page()
        page_b.goto(f"{url_b}/initiatives")
        expect(page_b.locator(APP_IDLE)).to_have_count(1, timeout=30_000)
        search = page_b.get_by_role("textbox", name="Search")
        search.fill(new_name)
        search.press("Enter")
        caption = page_b.get_by_text("initiatives. Click a column header to sort.")
        expect(caption).to_have_text("0 of 131 initiatives. Click a column header to sort.", timeout=30_000)

        page_a = browser.new_context(viewport={"width": 1600, "height": 1100}).new_page()
        page_a.goto(f"{url_a}/initiatives")
        expect(page_a.locator(APP_IDLE)).to_have_count(1, timeout=30_000)
        who = page_a.locator(".st-key-user_name").get_by_role("textbox")
        who.fill("Instance A")
        who.press("Enter")
        expect(page_a.get_by_text("Enter your name before you edit.")).to_have_count(0, timeout=30_000)
        chooser = page_a.locator(".st-key-initiatives_edit_id").get_by_role("combobox")
        chooser.click()
        chooser.fill("INI-002")
        page_a.get_by_role("option", name="INI-002 · ").first.click()
        expect(chooser).to_have_value(re.compile(r"^INI-002 · "), timeout=30_000)
        form = page_a.get_by_test_id("stForm")
        name = form.get_by_role("textbox", name="Name", exact=True)
        expect(name).not_to_have_value("", timeout=30_000)
        name.fill(new_name)
        name.press("Tab")
        form.get_by_role("button", name="Save").click()
        expect(page_a.get_by_test_id("stAlertContentSuccess")).to_contain_text(
            "Saved INI-002 (version 2).", timeout=30_000)

        # Instance B was not touched: its sidebar fragment polls the data version every 2 s and reruns.
        expect(caption).to_have_text("1 of 131 initiatives. Click a column header to sort.", timeout=30_000)
        assert page_b.get_by_test_id("stException").count() == 0
    finally:
        for process, _, _ in apps:
            stop_app(process)

    check = PostgresStore(postgres_url)
    try:
        row = check.read().initiatives.set_index("initiative_id").loc["INI-002"]
        assert (row["name"], row["version"], row["updated_by"]) == (new_name, 2, "Instance A")
    finally:
        check.close()


def test_presenter_followed_across_instances(postgres_url: str, tmp_path: Path,
                                                          browser: Browser) -> None:
    """A presents what-if weights on instance A; B, on instance B, follows them live and then leaves."""
    from playwright.sync_api import expect

    def metrics(page: Any) -> str:
        """The four metrics above the quadrant as one text: equal texts mean the same funding picture."""
        return " | ".join(page.get_by_test_id("stMetricValue").all_inner_texts())

    open_store(postgres_url, who="test setup").close()
    apps = [start_app(postgres_url, tmp_path) for _ in range(2)]
    try:
        for process, url, log_path in apps:
            wait_healthy(process, url, log_path)
        (_, url_a, _), (_, url_b, _) = apps

        page_b = browser.new_context(viewport={"width": 1600, "height": 1100}).new_page()
        page_b.goto(url_b)
        expect(page_b.locator(APP_IDLE)).to_have_count(1, timeout=30_000)
        expect(page_b.get_by_test_id("stMetricValue")).to_have_count(4, timeout=30_000)
        own = metrics(page_b)

        page_a = browser.new_context(viewport={"width": 1600, "height": 1100}).new_page()
        page_a.goto(url_a)
        # The name goes in while the first run may still be drawing the page. Before the page wrote each
        # slider's value on every run, that left the sliders at their minimum in about half of the runs.
        expect(page_a.locator(APP_IDLE)).to_have_count(1, timeout=30_000)
        name_box = page_a.locator(".st-key-user_name").get_by_role("textbox")
        name_box.fill("Chair A")
        name_box.press("Enter")
        expect(page_a.get_by_text("Enter your name before you edit.")).to_have_count(0, timeout=30_000)
        expect(page_a.get_by_test_id("stMetricValue")).to_have_count(4, timeout=30_000)
        thumb = page_a.get_by_test_id("stSlider").filter(
            has=page_a.get_by_text("Customer experience", exact=True)).get_by_role("slider")
        expect(thumb).to_have_value("22")  # the committed weight of the demo's first theme, not the minimum

        def move(key: str) -> str:
            before = metrics(page_a)
            value = thumb.input_value()
            # A rerun that redraws the slider while the key goes down can drop the key, so press until the
            # slider shows the new value.
            for _ in range(3):
                thumb.focus()
                thumb.press(key)
                try:
                    expect(thumb).not_to_have_value(value, timeout=5_000)
                    break
                except AssertionError:
                    continue
            else:
                pytest.fail(f"the slider stayed at {value} after three presses of {key}")
            page_a.wait_for_function("""before => {
                const idle = document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]');
                const now = Array.from(document.querySelectorAll('[data-testid="stMetricValue"]'))
                    .map(e => e.innerText).join(' | ');
                return idle !== null && now !== before;
            }""", arg=before, timeout=30_000)
            return metrics(page_a)

        first = move("End")
        page_a.locator(".st-key-present_weights").get_by_text("Present my weights").click()
        expect(page_a.locator(APP_IDLE)).to_have_count(1, timeout=30_000)

        # B, on the other instance, was only polling: the Follow toggle appears, and following shows A's weights.
        follow = page_b.locator(".st-key-follow_presenter")
        expect(follow).to_contain_text("Follow Chair A's weights", timeout=30_000)
        follow.get_by_text("Follow Chair A's weights").click()
        expect(page_b.get_by_text("Following Chair A's weights live.", exact=False)).to_be_visible(timeout=30_000)
        expect(page_b.get_by_test_id("stMetricValue")).to_have_text(first.split(" | "), timeout=30_000)

        # A's next move reaches B within the 5 seconds the issue allows (B polls every 2 s).
        second = move("Home")
        expect(page_b.get_by_test_id("stMetricValue")).to_have_text(second.split(" | "), timeout=5_000)

        # Leaving present mode returns B to its own weights.
        page_a.locator(".st-key-present_weights").get_by_text("Present my weights").click()
        expect(follow).to_have_count(0, timeout=30_000)
        expect(page_b.get_by_test_id("stMetricValue")).to_have_text(own.split(" | "), timeout=30_000)
        assert page_a.get_by_test_id("stException").count() == 0
        assert page_b.get_by_test_id("stException").count() == 0
    finally:
        for process, _, _ in apps:
            stop_app(process)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://lens:s3cret@db.internal:5432/lens", "postgresql://lens@db.internal:5432/lens"),
        ("postgresql://lens@db.internal/lens?password=s3cret&sslmode=require",
         "postgresql://lens@db.internal/lens?sslmode=require"),
        # What CI once captured: a server message glued to the URL, which no longer parses as one URL.
        ("Removed stale pid file.postgresql://lens:s3cret@127.0.0.1:5432/lens",
         "Removed stale pid file.postgresql://lens@127.0.0.1:5432/lens"),
    ],
)
def test_redact_hides_password(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert "s3cret" not in redact(text)
