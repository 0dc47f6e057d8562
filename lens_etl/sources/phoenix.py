"""Phoenix -> raw batches, over its REST API or straight from its database (the fast path).

REST: `GET /v1/projects/{project}/spans`, sorted by id ascending and paged by cursor until
`next_cursor` is null (never truncated at a limit); a saved cursor resumes exactly, and
late-arriving spans still come after it because ids grow with arrival, not with start time.
Database: one query builds each span's JSON document (the REST shape, attributes flattened
to dotted keys) inside SQLite or Postgres, in keyset batches by span rowid.
Both update a `Watermark` in place as they go; the caller saves it once the run succeeded.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import httpx
import pyarrow as pa

from ..errors import SourceError
from ..state import Watermark
from .raw import raw_table

log = logging.getLogger("lens.phoenix")
PAGE_LIMIT = 1000
REST_BATCH_ROWS = 5_000
DB_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Window:
    """Span start times to pull: `since` inclusive, `until` exclusive (UTC)."""

    since: datetime | None = None
    until: datetime | None = None


def _iso(ts: datetime) -> str:
    ts = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).isoformat()


def _sqlite_ts(ts: datetime) -> str:
    """SQLite keeps naive UTC text with a space: compare in that form."""
    ts = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")


def _checked_url(url: str) -> str:
    """http(s)://host[:port][/prefix], checked before any request: a typo is one line."""
    try:
        parts = urlsplit(url)
        parts.port  # a port that is not a number raises here
    except ValueError as exc:
        raise SourceError(f"phoenix at {url}: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"phoenix at {url}: not a valid URL (expected http://host:port)")
    return url.rstrip("/")


class PhoenixClient:
    """HTTP to one Phoenix server: timeouts, bounded retries with backoff, one-line errors."""

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 30.0, retries: int = 4, backoff_s: float = 0.5) -> None:
        self.url = _checked_url(url)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            self.http = httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(timeout_s, connect=5.0))
        except httpx.InvalidURL as exc:
            raise SourceError(f"phoenix at {url}: not a valid URL ({exc})") from None
        self.retries = retries
        self.backoff_s = backoff_s

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "PhoenixClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _fail(self, reason: str) -> SourceError:
        return SourceError(f"phoenix at {self.url}: {reason}")

    def get_json(self, path: str, params: dict[str, Any], project: str) -> dict[str, Any]:
        """GET with retries on connection errors, timeouts and 5xx; other answers fail at once."""
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1)
                # a server that takes each timeout makes the whole wait minutes: say so as it goes
                log.warning("lens: phoenix at %s: %s; trying again in %gs (try %d of %d)", self.url, reason, delay,
                            attempt + 1, self.retries + 1)
                time.sleep(delay)
            try:
                response = self.http.get(path, params=params)
            except httpx.ConnectError:
                reason = "connection refused"
                continue
            except httpx.TimeoutException:
                reason = "timed out"
                continue
            except httpx.RequestError as exc:
                reason = f"connection failed ({type(exc).__name__})"
                continue
            if response.status_code >= 500:
                reason = f"server error HTTP {response.status_code}"
                continue
            return self._checked(response, project)
        raise self._fail(f"{reason} (after {self.retries + 1} tries)" if self.retries else reason)

    def _checked(self, response: httpx.Response, project: str) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            raise self._fail(f"not authorized (HTTP {status}): set PHOENIX_API_KEY to a valid key")
        if status == 404:
            raise self._fail(f"project {project!r} not found" if self._is_phoenix(response) else
                             f"not a Phoenix server (GET {response.request.url.path} answered HTTP 404)")
        if status == 422 and "cursor" in response.text.lower():
            raise InvalidCursor(response.text[:200])
        if status != 200:
            raise self._fail(f"HTTP {status}: {response.text.strip()[:200]}")
        try:
            body = response.json()
        except ValueError:
            raise self._fail("answered something that is not JSON (is this a Phoenix server?)") from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise self._fail("answered JSON that is not a page of spans (is this a Phoenix server?)")
        return body

    def _is_phoenix(self, not_found: httpx.Response) -> bool:
        """Phoenix says who it is in a header; without it (a proxy may drop it), its project
        list answers with a page of JSON. Any other server's 404 is not a missing project."""
        if "x-phoenix-server-version" in not_found.headers:
            return True
        try:
            listing = self.http.get("/v1/projects", params={"limit": 1})
            body = listing.json() if listing.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return False
        return isinstance(body, dict) and isinstance(body.get("data"), list)

    def spans_pages(self, project: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        """Every page until next_cursor is null; a cursor seen before would loop forever."""
        path = f"/v1/projects/{quote(project, safe='')}/spans"
        params = {"limit": PAGE_LIMIT, "sort": "id", "order": "asc", **params}
        seen: set[str] = set()
        while True:
            body = self.get_json(path, params, project)
            yield body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return
            if not isinstance(cursor, str):
                raise self._fail(f"answered a next_cursor that is not text ({type(cursor).__name__})")
            if cursor in seen:
                raise self._fail(f"answered next_cursor {cursor[:80]!r} a second time; stopped instead of looping")
            seen.add(cursor)
            params = {**params, "cursor": cursor}


class InvalidCursor(Exception):
    """The server no longer knows the saved cursor (its data was reset): fall back to time."""


def rest_batches(client: PhoenixClient, project: str, mark: Watermark, window: Window) -> Iterator[pa.Table]:
    """Spans after the watermark (or in the window), as raw batches; `mark` follows along."""
    source_file = f"phoenix:{client.url}/{project}"
    params: dict[str, Any] = {}
    since = window.since
    if since is None and mark.cursor is None:
        since = mark.since_with_overlap()
    if since is not None:
        params["start_time"] = _iso(since)
    if window.until is not None:
        params["end_time"] = _iso(window.until)
    resume = mark.cursor if window.since is None else None
    if resume:
        params["cursor"] = resume
    line = 0
    docs: list[str] = []
    lines: list[int] = []
    try:
        for page in client.spans_pages(project, params):
            for span in page:
                if isinstance(span, dict):
                    if resume and span.get("id") == resume:
                        continue  # the saved cursor's own row, read last time
                    mark.advance_time(span.get("start_time"))
                    mark.cursor = span.pop("id", None) or mark.cursor  # Phoenix's row id: a cursor, not data
                line += 1
                lines.append(line)
                docs.append(json.dumps(span, separators=(",", ":")))  # not an object: a dead letter, not a crash
            if len(docs) >= REST_BATCH_ROWS:
                yield raw_table(source_file, lines, docs)
                docs, lines = [], []
    except InvalidCursor:
        if not resume:
            raise client._fail("rejected a cursor it gave us") from None
        # The server forgot our cursor (reset or restored): re-read from the time watermark.
        mark.cursor = None
        yield from rest_batches(client, project, mark, window)
        return
    if docs:
        yield raw_table(source_file, lines, docs)


# One JSON document per span, the REST shape, built by SQLite. json_tree walks the stored
# nested attributes; its fullkey `$.llm."input_messages"[0].message.content` becomes the
# dotted key `llm.input_messages.0.message.content` that Phoenix's REST API returns (which
# also leaves out `openinference.span.kind`, given as span_kind).
SQLITE_SPANS = """
SELECT s.id, s.start_time, json_object(
    'context', json_object('trace_id', t.trace_id, 'span_id', s.span_id),
    'parent_id', s.parent_id,
    'name', s.name,
    'span_kind', s.span_kind,
    'start_time', replace(s.start_time, ' ', 'T') || '+00:00',
    'end_time', replace(s.end_time, ' ', 'T') || '+00:00',
    'status_code', s.status_code,
    'status_message', s.status_message,
    'attributes', (
        SELECT json_group_object(
            replace(replace(replace(substr(a.fullkey, 3), '"', ''), '[', '.'), ']', ''),
            CASE a.type WHEN 'true' THEN json('true') WHEN 'false' THEN json('false')
                        WHEN 'null' THEN json('null') ELSE a.atom END)
        FROM json_tree(s.attributes) AS a
        WHERE a.type NOT IN ('object', 'array') AND a.fullkey <> '$.openinference.span.kind'),
    'events', json(s.events)
)
FROM spans AS s
JOIN traces AS t ON t.id = s.trace_rowid
JOIN projects AS p ON p.id = t.project_rowid
WHERE p.name = :project AND s.id > :after
  AND (:since IS NULL OR s.start_time >= :since) AND (:until IS NULL OR s.start_time < :until)
ORDER BY s.id
LIMIT :batch
"""

# The same document from Postgres: a recursive walk flattens jsonb to dotted keys.
POSTGRES_SPANS = """
SELECT s.id, to_char(s.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), json_build_object(
    'context', json_build_object('trace_id', t.trace_id, 'span_id', s.span_id),
    'parent_id', s.parent_id,
    'name', s.name,
    'span_kind', s.span_kind,
    'start_time', s.start_time,
    'end_time', s.end_time,
    'status_code', s.status_code,
    'status_message', s.status_message,
    'attributes', coalesce((
        WITH RECURSIVE walk(key, value) AS (
            SELECT e.key, e.value FROM jsonb_each(s.attributes) AS e
            UNION ALL
            SELECT walk.key || '.' || c.key, c.value FROM walk CROSS JOIN LATERAL (
                SELECT o.key, o.value FROM jsonb_each(
                    CASE WHEN jsonb_typeof(walk.value) = 'object' THEN walk.value ELSE '{}'::jsonb END) AS o
                UNION ALL
                SELECT (a.ord - 1)::text, a.value FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(walk.value) = 'array' THEN walk.value ELSE '[]'::jsonb END)
                    WITH ORDINALITY AS a(value, ord)
            ) AS c
        )
        SELECT jsonb_object_agg(key, value) FROM walk
        WHERE jsonb_typeof(value) NOT IN ('object', 'array') AND key <> 'openinference.span.kind'
    ), '{}'::jsonb),
    'events', s.events
)::text
FROM spans AS s
JOIN traces AS t ON t.id = s.trace_rowid
JOIN projects AS p ON p.id = t.project_rowid
WHERE p.name = %(project)s AND s.id > %(after)s
  AND (%(since)s::timestamptz IS NULL OR s.start_time >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR s.start_time < %(until)s::timestamptz)
ORDER BY s.id
LIMIT %(batch)s
"""


def _sqlite_connect(db_url: str) -> sqlite3.Connection:
    path = Path(db_url.removeprefix("sqlite:///").removeprefix("sqlite://"))
    if not path.is_file():
        raise SourceError(f"phoenix database {db_url}: no such file")
    try:
        con = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, check_same_thread=False)
        con.execute("SELECT 1 FROM spans LIMIT 1")
    except sqlite3.Error as exc:
        raise SourceError(f"phoenix database {db_url}: cannot read it as a Phoenix database ({exc})") from exc
    return con


def _postgres_connect(db_url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise SourceError("phoenix database on Postgres needs psycopg: pip install 'psycopg[binary]'") from None
    try:
        con = psycopg.connect(db_url, autocommit=True)
        con.execute("SET TIME ZONE 'UTC'")
        con.execute("SET default_transaction_read_only = on")
    except psycopg.Error as exc:
        host = urlsplit(db_url).hostname or "localhost"
        raise SourceError(f"phoenix database on Postgres at {host}: {str(exc).strip().splitlines()[0]}") from exc
    return con


def _db_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error, OSError)
    return (sqlite3.Error, OSError, psycopg.Error)


def _project_exists(con: Any, project: str, sqlite: bool) -> bool:
    query = "SELECT 1 FROM projects WHERE name = " + ("?" if sqlite else "%s")
    return con.execute(query, (project,)).fetchone() is not None


def db_batches(db_url: str, project: str, mark: Watermark, window: Window, batch_rows: int = DB_BATCH_ROWS) -> Iterator[pa.Table]:
    """Spans after the rowid watermark (or in the window), ~50k per query, as raw batches."""
    sqlite = db_url.startswith("sqlite:")
    if not sqlite and not db_url.startswith(("postgresql:", "postgres:")):
        raise SourceError(f"phoenix database {db_url}: expected sqlite:///path or postgresql://…")
    con = _sqlite_connect(db_url) if sqlite else _postgres_connect(db_url)
    shown = db_url if sqlite else f"postgresql://{urlsplit(db_url).hostname}{urlsplit(db_url).path}"
    try:
        if not _project_exists(con, project, sqlite):
            raise SourceError(f"phoenix database {shown}: project {project!r} not found")
        since = window.since
        if since is None and mark.rowid is None:
            since = mark.since_with_overlap()
        after = mark.rowid if window.since is None and mark.rowid is not None else 0
        fmt = _sqlite_ts if sqlite else _iso
        params: dict[str, Any] = {
            "project": project,
            "since": fmt(since) if since else None,
            "until": fmt(window.until) if window.until else None,
            "batch": batch_rows,
        }
        query = SQLITE_SPANS if sqlite else POSTGRES_SPANS
        source_file = f"phoenix:{shown}/{project}"
        line = 0
        while True:
            rows = con.execute(query, {**params, "after": after}).fetchall()
            if not rows:
                return
            yield raw_table(source_file, list(range(line + 1, line + len(rows) + 1)), [doc for _, _, doc in rows])
            line += len(rows)
            after = int(rows[-1][0])
            mark.rowid = after
            mark.advance_time(max(start for _, start, _ in rows).replace(" ", "T") + "+00:00")
    except _db_errors() as exc:
        raise SourceError(f"phoenix database {shown}: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
