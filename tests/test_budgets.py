"""Budgets: validated rows, atomic Parquet file, readable from SQL."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from lens_etl import budgets
from lens_etl.budgets import Budget, BudgetError
from lens_etl.config import Settings


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def test_saved_budgets_read_back_the_same(settings: Settings) -> None:
    saved = [Budget("total", "all", 5000.0), Budget("team", "payments", 1200.5), Budget("developer", "alice", 300.0)]
    budgets.save(settings, saved)
    assert budgets.load(settings) == saved
    assert not list(settings.state_dir.glob("*.tmp"))


def test_no_file_means_no_budgets(settings: Settings) -> None:
    assert budgets.load(settings) == []


def test_sql_params_are_parallel_lists_sql_can_unnest() -> None:
    params = budgets.sql_params([Budget("developer", "bob", 42.0), Budget("total", "all", 100.0)])
    rows = duckdb.sql(
        "SELECT unnest($budget_scopes), unnest($budget_names), unnest($budget_usd)", params=params
    ).fetchall()
    assert rows == [("developer", "bob", 42.0), ("total", "all", 100.0)]


def test_editor_rows_are_normalized_and_blank_rows_skipped() -> None:
    rows = [
        {"scope": " Team ", "name": " platform ", "monthly_usd": "250"},
        {"scope": None, "name": None, "monthly_usd": float("nan")},
        {"scope": "total", "name": None, "monthly_usd": 1000},
    ]
    assert budgets.validate(rows) == [Budget("team", "platform", 250.0), Budget("total", "all", 1000.0)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"scope": "org", "name": "x", "monthly_usd": 1}, "budget row 1: scope must be one of total, team, developer"),
        ({"scope": "developer", "name": "", "monthly_usd": 1}, "budget row 1: a developer budget needs the developer's name"),
        ({"scope": "team", "name": "a", "monthly_usd": "ten"}, "budget row 1: monthly_usd must be a number, got 'ten'"),
        ({"scope": "team", "name": "a", "monthly_usd": -5}, "budget row 1: monthly_usd must be a positive amount in USD, got -5"),
        ({"scope": "team", "name": "a", "monthly_usd": float("inf")}, "monthly_usd must be a positive amount"),
        ({"scope": "team", "name": "a", "monthly_usd": None}, "monthly_usd must be a number, got None"),
    ],
)
def test_bad_values_are_rejected_with_one_line(row: dict, message: str) -> None:
    with pytest.raises(BudgetError) as caught:
        budgets.validate([row])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_duplicate_scope_and_name_is_rejected() -> None:
    rows = [{"scope": "developer", "name": "alice", "monthly_usd": 1}, {"scope": "developer", "name": "alice", "monthly_usd": 2}]
    with pytest.raises(BudgetError, match="budget row 2: developer 'alice' has a budget already"):
        budgets.validate(rows)


def test_a_bad_save_keeps_the_old_file(settings: Settings) -> None:
    budgets.save(settings, [Budget("total", "all", 10.0)])
    with pytest.raises(BudgetError):
        budgets.save(settings, [Budget("total", "all", -1.0)])
    assert budgets.load(settings) == [Budget("total", "all", 10.0)]


def test_unreadable_file_is_a_budget_error(settings: Settings) -> None:
    budgets.budgets_path(settings).parent.mkdir(parents=True)
    budgets.budgets_path(settings).write_text("not parquet")
    with pytest.raises(BudgetError, match="cannot read budgets"):
        budgets.load(settings)
