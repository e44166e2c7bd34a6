"""Every CSV a person may open is spreadsheet-safe: the rejected-rows files of training and scoring included."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from bank_segmentation.core.spreadsheet import escape_cell
from tests.conftest import end_active_mlflow_runs

HOSTILE_HEADER = '=HYPERLINK("http://evil.example/?q=1")'
HOSTILE_BALANCE = '=HYPERLINK("http://evil.example","open me")'
HOSTILE_PURCHASES = "+cmd|' /C calc'!A0"
HOSTILE_ID = "@SUM(1)"
HOSTILE_NOTE = "-2+3+cmd|' /C calc'!A0"
# (row position in the file, the rule and column its quarantine reason must name)
HOSTILE_ROWS = {
    10: "numeric_type: BALANCE",
    20: "numeric_type: PURCHASES",
    30: "non_negative: CASH_ADVANCE",
    40: "tenure_min: TENURE",
}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NEGATIVE = re.compile(r"-\d+(\.\d+)?")


@pytest.mark.parametrize("value", ["-120.5", "-5", "+3", "-0.25e3", "12"])
def test_a_plain_number_stays_a_number(value):
    assert escape_cell(value) == value


@pytest.mark.parametrize("value", ["-2+3", "-1e5+A1", "-inf", "-", "+cmd|' /C calc'!A0", "=1", "@SUM(1)", "\t1"])
def test_anything_more_than_a_number_behind_a_trigger_is_escaped(value):
    assert escape_cell(value) == "'" + value


def make_hostile(path: Path) -> pd.DataFrame:
    """The shipped table with a hostile extra column and a few hostile (and broken) rows; returns it."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table[HOSTILE_HEADER] = "@SUM(1)"
    table.loc[10, "BALANCE"] = HOSTILE_BALANCE
    table.loc[20, "PURCHASES"] = HOSTILE_PURCHASES
    table.loc[30, ["CUST_ID", "CASH_ADVANCE"]] = [HOSTILE_ID, "-5"]
    table.loc[40, [HOSTILE_HEADER, "TENURE"]] = [HOSTILE_NOTE, "0"]
    table.to_csv(path, index=False)
    return table


def run_until(project: Path, pipeline: str, output: str) -> None:
    """Run ``pipeline`` of ``project`` through the real Kedro session and runner, up to ``output``."""
    bootstrap_project(project)
    end_active_mlflow_runs()
    try:
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_names=[pipeline], to_outputs=[output])
    finally:
        end_active_mlflow_runs()


@pytest.mark.parametrize(
    ("pipeline", "raw", "rejected"),
    [
        ("data_processing", "customers.csv", "rejected_customers"),
        ("scoring", "customers_to_score.csv", "rejected_customers_to_score"),
    ],
)
def test_rejected_rows_file_cannot_run_a_formula_and_keeps_its_meaning(project_copy, pipeline, raw, rejected):
    table = make_hostile(project_copy / "data/01_raw" / raw)
    run_until(project_copy, pipeline, rejected)

    with (project_copy / "data/02_intermediate" / f"{rejected}.csv").open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    cells = [cell for row in [header, *rows] for cell in row]
    formulas = [c for c in cells if c.startswith(TRIGGERS) and not PLAIN_NEGATIVE.fullmatch(c)]
    assert not formulas, f"cells a spreadsheet would run: {formulas[:5]}"

    written = pd.DataFrame(rows, columns=header)
    assert "'" + HOSTILE_HEADER in header
    assert written["line"].astype(int).tolist() == [row + 2 for row in HOSTILE_ROWS]  # file lines, header = 1
    for reasons, expected in zip(written["reasons"], HOSTILE_ROWS.values()):
        assert reasons.startswith(expected)
    by_line = written.set_index("line")
    assert by_line.loc["12", "BALANCE"] == "'" + HOSTILE_BALANCE
    assert by_line.loc["22", "PURCHASES"] == "'" + HOSTILE_PURCHASES
    assert by_line.loc["32", ["CUST_ID", "CASH_ADVANCE"]].tolist() == ["'" + HOSTILE_ID, "-5"]  # -5 is a number
    assert by_line.loc["42", "'" + HOSTILE_HEADER] == "'" + HOSTILE_NOTE
    untouched = table.loc[list(HOSTILE_ROWS), ["PAYMENTS", "TENURE"]].to_numpy().tolist()
    assert by_line[["PAYMENTS", "TENURE"]].to_numpy().tolist() == untouched  # the rest reads as in the file
