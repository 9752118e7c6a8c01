"""Planning cycles, theme-set versions, scenarios, decisions and re-alignment, against a real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from portfolio_files import load_rows

from portfolio.cli import main
from portfolio.cycle import ActionNotAllowedError, check_transition, require_allowed
from portfolio.errors import ConflictError, InvalidPortfolioError, NotFoundError
from portfolio.models import ThemeRow
from portfolio.realign import orphaned, realign
from portfolio.scoring import ScoringParams
from portfolio.store import Store

THEMES = [{"theme_id": "T1", "name": "Growth", "weight": "3"}, {"theme_id": "T2", "name": "People", "weight": "1"}]
INITIATIVES = [
    {"initiative_id": "A", "name": "Alpha", "segment": "strategic", "cost": "100.00", "urgency": "8", "risk": "6",
     "sponsor": "CFO"},
    {"initiative_id": "B", "name": "Beta", "segment": "strategic", "cost": "50.00", "urgency": "2", "risk": "4",
     "sponsor": "CHRO"},
    {"initiative_id": "C", "name": "Gamma", "segment": "strategic", "cost": "60.00", "urgency": "5", "risk": "5",
     "sponsor": "COO"},
]
ALIGNMENT = [
    {"initiative_id": "A", "theme_id": "T1", "score": "8"},
    {"initiative_id": "B", "theme_id": "T2", "score": "6"},
    {"initiative_id": "C", "theme_id": "T1", "score": "4"},
    {"initiative_id": "C", "theme_id": "T2", "score": "4"},
]
BUDGET = [{"segment": "strategic", "envelope": "150.00"}]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    portfolio = load_rows(tmp_path / "p", themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT, budget=BUDGET,
                          settings=[{"key": "cycle", "value": "FY2027"}])
    store = Store(tmp_path / "w.duckdb")
    store.load(portfolio, "loader")
    return store


def test_load_opens_submissions_when_themes_exist(store):
    state = store.cycle()
    assert state.name == "FY2027"
    assert state.status == "submissions_open"
    assert state.published
    assert state.theme_version == 1


def test_load_without_themes_starts_in_draft(tmp_path):
    portfolio = load_rows(tmp_path / "p", initiatives=INITIATIVES)
    store = Store(tmp_path / "w.duckdb")
    store.load(portfolio, "loader")
    assert store.cycle().status == "draft"
    assert not store.cycle().published


@pytest.mark.parametrize(("current", "target", "published", "allowed"), [
    ("draft", "themes_published", False, True),
    ("themes_published", "submissions_open", True, True),
    ("themes_published", "submissions_open", False, False),
    ("submissions_open", "submissions_closed", True, True),
    ("submissions_closed", "submissions_open", True, True),
    ("submissions_closed", "decided", True, True),
    ("draft", "submissions_open", True, False),
    ("decided", "draft", True, False),
])
def test_transition_rules(current, target, published, allowed):
    if allowed:
        check_transition(current, target, published)
        return
    with pytest.raises(ActionNotAllowedError):
        check_transition(current, target, published)


def test_refusal_names_status_and_reason():
    with pytest.raises(ActionNotAllowedError) as caught:
        require_allowed("edit initiative", "decided")
    message = str(caught.value)
    assert "Decided" in message
    assert "Submissions open" in message


def test_closed_cycle_refuses_edits(store):
    store.set_status("submissions_closed", "chair")
    portfolio = store.read()
    row = portfolio.initiatives.iloc[0]
    from portfolio.models import InitiativeRow

    edit = InitiativeRow(initiative_id=row["initiative_id"], name="Renamed", segment="strategic", cost="100.00")
    with pytest.raises(ActionNotAllowedError):
        store.save_initiative(edit, [], "sponsor", int(row["version"]))
    assert store.read().initiatives.iloc[0]["name"] == "Alpha"


def test_published_theme_set_becomes_new_version(store):
    themes = [ThemeRow(theme_id="T1", name="Growth", weight=3), ThemeRow(theme_id="T3", name="AI", weight=1)]
    version = store.save_theme_set(themes, "pmo", "Q2 OKRs")
    assert version == 2
    assert list(store.read(1).themes["theme_id"]) == ["T1", "T2"]
    assert list(store.read().themes["theme_id"]) == ["T1", "T3"]
    assert not store.cycle().published


def test_draft_theme_set_is_edited_in_place(store):
    store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=2)], "pmo")
    version = store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=5)], "pmo")
    assert version == 2
    assert list(store.theme_sets()["version"]) == [2, 1]
    assert store.read().themes["weight"].tolist() == [5.0]


def test_scores_survive_for_kept_themes(store):
    store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=3)], "pmo")
    alignment = store.read().alignment
    kept = alignment[alignment["theme_id"] == "T1"]
    assert sorted(kept["initiative_id"]) == ["A", "C"]
    assert store.read(1).alignment["theme_id"].tolist().count("T2") == 2


def test_publish_then_open_submissions(tmp_path):
    portfolio = load_rows(tmp_path / "p", initiatives=INITIATIVES)
    store = Store(tmp_path / "w.duckdb")
    store.load(portfolio, "loader")
    with pytest.raises(ActionNotAllowedError):
        store.set_status("submissions_open", "pmo")
    store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=1)], "pmo")
    store.publish_themes("pmo")
    assert store.cycle().status == "themes_published"
    store.set_status("submissions_open", "pmo")
    assert store.cycle().status == "submissions_open"


def test_scenario_persists_across_restart(store, tmp_path):
    params = ScoringParams.from_portfolio(store.read()).with_theme_weights({"T1": 0.0})
    store.save_scenario("People first", params, "cio", "test")
    store.close()
    reopened = Store(tmp_path / "w.duckdb")
    loaded, version = reopened.scenario("People first")
    assert loaded == params
    assert version == 1


def test_scenario_name_clash_is_refused(store):
    params = ScoringParams.from_portfolio(store.read())
    store.save_scenario("Plan", params, "cio")
    with pytest.raises(ConflictError):
        store.save_scenario("Plan", params, "cfo")
    assert store.save_scenario("Plan", params, "cfo", expected_version=1) == 2


def test_scenario_rename_delete_and_baseline(store):
    params = ScoringParams.from_portfolio(store.read())
    store.save_scenario("Plan", params, "cio")
    store.rename_scenario("Plan", "Plan B", "cio")
    store.commit_baseline("Plan B", "chair")
    assert store.cycle().baseline == "Plan B"
    with pytest.raises(ActionNotAllowedError):
        store.delete_scenario("Plan B", "cio")
    with pytest.raises(NotFoundError):
        store.scenario("Plan")


def test_decision_sets_and_withdraw_restores_flags(store):
    store.record_decision("B", "fund", "sponsor escalation", "chair")
    assert bool(store.read().initiatives.set_index("initiative_id").loc["B", "must_fund"])
    store.record_decision("B", "reject", "changed our mind", "chair")
    flags = store.read().initiatives.set_index("initiative_id").loc["B"]
    assert not bool(flags["must_fund"])
    assert bool(flags["force_out"])
    store.withdraw_decision("B", "chair")
    flags = store.read().initiatives.set_index("initiative_id").loc["B"]
    assert not bool(flags["must_fund"])
    assert not bool(flags["force_out"])
    assert store.decisions().empty
    assert len(store.decisions(include_withdrawn=True)) == 2


def test_decision_needs_rationale(store):
    with pytest.raises(InvalidPortfolioError):
        store.record_decision("A", "fund", "  ", "chair")


def test_audit_log_records_before_and_after(store):
    store.record_decision("A", "defer", "wait for the vendor", "chair")
    entry = store.audit_log().iloc[0]
    assert entry["who"] == "chair"
    assert entry["action"] == "record decision"
    assert json.loads(entry["before"])["force_out"] is False
    assert json.loads(entry["after"])["force_out"] is True


@pytest.mark.parametrize(("before", "after", "expected"), [
    (10.0, 0.0, True),
    (10.0, float("nan"), True),
    (0.0, 0.0, False),
    (float("nan"), 0.0, False),
    (10.0, 0.1, False),
])
def test_orphaned_definition(before, after, expected):
    assert bool(orphaned(pd.Series([before]).to_numpy(), pd.Series([after]).to_numpy())[0]) is expected


def test_compare_cli_hand_computed(tmp_path, capsys):
    before = tmp_path / "before"
    after = tmp_path / "after"
    load_rows(before, themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT, budget=BUDGET)
    # After: theme T2 retired and T1 kept with the same weight.
    load_rows(after, themes=THEMES[:1], initiatives=INITIATIVES, alignment=ALIGNMENT[:1] + ALIGNMENT[2:3],
              budget=BUDGET)
    assert main(["compare", str(before), str(after), "--format", "json"]) == 0
    rows = {row["initiative_id"]: row for row in json.loads(capsys.readouterr().out)}
    # Before, W = (0.75, 0.25): SAI(A) = 100 * 0.75 * 8 / 10 = 60, SAI(B) = 100 * 0.25 * 6 / 10 = 15,
    # SAI(C) = 100 * (0.75 * 4 + 0.25 * 4) / 10 = 40. Ranks by S (= SAI): A 1, C 2, B 3.
    # Funding at 150.00: A 100 fits, C (160 running) does not and ends the line; B unfunded.
    # After, W = (1): SAI(A) = 80, SAI(B) = 0, SAI(C) = 40; ranks A 1, C 2, B 3; the same line.
    assert rows["A"]["sai_before"] == pytest.approx(60)
    assert rows["B"]["sai_before"] == pytest.approx(15)
    assert rows["C"]["sai_before"] == pytest.approx(40)
    assert rows["A"]["sai_after"] == pytest.approx(80)
    assert rows["B"]["sai_after"] == pytest.approx(0)
    assert [rows[i]["rank_before"] for i in "ABC"] == [1, 3, 2]
    assert [rows[i]["funded_after"] for i in "ABC"] == [True, False, False]
    assert [rows[i]["orphaned"] for i in "ABC"] == [False, True, False]


def test_compare_cli_csv_columns(tmp_path, capsys):
    folder = tmp_path / "p"
    load_rows(folder, themes=THEMES, initiatives=INITIATIVES, alignment=ALIGNMENT, budget=BUDGET)
    assert main(["compare", str(folder), str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("initiative_id,segment,sai_before,sai_after,rank_before,rank_after,funded_before,"
                        "funded_after,orphaned")
    assert lines[1] == "A,strategic,60,60,1,1,true,true,false"


def test_realign_worklist_names_sponsors(store):
    store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=3)], "pmo")
    comparison = realign(store.read(1), store.read(2))
    worklist = comparison.worklist.set_index("initiative_id")
    assert list(worklist.index) == ["B", "C"]
    assert worklist.loc["B", "sponsor"] == "CHRO"
    assert worklist.loc["B", "reason"].startswith("orphaned")
    assert comparison.retired_themes == ("T2",)
    spend = comparison.theme_spend.set_index("theme_id")
    # Before: A 100 -> T1; B 50 -> T2; C 60 -> 30 T1 + 30 T2. After: T1 gets A and all of C; B has no link.
    assert spend.loc["T1", "spend_before"] == 13000
    assert spend.loc["T1", "spend_after"] == 16000
    assert spend.loc["no OKR link", "spend_after"] == 5000


def test_demo_ships_two_theme_versions():
    demo = Path(__file__).resolve().parents[1] / "data" / "demo"
    versions = pd.read_csv(demo / "theme_versions.csv")
    assert set(versions["version"]) == {1}
    current = set(pd.read_csv(demo / "themes.csv")["theme_id"])
    assert set(versions["theme_id"]) != current


def test_theme_edit_from_stale_snapshot_is_refused(store):
    stale = store.theme_snapshot()
    store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=5)], "pmo one", based_on=stale)
    draft = store.theme_snapshot()
    store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=6)], "pmo one", based_on=draft)
    with pytest.raises(ConflictError, match="pmo one"):
        store.save_theme_set([ThemeRow(theme_id="T1", name="Growth", weight=7)], "pmo two", based_on=draft)
    assert store.read().themes["weight"].tolist() == [6.0]
