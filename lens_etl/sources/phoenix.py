"""Phoenix -> raw batches, over its REST API or straight from its database (the fast path).

REST: `GET /v1/projects/{project}/spans`, sorted by id ascending and paged by cursor until
`next_cursor` is null (never truncated at a limit); a saved cursor resumes exactly, and
late-arriving spans still come after it because ids grow with arrival, not with start time.
Database: one query builds each span's JSON document (the REST shape, attributes flattened
to dotted keys) inside SQLite or Postgres, in keyset batches by span rowid.
Both update a `Watermark` in place as they go; the caller saves it once the run succeeded.
A saved position is checked before it is trusted: a Phoenix whose database was recreated under
the same URL (a container without a volume) numbers its spans from 1 again, and resuming after
the old position would skip them all. Pages shrink when spans are large (raw requests of
several MB each), so one page never needs minutes to build or gigabytes to hold.
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
from ..state import Watermark, as_utc
from .raw import raw_table

log = logging.getLogger("lens.phoenix")
PAGE_LIMIT = 1000
FIRST_PAGE_LIMIT = 20  # until a page has shown how large the spans are
PAGE_BYTES = 16 * 2**20  # then pages of about this size: spans of MBs come a few at a time
REST_BATCH_ROWS = 5_000
REST_BATCH_BYTES = 32 * 2**20
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
        return self.get_page(path, params, project)[0]

    def get_page(self, path: str, params: dict[str, Any], project: str) -> tuple[dict[str, Any], dict[str, Any], int]:
        """`get_json`, and a page that times out is asked again for a quarter of its spans (a page
        of large spans can take the server longer than any timeout); also the params that
        answered and the answer's size in bytes."""
        reason = ""
        attempt = 0
        while attempt <= self.retries:
            limit = params.get("limit")
            try:
                response = self.http.get(path, params=params)
            except httpx.TimeoutException:
                reason = "timed out"
                if isinstance(limit, int) and limit > 1:
                    params = {**params, "limit": max(1, limit // 4)}
                    log.warning("lens: phoenix at %s: a page of %d spans timed out; asking for %d at a time",
                                self.url, limit, params["limit"])
                    continue
            except httpx.ConnectError:
                reason = "connection refused"
            except httpx.RequestError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code < 500:
                    return self._checked(response, project), params, len(response.content)
                reason = f"server error HTTP {response.status_code}"
            attempt += 1
            if attempt <= self.retries:
                delay = self.backoff_s * 2 ** (attempt - 1)
                # a server that takes each timeout makes the whole wait minutes: say so as it goes
                log.warning("lens: phoenix at %s: %s; trying again in %gs (try %d of %d)", self.url, reason, delay,
                            attempt + 1, self.retries + 1)
                time.sleep(delay)
        raise self._fail(f"{reason} (after {self.retries + 1} tries)" if self.retries else reason)

    def _checked(self, response: httpx.Response, project: str) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            raise self._fail(f"not authorized (HTTP {status}): set PHOENIX_API_KEY to a valid key")
        if status == 404:
            if self._is_phoenix(response):
                raise ProjectNotFound(f"phoenix at {self.url}: project {project!r} not found")
            raise self._fail(f"not a Phoenix server (GET {response.request.url.path} answered HTTP 404)")
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

    def _identifier(self, project: str) -> str:
        """The name, or for a name with a slash its id: the server decodes `%2F` before routing,
        so `team%2Fclaude` would reach its web page, not the project."""
        if "/" not in project:
            return project
        params: dict[str, Any] = {"limit": 100}
        while True:
            body = self.get_json("/v1/projects", params, project)
            for entry in body["data"]:
                if isinstance(entry, dict) and entry.get("name") == project and isinstance(entry.get("id"), str):
                    return entry["id"]
            if not isinstance(body.get("next_cursor"), str):
                raise ProjectNotFound(f"phoenix at {self.url}: project {project!r} not found")
            params = {**params, "cursor": body["next_cursor"]}

    def spans_pages(self, project: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        """Every page until next_cursor is null; a cursor seen before would loop forever. Each
        page asks for as many spans as the last one's sizes say fit in PAGE_BYTES, and never more
        than a page that timed out."""
        path = f"/v1/projects/{quote(self._identifier(project), safe='')}/spans"
        params = {"limit": min(FIRST_PAGE_LIMIT, PAGE_LIMIT), "sort": "id", "order": "asc", **params}
        seen: set[str] = set()
        ceiling = PAGE_LIMIT
        while True:
            asked = params["limit"]
            body, params, size = self.get_page(path, params, project)
            if params["limit"] < asked:
                ceiling = params["limit"]
            yield body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return
            if not isinstance(cursor, str):
                raise self._fail(f"answered a next_cursor that is not text ({type(cursor).__name__})")
            if cursor in seen:
                raise self._fail(f"answered next_cursor {cursor[:80]!r} a second time; stopped instead of looping")
            seen.add(cursor)
            span_bytes = size / max(1, len(body["data"]))
            params = {**params, "cursor": cursor, "limit": max(1, min(ceiling, int(PAGE_BYTES / span_bytes)))}


class ProjectNotFound(SourceError):
    """The server (or database) has no such project; its other projects can still be pulled."""


class InvalidCursor(Exception):
    """The server no longer knows the saved cursor (its data was reset): fall back to time."""


def _still_there(first: Any, resume: str, newest_seen: str | None) -> bool:
    """The page at a saved cursor starts with the span read last. A recreated database has no
    span there, or another one, started after everything read before."""
    if not isinstance(first, dict) or first.get("id") != resume:
        return False
    start, seen = as_utc(first.get("start_time")), as_utc(newest_seen)
    return start is None or seen is None or start <= seen


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
    size = 0
    try:
        for number, page in enumerate(client.spans_pages(project, params)):
            if resume and number == 0 and not _still_there(page[0] if page else None, resume, mark.start_time):
                log.warning("lens: phoenix at %s: project %r no longer holds the span read last (a new database?);"
                            " reading again from %s", client.url, project, mark.since_with_overlap() or "the start")
                raise InvalidCursor(resume)
            for span in page:
                if isinstance(span, dict):
                    if resume and span.get("id") == resume:
                        continue  # the saved cursor's own row, read last time
                    mark.advance_time(span.get("start_time"))
                    mark.cursor = span.pop("id", None) or mark.cursor  # Phoenix's row id: a cursor, not data
                line += 1
                lines.append(line)
                docs.append(json.dumps(span, separators=(",", ":")))  # not an object: a dead letter, not a crash
                size += len(docs[-1])
            if len(docs) >= REST_BATCH_ROWS or size >= REST_BATCH_BYTES:
                yield raw_table(source_file, lines, docs)
                docs, lines, size = [], [], 0
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
# dotted key `llm.input_messages.0.message.content` that Phoenix's REST API returns. As there,
# only arrays holding objects are spread by index (a list of tags or numbers stays one list,
# other items of such arrays are left out), null values and `openinference.span.kind` (given
# as span_kind) are left out, and each value is taken as JSON text (`->`), which keeps a NUL
# character that SQLite's text values would cut the string at.
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
            json(s.attributes -> a.fullkey))
        FROM json_tree(s.attributes) AS a
        WHERE typeof(a.key) = 'text' AND a.type NOT IN ('object', 'null')
          AND (a.type <> 'array' OR NOT EXISTS (SELECT 1 FROM json_each(a.value) AS e WHERE e.type = 'object'))
          AND a.fullkey <> '$.openinference.span.kind'),
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


def _row_still_there(con: Any, project: str, rowid: int, newest_seen: str | None, sqlite: bool) -> bool:
    """The span at the saved rowid is one read before: there, and not started after all of them."""
    query = ("SELECT s.start_time FROM spans AS s JOIN traces AS t ON t.id = s.trace_rowid"
             " JOIN projects AS p ON p.id = t.project_rowid WHERE s.id = {0} AND p.name = {0}")
    row = con.execute(query.format("?" if sqlite else "%s"), (rowid, project)).fetchone()
    if row is None:
        return False
    start = row[0] if isinstance(row[0], datetime) else as_utc(row[0])
    seen = as_utc(newest_seen)
    return start is None or seen is None or start.astimezone(timezone.utc) <= seen


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
            raise ProjectNotFound(f"phoenix database {shown}: project {project!r} not found")
        since = window.since
        after = mark.rowid if window.since is None and mark.rowid is not None else 0
        if after and not _row_still_there(con, project, after, mark.start_time, sqlite):
            log.warning("lens: phoenix database %s: project %r no longer holds the span read last (a new database?);"
                        " reading again from %s", shown, project, mark.since_with_overlap() or "the start")
            after = 0
        if since is None and not after:
            since = mark.since_with_overlap()
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
