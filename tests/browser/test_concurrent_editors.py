"""Three people edit the same initiative at once in real browsers: nobody's change is lost.

Each opens INI-002 from the same version and changes a different field. The
first save wins; the others are refused, see both versions, reload and apply
their change again. At the end every change is in the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import serve_app
from playwright.sync_api import Browser, Page, expect
from streamlit_page import VIEWPORT, open_app, wait_for_app

pytestmark = pytest.mark.browser

INITIATIVE = "INI-002"
EDITS = {"Avery": ("sponsor", "Avery (legal)"), "Blake": ("unit", "Group Legal"), "Casey": ("status", "approved")}


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("concurrent-home")
    with serve_app(home) as url:
        yield url, home


def field(page: Page, name: str):
    # The key carries a generation number after a reload: initiatives_form_<id>[_<generation>]_<field>.
    return page.locator(f'[class*="st-key-initiatives_form_{INITIATIVE}_"][class$="_{name}"], '
                        f'[class*="st-key-initiatives_form_{INITIATIVE}_"][class*="_{name} "]').get_by_role("textbox")


def open_form(page: Page, url: str, person: str) -> None:
    open_app(page, url + "/initiatives")
    who = page.locator(".st-key-user_name").get_by_role("textbox")
    who.fill(person)
    who.press("Enter")
    expect(page.get_by_text("Enter your name before you edit.")).to_have_count(0)
    wait_for_app(page)
    chooser = page.locator(".st-key-initiatives_edit_id").get_by_role("combobox")
    chooser.click()
    chooser.fill(INITIATIVE)
    page.get_by_role("option", name=re.compile(rf"^{INITIATIVE} · ")).click()
    expect(field(page, "name")).not_to_have_value("")
    wait_for_app(page)


def type_and_save(page: Page, person: str) -> None:
    name, value = EDITS[person]
    field(page, name).fill(value)
    field(page, name).press("Tab")
    page.get_by_test_id("stForm").get_by_role("button", name="Save").click()


def test_three_browsers_lose_no_update(shared_home: tuple[str, Path], browser: Browser) -> None:
    url, home = shared_home
    pages = {}
    for person in EDITS:
        context = browser.new_context(viewport=VIEWPORT)
        pages[person] = context.new_page()
        open_form(pages[person], url, person)

    refused = 0
    for person, page in pages.items():
        type_and_save(page, person)
        outcome = page.get_by_test_id("stAlertContentSuccess").or_(page.get_by_test_id("stAlertContentWarning"))
        expect(outcome.first).to_be_visible()
        if page.get_by_test_id("stAlertContentWarning").count():
            refused += 1
            expect(page.get_by_text("Your edit beside the saved version")).to_be_visible()
            page.get_by_role("button", name="Discard my edit and reload").click()
            # The reload has happened once the comparison is gone; typing earlier would go to the old form.
            expect(page.get_by_text("Your edit beside the saved version")).to_have_count(0)
            wait_for_app(page)
            type_and_save(page, person)
        expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(f"Saved {INITIATIVE}")

    for page in pages.values():
        page.context.close()

    # A fourth person opens the initiative afresh: every change is there.
    checker = browser.new_context(viewport=VIEWPORT).new_page()
    open_form(checker, url, "Checker")
    assert refused == 2
    expect(field(checker, "sponsor")).to_have_value("Avery (legal)")
    expect(field(checker, "unit")).to_have_value("Group Legal")
    expect(field(checker, "status")).to_have_value("approved")
    checker.context.close()
