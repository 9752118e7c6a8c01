"""Every page in real Chromium: navigation, the live quadrant and its selection.

These tests leave the workspace unchanged, so they share one app server.
What-if weights stay in the browser session of each test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from app_server import PORTFOLIO_LENS, REPO
from playwright.sync_api import Locator, Page, expect
from streamlit_page import (
    POINT_ID,
    VIEWPORT,
    metric_value,
    open_app,
    show_every_page,
    sidebar_pages,
    slider_input,
    wait_for_app,
)

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO / "screenshots"
SCREENSHOT_MIN_HEIGHT = 3200
SCREENSHOT_MAX_HEIGHT = 9000

# Pages the sidebar must offer, by title (also the link text) and URL path. The navigation test visits
# every page the sidebar lists, these and any other.
CORE_PAGES = {
    "Prioritize": "/",
    "Why this score": "/why",
    "Spend": "/spend",
    "Initiatives": "/initiatives",
    "Data": "/data",
}

# The data grid right under the "What changed" heading; a caption takes its place while nothing has moved.
# The grid has no key class: Streamlit adds st-key-* only to widgets, and this table selects nothing.
CHANGES_TABLE = ('[data-testid="stElementContainer"]:has([data-testid="stHeading"]:has-text("What changed against"))'
                 ' + [data-testid="stElementContainer"] [data-testid="stDataFrame"]')
OVERLAY_TRACES = ("Crossed the funding line", "Selected")

# Each point of the quadrant: initiative_id -> [SAI, urgency].
# Read _fullData, which contains the decoded arrays, because `data` may keep Plotly's base64 typed-array form.
_READ_QUADRANT = """el => {
    """ + POINT_ID + """
    const points = {};
    for (const trace of el._fullData) {
        for (let i = 0; i < trace.x.length; i++) points[pointId(trace, i)] = [trace.x[i], trace.y[i]];
    }
    return points;
}"""
_QUADRANT_CHANGED = """before => {
    """ + POINT_ID + """
    const el = document.querySelector('.js-plotly-plot');
    if (!el || !el._fullData) return false;
    return el._fullData.some(trace => Array.from(trace.x).some(
        (x, i) => before[pointId(trace, i)] !== undefined && before[pointId(trace, i)][0] !== x));
}"""
# The point of a segment trace farthest from its nearest neighbour, with its position in CSS pixels
# relative to the chart element, so that a click on it is least likely to hit another bubble.
_ISOLATED_POINT = """(el, overlays) => {
    """ + POINT_ID + """
    const xaxis = el._fullLayout.xaxis, yaxis = el._fullLayout.yaxis;
    const points = [];
    for (const trace of el._fullData) {
        if (overlays.includes(trace.name)) continue;
        for (let i = 0; i < trace.x.length; i++) {
            points.push({id: pointId(trace, i), x: xaxis.l2p(trace.x[i]) + xaxis._offset,
                         y: yaxis.l2p(trace.y[i]) + yaxis._offset});
        }
    }
    let best = null, bestDistance = -1;
    for (const point of points) {
        const distance = Math.min(...points.filter(other => other !== point).map(
            other => Math.hypot(point.x - other.x, point.y - other.y)));
        if (distance > bestDistance) { best = point; bestDistance = distance; }
    }
    return best;
}"""


def quadrant(page: Page) -> Locator:
    return page.locator(".js-plotly-plot").first


def read_quadrant(page: Page) -> dict[str, tuple[float, float]]:
    points = quadrant(page).evaluate(_READ_QUADRANT)
    return {initiative: (x, y) for initiative, (x, y) in points.items()}


def cli_scores(*theme_weights: str) -> dict[str, dict]:
    """Return the `portfolio-lens score` row of each demo initiative, by initiative_id."""
    weight_options = [option for weight in theme_weights for option in ("--theme-weight", weight)]
    completed = subprocess.run(
        [str(PORTFOLIO_LENS), "score", "data/demo", *weight_options, "--format", "json"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return {row["initiative_id"]: row for row in json.loads(completed.stdout)}


def move_slider_away(thumb: Locator) -> None:
    """Move a slider to its maximum with the keyboard, or to its minimum when it is already there."""
    key = "Home" if thumb.input_value() == thumb.get_attribute("max") else "End"
    thumb.focus()
    thumb.press(key)


def screenshot_whole_page(page: Page, name: str) -> None:
    """Save a screenshot of the whole page.

    Streamlit scrolls inside its main container, so the viewport grows to the content height first and
    returns to its usual size afterwards.
    """
    page.set_viewport_size(VIEWPORT)
    content_height = page.evaluate("""() => Math.max(...Array.from(document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stSidebarContent"]'),
        element => element.scrollHeight))""")
    height = min(max(SCREENSHOT_MIN_HEIGHT, content_height + 100), SCREENSHOT_MAX_HEIGHT)
    page.set_viewport_size({"width": 1600, "height": height})

    # Two animation frames let charts and data grids draw at the new size.
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    wait_for_app(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    page.set_viewport_size(VIEWPORT)


def test_app_loads_prioritize_with_quadrant(app_url: str, page: Page) -> None:
    open_app(page, app_url)

    expect(page.get_by_role("heading", level=1)).to_have_text("Prioritize")
    expect(quadrant(page)).to_be_visible()
    assert read_quadrant(page), "the quadrant chart has no points"


def test_sidebar_offers_core_pages(app_url: str, page: Page) -> None:
    open_app(page, app_url)

    offered = dict(sidebar_pages(page))
    for title, path in CORE_PAGES.items():
        assert offered.get(title) == app_url + path, f'the sidebar has no link "{title}" to {path}'


def test_sidebar_navigation_opens_every_page(app_url: str, page: Page, subtests: pytest.Subtests) -> None:
    # One session visits every page, which is quicker than a session per page. The default page, where
    # the session starts, comes last, so that every click changes the page.
    open_app(page, app_url)
    pages = sidebar_pages(page)
    navigation = page.get_by_test_id("stSidebarNav")

    for title, url in [*pages[1:], pages[0]]:
        with subtests.test(msg=title):
            show_every_page(page)
            navigation.get_by_text(title, exact=True).click()

            # Every page's title is its link text.
            expect(page.get_by_role("heading", level=1)).to_have_text(title)
            expect(page).to_have_url(url)
            wait_for_app(page)
            screenshot_whole_page(page, urlsplit(url).path.strip("/") or title.lower())


def test_theme_slider_rescores_quadrant(app_url: str, page: Page) -> None:
    open_app(page, app_url)
    before = read_quadrant(page)
    thumb = slider_input(page, "Customer experience")
    committed = thumb.input_value()

    move_slider_away(thumb)
    page.wait_for_function(_QUADRANT_CHANGED, arg={k: list(v) for k, v in before.items()})
    wait_for_app(page)

    weight = thumb.input_value()
    assert weight != committed
    after = read_quadrant(page)
    changed = [initiative for initiative in before if before[initiative][0] != after[initiative][0]]
    assert changed, "no SAI value changed after the slider moved"

    expected = {initiative: row["sai"] for initiative, row in cli_scores(f"cx={weight}").items()}
    assert set(after) == {initiative for initiative, sai in expected.items() if sai is not None}
    mismatches = {initiative: (x, expected[initiative]) for initiative, (x, _) in after.items()
                  if abs(x - expected[initiative]) > 1e-6}
    assert mismatches == {}, f"quadrant SAI differs from `portfolio-lens score` at cx={weight}"


def test_theme_slider_reports_changes(app_url: str, page: Page) -> None:
    open_app(page, app_url)
    expect(metric_value(page, "Moved rank")).to_have_text("0")
    expect(page.get_by_text("Nothing has moved", exact=False)).to_be_visible()
    expect(page.locator(CHANGES_TABLE)).to_have_count(0)
    thumb = slider_input(page, "Customer experience")

    move_slider_away(thumb)

    expect(metric_value(page, "Moved rank")).not_to_have_text("0")
    wait_for_app(page)
    expect(metric_value(page, "Crossed the line")).not_to_have_text("0 in · 0 out")
    expect(page.get_by_text("Nothing has moved", exact=False)).to_have_count(0)
    expect(page.locator(CHANGES_TABLE)).to_be_visible()


def test_quadrant_click_selects_initiative(app_url: str, page: Page) -> None:
    open_app(page, app_url)
    chart = quadrant(page)
    chart.scroll_into_view_if_needed()
    point = chart.evaluate(_ISOLATED_POINT, list(OVERLAY_TRACES))
    box = chart.bounding_box()
    assert box is not None

    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])

    expect(page.get_by_text(f"Selected: {point['id']}", exact=True)).to_be_visible()
    wait_for_app(page)


def test_export_downloads_scored_csv(app_url: str, page: Page, tmp_path: Path) -> None:
    open_app(page, app_url + "/export")
    expect(page.get_by_role("heading", level=1)).to_have_text("Export")

    with page.expect_download() as download_info:
        page.locator(".st-key-export_csv").get_by_role("button").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    assert re.fullmatch(r"portfolio-lens-.+\.csv", download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    expected = cli_scores()
    assert sorted(row["initiative_id"] for row in rows) == sorted(expected)
    wrong_rank = {row["initiative_id"]: row["rank"] for row in rows
                  if int(row["rank"]) != expected[row["initiative_id"]]["rank"]}
    assert wrong_rank == {}, "the CSV rank differs from `portfolio-lens score` at the committed weights"
    wrong_sai = {row["initiative_id"]: row["sai"] for row in rows
                 if abs(float(row["sai"]) - expected[row["initiative_id"]]["sai"]) > 1e-6}
    assert wrong_sai == {}, "the CSV SAI differs from `portfolio-lens score` at the committed weights"
