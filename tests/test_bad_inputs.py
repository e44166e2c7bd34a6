"""Every file of the bad-input corpus has a stated outcome: a clear error, or a documented repair/quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kedro.io import DatasetError

from bank_segmentation.core.errors import DataContractError
from bank_segmentation.framework.datasets import CustomerTableDataset
from bank_segmentation.pipelines.data_processing.nodes import (
    build_model_input,
    check_segmentable,
    engineer_features,
    impute_customers,
    learn_imputer,
    validate_customers,
)
from tests.data.make_bad_inputs import BAD_ROWS, CORPUS_DIR, N_ROWS, build_corpus
from tests.workspace import node_parameters

BAD_LINES = [row + 2 for row in BAD_ROWS]


@dataclass(frozen=True)
class Outcome:
    """What validation must do with one corpus file."""

    error_rule: str | None = None  # a fatal error naming this rule
    error_column: str | None = None
    quarantined_lines: list[int] = field(default_factory=list)
    quarantine_rule: str | None = None
    repairs: dict[str, int] = field(default_factory=dict)
    ignored_columns: int = 0
    kept: int | None = None


EXPECTED = {
    "empty_file": Outcome(error_rule="not_empty"),
    "header_only": Outcome(error_rule="not_empty"),
    "missing_required_column": Outcome(error_rule="required_columns", error_column="TENURE"),
    "unknown_extra_columns": Outcome(ignored_columns=2, kept=N_ROWS),
    "header_case_spaces_bom": Outcome(kept=N_ROWS),
    "semicolon_decimal_comma": Outcome(kept=N_ROWS),
    "excel_errors_and_text": Outcome(quarantined_lines=BAD_LINES, quarantine_rule="numeric_type: BALANCE"),
    "negative_amounts": Outcome(quarantined_lines=BAD_LINES, quarantine_rule="non_negative: PURCHASES"),
    "frequencies_above_one": Outcome(repairs={"frequency_range:CASH_ADVANCE_FREQUENCY": 3}, kept=N_ROWS),
    # "NaN" is a missing value (imputed later); inf and -inf are quarantined
    "nan_and_inf": Outcome(quarantined_lines=BAD_LINES[1:], quarantine_rule="finite: PAYMENTS"),
    # B000001 and B000002 already exist in rows 0 and 1: every later copy goes
    "duplicate_ids": Outcome(quarantined_lines=BAD_LINES, quarantine_rule="id_unique: CUST_ID"),
    "missing_ids": Outcome(quarantined_lines=BAD_LINES, quarantine_rule="id_not_empty: CUST_ID"),
    "fewer_rows_than_k": Outcome(kept=2),  # valid rows, refused before clustering (test below)
    "identical_rows": Outcome(kept=N_ROWS),  # valid rows, refused before clustering (test below)
    "empty_column": Outcome(error_rule="column_not_empty", error_column="CREDIT_LIMIT"),
    "absurd_magnitudes": Outcome(quarantined_lines=BAD_LINES, quarantine_rule="magnitude: BALANCE"),
    "non_utf8_encoding": Outcome(ignored_columns=1, kept=N_ROWS),
    "very_wide_file": Outcome(ignored_columns=2000, kept=N_ROWS),
}


@pytest.fixture(scope="module")
def dp_params() -> dict:
    return node_parameters()


def test_every_corpus_file_has_a_stated_outcome():
    assert {path.stem for path in CORPUS_DIR.glob("*.csv")} == set(EXPECTED)


def test_the_committed_corpus_is_what_the_script_writes():
    for name, content in build_corpus().items():
        assert (CORPUS_DIR / name).read_bytes() == content, f"{name} is stale: rerun tests/data/make_bad_inputs.py"


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_input_outcome(case: str, dp_params: dict):
    expected = EXPECTED[case]
    path = CORPUS_DIR / f"{case}.csv"

    def validate():
        raw = CustomerTableDataset(str(path)).load()
        return validate_customers(raw, dp_params["schema"], dp_params["validation"])

    if expected.error_rule:
        with pytest.raises((DataContractError, DatasetError)) as caught:
            validate()
        message = str(caught.value)
        assert f"{case}.csv" in message and f"rule '{expected.error_rule}'" in message
        if expected.error_column:
            assert f"column '{expected.error_column}'" in message
        return

    kept, rejected, report = validate()
    assert len(kept) + len(rejected) == report["rows_in"]
    assert sorted(rejected["line"]) == expected.quarantined_lines
    if expected.quarantine_rule:
        assert rejected["reasons"].str.contains(expected.quarantine_rule, regex=False).all()
    assert report["repairs"] == expected.repairs
    assert len(report["ignored_columns"]) == expected.ignored_columns
    if expected.kept is not None:
        assert len(kept) == expected.kept
    assert not kept.drop(columns="CUST_ID").isin([float("inf"), float("-inf")]).any().any()


def test_semicolon_file_with_decimal_commas_reads_the_same_numbers_as_the_plain_file(dp_params: dict):
    def load(name: str):
        raw = CustomerTableDataset(str(CORPUS_DIR / name)).load()
        return validate_customers(raw, dp_params["schema"], dp_params["validation"])[0]

    plain, european = load("header_case_spaces_bom.csv"), load("semicolon_decimal_comma.csv")
    assert plain.equals(european)


def test_non_utf8_file_keeps_its_text_readable(tmp_path: Path):
    raw = CustomerTableDataset(str(CORPUS_DIR / "non_utf8_encoding.csv")).load()
    assert set(raw["BRANCH"]) == {"Zürich", "Besançon"}


@pytest.mark.parametrize(
    ("case", "rule"), [("fewer_rows_than_k", "enough_customers"), ("identical_rows", "distinct_customers")]
)
def test_tables_too_small_or_uniform_to_segment_stop_before_clustering(case: str, rule: str, dp_params: dict):
    raw = CustomerTableDataset(str(CORPUS_DIR / f"{case}.csv")).load()
    kept, _, report = validate_customers(raw, dp_params["schema"], dp_params["validation"])
    clean, _ = impute_customers(kept, learn_imputer(kept, dp_params["schema"], dp_params["imputation"]))
    features = engineer_features(clean, dp_params["features"])
    model_input = build_model_input(features, dp_params["schema"], dp_params["features"])
    with pytest.raises(DataContractError, match=rf"{case}\.csv.*rule '{rule}'"):
        check_segmentable(model_input, report, dp_params["schema"], dp_params["validation"])
