"""Browser tests: every page of `streamlit run app.py` in Debian's chromium, driven by Playwright,
logged in through the real form as an admin made with `python -m lens_etl users add`.

Screenshots land in tests/artifacts/<page>.png (gitignored) for a human look.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from bench.run import CHROMIUM, app_pages, chromium_page, wait_rendered
from conftest import app_server, cli_add_user, fill_login_form, wait_signed_in
from lens_etl.config import Settings
from lens_etl.warehouse import connect_readonly

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

ARTIFACTS = Path(__file__).parent / "artifacts"
PAGES = app_pages()
CHART_PAGES = {"overview", "developers", "models", "tools", "cost", "live"}


@pytest.fixture(scope="module")
def base_url(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    credentials = tmp_path_factory.mktemp("browser-auth") / "credentials.yaml"
    cli_add_user(credentials, sample_settings.data_dir, "browser-admin", "admin")
    with app_server(sample_settings.data_dir, credentials, ARTIFACTS / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(base_url: str) -> Iterator[object]:
    """One browser session, logged in once; the tests move through the sidebar from there."""
    with chromium_page() as page:
        fill_login_form(page, base_url, "browser-admin")
        wait_signed_in(page)
        page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks', timeout=90_000)  # the Overview has drawn
        yield page


def open_page(page: object, name: str) -> dict:
    """Go to a screen the way a user does once signed in: its link in the sidebar."""
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{"" if name == "overview" else name}"]').first
    link.click()
    page.wait_for_url(f"**/{'' if name == 'overview' else name}*")
    if name in CHART_PAGES:
        page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks', timeout=90_000)
    return wait_rendered(page)


def _assert_clean(page: object, seen: dict, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if seen["exceptions"] or seen["errors"]:
        shown = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').all_inner_texts()
        pytest.fail(f"{name}: the page shows an error: {shown[:2]}")


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_its_charts_without_errors(base_url: str, browser_page, name: str) -> None:
    seen = open_page(browser_page, name)
    _assert_clean(browser_page, seen, name)
    if name in CHART_PAGES:
        assert seen["charts"] > 0, f"{name}: no chart drawn"


def test_sidebar_navigation_opens_each_page(base_url: str, browser_page) -> None:
    open_page(browser_page, "overview")
    nav = browser_page.locator('[data-testid="stSidebarNav"]')
    for name in PAGES[1:]:
        nav.locator(f'a[href$="/{name}"]').click()
        browser_page.wait_for_url(f"**/{name}*")
        seen = wait_rendered(browser_page)
        _assert_clean(browser_page, seen, f"nav-{name}")


def _busiest_model(settings: Settings) -> str:
    con = connect_readonly(settings.duckdb_path)
    try:
        return con.execute("SELECT model FROM spans WHERE model IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()


def test_model_filter_is_written_to_the_url_and_kept_across_pages(base_url: str, browser_page, sample_settings: Settings) -> None:
    model = _busiest_model(sample_settings)
    open_page(browser_page, "models")
    sidebar = browser_page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stMultiSelect"]').filter(has_text="Model").click()
    browser_page.get_by_role("option", name=model, exact=True).click()
    browser_page.keyboard.press("Escape")
    browser_page.wait_for_function(f"() => location.search.includes('model={model}')", timeout=30_000)
    seen = wait_rendered(browser_page)
    _assert_clean(browser_page, seen, "models-filtered")
    assert parse_qs(urlparse(browser_page.url).query).get("model") == [model], browser_page.url
    # Switching page keeps the filter, and the new page writes it back into its own URL.
    browser_page.locator('[data-testid="stSidebarNav"] a[href$="/tools"]').click()
    browser_page.wait_for_url("**/tools*")
    wait_rendered(browser_page)
    browser_page.wait_for_function(f"() => location.search.includes('model={model}')", timeout=30_000)
    assert parse_qs(urlparse(browser_page.url).query).get("model") == [model]


CUT_LABELS = """() => [
  ...[...document.querySelectorAll('[data-testid="stMetricLabel"] *')]
      .filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).textOverflow === 'ellipsis')
      .map(el => el.innerText.trim()),
  ...[...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg text')]
      .map(t => t.textContent).filter(t => t.includes('…')),
]"""


def test_cost_screen_names_fit_a_laptop_screen(base_url: str, browser_page) -> None:
    """At 1366x768 no KPI label is cut ("Projected month …") and no model or developer name on a
    chart axis is ("acme-internal-co…")."""
    browser_page.set_viewport_size({"width": 1366, "height": 768})
    try:
        browser_page.goto(base_url + "/cost")  # a new session: no filter left by an earlier test
        wait_signed_in(browser_page)
        browser_page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks', timeout=90_000)
        _assert_clean(browser_page, wait_rendered(browser_page), "cost-laptop")
        assert browser_page.evaluate(CUT_LABELS) == []
    finally:
        browser_page.set_viewport_size({"width": 1400, "height": 1800})


AXIS_LABELS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg g.role-axis')]
  .map(axis => [...axis.querySelectorAll('g.role-axis-label text')].map(t => t.textContent))"""


def _thriftiest_team_of_the_last_day(settings: Settings) -> str:
    con = connect_readonly(settings.duckdb_path)
    try:
        return con.execute("""
            SELECT team FROM spans WHERE event_date = (SELECT max(event_date) FROM spans) AND team IS NOT NULL
            GROUP BY 1 HAVING sum(cost_usd) > 0 ORDER BY sum(cost_usd) LIMIT 1""").fetchone()[0]
    finally:
        con.close()


def test_one_days_charts_span_the_day_and_repeat_no_axis_label(
    base_url: str, browser_page, sample_settings: Settings,
) -> None:
    """On the latest day's Overview of a team, small dollar amounts keep their cents on the axes
    ("$0 $0 $1 $1" read as one value), and the hourly trend spans the whole day, not only its busy hours."""
    browser_page.goto(base_url + f"/?range=24h&team={_thriftiest_team_of_the_last_day(sample_settings)}")
    wait_signed_in(browser_page)
    browser_page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks', timeout=90_000)
    _assert_clean(browser_page, wait_rendered(browser_page), "overview-one-day")
    axes = browser_page.evaluate(AXIS_LABELS)
    assert axes and all(len(labels) == len(set(labels)) for labels in axes), axes
    hours = [labels for labels in axes if any(label.endswith(":00") for label in labels)]
    assert hours and all(labels[0].endswith("00:00") and labels[-1].endswith("00:00") for labels in hours), hours
