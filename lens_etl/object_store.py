"""The lake on object storage (`s3://bucket/prefix`, or any fsspec URL): the copy readers use.

Ingest keeps writing the local lake: its atomic renames, span-id dedupe and crash recovery need
a filesystem. After every run that changed it, `publish` mirrors what the views read (span
partitions, rollup period files, dead letters, ingest runs) to the URL: new and changed files
first, each one PUT of its final name (atomic for readers, like the local rename), then the
objects of files that are gone (compacted, expired), then `_published.json`, which tells a reader
elsewhere (the app on another host) that there is something new to rebuild its views for. Only
objects this lake published are ever deleted: a host that published nothing cannot empty the
bucket. A lake another engine writes there (Spark) is read the same way, without the marker.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from .config import Settings
from .errors import ConfigError, LensError

MARKER = "_published.json"
MANIFEST = "published.json"  # in the state dir: what this lake published, and when each file changed
# Folders (relative to the data dir) whose files the views read, and the files in them.
PUBLISHED = (
    ("lake/spans", "event_date=*/*.parquet"),
    ("lake/rollups", "*/periods/*.parquet"),
    ("deadletter", "*.parquet"),
    ("runs", "*.parquet"),
)
HIVE_FOLDERS = ("lake/spans",)  # partitions whose file schemas may differ (an older release's files)
# A server that stops answering (hung, or a network that drops packets) fails the command with its
# one line in about a minute: a request waits at most CONNECT + READ seconds, and is tried ATTEMPTS
# times in all by botocore. s3fs's own retries (five rounds of botocore's) are off: on top, they made
# such a server ten minutes of silence.
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 20
ATTEMPTS = 3


class ObjectStoreError(LensError):
    """The lake URL is unreachable, refuses our credentials, or has no such bucket."""


def _secrets(settings: Settings) -> dict[str, Any]:
    if not settings.secrets_file.is_file():
        return {}
    try:
        return dict(tomllib.loads(settings.secrets_file.read_text(encoding="utf-8")).get("lake", {}))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{settings.secrets_file}: not valid TOML: {exc}") from exc


def storage_options(settings: Settings) -> dict[str, Any]:
    """Credentials and endpoint for an s3:// URL: the AWS_* environment, else [lake] key, secret,
    endpoint_url, region in .streamlit/secrets.toml. Other URL schemes use their library's own."""
    if not (settings.lake_url or "").startswith(("s3://", "s3a://")):
        return {}
    env, secret = settings.env, _secrets(settings)
    values = {
        "key": env.get("AWS_ACCESS_KEY_ID") or secret.get("key"),
        "secret": env.get("AWS_SECRET_ACCESS_KEY") or secret.get("secret"),
        "token": env.get("AWS_SESSION_TOKEN") or secret.get("token"),
        "endpoint_url": env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or secret.get("endpoint_url"),
    }
    options: dict[str, Any] = {k: v for k, v in values.items() if v}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or secret.get("region")
    # A listing cached by the filesystem would hide files published after it: readers glob anew.
    options.update(use_listings_cache=False, config_kwargs={
        "connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S,
        "retries": {"max_attempts": ATTEMPTS, "mode": "standard"}})  # standard: ATTEMPTS counts the first
    if region:
        options["client_kwargs"] = {"region_name": region}
    return options


@dataclass(frozen=True)
class Store:
    """The lake URL opened: its filesystem and the root path inside it."""

    url: str
    fs: Any
    root: str

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def sql_url(self, relative: str) -> str:
        """How DuckDB names an object (the URL, through the filesystem registered on it)."""
        return f"{self.url}/{relative}"


def open_store(settings: Settings) -> Store:
    if not settings.lake_url:
        raise ConfigError("no lake URL: set [lake] url in lens.toml or LENS_LAKE_URL")
    import fsspec  # only a lake on object storage needs it

    url = settings.lake_url.rstrip("/")
    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options(settings))
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"lake URL {url}: {exc}") from exc
    if url.startswith(("s3://", "s3a://")):
        fs.retries = 1  # botocore retries each request (ATTEMPTS)
    return Store(url, fs, root.rstrip("/"))


def _failure(store: Store, action: str, exc: Exception) -> ObjectStoreError:
    """One line naming the URL and what went wrong; never the credentials."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, PermissionError):
        reason = f"access denied (check the credentials): {reason}"
    elif isinstance(exc, FileNotFoundError):
        reason = f"no such bucket or prefix: {reason}"
    return ObjectStoreError(f"lake {store.url}: cannot {action}: {reason}")


def local_files(settings: Settings) -> dict[str, Path]:
    """What a publish mirrors: relative name -> local file."""
    found: dict[str, Path] = {}
    for folder, pattern in PUBLISHED:
        base = settings.data_dir / folder
        for path in sorted(base.glob(pattern)):
            found[path.relative_to(settings.data_dir).as_posix()] = path
    return found


def _manifest_path(settings: Settings) -> Path:
    return settings.state_dir / MANIFEST


def _read_manifest(settings: Settings, url: str) -> dict[str, list[int]]:
    path = _manifest_path(settings)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return manifest.get("files", {}) if manifest.get("url") == url else {}


def _write_manifest(settings: Settings, url: str, files: dict[str, list[int]]) -> None:
    path = _manifest_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"url": url, "files": files}), encoding="utf-8")
    tmp.replace(path)


def schemas_differ(paths: list[Path]) -> bool:
    """Whether these Parquet files disagree on their schema (then views unify columns by name)."""
    return len({pq.read_schema(path).remove_metadata() for path in paths}) > 1


def _changes(settings: Settings, url: str) -> tuple[dict[str, Path], dict[str, list[int]], list[str], list[str]]:
    """The files to mirror (name -> path, name -> [size, mtime]), which of them changed since this
    lake last published to `url`, and which published ones are gone."""
    local = local_files(settings)
    current = {name: [stat.st_size, stat.st_mtime_ns] for name, stat in ((n, p.stat()) for n, p in local.items())}
    before = _read_manifest(settings, url)
    return local, current, [n for n in local if before.get(n) != current[n]], [n for n in before if n not in local]


def unpublished(settings: Settings) -> tuple[int, int]:
    """How many files the next publish would upload and how many objects it would remove (from
    this lake's own record: no network)."""
    if not settings.lake_url:
        return 0, 0
    _, _, changed, gone = _changes(settings, settings.lake_url.rstrip("/"))
    return len(changed), len(gone)


@dataclass(frozen=True)
class PublishResult:
    uploaded: int
    deleted: int
    files: int


def publish(settings: Settings) -> PublishResult | None:
    """Mirror the local lake's readable files to the lake URL (nothing without one)."""
    if not settings.lake_url:
        return None
    store = open_store(settings)
    local, current, changed, gone = _changes(settings, store.url)
    try:
        if changed:
            store.fs.put([str(local[name]) for name in changed], [store.path(name) for name in changed])
        if gone:
            store.fs.rm([store.path(name) for name in gone])
        marker = {
            "published_at": datetime.now(timezone.utc).isoformat(),
            "files": len(local),
            "schemas_differ": {folder: schemas_differ([p for n, p in local.items() if n.startswith(folder + "/")])
                               for folder in HIVE_FOLDERS},
        }
        with store.fs.open(store.path(MARKER), "wb") as handle:
            handle.write(json.dumps(marker).encode("utf-8"))
    except Exception as exc:  # s3fs raises OSErrors, botocore's connection errors are not
        raise _failure(store, "publish the lake", exc) from exc
    _write_manifest(settings, store.url, current)
    return PublishResult(len(changed), len(gone), len(local))


def published(settings: Settings) -> dict[str, Any]:
    """The lake URL's `_published.json` ({} when none was written: an empty lake, or another writer)."""
    store = open_store(settings)
    try:
        with store.fs.open(store.path(MARKER), "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError as exc:
        if not _exists(store, store.root.split("/", 1)[0]):
            raise _failure(store, "read the lake", exc) from exc
        return {}
    except Exception as exc:
        raise _failure(store, "read the lake", exc) from exc


def listing(settings: Settings) -> set[str]:
    """Every object under the lake URL, relative to it (one recursive listing)."""
    store = open_store(settings)
    try:
        return {path.removeprefix(store.root + "/") for path in store.fs.find(store.root)}
    except Exception as exc:
        raise _failure(store, "list the lake", exc) from exc


def _exists(store: Store, path: str) -> bool:
    try:
        return bool(store.fs.exists(path))
    except Exception as exc:
        raise _failure(store, "read the lake", exc) from exc
