"""Browser tests: every page of `streamlit run app.py` in Debian's chromium, driven by Playwright.

Screenshots land in tests/artifacts/<page>.png (gitignored) for a human look.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from bench.run import CHROMIUM, app_pages, chromium_page, page_url, streamlit_server, wait_rendered
from lens_etl.config import Settings
from lens_etl.warehouse import connect_readonly

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

ARTIFACTS = Path(__file__).parent / "artifacts"
PAGES = app_pages()
CHART_PAGES = {"overview", "developers", "models", "tools", "cost", "live"}


@pytest.fixture(scope="module")
def base_url(sample_settings: Settings) -> Iterator[str]:
    with streamlit_server(sample_settings.data_dir, ARTIFACTS / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser_page() -> Iterator[object]:
    with chromium_page() as page:
        yield page


def _assert_clean(page: object, seen: dict, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if seen["exceptions"] or seen["errors"]:
        shown = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').all_inner_texts()
        pytest.fail(f"{name}: the page shows an error: {shown[:2]}")


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_its_charts_without_errors(base_url: str, browser_page, name: str) -> None:
    browser_page.goto(page_url(base_url, name))
    seen = wait_rendered(browser_page)
    _assert_clean(browser_page, seen, name)
    if name in CHART_PAGES:
        assert seen["charts"] > 0, f"{name}: no chart drawn"


def test_sidebar_navigation_opens_each_page(base_url: str, browser_page) -> None:
    browser_page.goto(page_url(base_url, "overview"))
    wait_rendered(browser_page)
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


def test_model_filter_in_the_url_round_trips(base_url: str, browser_page, sample_settings: Settings) -> None:
    model = _busiest_model(sample_settings)
    browser_page.goto(f"{page_url(base_url, 'models')}?model={model}&range=all")
    seen = wait_rendered(browser_page)
    _assert_clean(browser_page, seen, "models-filtered")
    query = parse_qs(urlparse(browser_page.url).query)
    assert query.get("model") == [model], browser_page.url
    assert query.get("range") == ["all"], browser_page.url
    chosen = browser_page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Model").inner_text()
    assert model in chosen
    # Switching page keeps the filter, and the new page writes it back into its own URL.
    browser_page.locator('[data-testid="stSidebarNav"] a[href$="/tools"]').click()
    browser_page.wait_for_url("**/tools*")
    wait_rendered(browser_page)
    browser_page.wait_for_function(f"() => location.search.includes('model={model}')", timeout=30_000)
    assert parse_qs(urlparse(browser_page.url).query).get("model") == [model]
