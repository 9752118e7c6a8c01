"""User text is shown literally on every page, and an uncaught error shows an id instead of its details.

The browser test opens a portfolio whose text fields hold HTML and Markdown
and visits every page of the sidebar navigation in Chromium. The error tests
run the app in AppTest, which can replace a store method in this process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect
from signin_fixtures import serve_configured_app
from streamlit import config
from streamlit.testing.v1 import AppTest
from streamlit_page import POINT_ID, RUN_TIMEOUT_MS, open_app, wait_for_app

from portfolio.store import Store
from tests.portfolio_files import write_portfolio

APP_FILE = Path(__file__).resolve().parents[2] / "app.py"

# An initiative name that shows bold text, an image that runs a script, and Markdown bold, if rendered.
NAME = "<b>x</b><img src=x onerror=alert(1)>**y**"


def payload(marker: str) -> str:
    """Return the same kind of text as NAME for another field, with ``marker`` naming the field."""
    return f"<b>{marker}</b><img src={marker} onerror=alert('{marker}')>**{marker}**"


THEME = payload("theme")
CYCLE = payload("cycle")
DESCRIPTION = payload("description")
SPONSOR = payload("sponsor")
JUSTIFICATION = payload("justification")
MARKERS = ("x", "y", "theme", "cycle", "description", "sponsor", "justification")
INITIATIVE = "INI-X"

# The elements a rendered payload would create: an image with a marker as its source, or bold or
# emphasis whose whole text is a marker.
_RENDERED = """markers => [
    ...Array.from(document.querySelectorAll('img')).filter(e => markers.includes(e.getAttribute('src')))
        .map(e => `img src=${e.getAttribute('src')}`),
    ...Array.from(document.querySelectorAll('b, strong, em, i')).filter(e => markers.includes(e.textContent))
        .map(e => `${e.tagName.toLowerCase()} ${e.textContent}`),
]"""

# The position of one point of the quadrant, in CSS pixels relative to the chart element.
_POINT = """(el, id) => {
    """ + POINT_ID + """
    for (const trace of el._fullData) {
        for (let i = 0; i < trace.x.length; i++) {
            if (pointId(trace, i) === id) {
                return {x: el._fullLayout.xaxis.l2p(trace.x[i]) + el._fullLayout.xaxis._offset,
                        y: el._fullLayout.yaxis.l2p(trace.y[i]) + el._fullLayout.yaxis._offset};
            }
        }
    }
    return null;
}"""


@pytest.fixture(scope="module")
def hostile_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve, in local mode, a portfolio whose text fields hold HTML and Markdown."""
    home = tmp_path_factory.mktemp("hostile-app-home")
    folder = write_portfolio(
        home / "hostile",
        themes=[{"theme_id": "t1", "name": THEME, "weight": 60},
                {"theme_id": "t2", "name": "Plain theme", "weight": 40}],
        initiatives=[
            {"initiative_id": INITIATIVE, "name": NAME, "segment": "strategic", "cost": "100000", "urgency": 8,
             "risk": 7, "sponsor": SPONSOR, "description": DESCRIPTION},
            {"initiative_id": "INI-2", "name": "Plain two", "segment": "compliance", "cost": "50000", "urgency": 2,
             "risk": 2},
            {"initiative_id": "INI-3", "name": "Plain three", "segment": "infrastructure", "cost": "70000",
             "urgency": 5, "risk": 1},
        ],
        alignment=[{"initiative_id": INITIATIVE, "theme_id": "t1", "score": 9, "justification": JUSTIFICATION},
                   {"initiative_id": "INI-3", "theme_id": "t2", "score": 2}],
        budget=[{"segment": "strategic", "envelope": 150000}],
        settings=[{"key": "cycle", "value": CYCLE}, {"key": "cycle_status", "value": "submissions_open"}],
    )
    with serve_configured_app(home, args=["--data", str(folder)]) as url:
        yield url


def fail_on_dialog(page: Page) -> list[str]:
    """Record every JavaScript dialog the page opens (a script that ran), and dismiss it."""
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type} {dialog.message!r} on {page.url}")
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


@pytest.mark.browser
def test_user_text_literal_on_every_page(hostile_app_url: str, page: Page) -> None:
    dialogs = fail_on_dialog(page)
    open_app(page, hostile_app_url)
    # Past ten pages, Streamlit lists the first ten and a "View N more" button.
    more = page.get_by_test_id("stSidebarNavViewButton")
    if more.count():
        more.click()
        expect(more).to_have_text("View less")
    links = page.get_by_test_id("stSidebarNavLink")
    paths = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(paths) >= 11, f"the sidebar navigation lists only {paths}"

    for path in paths:
        before = page.get_by_role("heading", level=1).inner_text()
        link = page.locator(f'[data-testid="stSidebarNavLink"][href="{path}"]')
        if link.get_attribute("aria-current") != "page":
            link.click()
            expect(page.get_by_role("heading", level=1)).not_to_have_text(before, timeout=RUN_TIMEOUT_MS)
        wait_for_app(page)

        assert page.evaluate(_RENDERED, list(MARKERS)) == [], f"user text rendered as HTML or Markdown on {path}"
        sidebar = page.get_by_test_id("stSidebarUserContent")
        expect(sidebar.get_by_text(CYCLE, exact=False)).to_have_count(1)
    assert dialogs == []


@pytest.mark.browser
def test_quadrant_hover_shows_name_literally(hostile_app_url: str, page: Page) -> None:
    dialogs = fail_on_dialog(page)
    open_app(page, hostile_app_url)
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    point = chart.evaluate(_POINT, INITIATIVE)
    box = chart.bounding_box()
    assert point is not None
    assert box is not None

    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])

    hover = page.locator(".hoverlayer .hovertext")
    expect(hover).to_have_count(1)
    expect(hover).to_contain_text(NAME)
    assert page.evaluate(_RENDERED, list(MARKERS)) == []
    assert dialogs == []


@pytest.mark.browser
def test_theme_label_shows_literally(hostile_app_url: str, page: Page) -> None:
    open_app(page, hostile_app_url)

    expect(page.get_by_test_id("stSlider").get_by_text(THEME, exact=True)).to_have_count(1)
    expect(page.get_by_text("60.0 % of the total weight", exact=True)).to_have_count(1)


@pytest.mark.browser
def test_why_page_shows_text_literally(hostile_app_url: str, page: Page) -> None:
    open_app(page, hostile_app_url + "/why")

    expect(page.get_by_test_id("stText").filter(has_text=NAME)).to_have_count(1)
    expect(page.get_by_test_id("stCaptionContainer").get_by_text(DESCRIPTION, exact=True)).to_have_count(1)


@pytest.mark.browser
def test_initiatives_table_shows_text_literally(hostile_app_url: str, page: Page) -> None:
    open_app(page, hostile_app_url + "/initiatives")
    # The data grid draws on a canvas. The table inside the canvas has the same cells, for assistive technology.
    cells = page.get_by_test_id("stDataFrame").first.locator("table td")
    expect(cells.first).to_be_attached()

    texts = cells.all_text_contents()

    assert NAME in texts
    assert SPONSOR in texts


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point AppTest at a fresh demo workspace, with error details hidden as `portfolio-lens app` hides them."""
    monkeypatch.setenv("PORTFOLIO_LENS_DB", str(tmp_path / "workspace.duckdb"))
    monkeypatch.delenv("PORTFOLIO_LENS_DATA", raising=False)
    monkeypatch.delenv("STREAMLIT_SECRETS_FILES", raising=False)
    shown = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "none")
    yield tmp_path
    config.set_option("client.showErrorDetails", shown)


def failing_audit_log(self: Store, *args: object, **kwargs: object) -> None:
    raise RuntimeError("database detail that stays in the log")


def test_page_error_shows_only_an_id(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    app = AppTest.from_file(str(APP_FILE), default_timeout=60)
    app.run()
    monkeypatch.setattr(Store, "audit_log", failing_audit_log)

    app.switch_page("app_pages/audit.py").run()

    assert not app.exception, [e.value for e in app.exception]
    assert len(app.error) == 1
    match = re.fullmatch(r"Something went wrong \(error id ([0-9a-f]{8})\)\. .*", app.error[0].value)
    assert match is not None, app.error[0].value
    assert "database detail" not in app.error[0].value
    logged = [r for r in caplog.records if r.name == "portfolio_lens.app" and match.group(1) in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "database detail that stays in the log" in str(logged[0].exc_info[1])


def test_page_error_details_shown_in_development(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.set_option("client.showErrorDetails", "full")
    app = AppTest.from_file(str(APP_FILE), default_timeout=60)
    app.run()
    monkeypatch.setattr(Store, "audit_log", failing_audit_log)

    app.switch_page("app_pages/audit.py").run()

    assert len(app.error) == 1
    assert app.error[0].value.startswith("Something went wrong (error id ")
    assert len(app.exception) == 1
    assert "database detail that stays in the log" in app.exception[0].value


def failing_info(self: Store) -> None:
    raise RuntimeError("sidebar detail that stays in the log")


def test_sidebar_error_shows_id(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(Store, "info", failing_info)
    app = AppTest.from_file(str(APP_FILE), default_timeout=60)
    app.run()

    assert not app.exception, [e.value for e in app.exception]
    errors = [e.value for e in app.sidebar.error]
    assert len(errors) == 1
    match = re.fullmatch(r"Something went wrong \(error id ([0-9a-f]{8})\)\. .*", errors[0])
    assert match is not None, errors[0]
    assert "sidebar detail" not in errors[0]
    logged = [r for r in caplog.records if r.name == "portfolio_lens.app" and match.group(1) in r.getMessage()]
    assert len(logged) == 1
    assert "the sidebar" in logged[0].getMessage()
    # The page below the broken sidebar still draws.
    assert app.title[0].value == "Prioritize"


def _failing_timer_script() -> None:
    import streamlit as st

    from ui.errors import reported

    with reported("a timer", repeat_key="timer"):
        raise ConnectionError(st.session_state.get("message", "server gone"))


def test_repeated_error_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    app = AppTest.from_function(_failing_timer_script, default_timeout=30)
    app.run()
    first = app.error[0].value
    app.run()
    assert app.error[0].value == first
    app.session_state["message"] = "another failure"
    app.run()
    assert app.error[0].value != first

    logged = [r.getMessage() for r in caplog.records if r.name == "portfolio_lens.app"]
    assert len(logged) == 2, logged
    assert all("in a timer" in message for message in logged)


def test_stop_and_rerun_pass_through(workspace: Path) -> None:
    """A page that calls st.rerun (after a commit) or st.stop shows no error."""
    app = AppTest.from_file(str(APP_FILE), default_timeout=60)
    app.run()
    app.sidebar.text_input(key="user_name").input("Error Test").run()
    app.switch_page("app_pages/decisions.py").run()
    app.text_area(key="decisions_rationale").input("Not this cycle")
    app.radio(key="decisions_choice").set_value("defer")

    app.get("form_submit_button")[0].click().run()

    assert not app.error, [e.value for e in app.error]
    assert not app.exception
    assert app.success[0].value.startswith("Recorded")
