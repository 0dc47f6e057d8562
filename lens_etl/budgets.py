"""Monthly USD budgets per developer, team and in total, kept as one small Parquet file.

The file lives under the state dir (an analyst can `SELECT * FROM 'data/state/budgets.parquet'`
in the DuckDB CLI). Screens bind the budgets to SQL as parallel lists (`sql_params`), so a
cached result is keyed by the budgets themselves and a saved change shows at once. Writes go
to a temp file that is renamed over the old one, so a reader never sees half a file.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from .config import Settings
from .errors import LensError
from .users import User

BUDGETS_FILE = "budgets.parquet"
SCOPES = ("total", "team", "developer")
TOTAL_NAME = "all"

BUDGET_SCHEMA = pa.schema([("scope", pa.string()), ("name", pa.string()), ("monthly_usd", pa.float64())])


class BudgetError(LensError):
    """A budget row is wrong (scope, name or amount) or the budgets file is unreadable."""


@dataclass(frozen=True)
class Budget:
    """A monthly spending limit in USD for everyone (`total`), one team or one developer."""

    scope: str
    name: str
    monthly_usd: float


def budgets_path(settings: Settings) -> Path:
    return settings.state_dir / BUDGETS_FILE


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


def _amount(value: Any, where: str) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise BudgetError(f"{where}: monthly_usd must be a number, got {value!r}") from None
    if not math.isfinite(amount) or amount <= 0:
        raise BudgetError(f"{where}: monthly_usd must be a positive amount in USD, got {value!r}")
    return round(amount, 2)


def _budget(row: Mapping[str, Any], where: str) -> Budget:
    scope = str(row.get("scope") or "").strip().lower()
    if scope not in SCOPES:
        raise BudgetError(f"{where}: scope must be one of {', '.join(SCOPES)}, got {row.get('scope')!r}")
    name = TOTAL_NAME if scope == "total" else ("" if _blank(row.get("name")) else str(row["name"]).strip())
    if not name:
        raise BudgetError(f"{where}: a {scope} budget needs the {scope}'s name")
    return Budget(scope, name, _amount(row.get("monthly_usd"), where))


def validate(rows: Iterable[Mapping[str, Any]]) -> list[Budget]:
    """Rows (e.g. from the budget editor) -> budgets; all-blank rows are skipped."""
    budgets: list[Budget] = []
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(rows, start=1):
        if all(_blank(row.get(key)) for key in ("scope", "name", "monthly_usd")):
            continue
        budget = _budget(row, f"budget row {number}")
        if (budget.scope, budget.name) in seen:
            raise BudgetError(f"budget row {number}: {budget.scope} {budget.name!r} has a budget already")
        seen.add((budget.scope, budget.name))
        budgets.append(budget)
    return budgets


def load(settings: Settings) -> list[Budget]:
    """The saved budgets; none when nothing was saved yet."""
    path = budgets_path(settings)
    if not path.is_file():
        return []
    try:
        table = pq.read_table(path, schema=BUDGET_SCHEMA)
    except (OSError, pa.ArrowException) as exc:
        raise BudgetError(f"{path}: cannot read budgets: {str(exc).splitlines()[0]}") from exc
    return validate(table.to_pylist())


def save(settings: Settings, budgets: Iterable[Budget]) -> Path:
    """Write the budgets atomically (temp file, then rename over the old one)."""
    rows = [asdict(b) for b in validate(asdict(b) for b in budgets)]
    path = budgets_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=BUDGET_SCHEMA), tmp)
    os.replace(tmp, path)
    return path


def sql_params(saved: Iterable[Budget]) -> dict[str, list]:
    """The budgets as the bound lists `$budget_scopes`, `$budget_names`, `$budget_usd` of the screen SQL."""
    rows = list(saved)
    return {
        "budget_scopes": [b.scope for b in rows],
        "budget_names": [b.name for b in rows],
        "budget_usd": [b.monthly_usd for b in rows],
    }


def visible_to(saved: list[Budget], user: User) -> list[Budget]:
    """Every budget for admins and analysts; a developer sees only their own and their team's
    (no one else's names or amounts, nor the total)."""
    if not user.scoped:
        return saved
    return [b for b in saved if (b.scope == "developer" and b.name in user.scope_developers)
            or (b.scope == "team" and b.name in user.scope_teams)]
