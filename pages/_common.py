"""Shared UI helpers: the filters, named SQL queries, colours, formats and empty states.

Every number a page shows comes from `query(name, filters)`, which runs
`sql/screens/<name>.sql` with the filters bound as `$parameters` on a cursor of one
cached read-only DuckDB connection (reopened when ingest swaps in a new file). The
logged-in user's row scope is set on that cursor (the views filter through it, see
sql/00_spans.sql) and forced into the bound filters; nothing runs before login.
"""
from __future__ import annotations

import functools
import math
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import altair as alt
import duckdb
import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from lens_etl.errors import LensError
from lens_etl.users import User
from lens_etl.warehouse import FRESH_CATALOG, connect_fresh, refresh_from_lake_url, sibling_cursor
from pages._auth import audit_event, filters_detail, require_user
from pages._settings import app_settings

SCREENS_DIR = Path(__file__).resolve().parent.parent / "sql" / "screens"
DIMENSIONS = ("developers", "teams", "models", "services", "repos")
URL_KEYS = {"developers": "developer", "teams": "team", "models": "model", "services": "service", "repos": "repo"}
LABELS = {"developers": "Developer", "teams": "Team", "models": "Model", "services": "Service", "repos": "Repo"}
PRESETS = {"24h": "Latest day (24 h)", "7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days",
           "all": "All data", "custom": "Custom dates"}
PRESET_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90}
DEFAULT_PRESET = "30d"
FILTERS_KEY = "lens_filters"
PRESET_KEY = "lens_range"
DATES_KEY = "lens_dates"
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D",
           "#FF9DA6", "#2E86AB", "#8CD17D", "#B6992D", "#499894", "#D37295", "#79706E", "#A0CBE8"]
NO_MODEL_COLOR = "#BAB0AC"
NO_TEAM = "(no team)"  # an unmapped developer's team, as Overview and Cost show it
MISSING = "—"  # a missing value in a table
UNPRICED = "unpriced"  # a model with no known price: its cost is unknown, never 0
USD_AXIS = "$,.2~f"  # $0.25, $1, $1,200: whole dollars ("$,.0f") repeat "$0 $0 $1 $1" on a small day's ticks
DONUT_RADIUS = "max(min(width, height) / 2 - 4, 8)"  # Vega expression over the plot's size
DONUT_HOLE = 0.55  # the hole, as a share of the outer radius
EMPTY_HELP = (
    "Load spans with `make ingest FILES=export.jsonl` (or `python -m lens_etl ingest files export.jsonl`); "
    "`make run` loads the bundled sample exports into an empty lake."
)
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")
_CURSOR_LOCK = threading.Lock()  # sessions run in threads; hand out cursors one at a time
NO_MATCH = "\x00(none)"  # a filter value no row has: a scoped user's filter outside their scope
ADMIN_QUERIES = ("audit_",)  # screen queries only admins may run
Scope = tuple[bool, tuple[str, ...], tuple[str, ...]]  # (scoped, developer ids, teams)


@dataclass(frozen=True)
class Filters:
    """The shared screen filters: an inclusive date range (UTC) and allowed values; empty = all."""

    start: date
    end: date
    developers: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    repos: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def params(self) -> dict[str, Any]:
        """The `$parameters` of `filtered_spans(...)`: the window is [start, end + 1 day)."""
        return {
            "start": datetime.combine(self.start, time()),
            "end": datetime.combine(self.end + timedelta(days=1), time()),
            **{name: list(getattr(self, name)) for name in DIMENSIONS},
        }

    def previous(self) -> Filters:
        """The window of the same length just before this one, same value filters."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))


# --- the query layer -------------------------------------------------------------------

def duckdb_path() -> Path:
    return app_settings().duckdb_path


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(path: str, mtime_ns: int) -> duckdb.DuckDBPyConnection:
    """One read-only connection per version of the file; a new mtime opens a new one."""
    return connect_fresh(Path(path), app_settings())


_LAKE_URL_LOCK = threading.Lock()


@st.cache_data(ttl=30, show_spinner=False)
def _lake_url_checked(url: str) -> bool:
    """At most every 30 s: the views rebuilt when the lake URL has a newer publication (the
    ingest runs elsewhere); a rebuilt file has a new mtime, so connection and results renew."""
    with _LAKE_URL_LOCK:
        return refresh_from_lake_url(app_settings())


def follow_lake_url() -> None:
    """With a lake URL, keep the views on its newest publication; an unreachable one stops the page
    with its one-line reason."""
    url = app_settings().lake_url
    if not url:
        return
    try:
        _lake_url_checked(url)
    except LensError as exc:
        st.error(str(exc))
        st.stop()


def screen_sql(name: str) -> str:
    path = SCREENS_DIR / f"{name}.sql"
    if not path.is_file():
        raise ValueError(f"no screen query {name!r} in {SCREENS_DIR}")
    return path.read_text(encoding="utf-8")


def bound_params(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The params the SQL names as `$name` (DuckDB rejects extra ones); a missing one is a bug."""
    names = set(_PARAM.findall(_COMMENT.sub("", sql)))
    missing = names - params.keys()
    if missing:
        raise ValueError(f"screen query needs parameters {sorted(missing)}")
    return {k: params[k] for k in names}


@st.cache_data(ttl=60, max_entries=1000, show_spinner=False)
def _run(name: str, params: dict[str, Any], scope: Scope, path: str, mtime_ns: int) -> pd.DataFrame:
    """The scope is part of the cache key: one user's rows are never served to another."""
    sql = screen_sql(name)
    scoped, developers, teams = scope
    with _CURSOR_LOCK:
        cursor = sibling_cursor(_connection(path, mtime_ns), FRESH_CATALOG)
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        cursor.execute("SET VARIABLE lens_scoped = CAST($v AS BOOLEAN)", {"v": scoped})
        cursor.execute("SET VARIABLE lens_scope_developers = CAST($v AS VARCHAR[])", {"v": list(developers)})
        cursor.execute("SET VARIABLE lens_scope_teams = CAST($v AS VARCHAR[])", {"v": list(teams)})
        return cursor.execute(sql, bound_params(sql, params)).df()
    finally:
        cursor.close()


def user_scope(user: User) -> Scope:
    return user.scoped, user.scope_developers, user.scope_teams


def scoped_params(params: dict[str, Any], user: User) -> dict[str, Any]:
    """The bound params with the user's scope forced in: `$scope_developers`/`$scope_teams`
    always, and a developer's own id (or team) as the developer (team) filter, whatever the
    URL or session state asked for."""
    bound = {**params, "scope_developers": list(user.scope_developers), "scope_teams": list(user.scope_teams)}
    for key, scope in (("developers", user.scope_developers), ("teams", user.scope_teams)):
        if not user.scoped or not scope or key not in bound or (user.scope_developers and user.scope_teams):
            continue
        asked = list(bound[key] or [])
        allowed = [v for v in asked if v in scope]
        bound[key] = allowed or ([NO_MATCH] if asked else list(scope))
    return bound


def _prepared(name: str, filters: Filters | None, params: dict[str, Any]) -> tuple[str, dict[str, Any], Scope, str, int]:
    """`_run`'s arguments for a screen query: the filters and extra params bound in the logged-in
    user's scope, and the database version (which keys the cache)."""
    user = require_user()
    if name.startswith(ADMIN_QUERIES) and user.role != "admin":
        st.error("This screen is for admins.")
        st.stop()
    follow_lake_url()
    path = duckdb_path()
    mtime = _mtime_ns(path)
    if mtime is None:
        empty_state("No data yet: there is no Lens database.")
        st.stop()
    bound = scoped_params({**(filters.params() if filters else {}), **params}, user)
    return name, bound, user_scope(user), str(path), mtime


def query(name: str, filters: Filters | None = None, **params: Any) -> pd.DataFrame:
    """Run `sql/screens/<name>.sql` with the filters and extra params bound, in the logged-in
    user's scope; cached for 60 s per scope."""
    return _run(*_prepared(name, filters, params))


# One per core: a screen query spends most of its time planning, on one core. Shared by every
# session of the server: more at once would not finish sooner.
_QUERY_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="lens-query")


def query_soon(name: str, filters: Filters | None = None, **params: Any) -> Future[pd.DataFrame]:
    """`query`, started now on another thread: a page starts the queries that do not wait on each
    other's results together, then reads them (`.result()`) where it draws them."""
    args = _prepared(name, filters, params)  # on the script's thread: it may stop the page
    context = get_script_run_ctx()

    def run() -> pd.DataFrame:
        add_script_run_ctx(threading.current_thread(), context)
        return _run(*args)

    return _QUERY_POOL.submit(run)


# --- filters ---------------------------------------------------------------------------

def data_bounds() -> tuple[date, date]:
    """First and newest span dates in the lake; shows the empty state and stops if there are none."""
    row = query("filter_bounds").iloc[0]
    if row["spans"] == 0 or pd.isna(row["newest_span"]):
        empty_state("No spans in the lake yet.")
        st.stop()
    return row["first_span"].date(), row["newest_span"].date()


def filter_options() -> dict[str, list[str]]:
    """For each filter dimension, the values that occur in the data."""
    df = query("filter_options")
    return {name: df.loc[df["dimension"] == name, "value"].tolist() for name in DIMENSIONS}


def preset_window(preset: str, first: date, newest: date) -> tuple[date, date]:
    """A preset's dates, ending at the newest span's day ('24h' is that one UTC day)."""
    if preset == "all":
        return first, newest
    return newest - timedelta(days=PRESET_DAYS[preset] - 1), newest


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _from_url(first: date, newest: date, options: Mapping[str, list[str]]) -> tuple[Filters, str]:
    """Filters from st.query_params; unknown values and bad dates fall back to the defaults."""
    qp = st.query_params
    preset = qp.get("range", DEFAULT_PRESET)
    preset = preset if preset in PRESETS else DEFAULT_PRESET
    start, end = preset_window(DEFAULT_PRESET if preset == "custom" else preset, first, newest)
    url_start, url_end = _parse_date(qp.get("start")), _parse_date(qp.get("end"))
    if url_start and url_end and url_start <= url_end:
        if (url_start, url_end) != (start, end):
            preset = "custom"
        start, end = url_start, url_end
    values = {name: tuple(v for v in qp.get_all(URL_KEYS[name]) if v in options[name]) for name in DIMENSIONS}
    return Filters(start, end, **values), preset


def _write_url(filters: Filters, preset: str) -> None:
    """Mirror the filters into the URL (only keys that changed), so a link reproduces the view."""
    wanted: dict[str, list[str]] = {
        "range": [preset], "start": [filters.start.isoformat()], "end": [filters.end.isoformat()],
        **{URL_KEYS[name]: list(getattr(filters, name)) for name in DIMENSIONS},
    }
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    merged = {key: values for key, values in {**current, **wanted}.items() if values}
    if merged != current:
        # One update of the whole query string: deleting a key on its own during a deep link's
        # first run sends the browser to the default page.
        st.query_params.from_dict({key: values if len(values) > 1 else values[0] for key, values in merged.items()})


def _ensure_entrypoint() -> None:
    """Rerun through app.py if Streamlit ran this page on its own.

    Next to a `pages/` folder Streamlit starts in its legacy multipage mode and, until the first
    `st.navigation` call in the process, runs a deep-linked page without app.py (no sidebar,
    no page config). app.py's `st.navigation` clears the flag, so seeing it set here means the
    entrypoint did not run.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_filters() -> Filters:
    """The filters in session state (seeded once from the URL), written back to the URL."""
    _ensure_entrypoint()
    if FILTERS_KEY not in st.session_state:
        first, newest = data_bounds()
        st.session_state[FILTERS_KEY], st.session_state[PRESET_KEY] = _from_url(first, newest, filter_options())
    filters: Filters = st.session_state[FILTERS_KEY]
    _write_url(filters, st.session_state.get(PRESET_KEY, "custom"))
    return filters


def render_sidebar_filters() -> Filters:
    """The sidebar: time range preset or custom dates, and one multiselect per dimension."""
    first, newest = data_bounds()
    seeded = current_filters()
    options = filter_options()
    for name in DIMENSIONS:
        # seed once from the URL; drop values the data no longer has (a multiselect rejects them)
        chosen = list(st.session_state.get(f"lens_{name}", getattr(seeded, name)))
        known = [v for v in chosen if v in options[name]]
        if known != chosen or f"lens_{name}" not in st.session_state:
            st.session_state[f"lens_{name}"] = known
    with st.sidebar:
        st.subheader("Filters")
        preset = st.selectbox("Time range", list(PRESETS), format_func=PRESETS.get, key=PRESET_KEY)
        if preset == "custom":
            start, end = _custom_dates(seeded, first, newest)
        else:
            start, end = preset_window(preset, first, newest)
        values = {
            name: tuple(st.multiselect(LABELS[name], options[name], key=f"lens_{name}", placeholder="All"))
            for name in DIMENSIONS
        }
        st.caption(f"Data from {first:%Y-%m-%d} to {newest:%Y-%m-%d} (UTC).")
    filters = Filters(start, end, **values)
    st.session_state[FILTERS_KEY] = filters
    _write_url(filters, preset)
    return filters


def _custom_dates(seeded: Filters, first: date, newest: date) -> tuple[date, date]:
    low, high = min(first, seeded.start), max(newest, seeded.end, datetime.now(timezone.utc).date())
    st.session_state.setdefault(DATES_KEY, (seeded.start, seeded.end))
    picked = st.date_input("Dates (UTC)", key=DATES_KEY, min_value=low, max_value=high)
    if isinstance(picked, (tuple, list)):
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:  # the user has picked the first day of the range so far
            return picked[0], picked[0]
        return seeded.start, seeded.end
    return picked, picked


# --- presentation helpers --------------------------------------------------------------

def empty_state(message: str) -> None:
    st.info(f"{message}\n\n{EMPTY_HELP}", icon="📭")


def no_rows(df: pd.DataFrame, what: str = "data") -> bool:
    """True (and says so) when a query returned nothing for the current filters."""
    if df.empty:
        st.caption(f"No {what} for these filters.")
        return True
    return False


def model_color_scale(shown: Iterable[str] | None = None) -> alt.Scale:
    """The same colour for a model on every page: the lake's models in name order take the
    palette in turn. Pass the models a chart shows to keep the others out of its legend."""
    known = filter_options()["models"]
    colors = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(known)}
    domain = list(dict.fromkeys(shown)) if shown is not None else [*known, "(none)", "(unknown)"]
    return alt.Scale(domain=domain, range=[colors.get(m, NO_MODEL_COLOR) for m in domain])


def _utc_instants(data: Any) -> Any:
    """Naive timestamps (UTC by convention) as UTC instants, or the browser reads them as local time."""
    if not isinstance(data, pd.DataFrame):
        return data
    naive = [c for c in data.columns if pd.api.types.is_datetime64_dtype(data[c])]
    return data.assign(**{c: data[c].dt.tz_localize("UTC") for c in naive}) if naive else data


def chart(spec: alt.TopLevelMixin) -> None:
    """Draw an Altair chart at the container's width; its height is the plot's, axes excluded.
    Altair checks a spec against the whole Vega-Lite JSON schema each time it is serialized (~50 ms
    a chart, on every rerun): these specs are the pages' code, drawn by the page and browser tests,
    so they are serialized unchecked."""
    for part in [spec, *getattr(spec, "layer", [])]:
        part.data = _utc_instants(part.data)
    if isinstance(spec, (alt.Chart, alt.LayerChart)) and spec.autosize is alt.Undefined:
        spec = spec.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    object.__setattr__(spec, "to_dict", functools.partial(type(spec).to_dict, spec, validate=False))
    st.altair_chart(spec, width="stretch")


def donut(data: pd.DataFrame, theta: str, color: alt.Color, tooltip: list, height: int = 360) -> alt.Chart:
    """A share-of-total ring that stays a ring in a narrow column: the legend sits below the plot
    (a long model name beside it left ~100 px), and both radii follow the plot's size (a fixed
    inner radius left a ring thinner than a pixel)."""
    return alt.Chart(data).mark_arc(
        radius=alt.expr(DONUT_RADIUS), innerRadius=alt.expr(f"{DONUT_HOLE} * ({DONUT_RADIUS})"),
    ).encode(
        alt.Theta(theta), color.legend(orient="bottom", direction="vertical", labelLimit=260), tooltip=tooltip,
    ).properties(height=height, autosize=alt.AutoSizeParams(type="fit", contains="padding"))


def table(df: pd.DataFrame, filename: str, placeholder: str = MISSING, **kwargs: Any) -> None:
    """A dataframe with its CSV download under it; a missing value shows as "—", not "None"."""
    st.dataframe(df, hide_index=True, width="stretch", placeholder=placeholder, **kwargs)
    download(df, filename)


def follow_table_selection(event: Any, ids: list[str], key: str) -> None:
    """A row the user selects in a table becomes the picker's value; the picker stays usable after
    it. A table keeps its selected row number across reruns: when a new sort or filter puts another
    id in that row, that is no pick (comparing ids opened whatever came first after a re-sort)."""
    rows = event.selection.rows if event is not None else []
    row = rows[0] if rows and rows[0] < len(ids) else None
    if row is not None and row != st.session_state.get(f"{key}_row"):
        st.session_state[key] = ids[row]
    st.session_state[f"{key}_row"] = row


def with_team_label(df: pd.DataFrame) -> pd.DataFrame:
    """An unmapped developer's team as "(no team)", as Overview and Cost show it."""
    return df.fillna({"team": NO_TEAM})


def download(df: pd.DataFrame, filename: str) -> None:
    """A CSV download button; each export is audit-logged (who, which file, how many rows)."""
    require_user()
    st.download_button(
        "Download CSV", df.to_csv(index=False).encode("utf-8"), file_name=filename,
        mime="text/csv", key=f"download-{filename}", icon="⬇️",
        on_click=audit_event, args=("export_csv", filename, {"rows": len(df), "filters": filters_detail(st.session_state.get(FILTERS_KEY))}),
    )


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fmt_usd(value: Any) -> str:
    """$1,234.56; small amounts keep four significant digits ($0.004321)."""
    if _missing(value):
        return "—"
    value = float(value)
    if value != 0 and abs(value) < 1:
        return f"${value:.4g}" if abs(value) >= 1e-4 else f"${value:.2e}"
    return f"${value:,.2f}"


def priced(values: pd.Series, fmt: Callable[[Any], str] = fmt_usd) -> pd.Series:
    """Costs as text for a tooltip: "unpriced" where the model has no known price (NULL cost, never $0)."""
    return values.map(lambda value: UNPRICED if _missing(value) else fmt(value))


def fmt_int(value: Any) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


def fmt_compact(value: Any) -> str:
    """1.2K, 3.4M, 5.6B: for token counts."""
    if _missing(value):
        return "—"
    value = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:,.0f}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    return "—" if _missing(value) else f"{float(value) * 100:.{digits}f}%"


def fmt_ms(value: Any) -> str:
    """850 ms, 4.2 s, 3.1 min."""
    if _missing(value):
        return "—"
    value = float(value)
    if value < 1000:
        return f"{value:,.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"


def fmt_duration(seconds: Any) -> str:
    """A lag or age: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    if _missing(seconds):
        return "—"
    s = max(float(seconds), 0.0)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 86_400:
        return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"
    return f"{int(s // 86_400)} d {int(s % 86_400 // 3600)} h"


def delta_pct(current: Any, previous: Any) -> str | None:
    """Relative change for st.metric's delta; None when there is nothing to compare with."""
    if _missing(current) or _missing(previous) or float(previous) == 0:
        return None
    return f"{(float(current) - float(previous)) / abs(float(previous)) * 100:+.1f}%"


def delta_points(current: Any, previous: Any) -> str | None:
    """Change of a ratio in percentage points."""
    if _missing(current) or _missing(previous):
        return None
    return f"{(float(current) - float(previous)) * 100:+.1f} pp"


def period_label(filters: Filters) -> str:
    return f"{filters.start:%Y-%m-%d} – {filters.end:%Y-%m-%d}"


def time_bucket(filters: Filters) -> str:
    """Hourly points for a range of two days or less, else daily."""
    return "hour" if filters.days <= 2 else "day"


def time_tooltip(field: str, bucket: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:T", title="UTC", formatType="utc",
                       format="%Y-%m-%d %H:%M" if bucket == "hour" else "%Y-%m-%d")


def utc_midnight(day: date) -> alt.DateTime:
    return alt.DateTime(year=day.year, month=day.month, date=day.day, utc=True)


def time_x(field: str, bucket: str, title: str | None = None, window: Filters | None = None) -> alt.X:
    """A time axis in UTC (timestamps are naive UTC) at the bucket's grain. With the filter
    `window`, it spans the whole window: days without data stay on it as gaps (the axis of the
    data alone showed "last 7 days" as the three days that had any)."""
    unit = "utcyearmonthdatehours" if bucket == "hour" else "utcyearmonthdate"
    fmt = "%b %d %H:%M" if bucket == "hour" else "%b %d"
    scale = alt.Undefined if window is None else alt.Scale(
        domain=[utc_midnight(window.start), utc_midnight(window.end + timedelta(days=1))])
    return alt.X(f"{field}:T", timeUnit=unit, title=title or f"{'Hour' if bucket == 'hour' else 'Day'} (UTC)",
                 scale=scale, axis=alt.Axis(format=fmt, labelAngle=0, labelOverlap=True))
