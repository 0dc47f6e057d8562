"""The login in a real browser: `streamlit run app.py` in Debian's chromium, driven by Playwright.

Users are made with `python -m lens_etl users add` (password on stdin) into a temp credentials
file; each test gets a fresh browser (no cookie). Screenshots land in tests/artifacts/login-*.png.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

import pytest

from bench.run import CHROMIUM, chromium_page, page_url, wait_rendered
from conftest import app_server, cli_add_user, fill_login_form, wait_for_cookie, wait_signed_in
from lens_etl.config import Settings
from lens_etl.warehouse import connect_readonly

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

ARTIFACTS = Path(__file__).parent / "artifacts"
DATA = ('[data-testid="stVegaLiteChart"], [data-testid="stDataFrame"], [data-testid="stMetric"], '
        '[data-testid="stSidebarNav"], [data-testid="stDownloadButton"]')
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@pytest.fixture(scope="module")
def people(sample_settings: Settings) -> tuple[str, str]:
    """The two busiest developers: the logged-in developer and someone else."""
    con = connect_readonly(sample_settings.duckdb_path)
    try:
        rows = con.execute("SELECT developer_id FROM spans WHERE developer_id IS NOT NULL GROUP BY 1 "
                           "ORDER BY count(*) DESC, 1 LIMIT 2").fetchall()
    finally:
        con.close()
    return rows[0][0], rows[1][0]


@pytest.fixture(scope="module")
def base_url(sample_settings: Settings, people: tuple[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    credentials = tmp_path_factory.mktemp("login-auth") / "credentials.yaml"
    cli_add_user(credentials, sample_settings.data_dir, "ops", "admin")
    cli_add_user(credentials, sample_settings.data_dir, "dev", "developer", "--developer", people[0])
    cli_add_user(credentials, sample_settings.data_dir, "ana", "analyst")
    with app_server(sample_settings.data_dir, credentials, ARTIFACTS / "streamlit-login.log") as url:
        yield url


@pytest.fixture
def page() -> Iterator[object]:
    with chromium_page() as fresh:
        yield fresh


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"login-{name}.png"), full_page=True)


def settle(page: object) -> None:
    page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_timeout(500)
    page.wait_for_selector(IDLE, timeout=60_000)


def assert_no_data(page: object) -> None:
    assert page.locator(DATA).count() == 0, "data is visible without a login"
    assert page.get_by_text("Signed in as").count() == 0


def log_in(page: object, base_url: str, username: str, password: str = "correct horse battery") -> dict:
    fill_login_form(page, base_url, username, password)
    wait_signed_in(page)
    page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks', timeout=90_000)  # the Overview has drawn
    return wait_rendered(page)


def test_the_login_form_shows_and_no_data_before_login(base_url: str, page) -> None:
    page.goto(base_url + "/")
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    settle(page)
    shot(page, "form")
    assert page.get_by_role("textbox", name="Password").count() == 1
    assert_no_data(page)
    page.goto(f"{base_url}/cost")  # a deep link shows the form too
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    settle(page)
    assert_no_data(page)


def test_a_wrong_password_shows_an_error_and_no_data(base_url: str, page) -> None:
    fill_login_form(page, base_url, "ops", "not the password")
    page.locator('[data-testid="stAlertContentError"]').filter(has_text="Wrong username or password").wait_for(
        timeout=60_000)
    settle(page)
    shot(page, "wrong-password")
    assert_no_data(page)


def test_the_right_password_shows_the_overview_and_logout_returns_to_the_form(base_url: str, page) -> None:
    seen = log_in(page, base_url, "ops")
    shot(page, "overview")
    assert page.get_by_role("heading", name="Overview").count() >= 1
    assert seen["charts"] > 0 and not seen["exceptions"] and not seen["errors"], seen
    wait_for_cookie(page, present=True)  # written by the first run after the login, not lost to its rerun
    page.reload()  # a new session: the cookie signs the user in again
    wait_signed_in(page)
    page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks', timeout=90_000)
    assert page.get_by_role("textbox", name="Password").count() == 0
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Log out").click()
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    settle(page)
    shot(page, "logged-out")
    assert_no_data(page)
    wait_for_cookie(page, present=False)
    page.goto(base_url + "/")  # the cookie went with the logout: a reload stays logged out
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    settle(page)
    assert_no_data(page)


def test_a_deep_link_opens_its_page_after_the_login_form(base_url: str, page) -> None:
    page.goto(f"{page_url(base_url, 'cost')}?range=all")
    page.get_by_role("textbox", name="Username").fill("ops")
    page.get_by_role("textbox", name="Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    wait_signed_in(page)
    page.wait_for_url("**/cost?*range=all*", timeout=60_000)
    page.get_by_role("heading", name="Cost", exact=True).wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_role("heading", name="Cost", exact=True).count() == 1
    assert "/cost" in page.url and "range=all" in page.url, page.url


def developers_csv(page: object) -> list[dict[str, str]]:
    """The Developers table as its CSV download (the grid itself is drawn on a canvas)."""
    with page.expect_download(timeout=60_000) as download:
        page.locator('[data-testid="stDownloadButton"]').first.click()
    return list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))


def test_a_developer_sees_only_themselves_whatever_the_url_asks(base_url: str, page, people: tuple[str, str]) -> None:
    me, other = people
    log_in(page, base_url, "dev")
    # A deep link opened in a new page load: the cookie signs the developer in on that very page.
    page.goto(f"{page_url(base_url, 'developers')}?developer={other}&who={other}&range=all")
    wait_signed_in(page)
    page.wait_for_url("**/developers*")
    seen = wait_rendered(page)
    assert page.get_by_role("heading", name="Developers").count() >= 1
    shot(page, "developer-scoped")
    assert not seen["exceptions"], seen
    rows = developers_csv(page)
    assert [r["developer"] for r in rows] == [me], rows
    assert page.get_by_role("heading", name=other, exact=True).count() == 0
    assert page.locator('[data-testid="stSidebarNav"] a[href$="/audit"]').count() == 0


def test_an_analyst_sees_the_cost_screen_but_no_budget_editor(base_url: str, page) -> None:
    log_in(page, base_url, "ana")
    page.locator('[data-testid="stSidebarNav"] a[href$="/cost"]').first.click()
    page.wait_for_url("**/cost*")
    page.get_by_role("heading", name="Cost", exact=True).wait_for(timeout=60_000)
    seen = wait_rendered(page)
    shot(page, "analyst-cost")
    assert seen["charts"] > 0 and not seen["exceptions"], seen
    assert page.get_by_text("Edit budgets").count() == 0
    assert page.get_by_role("button", name="Save budgets").count() == 0
    assert page.locator('[data-testid="stSidebarNav"] a[href$="/audit"]').count() == 0
