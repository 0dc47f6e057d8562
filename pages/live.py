"""Live: firing alerts, active sessions, rolling error rate and latency, and the newest spans, polled."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import altair as alt
import pandas as pd
import streamlit as st

from lens_etl import budgets
from pages._alerts_ui import (
    ANOMALY_Z, ERROR_RATE_FLOOR, alert_history_table, anomaly_points, firing_alerts_panel, has_rules, rules_editor,
)
from pages._auth import require_user
from pages._common import DIMENSIONS, Filters, chart, current_filters, empty_state, fmt_duration, fmt_int, no_rows, query, table
from pages._settings import app_settings

INTERVALS = {"2 s": 2, "5 s": 5, "15 s": 15, "30 s": 30, "Off": None}
ACTIVE_MINUTES = (5, 15, 30, 60)
ROLLING_HOURS = (1, 3, 6, 12, 24)
FEED_LIMIT = 50
MAX_ERROR_RATE = 0.10


def utc_now() -> datetime:
    """Now in UTC, naive like every timestamp in the lake; whole seconds so queries share a cache key."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def utc(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Timestamps as UTC instants, so the browser's timezone cannot shift the axis."""
    return df.assign(**{column: pd.to_datetime(df[column]).dt.tz_localize("UTC")})


def rolling_chart(df: pd.DataFrame, field: str, title: str, fmt: str, color: str, floor: float = 1e-9) -> alt.LayerChart:
    """The 5-minute series, its anomalous buckets (robust z against the shown window) marked in red."""
    x = alt.X("bucket:T", title="5-minute bucket (UTC)", scale=alt.Scale(type="utc"),
              axis=alt.Axis(format="%H:%M", labelAngle=0))
    line = alt.Chart(df).mark_line(
        point=alt.OverlayMarkDef(color=color), color=color, invalid="break-paths-show-domains",
    ).encode(
        x,
        alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=fmt)),
        tooltip=[alt.Tooltip("bucket:T", title="From (UTC)", format="%Y-%m-%d %H:%M", formatType="utc"),
                 alt.Tooltip(f"{field}:Q", title=title, format=fmt),
                 alt.Tooltip("calls:Q", title="Model calls", format=","), alt.Tooltip("errors:Q", title="Failed", format=",")],
    )
    return alt.layer(line, anomaly_points(df, "bucket", field, x_encoding=x, floor=floor, y_format=fmt)).properties(height=220)


def newest_activity(clock: pd.Series, now: datetime) -> datetime | None:
    """Up to when the screen looks: now, or the last activity when nothing happened lately."""
    if pd.isna(clock["newest_span"]):
        return None
    return clock["newest_span"].to_pydatetime() if clock["quiet"] else now


def unfiltered(filters: Filters) -> Filters:
    """The filters without their developer, team, model, service and repo values."""
    return replace(filters, **{name: () for name in DIMENSIONS})


def alerts(until: datetime) -> None:
    """The `alerts` view when alert rules exist; else the built-in checks, as of `until` (the
    whole lake's clock: they are not narrowed by the sidebar, so neither is their moment)."""
    st.subheader("Alerts")
    if query("live_alerts_view").iloc[0]["present"] and has_rules():
        firing_alerts_panel()
        with st.expander("Alert history", icon="📜"):
            alert_history_table()
        return
    user = require_user()
    checks = query("live_builtin_alerts", until=until, max_error_rate=MAX_ERROR_RATE,
                   **budgets.sql_params(budgets.visible_to(budgets.load(app_settings()), user)))
    st.caption(
        f"Built-in checks (no alert rules yet{': add them under Alert rules below' if user.can_edit_rules() else ''}), "
        f"as of {until:%Y-%m-%d %H:%M} UTC over all {'your ' if user.scoped else ''}data, whatever the sidebar's filters: "
        f"model-call error rate in the last hour above {MAX_ERROR_RATE:.0%}; a developer's spend that day above the daily "
        f"share of their monthly budget{' (set budgets on the Cost page)' if user.can_edit_budgets() else ''}."
    )
    firing = checks[checks["firing"]]
    for row in firing.itertuples():
        st.markdown(f":red-badge[🚨 firing] **{row.check_name}** · {row.subject}: {row.detail}")
    if firing.empty:
        st.success(f"Nothing firing ({fmt_int(len(checks))} check{'s' if len(checks) != 1 else ''}).", icon="✅")


filters = current_filters()
st.title("Live")
controls = st.columns(3)
interval = controls[0].selectbox("Refresh every", list(INTERVALS), index=1, key="live_interval")
minutes = controls[1].selectbox("Active sessions: activity within", ACTIVE_MINUTES, index=1, key="live_minutes",
                                format_func=lambda m: f"{m} minutes")
hours = controls[2].selectbox("Error rate and latency over", ROLLING_HOURS, index=2, key="live_hours",
                              format_func=lambda h: f"last {h} h of data")
st.caption("The sidebar's developer, team, model, service and repo filters apply; its dates do not (this screen is about now).")


@st.fragment(run_every=INTERVALS[interval])
def live_panel() -> None:
    """Everything that refreshes: each run binds a new `now`, so no cached result outlives it."""
    now = utc_now()
    clock = query("live_clock", filters, now=now, minutes=minutes).iloc[0]
    if pd.isna(clock["newest_span"]):
        empty_state("No spans match these filters yet.")
        return
    newest = clock["newest_span"].to_pydatetime()
    until = newest_activity(clock, now)
    refresh = f"refreshing every {interval}" if INTERVALS[interval] else "auto-refresh off"
    st.caption(f"Updated {now:%H:%M:%S} UTC · {refresh} · newest span {newest:%Y-%m-%d %H:%M:%S} UTC "
               f"({fmt_duration(clock['lag_s'])} ago).")
    if clock["quiet"]:
        st.warning(
            f"No activity in the last {minutes} minutes. Last activity was {newest:%Y-%m-%d %H:%M:%S} UTC, "
            f"{fmt_duration(clock['lag_s'])} ago: showing the data up to then.", icon="💤",
        )

    everyone = unfiltered(filters)
    alerts(until if everyone == filters else newest_activity(
        query("live_clock", everyone, now=now, minutes=minutes).iloc[0], now) or until)

    active = query("live_active_sessions", filters, until=until, minutes=minutes)
    st.subheader(f"Active sessions ({fmt_int(len(active))})")
    st.caption(f"Sessions with a span in the {minutes} minutes up to {until:%Y-%m-%d %H:%M:%S} UTC; counts are for that window.")
    if not no_rows(active, "active sessions"):
        table(active, "active_sessions.csv", column_config={
            "session_id": "Session", "developer_id": "Developer", "team": "Team",
            "last_activity": st.column_config.DatetimeColumn("Last activity (UTC)", format="HH:mm:ss"),
            "last_span": "Last span", "model": "Model", "spans": st.column_config.NumberColumn("Spans", format="localized"),
            "requests": st.column_config.NumberColumn("Requests", format="localized"),
            "errors": st.column_config.NumberColumn("Errors", format="localized"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.4f"),
        })

    rolling = utc(query("live_rolling", filters, until=until, hours=hours), "bucket")
    st.caption(f"Red points: 5-minute buckets far from the shown window's typical value (robust z-score above {ANOMALY_Z}).")
    left, right = st.columns(2)
    with left:
        st.subheader("Error rate")
        # the series in a neutral colour: red is for the anomalous points alone
        chart(rolling_chart(rolling, "error_rate", "Error rate (failed / model calls)", ".0%", "#7F7F7F", floor=ERROR_RATE_FLOOR))
    with right:
        st.subheader("p95 latency")
        chart(rolling_chart(rolling, "p95_latency_ms", "p95 latency (ms)", ",.0f", "#4C78A8"))

    feed = query("live_feed", filters, until=until, limit=FEED_LIMIT)
    st.subheader(f"Newest {FEED_LIMIT} spans")
    if not no_rows(feed, "spans"):
        table(feed, "newest_spans.csv", column_config={
            "start_time": st.column_config.DatetimeColumn("Start (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "developer_id": "Developer", "session_id": "Session", "span_kind": "Kind", "span": "Span", "model": "Model",
            "status": "Status", "latency_ms": st.column_config.NumberColumn("Latency (ms)", format="%.0f"),
            "tokens_in": st.column_config.NumberColumn("Tokens in", format="localized"),
            "tokens_out": st.column_config.NumberColumn("Tokens out", format="localized"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.4f"),
            "error_message": "Error", "span_id": "Span id",
        })


live_panel()

if not require_user().scoped:  # rules name people and their budget amounts
    with st.expander("Alert rules", icon="🔔"):
        rules_editor(key="live_rules")
