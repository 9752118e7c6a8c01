"""Editing an initiative in real Chromium: a high score needs a justification before it is saved.

The edit changes the workspace, so this module runs its own app server and
leaves the shared one (and the SAI the other tests compare) untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from app_server import serve_app
from playwright.sync_api import Locator, Page, expect
from streamlit_page import open_app, wait_for_app

pytestmark = pytest.mark.browser

# A compliance initiative with no Customer experience (cx) score yet, so no justification either.
INITIATIVE = "INI-002"
THEME = "cx"
ASK_FOR_NAME = re.compile("Enter your name before you edit")


@pytest.fixture(scope="module")
def edit_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_app(tmp_path_factory.mktemp("edit-app-home")) as url:
        yield url


def form_field(page: Page, initiative: str, field: str) -> Locator:
    """Return the form widget keyed ``initiatives_form_<id>_<field>``."""
    return page.locator(f'[class*="st-key-initiatives_form_{initiative}_"][class*="_{field}"]')


def test_high_score_needs_justification(edit_app_url: str, page: Page) -> None:
    open_app(page, edit_app_url + "/initiatives")
    expect(page.get_by_role("heading", level=1)).to_have_text("Initiatives")

    name = page.locator(".st-key-user_name").get_by_role("textbox")
    name.fill("Browser test")
    name.press("Enter")
    expect(page.get_by_text(ASK_FOR_NAME)).to_have_count(0)
    wait_for_app(page)

    chooser = page.locator(".st-key-initiatives_edit_id").get_by_role("combobox")
    chooser.click()
    chooser.fill(INITIATIVE)
    page.get_by_role("option", name=re.compile(rf"^{INITIATIVE} · ")).click()
    score = form_field(page, INITIATIVE, f"score_{THEME}").get_by_role("spinbutton")
    expect(score).to_be_visible()
    wait_for_app(page)

    note = form_field(page, INITIATIVE, f"note_{THEME}").get_by_role("textbox")
    save = page.get_by_test_id("stForm").get_by_role("button", name="Save")
    expect(chooser).to_have_value(re.compile(rf"^{INITIATIVE} · "))
    expect(score).to_have_value("0.00")
    expect(note).to_have_value("")

    score.fill("10")
    score.press("Tab")
    save.click()

    errors = page.get_by_test_id("stAlertContentError")
    expect(errors).to_have_count(1)
    wait_for_app(page)
    expect(errors).to_contain_text("justification")
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_count(0)

    note.fill("Customers see their retention holds in the portal, which cuts service calls.")
    note.press("Tab")
    save.click()

    # Version 2 also shows that the rejected first Save stored nothing: it would have made version 2.
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(f"Saved {INITIATIVE} (version 2).")
    wait_for_app(page)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
