"""Alert widgets the pages call: firing alerts, their history, the rules editor, anomaly marks."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lens_etl import alerts
from pages._auth import audit_event, can_edit_rules as role_can_edit_rules, current_user
from pages._common import no_rows, query, table
from pages._settings import app_settings

SEVERITY_BADGES = {"critical": ":red-badge[🔴 critical]", "warning": ":orange-badge[🟠 warning]", "info": ":blue-badge[🔵 info]"}
ANOMALY_Z = 3.5
ERROR_RATE_FLOOR = 0.05  # an error-rate anomaly is at least 3.5 × 5 = 17.5 points off its series' median
RULE_SAVED_KEY = "alert_rule_saved"


def can_edit_rules() -> bool:
    """Whether this user may change alert rules: admins only (analysts and developers read)."""
    return role_can_edit_rules()


def has_rules() -> bool:
    """Whether any alert rule is configured (else Live shows its built-in checks)."""
    return bool(alerts.load_rules(app_settings()))


def firing_alerts_panel() -> None:
    """The alerts firing now, each with its numbers and a link to the screen that explains it."""
    firing = query("alerts_firing")
    if firing.empty:
        rules = alerts.load_rules(app_settings())
        st.success(f"Nothing firing ({len(rules)} rule{'s' if len(rules) != 1 else ''}).", icon="✅")
        return
    for row in firing.itertuples():
        st.markdown(f"{SEVERITY_BADGES.get(row.severity, row.severity)} **{row.rule_id}** · {row.message} "
                    f"· since {row.firing_since:%Y-%m-%d %H:%M} UTC · [explain]({row.link})")


def alert_history_table(limit: int = 100) -> None:
    """Firings, resolutions and rule changes, newest first."""
    events = query("alerts_history", limit=limit)
    if not no_rows(events, "alert events"):
        table(events, "alert_history.csv", column_config={
            "event_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "event": "Event", "severity": "Severity", "rule_id": "Rule", "subject": "Subject", "message": "What",
            "actor": "By", "link": st.column_config.LinkColumn("Explain", display_text="open"),
        })


def _actor() -> str:
    user = current_user()
    return user.username if user else "app"


def rules_editor(key: str = "alert_rules") -> None:
    """The rules as a table, a form to add one and a picker to remove one (admins only)."""
    settings = app_settings()
    rules = alerts.load_rules(settings)
    if RULE_SAVED_KEY in st.session_state:
        st.success(st.session_state.pop(RULE_SAVED_KEY), icon="💾")
    st.dataframe(pd.DataFrame([{"id": r.id, "rule": r.describe(), "from": r.origin} for r in rules],
                              columns=["id", "rule", "from"]), hide_index=True, width="stretch")
    if not can_edit_rules():
        st.caption("Only admins can change alert rules.")
        return
    with st.form(f"{key}_add", border=True):
        st.markdown("**Add a rule**")
        left, mid, right = st.columns(3)
        kind = left.selectbox("Type", list(alerts.RULE_TYPES), key=f"{key}_type")
        scope = mid.selectbox("Scope", ["total", "developer", "team", "model", "service", "source", "project"], key=f"{key}_scope")
        name = right.text_input("Name (empty: each one)", key=f"{key}_name")
        threshold = left.number_input("Threshold (empty: the type's default, or the budget for cost)", value=None,
                                      min_value=0.0, format="%g", key=f"{key}_threshold")
        window = mid.selectbox("Cost period", alerts.WINDOWS, key=f"{key}_window")
        minutes = right.number_input("Recent window (minutes)", value=60, min_value=1, key=f"{key}_minutes")
        severity = left.selectbox("Severity", alerts.SEVERITIES, index=1, key=f"{key}_severity")
        submitted = st.form_submit_button("Add rule", type="primary", key=f"{key}_submit")
    if submitted:
        data = {"type": kind, "scope": scope, "name": name, "window": window, "minutes": minutes, "severity": severity}
        if threshold is not None:
            data["threshold"] = threshold
        try:
            rule = alerts.add_rule(settings, alerts.make_rule(data), _actor())
        except alerts.AlertError as exc:
            st.error(str(exc))
        else:
            audit_event("rule_change", rule.id, {"op": "add", "rule": rule.describe()})
            st.session_state[RULE_SAVED_KEY] = f"Added rule {rule.id}."
            st.rerun()
    removable = [r.id for r in rules if r.origin != "lens.toml"]
    if removable:
        pick, button = st.columns([3, 1], vertical_alignment="bottom")
        chosen = pick.selectbox("Remove a rule", removable, key=f"{key}_remove_pick")
        if button.button("Remove", key=f"{key}_remove"):
            removed = alerts.remove_rule(settings, chosen, _actor())
            audit_event("rule_change", chosen, {"op": "remove", "rule": removed.describe()})
            st.session_state[RULE_SAVED_KEY] = f"Removed rule {chosen}."
            st.rerun()


def robust_z(values: pd.Series, floor: float = 1e-9) -> pd.Series:
    """(x - median) / (1.4826 × MAD), the MAD floored (at 10% of the median and at `floor`, in the
    series' unit) so a flat series does not flag every wiggle."""
    x = values.astype(float)
    median = float(np.nanmedian(x)) if x.notna().any() else 0.0
    mad = float(np.nanmedian(np.abs(x - median))) if x.notna().any() else 0.0
    scale = max(1.4826 * mad, 0.1 * abs(median), floor)
    return (x - median) / scale


def anomaly_points(series_df: pd.DataFrame, x: str = "bucket", y: str = "value", threshold: float = ANOMALY_Z,
                   x_encoding: alt.X | None = None, floor: float = 1e-9, y_format: str = ",.4g") -> alt.Chart:
    """A layer of red points where the series' robust z-score exceeds the threshold (either side);
    pass the base chart's `x_encoding` so the points sit on its axis, and a `floor` for a series
    that is mostly zero (an error rate: one failed call must not look like an anomaly)."""
    marked = series_df.assign(robust_z=robust_z(series_df[y], floor) if len(series_df) else pd.Series(dtype=float))
    marked = marked[marked["robust_z"].abs() > threshold]
    return alt.Chart(marked).mark_point(color="#D62728", filled=True, size=90).encode(
        x_encoding if x_encoding is not None else alt.X(f"{x}:T"), alt.Y(f"{y}:Q"),
        tooltip=[alt.Tooltip(f"{x}:T", title="UTC", formatType="utc"), alt.Tooltip(f"{y}:Q", format=y_format),
                 alt.Tooltip("robust_z:Q", title="Robust z", format=".1f")],
    )
