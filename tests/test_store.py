"""Tests of portfolio.store against real DuckDB files in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from portfolio_files import write_portfolio

from portfolio.errors import ConflictError, InvalidPortfolioError, NotFoundError, PortfolioLensError, StoreError
from portfolio.importing import require_portfolio
from portfolio.models import INITIATIVE_COLUMNS, AlignmentRow, InitiativeRow, Portfolio
from portfolio.store import Store, open_store

THEMES = [
    {"theme_id": "T1", "name": "Cloud", "weight": 3},
    {"theme_id": "T2", "name": "Data", "weight": 1},
]
INITIATIVES = [
    {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "0.10", "urgency": 6, "risk": 4,
     "capex": "0.04", "opex": "0.06", "start_date": "2027-01-31", "sponsor": "CIO", "owner": "Ann"},
    {"initiative_id": "I2", "name": "Audit trail", "segment": "compliance", "cost": "0.20", "urgency": 8,
     "must_fund": "yes"},
    {"initiative_id": "I3", "name": "Storage", "segment": "infrastructure", "cost": "1250000.55", "urgency": 2,
     "risk": 2, "financial_return": 5, "technical_necessity": 7},
]
ALIGNMENT = [
    {"initiative_id": "I1", "theme_id": "T1", "score": 8},
    {"initiative_id": "I1", "theme_id": "T2", "score": 9.5, "justification": "The lakehouse is the data plan"},
]
BUDGET = [{"segment": "strategic", "envelope": "100.00"}]


def fixture_folder(folder: Path, **changes: Any) -> Path:
    tables = {"themes": THEMES, "initiatives": INITIATIVES, "alignment": ALIGNMENT, "budget": BUDGET}
    tables.update(changes)
    return write_portfolio(folder, **tables)


@pytest.fixture
def portfolio(tmp_path: Path) -> Portfolio:
    loaded, _ = require_portfolio(fixture_folder(tmp_path / "portfolio"))
    return loaded


@pytest.fixture
def store(tmp_path: Path, portfolio: Portfolio) -> Iterator[Store]:
    opened = Store(tmp_path / "workspace.duckdb")
    opened.load(portfolio, "loader")
    yield opened
    opened.close()


def missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Make every missing value None, so frames compare by content whatever marks the gaps."""
    return frame.astype(object).where(frame.notna(), None)


def assert_same_portfolio(read: Portfolio, expected: Portfolio) -> None:
    initiatives = read.initiatives[list(INITIATIVE_COLUMNS)]
    pd.testing.assert_frame_equal(missing_as_none(initiatives), missing_as_none(expected.initiatives))
    pd.testing.assert_frame_equal(missing_as_none(read.alignment), missing_as_none(expected.alignment))
    pd.testing.assert_frame_equal(missing_as_none(read.themes), missing_as_none(expected.themes))
    assert read.envelopes == expected.envelopes
    assert read.lenses == expected.lenses
    assert read.urgency == expected.urgency
    assert read.settings == expected.settings
    assert read.extra_columns == expected.extra_columns


def lakehouse(**changes: Any) -> InitiativeRow:
    fields = {"initiative_id": "I1", "name": "Lakehouse", "segment": "strategic", "cost": "0.10",
              "urgency": 6, "risk": 4}
    return InitiativeRow(**{**fields, **changes})


def score(theme_id: str, value: float, justification: str | None = None, initiative_id: str = "I1") -> AlignmentRow:
    return AlignmentRow(initiative_id=initiative_id, theme_id=theme_id, score=value, justification=justification)


# --- load and read ---------------------------------------------------------------------------------


def test_load_read_same_portfolio(store: Store, portfolio: Portfolio) -> None:
    assert_same_portfolio(store.read(), portfolio)


def test_read_costs_exact_cents(store: Store) -> None:
    costs = store.read().initiatives["cost"]

    assert costs.tolist() == [10, 20, 125000055]
    assert int(costs[:2].sum()) == 30
    assert costs.dtype == "int64"


def test_stored_total_exact_cents(store: Store) -> None:
    assert store.stored_total() == 10 + 20 + 125000055


def test_read_money_columns_in_cents(store: Store) -> None:
    items = store.read().initiatives

    assert items["capex"][0] == 4
    assert items["opex"][0] == 6
    assert pd.isna(items["capex"][1])


def test_read_missing_criteria_nan(store: Store) -> None:
    items = store.read().initiatives

    assert pd.isna(items["risk"][1])
    assert pd.isna(items["business_value"]).all()
    assert items["urgency"].tolist() == [6.0, 8.0, 2.0]


def test_read_keeps_extra_columns(store: Store) -> None:
    read = store.read()

    assert read.extra_columns == ("owner",)
    assert read.initiatives["extra"].tolist() == [{"owner": "Ann"}, {"owner": ""}, {"owner": ""}]


def test_read_versions_start_at_one(store: Store) -> None:
    items = store.read().initiatives

    assert items["version"].tolist() == [1, 1, 1]
    assert items["updated_by"].tolist() == ["loader"] * 3


def test_load_replaces_previous_portfolio(store: Store, portfolio: Portfolio, tmp_path: Path) -> None:
    smaller, _ = require_portfolio(fixture_folder(tmp_path / "smaller", initiatives=INITIATIVES[1:],
                                                  alignment=[], budget=[]))
    store.load(smaller, "loader")

    assert_same_portfolio(store.read(), smaller)


def test_load_logged_in_audit(store: Store) -> None:
    entry = store.audit_log().iloc[0]

    assert entry["action"] == "load portfolio"
    assert entry["who"] == "loader"
    assert json.loads(entry["after"])["initiatives"] == 3


def test_info_after_load(store: Store, portfolio: Portfolio) -> None:
    info = store.info()

    assert info["source"] == portfolio.source
    assert info["loaded_by"] == "loader"
    assert info["edits_since_load"] == "0"


def test_load_failing_at_end_keeps_previous(store: Store, portfolio: Portfolio, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    other, _ = require_portfolio(fixture_folder(tmp_path / "other", initiatives=INITIATIVES[:1]))
    version = store.data_version()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(Store, "audit", staticmethod(fail))

    with pytest.raises(RuntimeError, match="audit log unavailable"):
        store.load(other, "intruder")
    assert_same_portfolio(store.read(), portfolio)
    assert store.data_version() == version
    assert store.info()["loaded_by"] == "loader"


def test_load_failing_insert_keeps_previous(store: Store, portfolio: Portfolio) -> None:
    # Budget rows go in after themes, initiatives and alignment, and an envelope of 10**18 currency units
    # overflows DECIMAL(18,2), so the load fails midway.
    overflowing = replace(portfolio, envelopes={"strategic": 10**20})
    version = store.data_version()

    with pytest.raises((duckdb.Error, StoreError)):
        store.load(overflowing, "intruder")
    assert_same_portfolio(store.read(), portfolio)
    assert store.data_version() == version


def test_load_cost_beyond_decimal_rejected(store: Store, tmp_path: Path) -> None:
    huge = [{**INITIATIVES[0], "cost": "10000000000000000", "capex": "", "opex": ""}, *INITIATIVES[1:]]

    with pytest.raises(PortfolioLensError):
        loaded, _ = require_portfolio(fixture_folder(tmp_path / "huge", initiatives=huge))
        store.load(loaded, "loader")


def test_store_reopen_keeps_data(tmp_path: Path, portfolio: Portfolio) -> None:
    path = tmp_path / "workspace.duckdb"
    first = Store(path)
    first.load(portfolio, "loader")
    first.close()
    second = Store(path)

    assert_same_portfolio(second.read(), portfolio)
    assert second.data_version() == 1
    second.close()


def test_store_not_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("meeting notes, not a database\n", encoding="utf-8")

    with pytest.raises(StoreError, match="notes.duckdb") as caught:
        Store(path)
    assert not isinstance(caught.value, duckdb.Error)


def test_store_other_duckdb_database(tmp_path: Path) -> None:
    path = tmp_path / "analytics.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE sales (amount INTEGER)")
    connection.close()

    with pytest.raises(StoreError, match="analytics.duckdb is a DuckDB database but not a Portfolio Lens"):
        Store(path)


def test_store_new_file_empty(tmp_path: Path) -> None:
    opened = Store(tmp_path / "new.duckdb")

    assert opened.is_empty()
    assert opened.data_version() == 0
    assert opened.stored_total() == 0
    opened.close()


# --- data_version ----------------------------------------------------------------------------------


def test_data_version_grows_each_commit(tmp_path: Path, portfolio: Portfolio) -> None:
    opened = Store(tmp_path / "workspace.duckdb")
    versions = [opened.data_version()]
    opened.load(portfolio, "loader")
    versions.append(opened.data_version())
    opened.save_initiative(lakehouse(name="Lakehouse v2"), [], "ann", 1)
    versions.append(opened.data_version())
    opened.load(portfolio, "loader")
    versions.append(opened.data_version())

    assert versions == sorted(set(versions))
    assert len(versions) == 4
    opened.close()


def test_data_version_same_after_rejected_edit(store: Store) -> None:
    version = store.data_version()

    with pytest.raises(InvalidPortfolioError):
        store.save_initiative(lakehouse(segment="marketing"), [], "ann", 1)
    assert store.data_version() == version


# --- save_initiative -------------------------------------------------------------------------------


def test_save_initiative_increments_version(store: Store) -> None:
    version = store.save_initiative(lakehouse(name="Lakehouse v2"), [score("T1", 7)], "ann", 1)

    assert version == 2
    assert store.initiative_version("I1") == 2


def test_save_initiative_persists_fields(store: Store) -> None:
    store.save_initiative(lakehouse(name="Lakehouse v2", cost="0.35"), [score("T1", 7)], "ann", 1)
    read = store.read()
    item = read.initiatives.iloc[0]

    assert item["name"] == "Lakehouse v2"
    assert item["cost"] == 35
    assert item["updated_by"] == "ann"
    assert read.alignment[["initiative_id", "theme_id", "score"]].values.tolist() == [["I1", "T1", 7.0]]


def test_save_initiative_keeps_position_and_extra(store: Store) -> None:
    store.save_initiative(lakehouse(name="Lakehouse v2"), [], "ann", 1)
    items = store.read().initiatives

    assert items["initiative_id"].tolist() == ["I1", "I2", "I3"]
    assert items["extra"][0] == {"owner": "Ann"}


def test_save_initiative_audit_before_after(store: Store) -> None:
    store.save_initiative(lakehouse(name="Lakehouse v2"), [score("T1", 7)], "ann", 1)
    entry = store.audit_log().iloc[0]
    before = json.loads(entry["before"])
    after = json.loads(entry["after"])

    assert entry["who"] == "ann"
    assert entry["entity_id"] == "I1"
    assert before["name"] == "Lakehouse"
    assert after["name"] == "Lakehouse v2"
    assert before["version"] == 1
    assert after["version"] == 2
    assert [a["theme_id"] for a in before["alignment"]] == ["T1", "T2"]
    assert [a["theme_id"] for a in after["alignment"]] == ["T1"]


def test_save_initiative_counts_edit_in_info(store: Store) -> None:
    store.save_initiative(lakehouse(name="Lakehouse v2"), [], "ann", 1)

    assert store.info()["edits_since_load"] == "1"


def test_save_initiative_stale_version(store: Store) -> None:
    store.save_initiative(lakehouse(name="Lakehouse by Ann"), [], "ann", 1)

    with pytest.raises(ConflictError, match="changed by ann") as caught:
        store.save_initiative(lakehouse(name="Lakehouse by Bob"), [], "bob", 1)
    assert "version 2" in str(caught.value)
    assert store.read().initiatives["name"][0] == "Lakehouse by Ann"


def test_save_initiative_new_gets_version_one(store: Store) -> None:
    new = InitiativeRow(initiative_id="I9", name="Chatbot", segment="strategic", cost="12.34")
    version = store.save_initiative(new, [score("T2", 6, initiative_id="I9")], "ann", None)
    items = store.read().initiatives

    assert version == 1
    assert items["initiative_id"].tolist() == ["I1", "I2", "I3", "I9"]
    assert items["cost"][3] == 1234


def test_save_initiative_new_with_taken_id(store: Store) -> None:
    with pytest.raises(ConflictError, match="I1"):
        store.save_initiative(lakehouse(name="Another lakehouse"), [], "ann", None)


def test_save_initiative_removed_initiative(store: Store) -> None:
    removed = InitiativeRow(initiative_id="I8", name="Removed", segment="strategic", cost="1")

    with pytest.raises(NotFoundError, match="I8"):
        store.save_initiative(removed, [], "ann", 3)


def test_save_initiative_high_score_needs_justification(store: Store) -> None:
    with pytest.raises(InvalidPortfolioError, match="justification"):
        store.save_initiative(lakehouse(), [score("T1", 9)], "ann", 1)
    assert store.initiative_version("I1") == 1


def test_save_initiative_blank_justification_rejected(store: Store) -> None:
    with pytest.raises(InvalidPortfolioError, match="justification"):
        store.save_initiative(lakehouse(), [score("T1", 10, "   ")], "ann", 1)


def test_save_initiative_high_score_with_justification(store: Store) -> None:
    version = store.save_initiative(lakehouse(), [score("T1", 9, "Moves every analytics workload")], "ann", 1)

    assert version == 2
    assert store.read().alignment["justification"][0] == "Moves every analytics workload"


def test_save_initiative_threshold_from_settings(tmp_path: Path) -> None:
    folder = fixture_folder(tmp_path / "p", settings=[{"key": "justification_threshold", "value": "7"}])
    loaded, _ = require_portfolio(folder)
    opened = Store(tmp_path / "workspace.duckdb")
    opened.load(loaded, "loader")

    with pytest.raises(InvalidPortfolioError, match="justification"):
        opened.save_initiative(lakehouse(), [score("T1", 7)], "ann", 1)
    assert opened.save_initiative(lakehouse(), [score("T1", 6.999)], "ann", 1) == 2
    opened.close()


def test_save_initiative_unknown_theme(store: Store) -> None:
    with pytest.raises(InvalidPortfolioError, match="T7"):
        store.save_initiative(lakehouse(), [score("T7", 5)], "ann", 1)
    assert store.initiative_version("I1") == 1


def test_save_initiative_unknown_segment(store: Store) -> None:
    with pytest.raises(InvalidPortfolioError, match="marketing"):
        store.save_initiative(lakehouse(segment="marketing"), [], "ann", 1)
    assert store.read().initiatives["segment"][0] == "strategic"


def test_save_initiative_theme_scored_twice(store: Store) -> None:
    with pytest.raises(InvalidPortfolioError, match="T1"):
        store.save_initiative(lakehouse(), [score("T1", 5), score("T1", 6)], "ann", 1)


# --- open_store ------------------------------------------------------------------------------------


def test_open_store_seeds_new_file(tmp_path: Path, portfolio: Portfolio) -> None:
    seed = fixture_folder(tmp_path / "seed")
    opened = open_store(tmp_path / "deep" / "folder" / "workspace.duckdb", seed=seed, who="setup")

    assert_same_portfolio(opened.read(), portfolio)
    assert opened.info()["loaded_by"] == "setup"
    opened.close()


def test_open_store_keeps_edits(tmp_path: Path) -> None:
    seed = fixture_folder(tmp_path / "seed")
    path = tmp_path / "workspace.duckdb"
    first = open_store(path, seed=seed)
    first.save_initiative(lakehouse(name="Lakehouse v2"), [], "ann", 1)
    first.close()
    second = open_store(path, seed=seed)

    assert second.read().initiatives["name"][0] == "Lakehouse v2"
    assert second.initiative_version("I1") == 2
    second.close()


def test_open_store_without_seed_empty(tmp_path: Path) -> None:
    opened = open_store(tmp_path / "workspace.duckdb", seed=None)

    assert opened.is_empty()
    opened.close()


def test_open_store_invalid_seed(tmp_path: Path) -> None:
    seed = fixture_folder(tmp_path / "seed", initiatives=[{**INITIATIVES[0], "cost": "ten"}, *INITIATIVES[1:]])

    with pytest.raises(InvalidPortfolioError, match='"ten" is not a number'):
        open_store(tmp_path / "workspace.duckdb", seed=seed)
