"""Overview: KPIs with deltas, cost and request trends, model share, top developers and tools, health."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from pages._alerts_ui import anomaly_points
from pages._auth import require_user
from pages._common import (
    MISSING, USD_AXIS, chart, current_filters, donut, delta_pct, delta_points, fmt_compact, fmt_duration, fmt_int, fmt_ms,
    fmt_pct, fmt_usd, model_color_scale, no_rows, period_label, priced, query_soon, table, time_bucket, time_tooltip, time_x,
)

ADMINS_SEE = "Ingest runs and dead letters are shown to admins and analysts."

filters = current_filters()
st.title("Overview")
st.caption(f"{period_label(filters)} (UTC), compared with {period_label(filters.previous())}.")

# Every query starts now (one per core at a time); each is read where it is drawn.
bucket = time_bucket(filters)
now_soon, before_soon = query_soon("overview_kpis", filters), query_soon("overview_kpis", filters.previous())
trend_soon = query_soon("overview_trend", filters, bucket=bucket)
share_soon = query_soon("overview_model_share", filters)
developers_soon, tools_soon = query_soon("overview_top_developers", filters, limit=10), query_soon("overview_top_tools", filters, limit=10)
health_soon, unpriced_soon = query_soon("overview_health"), query_soon("overview_unpriced_models")

# --- KPIs ---
now = now_soon.result().iloc[0]
before = before_soon.result().iloc[0]
if now["spans"] == 0:
    st.info("No spans match these filters. Widen the time range or clear a filter in the sidebar.", icon="🔎")


def kpi(column, label: str, field: str, fmt, worse_when_up: bool = False, points: bool = False, help: str = "") -> None:
    delta = (delta_points if points else delta_pct)(now[field], before[field])
    column.metric(
        label, fmt(now[field]), delta, delta_color="inverse" if worse_when_up else "normal", border=True,
        help=f"{help} Previous period: {fmt(before[field])}.".strip(),
    )


row1 = st.columns(5)
kpi(row1[0], "Requests", "requests", fmt_int, help="Model calls with token usage.")
kpi(row1[1], "Cost", "cost_usd", fmt_usd, worse_when_up=True, help="Sum of span costs; unpriced models count as nothing.")
kpi(row1[2], "Error rate", "error_rate", fmt_pct, worse_when_up=True, points=True, help="Share of model calls (requests, and failed calls) that ended in ERROR.")
kpi(row1[3], "p95 latency ≈", "p95_latency_ms", fmt_ms, worse_when_up=True,
    help="95th percentile request latency, from a log histogram: within ±6%.")
kpi(row1[4], "Active developers", "active_developers", fmt_int)
row2 = st.columns(5)
kpi(row2[0], "Sessions", "sessions", fmt_int)
kpi(row2[1], "Tokens in", "tokens_in", fmt_compact, help="Prompt tokens, including cache reads and writes.")
kpi(row2[2], "Tokens out", "tokens_out", fmt_compact, help="Completion tokens.")
kpi(row2[3], "Cache read tokens", "cache_read_tokens", fmt_compact, help="Prompt tokens served from the cache.")
kpi(row2[4], "Cache write tokens", "cache_write_tokens", fmt_compact, help="Prompt tokens written to the cache.")

# --- trends ---
trend = trend_soon.result()
left, right = st.columns(2)
with left:
    st.subheader("Cost over time")
    if not no_rows(trend):
        colors = model_color_scale(trend["model"])
        chart(
            alt.Chart(trend).mark_bar().encode(
                time_x("bucket", bucket, window=filters),
                alt.Y("cost_usd:Q", title="Cost (USD)", stack=True, axis=alt.Axis(format="$,.2f")),
                alt.Color("model:N", scale=colors, title="Model"),
                tooltip=[time_tooltip("bucket", bucket), "model:N",
                         alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.4f")],
            ).properties(height=260)
        )
with right:
    st.subheader("Requests over time")
    requests = trend[trend["requests"] > 0]
    if not no_rows(requests, "requests"):
        totals = requests.groupby("bucket", as_index=False)["requests"].sum()
        chart(alt.layer(
            alt.Chart(requests).mark_bar().encode(
                time_x("bucket", bucket, window=filters),
                alt.Y("requests:Q", title="Requests", stack=True),
                alt.Color("model:N", scale=model_color_scale(requests["model"]), title="Model"),
                tooltip=[time_tooltip("bucket", bucket), "model:N",
                         alt.Tooltip("requests:Q", title="Requests", format=","),
                         alt.Tooltip("tokens:Q", title="Tokens", format=",")],
            ),
            anomaly_points(totals, "bucket", "requests", x_encoding=time_x("bucket", bucket, window=filters)),
        ).properties(height=260))

# --- model share, top developers, top tools ---
left, middle, right = st.columns(3)
with left:
    st.subheader("Model share")
    share = share_soon.result()
    if not no_rows(share, "model usage"):
        share = share.assign(cost=priced(share["cost_usd"]), of_cost=priced(share["cost_share"], fmt_pct))
        chart(donut(
            share, "requests:Q", alt.Color("model:N", scale=model_color_scale(share["model"]), title="Model"),
            tooltip=["model:N", alt.Tooltip("requests:Q", format=","),
                     alt.Tooltip("request_share:Q", title="Share of requests", format=".1%"),
                     alt.Tooltip("cost:N", title="Cost (USD)"), alt.Tooltip("of_cost:N", title="Share of cost")],
        ))
with middle:
    st.subheader("Top developers by cost")
    developers = developers_soon.result()
    if not no_rows(developers, "developers"):
        chart(
            alt.Chart(developers).mark_bar().encode(
                alt.X("cost_usd:Q", title="Cost (USD)", axis=alt.Axis(format=USD_AXIS)),
                alt.Y("developer:N", sort="-x", title=None, axis=alt.Axis(labelLimit=110)),
                alt.Color("team:N", title="Team", scale=alt.Scale(scheme="tableau10")),
                tooltip=["developer:N", "team:N", alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.2f"),
                         alt.Tooltip("requests:Q", format=","), alt.Tooltip("sessions:Q", format=",")],
            ).properties(height=24 * len(developers))
        )
with right:
    st.subheader("Top tools")
    tools = tools_soon.result()
    if not no_rows(tools, "tool calls"):
        chart(
            alt.Chart(tools).mark_bar(color="#4C78A8").encode(
                alt.X("calls:Q", title="Calls"),
                alt.Y("tool:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200)),
                tooltip=["tool:N", alt.Tooltip("calls:Q", format=","), alt.Tooltip("failures:Q", format=","),
                         alt.Tooltip("failure_rate:Q", title="Failure rate", format=".1%")],
            ).properties(height=24 * len(tools))
        )

# --- health ---
st.subheader("System health")
health = health_soon.result().iloc[0]
unpriced = unpriced_soon.result()
with st.container(border=True):
    cols = st.columns(4)
    last = health["last_ingest_at"]
    # ingest runs and dead letters are hidden from a developer-role user: "never" and 0 would be untrue
    hidden = require_user().scoped
    if hidden:
        cols[0].metric("Last ingest", MISSING, help=ADMINS_SEE)
    else:
        cols[0].metric(
            "Last ingest", "never" if pd.isna(last) else f"{fmt_duration(health['last_ingest_age_s'])} ago",
            None if pd.isna(last) else f"{health['last_ingest_status']} · {fmt_int(health['last_ingest_written'])} spans",
            delta_color="off" if health["last_ingest_status"] in ("ok", "running") else "inverse", delta_arrow="off",
            help=(f"Finished {last:%Y-%m-%d %H:%M} UTC. " if not pd.isna(last) else "")
            + f"{fmt_int(health['ingest_runs'])} runs recorded, {fmt_int(health['failed_runs'])} failed or interrupted.",
        )
    cols[1].metric(
        "Lag", fmt_duration(health["lag_s"]), delta_color="off",
        help=f"Now minus the newest span ({health['newest_span']:%Y-%m-%d %H:%M} UTC).",
    )
    cols[2].metric("Dead letters", MISSING if hidden else fmt_int(health["dead_letters"]),
                   help=ADMINS_SEE if hidden else "Input records that could not become spans; see the dead_letters view.")
    cols[3].metric("Unpriced models", fmt_int(len(unpriced)),
                   help="Models with usage but no known price: their cost is left empty, never 0.")
    if not hidden and health["last_ingest_status"] not in ("ok", "running") and isinstance(health["last_ingest_error"], str):
        st.error(f"Last ingest failed: {health['last_ingest_error']}")
    if not unpriced.empty:
        st.caption("Unpriced models (cost unknown, not counted in cost totals):")
        table(unpriced, "unpriced_models.csv", column_config={
            "tokens": st.column_config.NumberColumn("Tokens", format="localized"),
            "last_seen": st.column_config.DatetimeColumn("Last seen (UTC)", format="YYYY-MM-DD HH:mm"),
        })
