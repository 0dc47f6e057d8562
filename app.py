"""Lens: page config, shared sidebar filters, and navigation over the screens in pages/."""
from __future__ import annotations

import streamlit as st

from lens_etl.errors import LensError
from pages._common import render_sidebar_filters

st.set_page_config(page_title="Lens", page_icon="🔭", layout="wide")


def visible_pages() -> list[st.Page]:
    """The screens this user may open (one place for roles to filter once login lands)."""
    return [
        st.Page("pages/overview.py", title="Overview", icon="🔭", default=True),
        st.Page("pages/developers.py", title="Developers", icon="🧑‍💻"),
        st.Page("pages/models.py", title="Models", icon="🧠"),
        st.Page("pages/tools.py", title="Tools", icon="🛠️"),
        st.Page("pages/sessions.py", title="Sessions", icon="🧵"),
        st.Page("pages/cost.py", title="Cost", icon="💰"),
        st.Page("pages/live.py", title="Live", icon="📡"),
    ]


# Navigation first: a run that stops early (no data yet) must still have registered the pages.
page = st.navigation(visible_pages())
try:
    render_sidebar_filters()
    page.run()
except LensError as exc:
    st.error(str(exc))
