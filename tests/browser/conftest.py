"""Fixtures for the browser tests: the app served on a loopback port and headless Chromium."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest
from app_server import SERVER_LOGS, log_tail, serve_app
from playwright.sync_api import Browser, Page
from streamlit_page import VIEWPORT


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the app shared by the tests that do not change the workspace."""
    with serve_app(tmp_path_factory.mktemp("app-home")) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context, so that each test gets a Streamlit session of its own."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """Add the tail of the app server's log to the report of a failed test that used the server."""
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, str) and value in SERVER_LOGS:
                report.sections.append((f"app log ({value})", log_tail(SERVER_LOGS[value])))
    return report
