"""Tools: most used tools, success and failure, latency, tool chains, and tool types."""
from __future__ import annotations

import altair as alt
import streamlit as st

from pages._common import chart, current_filters, fmt_int, fmt_pct, no_rows, period_label, query_soon, table

CHAIN_TOOLS = 15

filters = current_filters()
st.title("Tools")
st.caption(f"{period_label(filters)} (UTC). Tool calls are TOOL spans; a model filter keeps the calls "
           "made by requests to that model.")

# Every query starts now (one per core at a time); each is read where it is drawn.
usage_soon, types_soon = query_soon("tools_usage", filters), query_soon("tools_by_type", filters)
kpis_soon, chains_soon = query_soon("tools_kpis", filters), query_soon("tools_chains", filters, top=CHAIN_TOOLS)
usage = usage_soon.result()
if no_rows(usage, "tool calls"):
    st.stop()
types = types_soon.result()
kpis = kpis_soon.result().iloc[0]

cols = st.columns(5)
cols[0].metric("Tool calls", fmt_int(kpis["calls"]), border=True)
cols[1].metric("Distinct tools", fmt_int(kpis["tools"]), border=True)
cols[2].metric("Failure rate", fmt_pct(kpis["failure_rate"]), border=True,
               help=f"{fmt_int(kpis['failures'])} failed calls.")
cols[3].metric("Edit acceptance", fmt_pct(kpis["acceptance_rate"]), border=True,
               help=f"Accepted share of {fmt_int(kpis['edits'])} Edit/Write/MultiEdit/NotebookEdit calls.")
cols[4].metric("Most used", usage["tool"].iloc[0], border=True)

tool_axis = alt.Y("tool:N", title=None, sort=usage["tool"].tolist(), axis=alt.Axis(labelLimit=220))
height = 24 * len(usage)
left, right = st.columns(2)
with left:
    st.subheader("Most used tools")
    outcomes = usage.melt(id_vars=["tool", "failure_rate"], value_vars=["successes", "failures"],
                          var_name="outcome", value_name="count")
    chart(
        alt.Chart(outcomes).mark_bar().encode(
            alt.X("count:Q", title="Calls", stack=True),
            tool_axis,
            alt.Color("outcome:N", title="Outcome", scale=alt.Scale(domain=["successes", "failures"],
                                                                    range=["#54A24B", "#E45756"])),
            tooltip=["tool:N", "outcome:N", alt.Tooltip("count:Q", title="Calls", format=","),
                     alt.Tooltip("failure_rate:Q", title="Failure rate", format=".1%")],
        ).properties(height=height)
    )
with right:
    st.subheader("Latency by tool")
    # a log axis cannot place 0 ms: tools whose spans carry no duration are left out of the chart
    base = alt.Chart(usage).transform_filter("datum.p50_ms > 0").encode(tool_axis)
    tooltip = ["tool:N", alt.Tooltip("p50_ms:Q", title="p50 (ms)", format=",.0f"),
               alt.Tooltip("p95_ms:Q", title="p95 (ms)", format=",.0f"), alt.Tooltip("calls:Q", format=",")]
    chart(
        (base.mark_rule(color="#9ecae9", strokeWidth=3).encode(
            alt.X("p50_ms:Q", title="Latency (ms, log scale), p50 → p95 (≈)", scale=alt.Scale(type="log")),
            alt.X2("p95_ms:Q"), tooltip=tooltip)
         + base.mark_point(filled=True, color="#4C78A8", size=60).encode(alt.X("p50_ms:Q"), tooltip=tooltip)
         + base.mark_point(filled=True, color="#E45756", shape="diamond", size=60).encode(alt.X("p95_ms:Q"),
                                                                                        tooltip=tooltip)
         ).properties(height=height)
    )
    st.caption("Blue dot: p50; red diamond: p95 (≈ from a log histogram, within ±6%).")

st.subheader("Tool chains")
st.caption(f"Which tool follows which within a session (consecutive tool calls by start time), among the "
           f"{CHAIN_TOOLS} most used tools. Colour: share of the row tool's next calls.")
chains = chains_soon.result()
if not no_rows(chains, "consecutive tool calls"):
    order = [t for t in usage["tool"] if t in set(chains["tool"]) | set(chains["next_tool"])]
    chart(
        alt.Chart(chains).mark_rect().encode(
            alt.X("next_tool:N", title="Next tool", sort=order, axis=alt.Axis(labelAngle=-40, labelLimit=200, labelOverlap=False)),
            alt.Y("tool:N", title="Tool", sort=order, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            alt.Color("share:Q", title="Share", scale=alt.Scale(scheme="purples"), legend=alt.Legend(format="%")),
            tooltip=[alt.Tooltip("tool:N", title="From"), alt.Tooltip("next_tool:N", title="To"),
                     alt.Tooltip("transitions:Q", format=","), alt.Tooltip("share:Q", format=".1%")],
        ).properties(height=28 * len(order))
    )

st.subheader("By tool type")
left, right = st.columns(2)
with left:
    chart(
        alt.Chart(types).mark_bar().encode(
            alt.X("calls:Q", title="Calls"),
            alt.Y("tool_type:N", title=None, sort="-x"),
            alt.Color("failure_rate:Q", title="Failure rate", scale=alt.Scale(scheme="orangered"),
                      legend=alt.Legend(format="%")),
            tooltip=[alt.Tooltip("tool_type:N", title="Type"), alt.Tooltip("calls:Q", format=","),
                     alt.Tooltip("tools:Q", title="Distinct tools"),
                     alt.Tooltip("failure_rate:Q", title="Failure rate", format=".1%"),
                     alt.Tooltip("p50_ms:Q", title="p50 (ms)", format=",.0f"),
                     alt.Tooltip("p95_ms:Q", title="p95 (ms)", format=",.0f")],
        ).properties(height=30 * len(types))
    )
with right:
    table(types, "tool_types.csv", column_config={
        "tool_type": "Type", "calls": st.column_config.NumberColumn("Calls", format="localized"),
        "tools": "Tools", "failures": "Failures",
        "failure_rate": st.column_config.NumberColumn("Failure rate", format="percent"),
        "p50_ms": st.column_config.NumberColumn("p50 ≈ (ms)", format="%.0f"),
        "p95_ms": st.column_config.NumberColumn("p95 ≈ (ms)", format="%.0f"),
    })

st.subheader("All tools")
table(usage, "tools.csv", column_config={
    "failure_rate": st.column_config.NumberColumn("failure_rate", format="percent"),
    "p50_ms": st.column_config.NumberColumn("p50_ms", format="%.0f"),
    "p95_ms": st.column_config.NumberColumn("p95_ms", format="%.0f"),
})
