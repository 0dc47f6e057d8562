"""Developers: a searchable table, then one developer's timeline, tools, models, cost and sessions."""
from __future__ import annotations

import altair as alt
import streamlit as st

from pages._common import (
    chart, current_filters, donut, fmt_int, fmt_pct, fmt_usd, model_color_scale, no_rows, period_label, priced, query, query_soon,
    table, time_bucket, time_tooltip, time_x, with_team_label,
)

FOCUS_KEY = "who"  # the picked developer, kept in the URL next to the filters

filters = current_filters()
st.title("Developers")
st.caption(f"{period_label(filters)} (UTC). Edits count Edit/Write/MultiEdit/NotebookEdit tool calls.")

search = st.text_input("Search developers or teams", placeholder="e.g. alice or payments", key="developer_search")
people = with_team_label(query("developers_table", filters, search=search.strip()))
if no_rows(people, "developers"):
    st.stop()
table(people, "developers.csv", column_config={
    "developer": "Developer", "team": "Team",
    "requests": st.column_config.NumberColumn("Requests", format="localized"),
    "sessions": st.column_config.NumberColumn("Sessions", format="localized"),
    "cost_usd": st.column_config.NumberColumn("Cost", format="dollar"),
    "tokens_in": st.column_config.NumberColumn("Tokens in", format="compact"),
    "tokens_out": st.column_config.NumberColumn("Tokens out", format="compact"),
    "edits": st.column_config.NumberColumn("Edits", format="localized"),
    "acceptance_rate": st.column_config.NumberColumn("Acceptance", format="percent"),
    "accepted_lines": st.column_config.NumberColumn("Accepted lines", format="localized"),
    "cost_per_accepted_line": st.column_config.NumberColumn("Cost / accepted line", format="$%.4f"),
    "favourite_model": "Favourite model",
    "last_active": st.column_config.DatetimeColumn("Last active (UTC)", format="YYYY-MM-DD HH:mm"),
})

# --- one developer ---
names = people["developer"].tolist()
picked = st.session_state.get("developer_focus", st.query_params.get(FOCUS_KEY))
if picked not in names:
    st.session_state["developer_focus"] = names[0]
developer = st.selectbox("Developer", names, key="developer_focus")
if st.query_params.get(FOCUS_KEY) != developer:
    st.query_params[FOCUS_KEY] = developer
me = people.set_index("developer").loc[developer]

st.header(developer)
cols = st.columns(5)
cols[0].metric("Requests", fmt_int(me["requests"]), border=True)
cols[1].metric("Cost", fmt_usd(me["cost_usd"]), border=True)
cols[2].metric("Sessions", fmt_int(me["sessions"]), border=True)
cols[3].metric("Acceptance rate", fmt_pct(me["acceptance_rate"]), border=True,
               help=f"{fmt_int(me['edits'])} edits, {fmt_int(me['accepted_lines'])} accepted lines.")
cols[4].metric("Cost per accepted line", fmt_usd(me["cost_per_accepted_line"]), border=True)

# The developer's queries start now (one per core at a time); each is read where it is drawn.
bucket = time_bucket(filters)
timeline_soon = query_soon("developer_timeline", filters, developer=developer, bucket=bucket)
heat_soon = query_soon("developer_tool_heatmap", filters, developer=developer)
models_soon = query_soon("developer_models", filters, developer=developer)
allocation_soon = query_soon("developer_cost_allocation", filters, developer=developer)
sessions_soon = query_soon("developer_sessions", filters, developer=developer)
timeline = timeline_soon.result()
st.subheader("Usage timeline")
if not no_rows(timeline, "usage"):
    chart(
        alt.Chart(timeline).mark_bar().encode(
            time_x("bucket", bucket, window=filters),
            alt.Y("cost_usd:Q", title="Cost (USD)", stack=True, axis=alt.Axis(format="$,.2f")),
            alt.Color("model:N", scale=model_color_scale(timeline["model"]), title="Model"),
            tooltip=[time_tooltip("bucket", bucket), "model:N",
                     alt.Tooltip("requests:Q", format=","), alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.4f"),
                     alt.Tooltip("tokens:Q", title="Tokens", format=",")],
        ).properties(height=260)
    )

left, right = st.columns([3, 2])
with left:
    st.subheader("Tool use by hour of day")
    heat = heat_soon.result()
    if not no_rows(heat, "tool calls"):
        chart(
            alt.Chart(heat).mark_rect().encode(
                alt.X("hour_utc:O", title="Hour of day (UTC)", scale=alt.Scale(domain=list(range(24))),
                      axis=alt.Axis(labelAngle=0)),
                alt.Y("tool:N", title=None, sort=alt.EncodingSortField("calls", op="sum", order="descending"),
                      axis=alt.Axis(labelLimit=200)),
                alt.Color("calls:Q", title="Calls", scale=alt.Scale(scheme="blues")),
                tooltip=["tool:N", alt.Tooltip("hour_utc:O", title="Hour (UTC)"), alt.Tooltip("calls:Q", format=","),
                         alt.Tooltip("failures:Q", format=",")],
            ).properties(height=24 * heat["tool"].nunique())
        )
with right:
    st.subheader("Model preference")
    models = models_soon.result()
    if not no_rows(models, "model usage"):
        chart(donut(
            models.assign(cost=priced(models["cost_usd"])), "requests:Q",
            alt.Color("model:N", scale=model_color_scale(models["model"]), title="Model"),
            tooltip=["model:N", alt.Tooltip("requests:Q", format=","),
                     alt.Tooltip("request_share:Q", title="Share", format=".1%"), alt.Tooltip("cost:N", title="Cost (USD)")],
        ))

st.subheader("Cost allocation by repo and model")
allocation = allocation_soon.result()
if not no_rows(allocation, "priced usage"):
    chart(
        alt.Chart(allocation).mark_bar().encode(
            alt.X("cost_usd:Q", title="Cost (USD)", stack=True, axis=alt.Axis(format="$,.2f")),
            alt.Y("repo:N", title="Repo", sort="-x", axis=alt.Axis(labelLimit=200)),
            alt.Color("model:N", scale=model_color_scale(allocation["model"]), title="Model"),
            tooltip=["repo:N", "model:N", alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.4f"),
                     alt.Tooltip("requests:Q", format=",")],
        ).properties(height=32 * allocation["repo"].nunique())
    )

st.subheader("Sessions")
sessions = sessions_soon.result()
if not no_rows(sessions, "sessions"):
    table(sessions, f"sessions_{developer}.csv", column_config={
        "session_id": "Session",
        "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
        "duration_min": st.column_config.NumberColumn("Duration (min)", format="%.1f"),
        "repo": "Repo",
        "requests": st.column_config.NumberColumn("Requests", format="localized"),
        "tool_calls": st.column_config.NumberColumn("Tool calls", format="localized"),
        "errors": st.column_config.NumberColumn("Errors", format="localized"),
        "cost_usd": st.column_config.NumberColumn("Cost", format="dollar"),
        "main_model": "Main model",
    })
