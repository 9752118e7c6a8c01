"""Sign-in through OpenID Connect in real Chromium, against a mock provider on loopback.

The app runs with an [auth] section in its secrets and with a role file. The
file makes one e-mail address a chair and one group pmo, and everyone else
signed in is a viewer. Each test gets a fresh browser context, so it starts
signed out.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import _free_port
from playwright.sync_api import Page, expect
from signin_fixtures import CHAIR, PMO, VIEWER, TestUser, serve_configured_app, serve_provider, write_auth_config
from streamlit_page import RUN_TIMEOUT_MS, open_app, wait_for_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with serve_provider() as url:
        yield url


@pytest.fixture(scope="module")
def signin_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the app's workspace, its log (app.log) and its sign-in configuration (config/)."""
    return tmp_path_factory.mktemp("signin-app-home")


@pytest.fixture(scope="module")
def signin_app_url(issuer: str, signin_home: Path) -> Iterator[str]:
    """Serve the demo portfolio with sign-in configured against the mock provider."""
    port = _free_port()
    env = write_auth_config(signin_home / "config", issuer, port)
    with serve_configured_app(signin_home, env, port=port) as url:
        yield url


def sign_in(page: Page, app_url: str, issuer: str, user: TestUser) -> None:
    """Sign ``user`` in from the app's sign-in screen and wait until the app has drawn the first page."""
    open_app(page, app_url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{issuer}/oauth2/authorize?*")

    # The mock provider's form has one button per predefined user, named after the subject.
    page.get_by_role("button", name=user.sub, exact=True).click()
    page.wait_for_url(f"{app_url}/")
    # A new document: its first script run starts from the state "initial", not from an earlier idle state.
    wait_for_app(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def expect_signed_out(page: Page) -> None:
    """Expect the sign-in screen and nothing of the portfolio: no page list, no sidebar, one button."""
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("button", name="Sign in")).to_be_visible()
    expect(main.get_by_role("button")).to_have_count(1)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarUserContent")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Portfolio Lens")
    expect(main).not_to_contain_text("initiatives")
    expect(main).not_to_contain_text("FY2027")


def open_decisions(page: Page) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Decisions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Decisions", timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)


def record_decision(page: Page, rationale: str) -> None:
    """Fill in the rationale of the Decisions form and press "Record decision"."""
    page.locator(".st-key-decisions_rationale").get_by_role("textbox").fill(rationale)
    page.get_by_test_id("stForm").get_by_role("button", name="Record decision").click()


def test_signed_out_sees_only_sign_in(signin_app_url: str, page: Page) -> None:
    open_app(page, signin_app_url)

    expect_signed_out(page)


def test_deep_link_signed_out_sees_only_sign_in(signin_app_url: str, page: Page) -> None:
    open_app(page, signin_app_url + "/decisions")

    expect_signed_out(page)


def test_chair_signs_in_with_roles(signin_app_url: str, issuer: str, page: Page) -> None:
    open_app(page, signin_app_url)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{issuer}/oauth2/authorize?*")
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_role("button", name=CHAIR.sub, exact=True).click()

    page.wait_for_url(f"{signin_app_url}/")
    wait_for_app(page)
    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar.get_by_text(f"Signed in as {CHAIR.name} · roles: chair, viewer", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prioritize")
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()


def test_group_member_gets_group_role(signin_app_url: str, issuer: str, page: Page) -> None:
    sign_in(page, signin_app_url, issuer, PMO)

    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar.get_by_text(f"Signed in as {PMO.name} · roles: pmo, viewer", exact=True)).to_be_visible()


def test_viewer_cannot_record_decision(signin_app_url: str, issuer: str, page: Page) -> None:
    sign_in(page, signin_app_url, issuer, VIEWER)
    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar.get_by_text(f"Signed in as {VIEWER.name} · roles: viewer", exact=True)).to_be_visible()
    open_decisions(page)

    record_decision(page, "Viewer tries to decide")

    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text(f"{VIEWER.name} cannot record decision: it needs the chair role (you have viewer)",
                                  timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_count(0)
    log = page.get_by_test_id("stDataFrame").locator("table td")
    assert "Viewer tries to decide" not in log.all_text_contents()


def test_chair_records_decision(signin_app_url: str, issuer: str, page: Page) -> None:
    sign_in(page, signin_app_url, issuer, CHAIR)
    open_decisions(page)

    record_decision(page, "Chair decides for the committee")

    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("Recorded \u201c", timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    log = page.get_by_test_id("stDataFrame").locator("table td")
    expect(log.filter(has_text="Chair decides for the committee")).to_have_count(1)
    expect(log.filter(has_text=CHAIR.name)).not_to_have_count(0)


def test_sign_out_returns_to_sign_in(signin_app_url: str, issuer: str, page: Page) -> None:
    sign_in(page, signin_app_url, issuer, CHAIR)

    page.get_by_role("button", name="Sign out").click()

    # Streamlit ends the session at the provider too. The mock provider shows a confirmation form, then
    # redirects the browser through the app's redirect URI to its home page.
    page.wait_for_url(f"{issuer}/oauth2/end_session?*")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{signin_app_url}/")
    wait_for_app(page)
    expect_signed_out(page)

    page.reload()
    wait_for_app(page)
    expect_signed_out(page)


def test_app_log_holds_no_secret(signin_app_url: str, issuer: str, signin_home: Path, page: Page) -> None:
    sign_in(page, signin_app_url, issuer, VIEWER)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{issuer}/oauth2/end_session?*")

    auth = tomllib.loads((signin_home / "config" / "secrets.toml").read_text(encoding="utf-8"))["auth"]
    log = (signin_home / "app.log").read_text(encoding="utf-8")
    assert auth["client_secret"] not in log
    assert auth["cookie_secret"] not in log
    # An ID or access token from the provider is a JSON Web Token, whose header starts with "eyJ".
    assert "eyJ" not in log
