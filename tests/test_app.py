"""The real Streamlit app through AppTest: every page on the demo and on an imported GMPP portfolio."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portfolio.mapping import import_file, load_profile

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
GMPP_2023 = ROOT.parent / "shared" / "data" / "gmpp" / "gmpp_2023.csv"
TITLES_BY_PAGE = {
    "prioritize": "Prioritize", "why": "Why this score", "optimize": "Optimize", "decisions": "Decisions",
    "scenarios": "Scenarios", "overview": "Overview", "spend": "Spend", "audit": "Audit log",
    "cycle": "Cycle and themes", "initiatives": "Initiatives", "import_data": "Import", "export": "Export",
    "data": "Data",
}
PAGES = tuple(f"app_pages/{name}.py" for name in TITLES_BY_PAGE)
TITLES = tuple(TITLES_BY_PAGE.values())


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Point the app at a fresh workspace database seeded from the demo."""
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "workspace.duckdb"))
    monkeypatch.delenv("PORTFOLIO_LENS_DATA", raising=False)
    return tmp_path


def start_app() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def demo_sai(initiative_id: str, weights: dict[str, float]) -> float:
    """Compute SAI straight from the demo files: 100 * sum W(t) * a(i, t) / 10."""
    total = sum(weights.values())
    scores = {row["theme_id"]: float(row["score"]) for row in read_csv(DEMO / "alignment.csv")
              if row["initiative_id"] == initiative_id}
    return 100 * sum(weights[t] / total * scores.get(t, 0.0) for t in weights) / 10


def demo_weights() -> dict[str, float]:
    return {row["theme_id"]: float(row["weight"]) for row in read_csv(DEMO / "themes.csv")}


@pytest.mark.parametrize(("page", "title"), list(zip(PAGES, TITLES, strict=True)))
def test_page_renders_on_demo(workspace, page, title):
    app = start_app()
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == title


def test_prioritize_shows_a_slider_per_theme(workspace):
    app = start_app()
    keys = {slider.key for slider in app.slider}
    for theme_id in demo_weights():
        assert f"prioritize_theme_{theme_id}" in keys


def test_theme_slider_changes_sai_as_contract_predicts(workspace):
    app = start_app()
    app.slider(key="prioritize_theme_cx").set_value(0.0).run()
    assert not app.exception

    app.session_state["selected_initiative"] = "INI-043"
    app.switch_page("app_pages/why.py").run()
    assert not app.exception
    weights = {**demo_weights(), "cx": 0.0}
    expected = demo_sai("INI-043", weights)
    shown = float(app.metric[0].value)
    assert shown == pytest.approx(round(expected, 2), abs=1e-9)
    assert shown != pytest.approx(round(demo_sai("INI-043", demo_weights()), 2))


def test_theme_slider_reports_moves_and_crossings(workspace):
    app = start_app()
    before = {metric.label: metric.value for metric in app.metric}
    assert before["Moved rank"] == "0"

    app.slider(key="prioritize_theme_cx").set_value(0.0).run()
    app.slider(key="prioritize_theme_resilience").set_value(40.0).run()
    after = {metric.label: metric.value for metric in app.metric}
    assert int(after["Moved rank"]) > 0
    assert after["Crossed the line"] != "0 in · 0 out"


def test_reset_returns_to_committed_weights(workspace):
    app = start_app()
    app.slider(key="prioritize_theme_cx").set_value(0.0).run()
    app.button(key="prioritize_reset_button").click().run()
    assert app.slider(key="prioritize_theme_cx").value == demo_weights()["cx"]
    assert {m.label: m.value for m in app.metric}["Moved rank"] == "0"


def test_all_weights_zero_explains_undefined_sai(workspace):
    app = start_app()
    for theme_id in demo_weights():
        app.slider(key=f"prioritize_theme_{theme_id}").set_value(0.0).run()
    assert not app.exception
    notices = " ".join(info.value for info in app.info)
    assert "SAI undefined: every theme weight is zero" in notices


def test_why_parts_add_up_to_total(workspace):
    app = start_app()
    app.session_state["selected_initiative"] = "INI-061"
    app.switch_page("app_pages/why.py").run()
    assert not app.exception
    sai_table = app.dataframe[0].value
    assert round(sai_table["points"].sum(), 2) == float(app.metric[0].value)


def test_spend_reconciliation_passes_on_demo(workspace):
    app = start_app()
    app.switch_page("app_pages/spend.py").run()
    checks = next(frame.value for frame in app.dataframe if "result" in frame.value.columns)
    assert set(checks["result"]) == {"passes"}
    assert any("holds to the cent" in s.value for s in app.success)


def edit_form(app: AppTest, initiative_id: str) -> AppTest:
    app.sidebar.text_input(key="user_name").input("Dana Whitfield").run()
    app.switch_page("app_pages/initiatives.py").run()
    app.selectbox(key="initiatives_edit_id").select(initiative_id).run()
    return app


def test_edit_refuses_unjustified_ten(workspace):
    app = edit_form(start_app(), "INI-002")
    app.number_input(key="initiatives_form_INI-002_score_cx").set_value(10.0)
    app.get("form_submit_button")[0].click().run()
    errors = " ".join(e.value for e in app.error)
    assert "needs a justification" in errors
    assert not app.success


def test_edit_saves_justified_ten(workspace):
    app = edit_form(start_app(), "INI-002")
    app.number_input(key="initiatives_form_INI-002_score_cx").set_value(10.0)
    app.text_input(key="initiatives_form_INI-002_note_cx").input("Moves the NPS key result by ten points")
    app.get("form_submit_button")[0].click().run()
    assert not app.error, [e.value for e in app.error]
    assert "Saved INI-002 (version 2)." in " ".join(s.value for s in app.success)


def test_edit_needs_a_name(workspace):
    app = start_app()
    app.switch_page("app_pages/initiatives.py").run()
    app.selectbox(key="initiatives_edit_id").select("INI-002").run()
    app.get("form_submit_button")[0].click().run()
    assert "enter your name" in " ".join(e.value for e in app.error)


@pytest.fixture
def gmpp_workspace(tmp_path, monkeypatch):
    """Import GMPP 2023 through the uk-gmpp profile and point the app at it."""
    out = tmp_path / "gmpp"
    import_file(GMPP_2023, load_profile("uk-gmpp"), out)
    monkeypatch.setenv("PORTFOLIO_LENS_DATA", str(out))
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "gmpp.duckdb"))
    return out


@pytest.mark.parametrize(("page", "title"), list(zip(PAGES, TITLES, strict=True)))
def test_page_renders_on_gmpp(gmpp_workspace, page, title):
    app = start_app()
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == title


def test_gmpp_prioritize_says_sai_not_scored(gmpp_workspace):
    app = start_app()
    notices = " ".join(info.value for info in app.info)
    assert "no themes yet" in notices
    strip_titles = [m.value for m in app.markdown if "Not scored for alignment yet" in m.value]
    assert strip_titles
    assert "(217)" in strip_titles[0]


def sign_in(app: AppTest, name: str = "Dana Whitfield") -> AppTest:
    app.sidebar.text_input(key="user_name").input(name).run()
    return app


def test_scenario_saved_and_committed_as_baseline(workspace):
    app = sign_in(start_app())
    app.slider(key="prioritize_theme_cx").set_value(0.0).run()
    app.switch_page("app_pages/scenarios.py").run()
    app.text_input(key="scenarios_new_name").input("No customer theme")
    app.get("form_submit_button")[0].click().run()
    assert not app.exception
    assert "Saved scenario" in " ".join(s.value for s in app.success)

    app.selectbox(key="scenarios_chosen").select("No customer theme").run()
    app.button(key="scenarios_commit").click().run()
    assert "baseline" in " ".join(s.value for s in app.success)
    sidebar_text = " ".join(c.value for c in app.sidebar.caption)
    assert "baseline: No customer theme" in sidebar_text


def test_decision_recorded_and_shown(workspace):
    app = sign_in(start_app())
    app.switch_page("app_pages/decisions.py").run()
    app.selectbox(key="decisions_initiative").select("INI-002").run()
    app.radio(key="decisions_choice").set_value("fund")
    app.text_area(key="decisions_rationale").input("Legal hold is a regulator's request")
    app.get("form_submit_button")[0].click().run()
    assert not app.exception
    assert "Recorded" in " ".join(s.value for s in app.success)
    log = next(frame.value for frame in app.dataframe if "rationale" in frame.value.columns)
    assert log.iloc[0]["initiative_id"] == "INI-002"


def test_closing_submissions_refuses_edits_with_reason(workspace):
    app = sign_in(start_app())
    app.switch_page("app_pages/cycle.py").run()
    app.button(key="cycle_next_status").click().run()
    assert "Submissions closed" in " ".join(s.value for s in app.success)

    app = edit_form(app, "INI-002")
    app.get("form_submit_button")[0].click().run()
    errors = " ".join(e.value for e in app.error)
    assert "while the cycle is Submissions closed" in errors


def test_realignment_view_lists_orphans_on_demo(workspace):
    app = start_app()
    app.switch_page("app_pages/cycle.py").run()
    assert not app.exception
    worklist = next(frame.value for frame in app.dataframe if "reason" in frame.value.columns)
    orphans = set(worklist.loc[worklist["reason"].str.startswith("orphaned"), "initiative_id"])
    assert orphans == {"INI-028", "INI-089", "INI-093", "INI-097", "INI-098", "INI-101"}


def test_audit_page_filters_by_person(workspace):
    app = sign_in(start_app(), "Sam Okafor")
    app.switch_page("app_pages/decisions.py").run()
    app.text_area(key="decisions_rationale").input("Too early")
    app.radio(key="decisions_choice").set_value("defer")
    app.get("form_submit_button")[0].click().run()
    app.switch_page("app_pages/audit.py").run()
    app.multiselect(key="audit_person").select("Sam Okafor").run()
    table = app.dataframe[0].value
    assert set(table["who"]) == {"Sam Okafor"}
    assert "record decision" in set(table["action"])


def test_present_mode_shares_weights_with_followers(workspace):
    presenter = sign_in(start_app(), "Chair Person")
    presenter.sidebar.toggle(key="present_weights").set_value(True).run()
    presenter.slider(key="prioritize_theme_cx").set_value(0.0).run()
    moved = {m.label: m.value for m in presenter.metric}["Moved rank"]
    assert moved != "0"

    follower = sign_in(start_app(), "Viewer One")
    follower.sidebar.toggle(key="follow_presenter").set_value(True).run()
    assert not follower.exception
    assert {m.label: m.value for m in follower.metric}["Moved rank"] == moved
    assert "Following Chair Person" in " ".join(i.value for i in follower.info)

    follower.sidebar.toggle(key="follow_presenter").set_value(False).run()
    assert {m.label: m.value for m in follower.metric}["Moved rank"] == "0"
    presenter.sidebar.toggle(key="present_weights").set_value(False).run()

    # The presentation lives in the workspace, so that followers on other app instances see it end too.
    follower.run()
    assert not [t for t in follower.sidebar.toggle if t.key == "follow_presenter"]
    assert not [i for i in follower.info if "Following" in i.value]


def test_presenter_rename_then_stop(workspace):
    from ui import state

    presenter = sign_in(start_app(), "Chair Person")
    presenter.sidebar.toggle(key="present_weights").set_value(True).run()
    assert state.store().presentation().presenter == "Chair Person"

    # A new name while presenting moves the presentation to it, and turning presenting off ends it.
    sign_in(presenter, "Chair P")
    assert state.store().presentation().presenter == "Chair P"
    presenter.sidebar.toggle(key="present_weights").set_value(False).run()
    assert state.store().presentation().presenter is None


def test_moved_out_badge_only_when_moved(workspace):
    app = start_app()
    money_in = next(m for m in app.metric if m.label == "Money moved in")
    assert money_in.value == "+$0"
    assert not money_in.delta

    app.slider(key="prioritize_theme_cx").set_value(0.0).run()
    money_in = next(m for m in app.metric if m.label == "Money moved in")
    assert money_in.delta.endswith(" moved out")
    assert money_in.delta != "−$0 moved out"


def test_initiatives_table_shows_urgency_score(workspace):
    app = start_app()
    app.switch_page("app_pages/initiatives.py").run()
    table = app.dataframe[0].value.set_index("initiative_id")
    # INI-001 scores urgency 8 and risk 8, so its urgency score is 100 * (0.5 * 8 + 0.5 * 8) / 10 = 80.
    assert table.loc["INI-001", "urgency"] == pytest.approx(80.0)
    assert table.loc["INI-001", "criterion_urgency"] == pytest.approx(8.0)


def test_opening_why_selects_nothing(workspace):
    app = start_app()
    app.switch_page("app_pages/why.py").run()
    selected = app.session_state["selected_initiative"] if "selected_initiative" in app.session_state else None
    assert selected is None
    app.switch_page("app_pages/prioritize.py").run()
    assert not [m for m in app.markdown if m.value.startswith("**Selected:")]


def test_edit_conflict_shows_both_versions(workspace, tmp_path):
    from portfolio.models import InitiativeRow

    app = edit_form(start_app(), "INI-002")
    # Someone else saves INI-002 while this form is open: the app's own connection acts as their session.
    from ui import state as ui_state

    store = ui_state.get_store(str(workspace / "workspace.duckdb"), str(DEMO))
    saved = store.read().initiatives.set_index("initiative_id").loc["INI-002"]
    store.save_initiative(InitiativeRow(initiative_id="INI-002", name="Renamed by Lee", segment=saved["segment"],
                                        cost=f"{saved['cost'] / 100:.2f}", sponsor=saved["sponsor"]),
                          [], "Lee Park", int(saved["version"]))

    app.text_input(key="initiatives_form_INI-002_name").input("Renamed by Dana")
    app.get("form_submit_button")[0].click().run()
    assert "changed by Lee Park" in " ".join(w.value for w in app.warning)
    table = next(frame.value for frame in app.dataframe if "your edit" in frame.value.columns).set_index("field")
    assert table.loc["name", "your edit"] == "Renamed by Dana"
    assert table.loc["name", "saved now"] == "Renamed by Lee"

    app.button(key="initiatives_conflict_overwrite").click().run()
    assert "over the other edit" in " ".join(s.value for s in app.success)
    assert store.read().initiatives.set_index("initiative_id").loc["INI-002", "name"] == "Renamed by Dana"


def test_scenario_name_is_escaped_in_messages(workspace):
    app = sign_in(start_app())
    app.switch_page("app_pages/scenarios.py").run()
    app.text_input(key="scenarios_new_name").input("**bold** [link](x)")
    app.get("form_submit_button")[0].click().run()
    message = " ".join(s.value for s in app.success)
    # Markdown punctuation arrives backslash-escaped, so the page shows the name as typed.
    assert r"\*\*bold\*\* \[link\]\(x\)" in message
