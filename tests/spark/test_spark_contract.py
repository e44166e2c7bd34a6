"""The Spark engine keeps and quarantines the same rows, for the same reasons, and learns the same imputation
statistics as the pandas path: on the demo portfolio and on every file of the bad-input corpus."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bank_segmentation.core.errors import DataContractError
from bank_segmentation.core.imputation import fit_imputer
from bank_segmentation.core.validation import REJECTED_LINE, REJECTED_REASONS, validate_table
from bank_segmentation.framework.datasets import CustomerTableDataset
from bank_segmentation.spark.contract import validate_spark_table
from bank_segmentation.spark.imputation import fit_spark_imputer, impute_spark
from tests.data.make_bad_inputs import CORPUS_DIR
from tests.workspace import PROJECT_ROOT, node_parameters

DEMO = PROJECT_ROOT / "data/01_raw/demo/customers.csv"
UNREADABLE_BY_SPARK = {"non_utf8_encoding", "empty_file"}  # decoded and refused by the file dataset first


@pytest.fixture(scope="module")
def params() -> dict:
    return node_parameters()


def spark_read(spark, path: Path, delimiter: str):
    """The raw table as Spark reads a CSV export: every cell as text, leading spaces dropped (as pandas does)."""
    options = {"header": True, "inferSchema": False, "sep": delimiter, "ignoreLeadingWhiteSpace": True}
    return spark.read.options(**options).csv(str(path))


def both_engines(spark, path: Path, params: dict):
    """(pandas outcome or error, Spark outcome or error) for one file."""
    raw = CustomerTableDataset(filepath=str(path)).load()
    delimiter = raw.attrs["delimiter"]
    results = []
    for run in (
        lambda: validate_table(raw, params["schema"], params["validation"]),
        lambda: validate_spark_table(
            spark_read(spark, path, delimiter), params["schema"], params["validation"], str(path), delimiter
        ),
    ):
        try:
            results.append(run())
        except DataContractError as error:
            results.append(error)
    return results


def reasons_by_line(rejected: pd.DataFrame) -> dict[int, set[str]]:
    """Each quarantined line's reasons as (rule: column) — the value as each engine prints a float may differ."""
    return {
        int(line): {re.sub(r"=.*$", "", reason) for reason in str(text).split(" | ")}
        for line, text in zip(rejected[REJECTED_LINE], rejected[REJECTED_REASONS])
    }


def assert_same_outcome(pandas_outcome, spark_outcome, schema) -> None:
    if isinstance(pandas_outcome, DataContractError):
        assert isinstance(spark_outcome, DataContractError), spark_outcome
        assert (spark_outcome.rule, spark_outcome.column) == (pandas_outcome.rule, pandas_outcome.column)
        return
    assert not isinstance(spark_outcome, DataContractError), spark_outcome
    report = {k: v for k, v in spark_outcome.report.items() if k != "source"}
    assert report == {k: v for k, v in pandas_outcome.report.items() if k != "source"}
    rejected = spark_outcome.rejected.toPandas()
    assert reasons_by_line(rejected) == reasons_by_line(pandas_outcome.rejected)
    kept = spark_outcome.kept.toPandas().drop(columns="_position").set_index(schema.id_column).sort_index()
    expected = pandas_outcome.kept.set_index(schema.id_column).sort_index()
    assert kept.index.tolist() == expected.index.tolist()
    for column in schema.feature_columns:
        assert np.allclose(kept[column].astype(float), expected[column].astype(float), equal_nan=True, atol=0), column


def test_the_demo_portfolio_is_validated_and_imputed_alike(spark, params):
    pandas_outcome, spark_outcome = both_engines(spark, DEMO, params)
    schema = params["schema"]
    assert_same_outcome(pandas_outcome, spark_outcome, schema)
    assert spark_outcome.report["rows_in"] == 8950

    imputation = params["imputation"]
    expected = fit_imputer(pandas_outcome.kept, schema.feature_columns, imputation)
    learned = fit_spark_imputer(spark_outcome.kept, schema.feature_columns, imputation)
    assert learned.columns == expected.columns and learned.domain_rules == expected.domain_rules
    for column in schema.feature_columns:
        assert learned.medians[column] == pytest.approx(expected.medians[column], abs=1e-9, rel=0), column
    filled, counts = impute_spark(spark_outcome.kept, learned)
    expected_filled, expected_counts = expected.transform(pandas_outcome.kept)
    assert counts == expected_counts
    spark_filled = filled.toPandas().set_index(schema.id_column).sort_index()
    pandas_filled = expected_filled.set_index(schema.id_column).sort_index()
    assert not spark_filled[schema.feature_columns].isna().any().any()
    assert np.allclose(spark_filled[schema.feature_columns], pandas_filled[schema.feature_columns], atol=1e-9, rtol=0)


def test_the_real_cc_general_table_is_validated_alike(spark, params, real_table):
    pandas_outcome, spark_outcome = both_engines(spark, real_table, params)
    assert_same_outcome(pandas_outcome, spark_outcome, params["schema"])
    assert spark_outcome.report["repairs"] == {"frequency_range:CASH_ADVANCE_FREQUENCY": 8}  # its known quirk
    columns, imputation = params["schema"].feature_columns, params["imputation"]
    expected = fit_imputer(pandas_outcome.kept, columns, imputation).medians
    assert fit_spark_imputer(spark_outcome.kept, columns, imputation).medians == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("case", sorted(p.stem for p in CORPUS_DIR.glob("*.csv") if p.stem not in UNREADABLE_BY_SPARK))
def test_every_bad_input_gets_the_same_verdict_on_both_engines(spark, params, case):
    pandas_outcome, spark_outcome = both_engines(spark, CORPUS_DIR / f"{case}.csv", params)
    assert_same_outcome(pandas_outcome, spark_outcome, params["schema"])
