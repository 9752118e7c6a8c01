"""Tests of portfolio.reimport: the difference by initiative_id and its commit in one transaction.

The commit cases run against a DuckDB file and a PostgreSQL schema: the
server that ``scripts/postgres`` starts, at ``PORTFOLIO_LENS_TEST_POSTGRES``
(default: that script's URL). Without a reachable server those cases fail
under CI=true and are skipped elsewhere, as in test_store_backends.py.

The GMPP cases import the real 2022 and 2023 files through the uk-gmpp profile.
The expected id sets are computed independently, by reading the files' project
numbers with the csv module.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from portfolio_files import load_rows
from psycopg import sql
from streamlit.testing.v1 import AppTest

from portfolio import reimport
from portfolio.errors import ConflictError, InvalidPortfolioError
from portfolio.mapping import CheckedImport, MappingProfile, check_import, import_bytes, load_profile
from portfolio.pgstore import PostgresStore
from portfolio.reimport import ReimportPlan, apply_reimport, diff_reimport
from portfolio.store import Store

ROOT = Path(__file__).resolve().parents[1]
GMPP_DIR = ROOT.parent / "shared" / "data" / "gmpp"
DEFAULT_POSTGRES_URL = "postgresql://portfolio_lens:portfolio-lens-test@127.0.0.1:5432/portfolio_lens"

PROFILE = """
[reader]
separator = ","

[columns.initiative_id]
source = "id"
required = true

[columns.name]
source = "title"
required = true

[columns.segment]
source = "segment"
required = true

[columns.cost]
source = "cost"
parse = "money"
required = true

[columns.risk]
source = "risk"
parse = "number"

[extra_columns.board]
source = "board"
"""

THEMES = [{"theme_id": "T1", "name": "Cloud", "weight": 1}]
STORED = [
    {"initiative_id": "A", "name": "Alpha", "segment": "strategic", "cost": "10.00", "risk": 5, "business_value": 8},
    {"initiative_id": "B", "name": "Beta", "segment": "compliance", "cost": "20.00", "risk": 6, "urgency": 4},
    {"initiative_id": "C", "name": "Gamma", "segment": "infrastructure", "cost": "30.00", "risk": 1},
]
ALIGNMENT = [{"initiative_id": "A", "theme_id": "T1", "score": 7}, {"initiative_id": "C", "theme_id": "T1", "score": 3}]
DEPENDENCIES = [{"initiative_id": "A", "requires_id": "C"}]
NEW_FILE = (
    "id,title,segment,cost,risk,board\n"
    "A,Alpha,strategic,12,5,Q1\n"
    "B,Beta,compliance,20,6,\n"
    "D,Delta,strategic,4,,Q2\n"
)


@pytest.fixture
def profile(tmp_path: Path) -> MappingProfile:
    path = tmp_path / "small.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return load_profile(path)


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
    message = f"PostgreSQL is not reachable ({reason}); run `bash scripts/postgres` as root"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """Return the URL of a new, empty schema on the test server; the schema is dropped after the test."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        separator = "&" if "?" in postgres_server else "?"
        yield f"{postgres_server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["duckdb", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a workspace holding STORED, in a DuckDB file or in a fresh PostgreSQL schema."""
    stored = load_rows(tmp_path / "stored", themes=THEMES, initiatives=STORED, alignment=ALIGNMENT,
                       dependencies=DEPENDENCIES)
    if request.param == "duckdb":
        opened: Store = Store(tmp_path / "workspace.duckdb")
    else:
        opened = PostgresStore(request.getfixturevalue("postgres_url"))
    opened.load(stored, "loader")
    yield opened
    opened.close()


def checked_import(profile: MappingProfile, text: str, name: str = "new.csv") -> CheckedImport:
    checked = check_import(import_bytes(name, text.encode(), profile))
    assert checked.portfolio is not None, [p.describe() for p in checked.problems]
    return checked


def plan_for(store: Store, checked: CheckedImport, action: reimport.MissingAction = "keep",
             mark_status: str = "") -> ReimportPlan:
    assert checked.portfolio is not None
    diff = diff_reimport(store.read(), checked.portfolio, checked.mapped.fields, store.data_version())
    return ReimportPlan(diff, action, mark_status)


def snapshot(store: Store) -> dict[str, object]:
    """Return everything a failed commit must leave as it was: every frame, the data version, the audit log."""
    portfolio = store.read()
    return {
        "initiatives": portfolio.initiatives.copy(),
        "alignment": portfolio.alignment.copy(),
        "dependencies": portfolio.dependencies.copy(),
        "themes": portfolio.themes.copy(),
        "data_version": store.data_version(),
        "audit": store.audit_log()[["id", "action", "entity_id"]].copy(),
        "info": store.info(),
    }


def assert_unchanged(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("initiatives", "alignment", "dependencies", "themes", "audit"):
        pd.testing.assert_frame_equal(before[key], after[key], obj=key)  # type: ignore[arg-type]
    assert before["data_version"] == after["data_version"]
    assert before["info"] == after["info"]


# --- The difference ------------------------------------------------------------------------------


def test_diff_added_changed_missing(store: Store, profile: MappingProfile) -> None:
    plan = plan_for(store, checked_import(profile, NEW_FILE))
    diff = plan.diff

    assert diff.added == ("D",)
    assert diff.missing == ("C",)
    assert diff.unchanged == ("B",)
    assert [item.initiative_id for item in diff.changed] == ["A"]
    assert diff.changed[0].changes == (
        reimport.FieldChange("cost", "10.00", "12.00"),
        reimport.FieldChange("board", "", "Q1"),
    )
    assert diff.fields == ("name", "segment", "cost", "risk", "board")
    assert diff.blockers == ()
    assert diff.summary() == "1 added, 1 changed, 1 unchanged, 1 missing from the new file"
    assert diff.changes_frame().to_dict("records") == [
        {"initiative_id": "A", "name": "Alpha", "field": "cost", "before": "10.00", "after": "12.00"},
        {"initiative_id": "A", "name": "Alpha", "field": "board", "before": "", "after": "Q1"},
    ]
    assert diff.ids_frame(diff.missing).to_dict("records") == [{"initiative_id": "C", "name": "Gamma"}]


def test_diff_blank_in_file_is_a_change(store: Store, profile: MappingProfile) -> None:
    text = NEW_FILE.replace("A,Alpha,strategic,12,5,Q1", "A,Alpha,strategic,10,,")

    diff = plan_for(store, checked_import(profile, text)).diff

    assert diff.changed[0].changes == (reimport.FieldChange("risk", "5", ""),)


def test_diff_blocks_unknown_segment(store: Store, profile: MappingProfile, tmp_path: Path) -> None:
    lensed = PROFILE + '\n[[lenses]]\nsegment = "run"\ncriterion = "risk"\nweight = 1\n'
    path = tmp_path / "lensed.toml"
    path.write_text(lensed, encoding="utf-8")
    text = NEW_FILE.replace("D,Delta,strategic", "D,Delta,run")

    diff = plan_for(store, checked_import(load_profile(path), text)).diff

    assert len(diff.blockers) == 1
    assert diff.blockers[0].startswith(
        '1 initiative would break the workspace\'s rules once updated (D: segment "run" has no lens in the workspace'
    )


def test_diff_blocks_other_currency(store: Store, profile: MappingProfile) -> None:
    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None

    diff = diff_reimport(store.read(), checked.portfolio, checked.mapped.fields, store.data_version(), "GBP")

    assert diff.blockers == ("the new file's amounts are in GBP but the workspace holds USD; replace the workspace "
                             "portfolio instead, or import with a profile in the workspace's currency",)


def test_diff_blocks_broken_capex(tmp_path: Path, profile: MappingProfile) -> None:
    stored = load_rows(tmp_path / "capex", initiatives=[
        {"initiative_id": "A", "name": "Alpha", "segment": "strategic", "cost": "10.00", "capex": "4.00",
         "opex": "6.00"}])
    store = Store(tmp_path / "capex.duckdb")
    store.load(stored, "loader")

    diff = plan_for(store, checked_import(profile, "id,title,segment,cost,risk,board\nA,Alpha,strategic,12,,\n")).diff

    assert "A: Value error" not in diff.blockers[0]
    assert "capex 4.00 + opex 6.00 does not equal cost 12.00" in diff.blockers[0]
    with pytest.raises(InvalidPortfolioError, match="the re-import cannot be committed"):
        apply_reimport(store, stored, ReimportPlan(diff), "pmo")


# --- The commit ----------------------------------------------------------------------------------


def test_apply_keep_updates_and_adds(store: Store, profile: MappingProfile) -> None:
    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None
    version = store.data_version()

    result = apply_reimport(store, checked.portfolio, plan_for(store, checked, "keep"), "pmo")

    assert result == reimport.ReimportResult(added=1, changed=1, removed=0, marked=0, kept=1)
    after = store.read()
    items = after.initiatives.set_index("initiative_id")
    assert list(after.initiatives["initiative_id"]) == ["A", "B", "C", "D"]
    assert items.loc["A", "cost"] == 1200
    assert items.loc["A", "business_value"] == 8  # not in the file, so kept
    assert items.loc["A", "extra"] == {"board": "Q1"}
    assert items.loc["A", "row"] == 2
    assert items.loc[["A", "B", "C", "D"], "version"].tolist() == [2, 1, 1, 1]
    assert items.loc["A", "updated_by"] == "pmo"
    assert items.loc["D", "cost"] == 400
    assert after.alignment[["initiative_id", "theme_id"]].values.tolist() == [["A", "T1"], ["C", "T1"]]
    assert after.dependencies[["initiative_id", "requires_id"]].values.tolist() == [["A", "C"]]
    assert "board" in after.extra_columns
    assert store.data_version() == version + 1
    log = store.audit_log()
    assert log["action"].tolist()[:3] == ["re-import portfolio", "import: change initiative", "import: add initiative"]
    change = log[log["action"] == "import: change initiative"].iloc[0]
    assert json.loads(change["before"]) == {"cost": "10.00", "board": ""}
    assert json.loads(change["after"]) == {"cost": "12.00", "board": "Q1"}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (reimport.ReimportResult(51, 166, 0, 32, 0), "51 added, 166 updated, 32 marked as missing from the file"),
        (reimport.ReimportResult(1, 0, 2, 0, 0), "1 added, 0 updated, 2 removed as missing from the file"),
        (reimport.ReimportResult(0, 3, 0, 0, 4), "0 added, 3 updated, 4 missing from the file kept as they were"),
    ],
)
def test_result_summary_cases(result: reimport.ReimportResult, expected: str) -> None:
    assert result.summary() == expected


def test_apply_remove_missing(store: Store, profile: MappingProfile) -> None:
    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None

    result = apply_reimport(store, checked.portfolio, plan_for(store, checked, "remove"), "pmo")

    after = store.read()
    assert result.removed == 1
    assert list(after.initiatives["initiative_id"]) == ["A", "B", "D"]
    assert after.alignment["initiative_id"].tolist() == ["A"]
    assert after.dependencies.empty
    assert "import: remove initiative" in store.audit_log()["action"].tolist()


def test_apply_mark_missing(store: Store, profile: MappingProfile) -> None:
    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None

    result = apply_reimport(store, checked.portfolio, plan_for(store, checked, "mark", "not in Q3 export"), "pmo")

    items = store.read().initiatives.set_index("initiative_id")
    assert result.marked == 1
    assert items.loc["C", "status"] == "not in Q3 export"
    assert items.loc["C", "version"] == 2
    assert items.loc["C", "cost"] == 3000


def test_apply_mark_missing_default_status(store: Store, profile: MappingProfile) -> None:
    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None
    plan = plan_for(store, checked, "mark")

    apply_reimport(store, checked.portfolio, plan, "pmo")

    status = store.read().initiatives.set_index("initiative_id").loc["C", "status"]
    assert status == plan.status_for_missing
    assert status.startswith("missing from import 20")


def test_apply_failing_midway_changes_nothing(
    store: Store, profile: MappingProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None
    plan = plan_for(store, checked, "remove")
    before = snapshot(store)
    reached: list[str] = []
    real_handle_missing = reimport._handle_missing

    def remove_then_fail(*args: object) -> tuple[int, int]:
        real_handle_missing(*args)  # type: ignore[arg-type]
        reached.append("missing handled")
        raise RuntimeError("disk full")

    monkeypatch.setattr(reimport, "_handle_missing", remove_then_fail)

    with pytest.raises(RuntimeError, match="disk full"):
        apply_reimport(store, checked.portfolio, plan, "pmo")

    assert reached == ["missing handled"]
    assert_unchanged(before, snapshot(store))


def test_apply_after_other_commit_conflicts(store: Store, profile: MappingProfile, tmp_path: Path) -> None:
    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None
    plan = plan_for(store, checked)
    with store.transaction() as cursor:
        Store.audit(cursor, "someone", "edit initiative", "initiative", "B")
    before = snapshot(store)

    with pytest.raises(ConflictError, match="the workspace changed since the difference was computed"):
        apply_reimport(store, checked.portfolio, plan, "pmo")

    assert_unchanged(before, snapshot(store))


def test_apply_needs_import_role(store: Store, profile: MappingProfile) -> None:
    from portfolio.access import AccessDeniedError, Actor

    checked = checked_import(profile, NEW_FILE)
    assert checked.portfolio is not None
    viewer = Actor(name="Vic", roles=frozenset({"viewer"}))

    with pytest.raises(AccessDeniedError, match="Vic cannot import"):
        apply_reimport(store, checked.portfolio, plan_for(store, checked), viewer)


# --- GMPP: 2023 over 2022 ------------------------------------------------------------------------


def project_numbers(file_name: str) -> set[str]:
    with (GMPP_DIR / file_name).open(encoding="cp1252", newline="") as handle:
        return {row["project_number"] for row in csv.DictReader(handle, delimiter=";")}


@pytest.fixture(scope="module")
def gmpp() -> dict[str, CheckedImport]:
    profile = load_profile("uk-gmpp")
    return {year: check_import(import_bytes(f"gmpp_{year}.csv", (GMPP_DIR / f"gmpp_{year}.csv").read_bytes(), profile))
            for year in ("2022", "2023")}


@pytest.fixture
def gmpp_store(tmp_path: Path, gmpp: dict[str, CheckedImport]) -> Store:
    store = Store(tmp_path / "gmpp.duckdb")
    portfolio = gmpp["2022"].portfolio
    assert portfolio is not None
    store.load(portfolio, "loader")
    return store


def test_gmpp_2023_over_2022_diff(gmpp_store: Store, gmpp: dict[str, CheckedImport]) -> None:
    in_2022, in_2023 = project_numbers("gmpp_2022.csv"), project_numbers("gmpp_2023.csv")
    new = gmpp["2023"].portfolio
    stored = gmpp["2022"].portfolio
    assert new is not None and stored is not None
    imported_2022 = set(stored.initiatives["initiative_id"])
    imported_2023 = set(new.initiatives["initiative_id"])

    diff = diff_reimport(gmpp_store.read(), new, gmpp["2023"].mapped.fields, gmpp_store.data_version(), "GBP")

    assert len(in_2022 & in_2023) == 206
    assert set(diff.added) == imported_2023 - imported_2022
    assert set(diff.missing) == imported_2022 - imported_2023
    assert {item.initiative_id for item in diff.changed} | set(diff.unchanged) == imported_2022 & imported_2023
    assert len(diff.added) + len(diff.changed) + len(diff.unchanged) == len(imported_2023)
    assert diff.blockers == ()
    changes = {(item.initiative_id, change.field): change for item in diff.changed for change in item.changes}
    # Read by hand: CO_0024_2021-Q2 had a baseline of £4.1m in 2022 and £7.9m in 2023.
    assert changes[("CO_0024_2021-Q2", "cost")] == reimport.FieldChange("cost", "4100000.00", "7900000.00")
    assert changes[("CO_0024_2021-Q2", "report_year")] == reimport.FieldChange("report_year", "2022", "2023")
    assert all(item.changes for item in diff.changed)


def test_gmpp_2023_over_2022_commit(gmpp_store: Store, gmpp: dict[str, CheckedImport]) -> None:
    new = gmpp["2023"].portfolio
    assert new is not None
    diff = diff_reimport(gmpp_store.read(), new, gmpp["2023"].mapped.fields, gmpp_store.data_version(), "GBP")

    result = apply_reimport(gmpp_store, new, ReimportPlan(diff, "mark"), "pmo")

    after = gmpp_store.read()
    marked = after.initiatives[after.initiatives["initiative_id"].isin(diff.missing)]
    assert len(after.initiatives) == len(diff.added) + len(diff.changed) + len(diff.unchanged) + len(diff.missing)
    assert result.marked == len(diff.missing)
    assert marked["status"].str.startswith("missing from import").all()
    assert gmpp_store.info()["source"] == "gmpp_2023.csv"
    costs = after.initiatives.set_index("initiative_id")["cost"]
    assert costs["CO_0024_2021-Q2"] == 790_000_000


# --- The Import page -----------------------------------------------------------------------------


def test_import_page_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "workspace.duckdb"))
    monkeypatch.delenv("PORTFOLIO_LENS_DATA", raising=False)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]

    app.switch_page("app_pages/import_data.py").run()

    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "Import"
    assert app.info[0].value.startswith("Choose a file to start")
