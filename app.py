"""Lens: page config, the login gate, shared sidebar filters, and navigation over the screens in pages/."""
from __future__ import annotations

import streamlit as st

from lens_etl.config import load_settings
from lens_etl.errors import LensError
from pages._auth import gate, log_view, sidebar_account
from pages._common import render_sidebar_filters

st.set_page_config(page_title="Lens", page_icon="🔭", layout="wide")

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


try:
    user = gate(load_settings())  # nothing below runs before login
except LensError as exc:
    st.error(str(exc))
    st.stop()
sidebar_account(user)  # before navigation: a page change must not drop the logout click
# Navigation next: a run that stops early (no data yet) must still have registered the pages.
page = st.navigation(visible_pages(user.role))
try:
    log_view(page.title, render_sidebar_filters())
    page.run()
except LensError as exc:
    st.error(str(exc))
