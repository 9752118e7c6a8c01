"""Helpers that drive a Streamlit page in Playwright and wait for its script runs to finish.

Streamlit marks the root element ``[data-testid="stApp"]`` with
``data-test-script-state`` (``running``, ``notRunning`` and others) and shows
``[data-testid="stStatusWidget"]`` while a run is in progress. The app also
reruns a sidebar fragment every 2 seconds to notice commits by others, so a
change of the script state does not prove that an action's rerun happened.
After an action, a test therefore first expects what that rerun draws, then
calls :func:`wait_for_app`.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

# Generous, because on a busy machine loading Streamlit's element code and a page's first run can each take
# tens of seconds. A passing wait returns as soon as its condition holds.
RUN_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1600, "height": 1100}

APP = '[data-testid="stApp"]'
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

PAGE_ERROR = "Something went wrong (error id"
# "View 3 more": Streamlit shows only the first pages of a long navigation until this is clicked.
NAVIGATION_MORE = re.compile(r"^View \d+ more$")

_CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).every(
    chart => chart.querySelector('.js-plotly-plot')?._fullLayout !== undefined)"""


def wait_for_app(page: Page, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until the script run has finished and every element is drawn, then check the app raised nothing."""
    expect(page.locator(APP)).to_be_visible(timeout=timeout_ms)
    expect(page.locator(APP_IDLE)).to_have_count(1, timeout=timeout_ms)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout_ms)

    # Streamlit loads the code of some elements (sliders, charts, data grids) on first use and shows a
    # skeleton until then. A Plotly chart is drawn once its element has _fullLayout.
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout_ms)
    page.wait_for_function(_CHARTS_DRAWN, timeout=timeout_ms)
    exceptions = page.get_by_test_id("stException")
    assert exceptions.count() == 0, f"the app raised an exception: {exceptions.all_inner_texts()}"

    # app.py catches what a page raises, logs it and shows this error with an id in place of the traceback.
    page_errors = page.get_by_test_id("stAlertContentError").filter(has_text=PAGE_ERROR)
    assert page_errors.count() == 0, f"the page failed: {page_errors.all_inner_texts()}"


def open_app(page: Page, url: str) -> None:
    """Load ``url`` and wait for the first script run, which starts from the state "initial", to finish."""
    page.goto(url)
    wait_for_app(page)


def slider_input(page: Page, label: str) -> Locator:
    """Return the thumb of the slider labelled ``label``: a range input, which has the ARIA role slider."""
    slider = page.get_by_test_id("stSlider").filter(has=page.get_by_text(label, exact=True))
    return slider.get_by_role("slider")


def metric_value(page: Page, label: str) -> Locator:
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    return metric.get_by_test_id("stMetricValue")


def sidebar_pages(page: Page) -> list[tuple[str, str]]:
    """Return the title and URL of every page in the sidebar navigation, expanding it first."""
    show_every_page(page)
    return page.get_by_test_id("stSidebarNavLink").evaluate_all(
        "links => links.map(link => [link.querySelector('span[label]').getAttribute('label'), link.href])")


def show_every_page(page: Page) -> None:
    """Expand the sidebar navigation when Streamlit has folded its last pages away."""
    more = page.get_by_test_id("stSidebarNavViewButton").filter(has_text=NAVIGATION_MORE)
    if more.count():
        more.click()
        expect(more).to_have_count(0)


# The initiative_id of point i of a trace: the second line of its hover text reads "<id> · <cost>".
# The id is read from the text a person sees, because customdata[0] is the row the server maps a click to.
POINT_ID = "const pointId = (trace, i) => trace.text[i].split('<br>')[1].split(' · ')[0];"
