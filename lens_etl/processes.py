"""Whether a process still runs: what a killed build or run left is removed only when its owner is gone."""
from __future__ import annotations

import os


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: it runs
        return True
    return True
