"""No customer value in MLflow: a run stopped by broken ids or values leaves rule, column and counts only."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from bank_segmentation.core.errors import DataContractError, tracking_safe_message

HOSTILE_ID = "LEAK-ID-7F3A"


def values_as_text(table: pd.DataFrame) -> None:
    """Half the payments become a spreadsheet error and one broken row gets a recognisable id."""
    table.loc[::2, "PAYMENTS"] = "#VALUE!"
    table.loc[4, "CUST_ID"] = HOSTILE_ID


def repeated_ids(table: pd.DataFrame) -> None:
    """A third of the ids repeat the one before them (a bad join upstream)."""
    table.loc[1::3, "CUST_ID"] = table["CUST_ID"].shift(1)[1::3]
    table.loc[7, "CUST_ID"] = HOSTILE_ID
    table.loc[8, "CUST_ID"] = HOSTILE_ID


# (how the table is broken, whether the header is written, the rule and column named, a value it shows)
SCENARIOS: dict[str, tuple[Callable[[pd.DataFrame], None], bool, str, str, str]] = {
    "text in a numeric column": (values_as_text, True, "numeric_type", "PAYMENTS", "#VALUE!"),
    "repeated ids": (repeated_ids, True, "id_unique", "CUST_ID", "D000001"),
    "header line missing": (lambda table: None, False, "required_columns", "CUST_ID", "D000001"),
}


def tracking_store_text(project: Path) -> str:
    """Every value of every table of the project's MLflow SQLite store, as one text."""
    with sqlite3.connect(project / "mlflow.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            str(value) for table in tables for row in db.execute(f'SELECT * FROM "{table}"') for value in row
        )


def error_tags(project: Path) -> list[str]:
    """The ``error`` tag of every run in the project's MLflow store."""
    with sqlite3.connect(project / "mlflow.db") as db:
        return [row[0] for row in db.execute("SELECT value FROM tags WHERE key = 'error'")]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_stopped_run_sends_rule_column_and_counts_to_mlflow_never_ids_or_values(run_pipeline, project_copy, scenario):
    breaks, with_header, rule, column, shown = SCENARIOS[scenario]
    path = project_copy / "data/01_raw/customers.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    ids = set(table["CUST_ID"]) | {HOSTILE_ID}
    breaks(table)
    table.to_csv(path, index=False, header=with_header)

    with pytest.raises(DataContractError) as stopped:
        run_pipeline(pipelines=["data_processing"])
    assert shown in str(stopped.value), "the user's console message keeps its examples"

    [tag] = error_tags(project_copy)
    assert f"rule '{rule}'" in tag and f"column '{column}'" in tag and "customers.csv" in tag
    store = tracking_store_text(project_copy)
    leaked = {value for value in ids | {"#VALUE!"} if value in store}
    assert not leaked, f"customer values found in MLflow: {sorted(leaked)[:3]}"


def test_the_tracking_message_keeps_the_counts_of_a_stop_on_too_many_broken_rows():
    error = DataContractError(
        "4475 of 8950 rows would be quarantined, above max_quarantine_share=0.2; the most frequent problem is shown",
        source="data/01_raw/customers.csv",
        column="PAYMENTS",
        rule="numeric_type",
        examples=["line 2: '#VALUE!'", "line 3: 'D000002'"],
    )
    assert tracking_safe_message(error) == (
        "DataContractError: Invalid customer table 'data/01_raw/customers.csv', column 'PAYMENTS', "
        "rule 'numeric_type': 4475 of 8950 rows would be quarantined, above max_quarantine_share=0.2"
    )
    assert tracking_safe_message(KeyError("PAYMENTS")) == "KeyError: 'PAYMENTS'"
