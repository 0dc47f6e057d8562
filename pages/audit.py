"""Audit (admins only): who viewed which page with which filters, who exported, who changed
budgets, users or alert rules, failed logins, purges and exports — from the `audit_log` view."""
from __future__ import annotations

import streamlit as st

from pages._auth import require_user
from pages._common import fmt_int, no_rows, query, table

if require_user().role != "admin":
    st.error("The audit log is for admins.")
    st.stop()

st.title("🛡️ Audit log")
st.caption("Append-only events under data/audit/, newest first; also `SELECT * FROM audit_log` in "
           "`duckdb -readonly data/lens.duckdb`. Times are UTC.")

days = st.segmented_control("Period", [1, 7, 30, 90, 365], default=7, format_func=lambda d: f"{d} d", key="audit_days")
summary = query("audit_summary", days=days or 7)
with st.container(horizontal=True):
    for action in ("view", "export_csv", "login", "login_failed", "budget_change", "user_change", "rule_change", "purge"):
        count = summary.loc[summary["action"] == action, "events"].sum()
        st.metric(action.replace("_", " ").capitalize(), fmt_int(count), border=True)

actions = sorted(summary["action"].tolist())
picked = st.multiselect("Actions", actions, key="audit_actions", placeholder="All")
actor = st.text_input("Actor contains", key="audit_actor", max_chars=100)
events = query("audit_events", days=days or 7, actions=picked, actor=actor.strip())
if not no_rows(events, "audit events"):
    table(events, "audit_log.csv", column_config={
        "occurred_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "actor": "Who", "role": "Role", "action": "Action", "target": "What", "detail": "Detail",
    })
