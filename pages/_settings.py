"""The app's settings, read once per moment rather than once per query.

A page runs a dozen queries and each needs the settings (config file, secrets, environment):
reading them costs ~2 ms apiece. They are read again when the environment changes, and at
most two seconds after a file changed.
"""
from __future__ import annotations

import os
import threading
import time

from lens_etl.config import Settings, load_settings

FRESH_FOR_S = 2.0
_PREFIXES = ("LENS_", "AWS_", "ARIZE_")
_lock = threading.Lock()
_last: tuple[tuple, float, Settings] | None = None
_clock = time.monotonic


def _environment() -> tuple:
    return os.getcwd(), tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_PREFIXES)))


def app_settings() -> Settings:
    global _last
    key, now = _environment(), _clock()
    with _lock:
        if _last is not None and _last[0] == key and now - _last[1] < FRESH_FOR_S:
            return _last[2]
    settings = load_settings()
    with _lock:
        _last = (key, now, settings)
    return settings
