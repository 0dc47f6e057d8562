"""Cost: trend and month-end projection, budgets with burn-down, cost by developer/team/model, savings."""
from __future__ import annotations

from dataclasses import asdict

import altair as alt
import pandas as pd
import streamlit as st

from lens_etl import budgets
from lens_etl.budgets import SCOPES, Budget, BudgetError
from lens_etl.pricing import model_rates
from lens_etl.savings import RETRY_WITHIN_S, SHORT_PROMPT_OPTIONS
from pages._alerts_ui import rules_editor
from pages._auth import audit_event, can_edit_budgets as role_can_edit_budgets, require_user
from pages._common import (
    UNPRICED, USD_AXIS, chart, current_filters, delta_pct, filter_options, fmt_int, fmt_pct, fmt_usd, model_color_scale,
    no_rows, period_label, query, query_soon, table, time_x,
)
from pages._settings import app_settings

EDITOR_KEY = "budget_editor"
SAVED_KEY = "budget_saved_message"
SHORT_PROMPT_KEY = "cost_short_prompt"
DEFAULT_SHORT_PROMPT = 20_000
RATE_PARAMS = ("rate_models", "rate_providers", "rate_input", "rate_cache_read", "rate_cache_write", "rate_output")
LABEL_LIMIT = 220  # px for a model or developer name on a chart axis (the theme's default cut model names)
STATUS_ICONS = {"over": "🔴 over", "at risk": "🟠 at risk", "on track": "🟢 on track"}


def can_edit_budgets() -> bool:
    """Whether this user may change budgets: admins only (analysts and developers read)."""
    return role_can_edit_budgets()


def price_params(models: pd.DataFrame) -> dict[str, list]:
    """genai-prices per-token rates (first tier) of the models in use, as bound list parameters."""
    params: dict[str, list] = {name: [] for name in RATE_PARAMS}
    for model, provider in models[["model", "provider"]].itertuples(index=False):
        tiers = model_rates(model, provider if isinstance(provider, str) else None)
        if tiers:
            rates = tiers[0]
            values = (model, provider, rates.uncached_input, rates.cache_read, rates.cache_write, rates.output)
            for name, value in zip(RATE_PARAMS, values):
                params[name].append(value)
    return params


def utc_days(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Dates as UTC instants, so the browser's timezone cannot shift the axis."""
    return df.assign(**{column: pd.to_datetime(df[column]).dt.tz_localize("UTC")})


def series(base: alt.Chart, name: str, scale: alt.Scale) -> alt.Chart:
    """`base` as one named series of a layered chart, coloured through the layers' shared legend."""
    return base.transform_calculate(series=f"'{name}'").encode(
        alt.Color("series:N", scale=scale, title=None, legend=alt.Legend(orient="top"))
    )


def legend(*entries: tuple[str, str]) -> alt.Scale:
    """A colour scale from (series name, colour) pairs, in legend order."""
    return alt.Scale(domain=[name for name, _ in entries], range=[color for _, color in entries])


def suggestion(title: str, text: str, rows: pd.DataFrame, filename: str, column_config: dict) -> None:
    """One suggestion: what to change, its estimated monthly saving (from SQL), and the rows behind it."""
    with st.container(border=True):
        saving = rows["total_monthly_saving_usd"].iloc[0] if not rows.empty else 0.0
        head, value = st.columns([4, 1])
        head.markdown(f"**{title}**  \n{text}")
        value.metric("Est. saving / month", fmt_usd(saving))
        if not rows.empty:
            totals = [c for c in rows.columns if c.startswith("total_")]
            table(rows.drop(columns=totals), filename, column_config=column_config)


settings = app_settings()
filters = current_filters()
st.title("Cost")

# The queries that need no other's result start together; each is read where it is drawn.
kpis_soon, before_soon = query_soon("cost_kpis", filters), query_soon("cost_kpis", filters.previous())
developers_soon, teams_soon = query_soon("cost_by_developer", filters), query_soon("cost_by_team", filters)
models_soon = query_soon("cost_models", filters)

# --- KPIs ---
kpis = kpis_soon.result().iloc[0]
before = before_soon.result().iloc[0]
as_of = kpis["as_of"].date()
saved = budgets.load(settings)
shown = budgets.visible_to(saved, require_user())
status_soon = query_soon("cost_budget_status", as_of=as_of, **budgets.sql_params(shown))
trend_soon = query_soon(
    "cost_trend", filters, as_of=as_of, run_rate_usd=float(kpis["run_rate_usd"]),
    run_rate_low_usd=float(kpis["run_rate_low_usd"]), run_rate_high_usd=float(kpis["run_rate_high_usd"]),
)
st.caption(
    f"{period_label(filters)} (UTC). Month-to-date and the projection are for {as_of:%B %Y} as of {as_of:%Y-%m-%d}, "
    "the last day with data in the range; the run-rate is the mean daily spend of the 7 days up to it."
)
if kpis["window_requests"] == 0:
    st.info("No model calls match these filters. Widen the time range or clear a filter in the sidebar.", icon="🔎")
cols = st.columns(5)
cols[0].metric("Spend in range", fmt_usd(kpis["window_usd"]), delta_pct(kpis["window_usd"], before["window_usd"]),
               delta_color="inverse", border=True, help=f"Previous period: {fmt_usd(before['window_usd'])}.")
cols[1].metric("Month to date", fmt_usd(kpis["mtd_usd"]), border=True,
               help=f"{kpis['month_start']:%Y-%m-%d} to {as_of:%Y-%m-%d}, whatever the range's start.")
cols[2].metric("Run-rate per day", fmt_usd(kpis["run_rate_usd"]), border=True,
               help=f"7-day mean; days ranged from {fmt_usd(kpis['run_rate_low_usd'])} to {fmt_usd(kpis['run_rate_high_usd'])}.")
# a short label: "Projected month end" is cut to "Projected month …" in a fifth of a laptop's width
cols[3].metric("By month end", fmt_usd(kpis["projected_usd"]), border=True,
               help=f"Projected spend for the month: month-to-date + run-rate × {fmt_int(kpis['days_left'])} days left; range "
                    f"{fmt_usd(kpis['projected_low_usd'])} – {fmt_usd(kpis['projected_high_usd'])}.")
cols[4].metric("Unpriced spans", fmt_int(kpis["unpriced_spans"]), border=True,
               help="Model calls of models without a known price: their cost is unknown, not counted as 0.")

# --- trend and projection ---
st.subheader("Daily spend and month-end projection")
trend = utc_days(trend_soon.result(), "day")
spend = legend(("Actual spend", "#4C78A8"), ("Run-rate projection", "#F58518"), ("7-day min–max", "#FDD0A2"))
day_tip = alt.Tooltip("day:T", title="Day (UTC)", format="%Y-%m-%d", timeUnit="utcyearmonthdate")
# the layers take their data from the layer chart: Altair hashes the text of a data frame the
# layers share (~35 ms each) to name them
base = alt.Chart().encode(time_x("day", "day"))
chart(alt.layer(
    series(base, "7-day min–max", spend).mark_area(opacity=0.6).encode(
        alt.Y("projected_low_usd:Q", title="Cost (USD per day)"), alt.Y2("projected_high_usd:Q"),
        tooltip=[day_tip, alt.Tooltip("projected_low_usd:Q", title="Low (USD)", format="$,.2f"),
                 alt.Tooltip("projected_high_usd:Q", title="High (USD)", format="$,.2f")],
    ),
    series(base, "Actual spend", spend).mark_bar().encode(
        alt.Y("cost_usd:Q", axis=alt.Axis(format="$,.2f")),
        tooltip=[day_tip, alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.2f"),
                 alt.Tooltip("requests:Q", title="Requests", format=",")],
    ),
    series(base, "Run-rate projection", spend).mark_line(strokeDash=[6, 4], strokeWidth=2).encode(
        alt.Y("projected_usd:Q"),
        tooltip=[day_tip, alt.Tooltip("projected_usd:Q", title="Projected (USD per day)", format="$,.2f")],
    ),
    data=trend,
).properties(height=300))

# The savings queries need the models' prices and the slider's value (drawn at the bottom, read
# from its key): started now, they run while the sections above them are drawn.
prices = price_params(models_soon.result())
short_tokens = st.session_state.get(SHORT_PROMPT_KEY, DEFAULT_SHORT_PROMPT)
downshift_soon = query_soon("cost_save_model_downshift", filters, short_prompt_tokens=short_tokens, **prices)
cache_soon, retries_soon = query_soon("cost_save_cache", filters, **prices), query_soon("cost_save_retries", filters, **prices)

# --- budgets ---
st.subheader(f"Budgets for {as_of:%B %Y}")
status = status_soon.result()
if SAVED_KEY in st.session_state:
    st.success(st.session_state.pop(SAVED_KEY), icon="💾")
if status.empty:
    st.info("No budgets yet. Add monthly budgets per developer, team or in total below." if can_edit_budgets()
            else "No budgets set that you can see.", icon="🎯")
else:
    st.caption("A budget counts all spend in its scope; the sidebar's filters do not narrow it.")
    for level, kind in (("over", st.error), ("at risk", st.warning)):
        hit = status[status["status"] == level]
        if not hit.empty:
            names = ", ".join(f"{r.scope} {r.name}" for r in hit.itertuples())
            kind(f"{len(hit)} budget(s) {level}: {names}.", icon="🚨" if level == "over" else "⚠️")
    left, right = st.columns([3, 2])
    with left:
        table(status.assign(status=status["status"].map(STATUS_ICONS)), "budgets.csv", column_config={
            "scope": "Scope", "name": "Name", "status": "Status",
            "monthly_usd": st.column_config.NumberColumn("Budget / month", format="$%.2f"),
            "mtd_usd": st.column_config.NumberColumn("Month to date", format="$%.2f"),
            "used_share": st.column_config.ProgressColumn("Used", format="percent", min_value=0, max_value=1),
            "expected_by_now_usd": st.column_config.NumberColumn("Even burn by now", format="$%.2f"),
            "run_rate_usd": st.column_config.NumberColumn("Run-rate / day", format="$%.2f"),
            "projected_usd": st.column_config.NumberColumn("Projected", format="$%.2f"),
        })
    with right:
        picked = st.selectbox("Burn-down of", shown, format_func=lambda b: f"{b.scope} · {b.name}", key="burndown_pick")
        burn = utc_days(query("cost_burndown", as_of=as_of, budget_scope=picked.scope, budget_name=picked.name,
                              budget_monthly_usd=picked.monthly_usd), "day")
        lines = legend(("Spent", "#4C78A8"), ("Projected", "#F58518"), ("Budget", "#D62728"))
        base = alt.Chart().encode(time_x("day", "day"))
        chart(alt.layer(
            series(base, "Spent", lines).mark_line(point=True).encode(
                alt.Y("spent_usd:Q", title="Cumulative cost (USD)", axis=alt.Axis(format=USD_AXIS)),
                tooltip=[day_tip, alt.Tooltip("spent_usd:Q", title="Spent (USD)", format="$,.2f")]),
            series(base, "Projected", lines).mark_line(strokeDash=[6, 4]).encode(
                alt.Y("projected_usd:Q"),
                tooltip=[day_tip, alt.Tooltip("projected_usd:Q", title="Projected (USD)", format="$,.2f")]),
            series(base, "Budget", lines).mark_line(strokeWidth=1.5).encode(
                alt.Y("budget_usd:Q"),
                tooltip=[alt.Tooltip("budget_usd:Q", title="Budget (USD)", format="$,.2f")]),
            data=burn,
        ).properties(height=260))

if can_edit_budgets():
    with st.expander("Edit budgets", expanded=status.empty, icon="✏️"):
        known = filter_options()
        st.caption(f"Teams: {', '.join(known['teams']) or '—'}. Developers: {', '.join(known['developers']) or '—'}. "
                   "A total budget needs no name. Delete a row to drop its budget.")
        rows = pd.DataFrame([asdict(b) for b in saved], columns=["scope", "name", "monthly_usd"])
        with st.form("budget_form", border=False):
            edited = st.data_editor(rows, key=EDITOR_KEY, num_rows="dynamic", hide_index=True, width="stretch", column_config={
                "scope": st.column_config.SelectboxColumn("Scope", options=list(SCOPES), required=True),
                "name": st.column_config.TextColumn("Team or developer"),
                "monthly_usd": st.column_config.NumberColumn("Monthly budget (USD)", min_value=0.01, format="$%.2f"),
            })
            submitted = st.form_submit_button("Save budgets", type="primary", key="budget_save")
        if submitted:
            try:
                path = budgets.save(settings, budgets.validate(edited.to_dict("records")))
                audit_event("budget_change", str(path), {"budgets": edited.to_dict("records")})
            except BudgetError as exc:
                st.error(str(exc))
            else:
                del st.session_state[EDITOR_KEY]  # the saved rows are the editor's new starting table
                st.session_state[SAVED_KEY] = f"Budgets saved to {path}."
                st.rerun()

if not require_user().scoped:  # rules name people and their budget amounts
    with st.expander("Alert rules (budgets, run-rate, anomalies)", icon="🔔"):
        rules_editor(key="cost_rules")

# --- cost by developer and team ---
left, right = st.columns(2)
with left:
    st.subheader("By developer")
    developers = developers_soon.result()
    if not no_rows(developers, "spend"):
        chart(alt.Chart(developers.head(15)).mark_bar().encode(
            alt.X("cost_usd:Q", title="Cost (USD)", axis=alt.Axis(format=USD_AXIS)),
            alt.Y("developer_id:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            alt.Color("team:N", title="Team"),
            tooltip=["developer_id:N", "team:N", alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.2f"),
                     alt.Tooltip("requests:Q", format=","), alt.Tooltip("cost_share:Q", title="Share", format=".1%")],
        ).properties(height=alt.Step(24)))
        table(developers, "cost_by_developer.csv", column_config={
            "developer_id": "Developer", "team": "Team", "cost_usd": st.column_config.NumberColumn("Cost", format="$%.2f"),
            "requests": st.column_config.NumberColumn("Requests", format="localized"),
            "cost_per_request_usd": st.column_config.NumberColumn("Cost / request", format="$%.4f"),
            "cost_share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
        })
with right:
    st.subheader("By team")
    teams = teams_soon.result()
    if not no_rows(teams, "spend"):
        chart(alt.Chart(teams).mark_bar().encode(
            alt.X("cost_usd:Q", title="Cost (USD)", axis=alt.Axis(format=USD_AXIS)),
            alt.Y("team:N", sort="-x", title=None), alt.Color("team:N", legend=None),
            tooltip=["team:N", alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.2f"),
                     alt.Tooltip("developers:Q", format=","), alt.Tooltip("cost_share:Q", title="Share", format=".1%")],
        ).properties(height=alt.Step(30)))
        table(teams, "cost_by_team.csv", column_config={
            "team": "Team", "cost_usd": st.column_config.NumberColumn("Cost", format="$%.2f"),
            "requests": st.column_config.NumberColumn("Requests", format="localized"),
            "developers": st.column_config.NumberColumn("Developers", format="localized"),
            "cost_share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
        })

# --- model comparison ---
st.subheader("Model comparison")
models = models_soon.result()
if not no_rows(models, "model calls"):
    left, right = st.columns([2, 3])
    with left:
        chart(alt.Chart(models).mark_bar().encode(
            alt.X("cost_per_1k_tokens_usd:Q", title="Cost per 1k tokens (USD)", axis=alt.Axis(format="$,.4f")),
            alt.Y("model:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            alt.Color("model:N", scale=model_color_scale(models["model"]), legend=None),
            tooltip=["model:N", "provider:N", alt.Tooltip("cost_per_1k_tokens_usd:Q", title="USD / 1k tokens", format="$,.4f"),
                     alt.Tooltip("cost_per_request_usd:Q", title="USD / request", format="$,.4f"),
                     alt.Tooltip("cost_share:Q", title="Share of cost", format=".1%")],
        ).properties(height=alt.Step(28)))
    with right:
        unknown = f"{UNPRICED}: the model has no known price, so its cost is unknown (not $0)"
        table(models, "cost_by_model.csv", placeholder=UNPRICED, column_config={
            "model": "Model", "provider": "Provider", "requests": st.column_config.NumberColumn("Requests", format="localized"),
            "tokens": st.column_config.NumberColumn("Tokens", format="compact"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.2f", help=unknown),
            "cost_per_request_usd": st.column_config.NumberColumn("Cost / request", format="$%.4f", help=unknown),
            "cost_per_1k_tokens_usd": st.column_config.NumberColumn("Cost / 1k tokens", format="$%.4f", help=unknown),
            "cache_hit_ratio": st.column_config.NumberColumn("Cache hit ratio", format="percent"),
            "cost_share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
            "unpriced_requests": st.column_config.NumberColumn("Unpriced requests", format="localized"),
        })
        unpriced = models.loc[models["cost_usd"].isna(), "model"]
        if len(unpriced):
            st.caption(f"Unpriced (no known price; cost unknown, left out of the totals): {', '.join(unpriced)}.")

# --- optimization suggestions ---
st.subheader("Optimization suggestions")
st.caption("Estimated monthly savings scale the range's numbers to 30 days of data, at genai-prices rates.")
money = {name: st.column_config.NumberColumn(label, format="$%.2f") for name, label in (
    ("cost_usd", "Cost now"), ("moved_cost_usd", "Cost if moved"), ("saving_usd", "Saving in range"),
    ("monthly_saving_usd", "Saving / month"), ("wasted_usd", "Wasted (est.)"))}
st.columns([2, 3])[0].select_slider(
    "Short prompt: fewer prompt tokens than", SHORT_PROMPT_OPTIONS, value=DEFAULT_SHORT_PROMPT,
    format_func=lambda n: f"{n:,}", key=SHORT_PROMPT_KEY,
    help="Claude Code's system prompt and tool list alone are 10-15k tokens.",
)
downshift = downshift_soon.result()
suggestion(
    "Send short prompts to a cheaper model",
    (f"{fmt_int(downshift['total_requests'].iloc[0])} requests under {short_tokens:,} prompt tokens went to "
     + ", ".join(f"{r.from_model} (could be {r.to_model})" for r in downshift.itertuples())
     + ": the same usage priced at the provider's next cheaper model in use."
     if not downshift.empty else
     f"No requests under {short_tokens:,} prompt tokens went to a provider's priciest model while a cheaper one is in use."),
    downshift, "savings_model_downshift.csv",
    {"provider": "Provider", "from_model": "From", "to_model": "To",
     "requests": st.column_config.NumberColumn("Requests", format="localized"), **money},
)
cache = cache_soon.result()
suggestion(
    "Raise the prompt-cache hit ratio",
    (f"{len(cache)} developer(s) read less from the cache than the top quarter of developers "
     f"({fmt_pct(cache['target_ratio'].iloc[0])} of prompt tokens). Keeping long-lived context stable "
     "(CLAUDE.md, tool lists) lets more of each prompt be billed at the cache-read price."
     if not cache.empty else "Every developer's cache hit ratio is at or above the top quarter's."),
    cache, "savings_cache.csv",
    {"developer_id": "Developer", "hit_ratio": st.column_config.NumberColumn("Hit ratio", format="percent"),
     "target_ratio": st.column_config.NumberColumn("Target", format="percent"),
     "extra_cached_tokens": st.column_config.NumberColumn("Extra cached tokens", format="compact"), **money},
)
retries = retries_soon.result()
suggestion(
    "Stop paying twice for failed model calls",
    (f"{fmt_int(retries['total_failed'].iloc[0])} model calls failed and {fmt_int(retries['total_retried'].iloc[0])} "
     f"were retried within {RETRY_WITHIN_S // 60} minutes. Failed calls rarely report usage, so each is assumed to have "
     "cost its prompt once (its retry's prompt at the failed model's rates), an upper bound. Back-off, quotas "
     "and fallbacks for the top error types avoid it."
     if not retries.empty else "No failed model calls in this range."),
    retries, "savings_retries.csv",
    {"error_type": "Error type", "failed_calls": st.column_config.NumberColumn("Failed", format="localized"),
     "retried": st.column_config.NumberColumn("Retried", format="localized"),
     "known_cost_usd": st.column_config.NumberColumn("Reported cost", format="$%.2f"),
     "est_prompt_cost_usd": st.column_config.NumberColumn("Prompt sent again", format="$%.2f"), **money},
)
