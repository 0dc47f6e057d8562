"""A stand-in for the app's read side: polls the DuckDB file, reconnecting when ingest swaps it."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lens_etl.warehouse import connect_readonly


def main(path: Path, expected: int, timeout_s: float = 150.0) -> None:
    errors: list[str] = []
    queries, seen, mtime, con = 0, -1, None, None
    deadline = time.monotonic() + timeout_s
    while seen < expected and time.monotonic() < deadline:
        try:
            current = path.stat().st_mtime_ns
            if current != mtime:
                con, mtime = connect_readonly(path), current
            seen = con.execute("SELECT count(*) FROM spans").fetchone()[0]
            con.execute("SELECT model, sum(cost_usd) FROM spans GROUP BY 1").fetchall()
            queries += 1
        except Exception as exc:  # every failure is the finding this process reports
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        time.sleep(0.05)
    print(json.dumps({"errors": errors[:5], "queries": queries, "final": seen}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
