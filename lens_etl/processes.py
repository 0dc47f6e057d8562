"""Whether a process still runs: what a killed build or run left is removed only when its owner is gone."""
from __future__ import annotations

import os


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: it runs
        return True
    return True


def gone(owner: str) -> bool:
    """Whether `owner` (the process id a file or folder is named by) is another process, no longer running."""
    return owner.isdigit() and int(owner) != os.getpid() and not _running(int(owner))
