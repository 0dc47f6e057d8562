"""Models: latency, token patterns, errors, cost per model and per 1k tokens, caching, acceptance."""
from __future__ import annotations

import altair as alt
import streamlit as st

from pages._common import chart, current_filters, model_color_scale, no_rows, period_label, query_soon, table

filters = current_filters()
st.title("Models")
st.caption(f"{period_label(filters)} (UTC). Latency and tokens per request cover requests (model calls with usage).")

# Every query starts now (one per core at a time); each is read where it is drawn.
summary_soon, histogram_soon = query_soon("models_summary", filters), query_soon("models_latency_histogram", filters)
errors_soon, acceptance_soon = query_soon("models_errors", filters), query_soon("models_acceptance", filters)
summary = summary_soon.result()
if no_rows(summary, "model usage"):
    st.stop()
colors = model_color_scale(summary["model"])
model_axis = alt.Y("model:N", title=None, sort=summary["model"].tolist(), axis=alt.Axis(labelLimit=220))
row_height = 30 * len(summary)


def tokens_per_request(field: str, direction: str, color: str) -> alt.Chart:
    """One direction's average tokens per request per model, on its own axis (on a shared one the
    completion bars were ~1/170 of the prompt bars, invisible)."""
    return alt.Chart(summary).mark_bar(color=color).encode(
        alt.X(f"{field}:Q", title=f"Average {direction} tokens per request"),
        model_axis,
        tooltip=["model:N", alt.Tooltip(f"{field}:Q", title=f"Avg {direction} tokens", format=",.0f")],
    ).properties(height=22 * len(summary))


# --- latency ---
st.subheader("Latency")
left, right = st.columns([1, 1])
with left:
    # the layers take their data from the layer chart (Altair hashes the text of a shared data frame)
    base = alt.Chart().encode(model_axis, alt.Color("model:N", scale=colors, legend=None))
    tooltip = ["model:N"] + [alt.Tooltip(f"{p}_ms:Q", title=f"{p} (ms)", format=",.0f")
                             for p in ("p05", "p25", "p50", "p75", "p95", "p99")]
    whisker = base.mark_rule().encode(alt.X("p05_ms:Q", title="Request latency (ms, log scale)",
                                            scale=alt.Scale(type="log")), alt.X2("p95_ms:Q"), tooltip=tooltip)
    box = base.mark_bar(size=18).encode(alt.X("p25_ms:Q"), alt.X2("p75_ms:Q"), tooltip=tooltip)
    median = base.mark_tick(color="white", size=18, thickness=2).encode(alt.X("p50_ms:Q"), tooltip=tooltip)
    p99 = base.mark_point(shape="diamond", filled=True).encode(alt.X("p99_ms:Q"), tooltip=tooltip)
    chart(alt.layer(whisker, box, median, p99, data=summary).properties(height=row_height))
    st.caption("Box: p25–p75 with the median; whiskers: p5–p95; diamond: p99. "
               "Quantiles ≈ from a log histogram, within ±6%.")
with right:
    table(summary[["model", "requests", "p50_ms", "p95_ms", "p99_ms"]], "model_latency.csv", column_config={
        "model": "Model", "requests": st.column_config.NumberColumn("Requests", format="localized"),
        "p50_ms": st.column_config.NumberColumn("p50 ≈ (ms)", format="%.0f"),
        "p95_ms": st.column_config.NumberColumn("p95 ≈ (ms)", format="%.0f"),
        "p99_ms": st.column_config.NumberColumn("p99 ≈ (ms)", format="%.0f"),
    })

histogram = histogram_soon.result()
chart(
    alt.Chart(histogram).mark_bar(opacity=0.85).encode(
        alt.X("bin_low_ms:Q", bin="binned", title="Request latency (ms, log scale)", scale=alt.Scale(type="log")),
        alt.X2("bin_high_ms:Q"),
        alt.Y("requests:Q", title="Requests", stack="zero"),
        alt.Color("model:N", scale=model_color_scale(histogram["model"]), title="Model"),
        tooltip=["model:N", alt.Tooltip("bin_low_ms:Q", title="From (ms)", format=",.0f"),
                 alt.Tooltip("bin_high_ms:Q", title="To (ms)", format=",.0f"), alt.Tooltip("requests:Q", format=",")],
    ).properties(height=220)
)

# --- tokens and cost ---
left, right = st.columns(2)
with left:
    st.subheader("Tokens per request")
    st.caption("Prompts and completions on their own axes: completions are far shorter.")
    chart(tokens_per_request("avg_tokens_in", "prompt (in)", "#4C78A8"))
    chart(tokens_per_request("avg_tokens_out", "completion (out)", "#F58518"))
with right:
    st.subheader("Cache hit ratio")
    chart(
        alt.Chart(summary).mark_bar().encode(
            alt.X("cache_hit_ratio:Q", title="Cache read tokens / tokens in", axis=alt.Axis(format="%"),
                  scale=alt.Scale(domain=[0, 1])),
            model_axis,
            alt.Color("model:N", scale=colors, legend=None),
            tooltip=["model:N", alt.Tooltip("cache_hit_ratio:Q", title="Cache hit ratio", format=".1%"),
                     alt.Tooltip("cache_read_tokens:Q", title="Cache read tokens", format=","),
                     alt.Tooltip("tokens_in:Q", title="Tokens in", format=",")],
        ).properties(height=row_height)
    )

left, right = st.columns(2)
with left:
    st.subheader("Cost per model")
    chart(
        alt.Chart(summary).mark_bar().encode(
            alt.X("cost_usd:Q", title="Cost (USD)", axis=alt.Axis(format="$,.2f")),
            model_axis,
            alt.Color("model:N", scale=colors, legend=None),
            tooltip=["model:N", alt.Tooltip("cost_usd:Q", title="Cost (USD)", format="$,.2f"),
                     alt.Tooltip("cost_per_request:Q", title="Per request (USD)", format="$,.4f"),
                     alt.Tooltip("requests:Q", format=",")],
        ).properties(height=row_height)
    )
with right:
    st.subheader("Cost per 1k tokens")
    chart(
        alt.Chart(summary).mark_bar().encode(
            alt.X("cost_per_1k_tokens:Q", title="Cost per 1,000 tokens (USD)", axis=alt.Axis(format="$,.4f")),
            model_axis,
            alt.Color("model:N", scale=colors, legend=None),
            tooltip=["model:N", alt.Tooltip("cost_per_1k_tokens:Q", title="USD per 1k tokens", format="$,.4f")],
        ).properties(height=row_height)
    )
if summary["unpriced"].any():
    st.warning("No price is known for: " + ", ".join(summary.loc[summary["unpriced"], "model"])
               + ". Their cost is left empty (never counted as 0).", icon="💸")

# --- errors and acceptance ---
left, right = st.columns(2)
with left:
    st.subheader("Errors")
    errors = errors_soon.result()
    chart(
        alt.Chart(summary).mark_bar().encode(
            alt.X("error_rate:Q", title="Error rate (share of model calls)", axis=alt.Axis(format="%")),
            model_axis,
            alt.Color("model:N", scale=colors, legend=None),
            tooltip=["model:N", alt.Tooltip("error_rate:Q", title="Error rate", format=".2%"),
                     alt.Tooltip("errors:Q", format=","), alt.Tooltip("calls:Q", title="Model calls", format=",")],
        ).properties(height=row_height)
    )
    if not no_rows(errors, "errors"):
        table(errors, "model_errors.csv", column_config={
            "model": "Model", "error_type": "Error type", "errors": st.column_config.NumberColumn("Errors"),
            "example_message": "Example message",
            "last_seen": st.column_config.DatetimeColumn("Last seen (UTC)", format="YYYY-MM-DD HH:mm"),
        })
with right:
    st.subheader("Edit acceptance")
    acceptance = acceptance_soon.result()
    if not no_rows(acceptance, "code edits"):
        chart(
            alt.Chart(acceptance).mark_bar().encode(
                alt.X("acceptance_rate:Q", title="Accepted edits / edits", axis=alt.Axis(format="%"),
                      scale=alt.Scale(domain=[0, 1])),
                alt.Y("model:N", title=None, sort="-x", axis=alt.Axis(labelLimit=220)),
                alt.Color("model:N", scale=model_color_scale(acceptance["model"]), legend=None),
                tooltip=["model:N", alt.Tooltip("acceptance_rate:Q", title="Acceptance", format=".1%"),
                         alt.Tooltip("edits:Q", format=","), alt.Tooltip("accepted_lines:Q", title="Accepted lines", format=",")],
            ).properties(height=30 * len(acceptance))
        )
        st.caption("An edit (Edit/Write/MultiEdit tool call) counts for the model of the request that made it.")

st.subheader("All model metrics")
table(summary, "models.csv", column_config={
    **{c: st.column_config.NumberColumn(c, format="%.0f") for c in summary.columns if c.endswith("_ms")},
    **{c: st.column_config.NumberColumn(c, format="%.0f") for c in summary.columns if "tokens" in c},
    "cost_usd": st.column_config.NumberColumn("cost_usd", format="dollar"),
    "cost_per_request": st.column_config.NumberColumn("cost_per_request", format="$%.4f"),
    "cost_per_1k_tokens": st.column_config.NumberColumn("cost_per_1k_tokens", format="$%.4f"),
    "error_rate": st.column_config.NumberColumn("error_rate", format="percent"),
    "cache_hit_ratio": st.column_config.NumberColumn("cache_hit_ratio", format="percent"),
})
