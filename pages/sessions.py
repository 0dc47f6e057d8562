"""Sessions: a filterable session list; one session's span tree, waterfall, previews, errors and cost."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from pages._common import (
    MISSING, NO_TEAM, chart, current_filters, download, fmt_compact, fmt_duration, fmt_int, fmt_ms, fmt_usd,
    follow_table_selection, model_color_scale, no_rows, period_label, query, with_team_label,
)

SESSION_URL_KEY = "session"  # ?session=<id> opens that session
SESSION_KEY = "sessions_pick"
SPAN_KEY = "sessions_span_pick"
MAX_WATERFALL_ROWS = 400
SORTS = {"newest": "Newest first", "cost": "Cost", "duration": "Duration", "errors": "Errors", "requests": "Requests"}
ERROR_COLUMNS = ("start_time", "tool_or_model", "error_message", "span_kind", "name", "span_id")
COST_COLUMNS = ("model", "cost_usd", "cost_share", "requests", "tokens_in", "tokens_out", "cache_read_tokens")
KPI_ROWS = (4, 3)  # a session's cards per row
LISTED = (100, 500, 2000, 0)  # rows in the list (0: every match); the top of the chosen order
KIND_COLORS = alt.Scale(
    domain=["LLM", "TOOL", "AGENT", "CHAIN", "UNKNOWN"],
    range=["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#BAB0AC"],
)


def short_duration(seconds: float) -> str:
    """45 s, 78 min, 2.4 h: fits a narrow KPI card."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 90 * 60 else f"{seconds / 3600:.1f} h"


def minutes_to_seconds(value: float | None) -> float | None:
    return None if value is None else float(value) * 60


def in_minutes(sessions: pd.DataFrame) -> pd.DataFrame:
    """Durations in minutes, the unit of this page's duration filters and of the Developers page."""
    return sessions.assign(duration_s=sessions["duration_s"] / 60).rename(columns={"duration_s": "duration_min"})


filters = current_filters()
st.title("Sessions")
st.caption(
    f"Sessions with activity in {period_label(filters)} (UTC). Totals are for the whole session. "
    "Pick a row (or a session below) to open its spans; `?session=<id>` in the URL opens one directly."
)

# --- the session list, with this page's own filters on top of the sidebar's ---
facets = query("sessions_facets", filters).iloc[0]
with st.container(border=True):
    cols = st.columns([3, 3, 2, 2, 2, 2], vertical_alignment="bottom")
    page_developers = cols[0].multiselect("Developer", list(facets["developers"]), key="sessions_developers", placeholder="All")
    page_models = cols[1].multiselect("Model used", list(facets["models"]), key="sessions_models", placeholder="All")
    min_cost = cols[2].number_input("Min cost (USD)", min_value=0.0, value=None, step=0.5, key="sessions_min_cost")
    min_minutes = cols[3].number_input("Min duration (min)", min_value=0.0, value=None, step=1.0, key="sessions_min_minutes")
    max_minutes = cols[4].number_input("Max duration (min)", min_value=0.0, value=None, step=1.0, key="sessions_max_minutes")
    errors_only = cols[5].toggle("Has errors", key="sessions_errors_only")
    order = st.columns([3, 2, 7], vertical_alignment="bottom")
    sort_by = order[0].selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="sessions_sort")
    listed = order[1].selectbox("Rows", LISTED, index=1, key="sessions_listed",
                                format_func=lambda n: f"{n:,}" if n else "All")

sessions = query(
    "sessions_list", filters,
    page_developers=list(page_developers), page_models=list(page_models), min_cost=min_cost,
    min_duration_s=minutes_to_seconds(min_minutes), max_duration_s=minutes_to_seconds(max_minutes),
    errors_only=bool(errors_only), sort_by=sort_by, max_sessions=listed or None,
)
matching = int(sessions["matching"].iloc[0]) if len(sessions) else 0
sessions = in_minutes(with_team_label(sessions.drop(columns="matching")))
st.subheader(f"{fmt_int(matching)} sessions")
if len(sessions) < matching:
    st.caption(f"Showing the first {fmt_int(len(sessions))}, sorted by {SORTS[sort_by].lower()}: narrow the filters, "
               "or choose more rows (the CSV holds the rows shown).")
event = None
if not no_rows(sessions, "sessions"):
    event = st.dataframe(
        sessions, hide_index=True, width="stretch", height=320, key="sessions_table",
        on_select="rerun", selection_mode="single-row", placeholder=MISSING,
        column_config={
            "session_id": "Session", "developer_id": "Developer", "team": "Team", "repo_slug": "Repo",
            "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
            "duration_min": st.column_config.NumberColumn("Duration (min)", format="%.1f"),
            "main_model": "Main model",
            "requests": st.column_config.NumberColumn("Requests", format="localized"),
            "tool_calls": st.column_config.NumberColumn("Tool calls", format="localized"),
            "errors": st.column_config.NumberColumn("Errors", format="localized"),
            "tokens": st.column_config.NumberColumn("Tokens", format="compact"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.4f"),
            "accepted_edits": st.column_config.NumberColumn("Accepted edits", format="localized"),
            "edits": st.column_config.NumberColumn("Edits", format="localized"),
        },
    )
    download(sessions, "sessions.csv")

# --- pick a session: table row, picker, or ?session= ---
ids = sessions["session_id"].tolist()
follow_table_selection(event, ids, SESSION_KEY)
if SESSION_KEY not in st.session_state and st.query_params.get(SESSION_URL_KEY):
    st.session_state[SESSION_KEY] = st.query_params[SESSION_URL_KEY]
current = st.session_state.get(SESSION_KEY)
options = ids if current is None or current in ids else [current, *ids]
labels = {row.session_id: f"{row.session_id} · {row.developer_id or '?'} · {row.started_at:%Y-%m-%d %H:%M}"
          for row in sessions.itertuples()}
session_id = st.selectbox(
    "Session", options, key=SESSION_KEY, index=None, placeholder="Choose a session to open",
    format_func=lambda s: labels.get(s, f"{s} (not in the list above)"),
)
if session_id:
    if st.query_params.get(SESSION_URL_KEY) != session_id:
        st.query_params[SESSION_URL_KEY] = session_id
elif SESSION_URL_KEY in st.query_params:
    del st.query_params[SESSION_URL_KEY]
if not session_id:
    st.stop()

summary = query("session_summary", session_id=session_id)
if summary.empty:
    st.warning(f"No session {session_id!r} in the lake.", icon="🔎")
    st.stop()
info = summary.iloc[0]
# the session's days: its other queries read only those partitions
days = {"session_id": session_id, "first_day": info["first_day"], "last_day": info["last_day"]}

# --- one session ---
st.header(f"Session {session_id}")
st.caption(
    f"{info['developer_id'] or 'unknown developer'} · {info['team'] or NO_TEAM} · {info['repo_slug'] or 'no repo'} · "
    f"{info['started_at']:%Y-%m-%d %H:%M:%S} → {info['ended_at']:%H:%M:%S} UTC · models: {', '.join(info['models']) or '—'}"
)
# Two rows of cards: seven in one row truncate their values at a laptop's width ("Cost $0.…").
money, work = st.columns(KPI_ROWS[0]), st.columns(KPI_ROWS[1])
money[0].metric("Cost", fmt_usd(info["cost_usd"]), border=True,
                help=f"{fmt_int(info['unpriced_spans'])} spans of unpriced models are not included.")
money[1].metric("Duration", short_duration(info["duration_s"]), border=True, help=fmt_duration(info["duration_s"]))
money[2].metric("Requests", fmt_int(info["requests"]), border=True)
money[3].metric("Tokens", fmt_compact((info["tokens_in"] or 0) + (info["tokens_out"] or 0)), border=True,
                help=f"In {fmt_int(info['tokens_in'])} (cache reads {fmt_int(info['cache_read_tokens'])}), out {fmt_int(info['tokens_out'])}.")
work[0].metric("Tool calls", fmt_int(info["tool_calls"]), border=True)
work[1].metric("Sub-agents", fmt_int(info["sub_agents"]), border=True, help="Task tool calls: each runs a sub-agent.")
work[2].metric("Errors", fmt_int(info["errors"]), border=True)

spans = query("session_spans", **days)
spans["start_utc"] = spans["start_time"].dt.strftime("%H:%M:%S.%f").str[:-3]

st.subheader("Waterfall")
shown = spans.head(MAX_WATERFALL_ROWS)
if len(spans) > MAX_WATERFALL_ROWS:
    st.caption(f"The first {MAX_WATERFALL_ROWS} of {fmt_int(len(spans))} spans, in tree order.")
waterfall = alt.Chart(shown).transform_calculate(
    bar_end="max(datum.end_offset_s, datum.offset_s + 0.004 * datum.session_s)",  # keep short spans visible
).mark_bar(height=14).encode(
    alt.X("offset_s:Q", title="Seconds since the session started", axis=alt.Axis(orient="top")),
    alt.X2("bar_end:Q"),
    alt.Y("row_label:N", sort=None, title=None,  # left-aligned labels keep the tree's indentation
          axis=alt.Axis(labelAlign="left", labelPadding=330, labelLimit=320, labelOverlap=False)),
    alt.Color("span_kind:N", scale=KIND_COLORS, title="Span kind", legend=alt.Legend(orient="top")),
    alt.Stroke("status:N", scale=alt.Scale(domain=["ERROR"], range=["#D62728"]), legend=None),
    tooltip=[alt.Tooltip("name:N", title="Span"), alt.Tooltip("span_kind:N", title="Kind"),
             alt.Tooltip("tool_name:N", title="Tool"), alt.Tooltip("model:N", title="Model"),
             alt.Tooltip("start_utc:N", title="Start (UTC)"), alt.Tooltip("latency_ms:Q", title="Latency (ms)", format=",.0f"),
             alt.Tooltip("tokens_in:Q", title="Tokens in", format=","), alt.Tooltip("tokens_out:Q", title="Tokens out", format=","),
             alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.4f"), alt.Tooltip("status:N", title="Status")],
).properties(height=alt.Step(20)).interactive(bind_y=False)  # wheel/drag zooms the time axis
with st.container(height=min(640, 20 * len(shown) + 120), border=False):  # a long session scrolls
    chart(waterfall)

left, right = st.columns([3, 2])
with left:
    st.subheader("Span tree")
    st.caption("Children are indented under their parent; a sub-agent (Task) holds its own model and tool calls.")
    tree = spans[["label", "span_kind", "model", "status", "offset_s", "latency_ms", "tokens_in", "tokens_out",
                  "cost_usd", "in_sub_agent", "span_id"]]
    tree_event = st.dataframe(
        tree, hide_index=True, width="stretch", height=420, key="sessions_tree",
        on_select="rerun", selection_mode="single-row", placeholder=MISSING,
        column_config={
            "label": st.column_config.TextColumn("Span", width="large"), "span_kind": "Kind", "model": "Model",
            "status": "Status", "offset_s": st.column_config.NumberColumn("Start (+s)", format="%.2f"),
            "latency_ms": st.column_config.NumberColumn("Latency (ms)", format="%.0f"),
            "tokens_in": st.column_config.NumberColumn("Tokens in", format="localized"),
            "tokens_out": st.column_config.NumberColumn("Tokens out", format="localized"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.4f"),
            "in_sub_agent": st.column_config.CheckboxColumn("In sub-agent"), "span_id": "Span id",
        },
    )
    download(spans.drop(columns=["start_utc"]), f"session-{session_id}-spans.csv")
with right:
    st.subheader("Request / response")
    span_ids = spans["span_id"].tolist()
    follow_table_selection(tree_event, span_ids, SPAN_KEY)
    if st.session_state.get(SPAN_KEY) not in span_ids:
        first_request = spans.loc[spans["is_request"], "span_id"]
        st.session_state[SPAN_KEY] = first_request.iloc[0] if len(first_request) else span_ids[0]
    span_labels = dict(zip(spans["span_id"], spans["row_label"]))
    span_id = st.selectbox("Span", span_ids, key=SPAN_KEY, format_func=lambda s: span_labels.get(s, s))
    detail = query("session_span_detail", **days, span_id=span_id)
    if not no_rows(detail, "span"):
        span = detail.iloc[0]
        st.caption(
            f"{span['span_kind']} · {span['tool_name'] or span['model'] or span['name']} · {span['status']} · "
            f"{fmt_ms(span['latency_ms'])} · {fmt_int(span['tokens_in'])} in / {fmt_int(span['tokens_out'])} out · "
            f"{fmt_usd(span['cost_usd'])}. Previews are bounded and redacted at ingest."
        )
        if span["error_message"]:
            st.error(span["error_message"])
        st.markdown("**Request** (input preview)")
        st.code(span["input_preview"] or "(no input recorded)", language=None, wrap_lines=True, height=200)
        st.markdown("**Response** (output preview)")
        st.code(span["output_preview"] or "(no output recorded)", language=None, wrap_lines=True, height=200)

left, right = st.columns(2)
with left:
    st.subheader("Errors")
    errors = query("session_errors", **days)
    if errors.empty:
        st.success("No error spans in this session.", icon="✅")
    else:
        # what failed and why first: in half a laptop's width the message was cut to "Comma…"
        st.dataframe(errors, hide_index=True, width="stretch", placeholder=MISSING, column_order=ERROR_COLUMNS, column_config={
            "start_time": st.column_config.DatetimeColumn("When (UTC)", format="HH:mm:ss"),
            "name": "Span", "span_kind": "Kind", "tool_or_model": "Tool / model",
            "error_message": st.column_config.TextColumn("Message", width="large"), "span_id": "Span id",
        })
with right:
    st.subheader("Cost by model")
    by_model = query("session_cost_by_model", **days)
    if not no_rows(by_model, "priced model calls"):
        # the cost first: in half a laptop's width it was scrolled out of sight behind the token counts
        st.dataframe(by_model, hide_index=True, width="stretch", placeholder=MISSING, column_order=COST_COLUMNS, column_config={
            "model": "Model", "requests": st.column_config.NumberColumn("Requests", format="localized"),
            "tokens_in": st.column_config.NumberColumn("Tokens in", format="compact"),
            "tokens_out": st.column_config.NumberColumn("Tokens out", format="compact"),
            "cache_read_tokens": st.column_config.NumberColumn("Cache reads", format="compact"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.4f"),
            "cost_share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
        })

st.subheader("Cost by span")
costly = spans[spans["cost_usd"].fillna(0) > 0].sort_values("cost_usd", ascending=False).head(20)
if not no_rows(costly, "priced spans"):
    chart(
        alt.Chart(costly).mark_bar().encode(
            alt.X("cost_usd:Q", title="Cost (USD)", axis=alt.Axis(format="$,.3f")),
            alt.Y("row_label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=360, labelOverlap=False)),
            alt.Color("model:N", scale=model_color_scale(costly["model"].dropna()), title="Model"),
            tooltip=[alt.Tooltip("name:N", title="Span"), "model:N", alt.Tooltip("start_utc:N", title="Start (UTC)"),
                     alt.Tooltip("tokens_in:Q", title="Tokens in", format=","),
                     alt.Tooltip("cache_read_tokens:Q", title="Cache reads", format=","),
                     alt.Tooltip("tokens_out:Q", title="Tokens out", format=","),
                     alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.4f")],
        ).properties(height=alt.Step(22))
    )
    if len(costly) == 20:
        st.caption("The 20 most expensive spans; the span tree's CSV has them all.")
