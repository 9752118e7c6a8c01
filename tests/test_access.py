"""Roles enforced where the change is made: every store write, per role."""

from __future__ import annotations

from pathlib import Path

import pytest
from portfolio_files import load_rows

from portfolio.access import AccessDeniedError, Actor, load_role_map, local_actor, require_permission
from portfolio.models import AlignmentRow, InitiativeRow, ThemeRow
from portfolio.scoring import ScoringParams
from portfolio.store import Store

THEMES = [{"theme_id": "T1", "name": "Growth", "weight": "1"}]
INITIATIVES = [
    {"initiative_id": "A", "name": "Alpha", "segment": "strategic", "cost": "10.00", "sponsor": "dana@example.org"},
    {"initiative_id": "B", "name": "Beta", "segment": "strategic", "cost": "20.00", "sponsor": "Lee Park"},
]


def actor(*roles: str) -> Actor:
    return Actor(name="Dana", roles=frozenset(roles), aliases=frozenset({"dana@example.org"}))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "w.duckdb")
    store.load(load_rows(tmp_path / "p", themes=THEMES, initiatives=INITIATIVES), "loader")
    store.save_scenario("Plan", ScoringParams.from_portfolio(store.read()), "loader")
    return store


def edit(store: Store, who: Actor, initiative_id: str) -> None:
    row = store.read().initiatives.set_index("initiative_id").loc[initiative_id]
    change = InitiativeRow(initiative_id=initiative_id, name="Renamed", segment="strategic", cost="10.00",
                           sponsor=row["sponsor"])
    store.save_initiative(change, [AlignmentRow(initiative_id=initiative_id, theme_id="T1", score=5)], who,
                          int(row["version"]))


ACTIONS = {
    "edit own initiative": lambda store, who: edit(store, who, "A"),
    "edit another's initiative": lambda store, who: edit(store, who, "B"),
    "edit themes": lambda store, who: store.save_theme_set([ThemeRow(theme_id="T1", name="G", weight=2)], who),
    "change cycle status": lambda store, who: store.set_status("submissions_closed", who),
    "save scenario": lambda store, who: store.save_scenario("Other", ScoringParams(), who),
    "commit baseline": lambda store, who: store.commit_baseline("Plan", who),
    "record decision": lambda store, who: store.record_decision("B", "defer", "later", who),
    "load portfolio": lambda store, who: store.load(store.read(), who),
}

# Which roles may perform each action, from the role definitions: viewer reads only; sponsor edits what they
# sponsor; pmo runs themes, imports and status; chair commits scenarios and decisions.
EXPECTED = {
    "edit own initiative": {"sponsor", "pmo"},
    "edit another's initiative": {"pmo"},
    "edit themes": {"pmo"},
    "change cycle status": {"pmo"},
    "save scenario": {"pmo", "chair"},
    "commit baseline": {"chair"},
    "record decision": {"chair"},
    "load portfolio": {"pmo"},
}


@pytest.mark.parametrize("role", ["viewer", "sponsor", "pmo", "chair"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_permissions(store, role, action):
    version = store.data_version()
    if role in EXPECTED[action]:
        ACTIONS[action](store, actor(role))
        assert store.data_version() > version
        return
    with pytest.raises(AccessDeniedError) as caught:
        ACTIONS[action](store, actor(role))
    assert store.data_version() == version
    assert "role" in str(caught.value) or "sponsor" in str(caught.value)


def test_refusal_names_needed_role():
    with pytest.raises(AccessDeniedError) as caught:
        require_permission(actor("viewer"), "record decision")
    assert "needs the chair role" in str(caught.value)
    assert "you have viewer" in str(caught.value)


def test_local_actor_has_every_role(store):
    store.record_decision("A", "fund", "because", local_actor("Kim"))
    assert store.audit_log().iloc[0]["who"] == "Kim"


def test_role_map_from_file(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('default = ["viewer"]\n[users]\n"Dana@Example.org" = ["chair"]\n'
                    '[groups]\n"it-pmo" = ["pmo"]\n', encoding="utf-8")
    roles = load_role_map(path)
    assert roles.roles_for(["dana@example.org"], []) == {"viewer", "chair"}
    assert roles.roles_for(["other@example.org"], ["it-pmo"]) == {"viewer", "pmo"}


def test_role_map_rejects_unknown_role(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('[users]\n"x" = ["admin"]\n', encoding="utf-8")
    with pytest.raises(Exception, match='unknown role "admin"'):
        load_role_map(path)
