"""Lens: page config, the login gate, shared sidebar filters, and navigation over the screens in pages/."""
from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from lens_etl.errors import LensError
from pages._auth import gate, log_view, sidebar_account
from pages._common import render_sidebar_filters
from pages._settings import app_settings

st.set_page_config(page_title="Lens", page_icon="🔭", layout="wide")
DEEP_LINK_KEY = "lens_deep_link_followed"
REQUESTED_KEY = "lens_requested_page"  # kept through the login form

def visible_pages(role: str) -> list[st.Page]:
    """The screens this user may open: data pages for everyone (a developer's rows are scoped
    in the query layer), the audit log for admins."""
    pages = [
        st.Page("pages/overview.py", title="Overview", icon="🔭", default=True),
        st.Page("pages/developers.py", title="Developers", icon="🧑‍💻"),
        st.Page("pages/models.py", title="Models", icon="🧠"),
        st.Page("pages/tools.py", title="Tools", icon="🛠️"),
        st.Page("pages/sessions.py", title="Sessions", icon="🧵"),
        st.Page("pages/cost.py", title="Cost", icon="💰"),
        st.Page("pages/live.py", title="Live", icon="📡"),
    ]
    if role == "admin":
        pages.append(st.Page("pages/audit.py", title="Audit", icon="🛡️"))
    return pages


def requested_path() -> str:
    """The page path the browser asked for (before navigation resolves it), e.g. "developers"."""
    return urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]


def follow_deep_link(page: st.Page, pages: list[st.Page], requested: str) -> None:
    """Once per session: if navigation fell back to the default page although the URL named a
    page this user may open (a deep link opened in a new tab), go there with its query params."""
    if st.session_state.get(DEEP_LINK_KEY):
        return
    st.session_state[DEEP_LINK_KEY] = True
    target = next((p for p in pages if p.url_path == requested), None)
    if requested and target is not None and page.url_path != requested:
        st.switch_page(target, query_params={key: st.query_params.get_all(key) for key in st.query_params})


requested = st.session_state.setdefault(REQUESTED_KEY, requested_path())
try:
    user = gate(app_settings())  # nothing below runs before login
except LensError as exc:
    st.error(str(exc))
    st.stop()
sidebar_account(user)  # before navigation: a page change must not drop the logout click
# Navigation next: a run that stops early (no data yet) must still have registered the pages.
pages = visible_pages(user.role)
page = st.navigation(pages)
follow_deep_link(page, pages, requested)
try:
    log_view(page.title, render_sidebar_filters())
    page.run()
except LensError as exc:
    st.error(str(exc))
