"""`kedro run --env spark` through the real Kedro runner: the Spark engine's data processing writes what the
pandas engine writes for the same table (quarantined rows, data quality, imputation statistics, model input)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import kedro_run, make_project_copy
from tests.workspace import PROJECT_ROOT

BROKEN = {3: ("BALANCE", "#DIV/0!"), 10: ("PURCHASES", "-12.50"), 25: ("PRC_FULL_PAYMENT", "1.4")}


def outputs(project: Path) -> dict:
    """What a data-processing run published, as a user reads it."""
    imputer = max((project / "data/06_models/customer_imputer.pkl").iterdir()) / "customer_imputer.pkl"
    return {
        "quality": json.loads((project / "data/08_reporting/data_quality.json").read_text().replace(str(project), ".")),
        "rejected": pd.read_csv(project / "data/02_intermediate/rejected_customers.csv", dtype=str),
        "medians": pickle.loads(imputer.read_bytes()).medians,
        "model_input": pd.read_parquet(project / "data/05_model_input/model_input.parquet"),
    }


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    pandas_project = make_project_copy(tmp_path_factory.mktemp("pandas") / "project")
    table = pd.read_csv(pandas_project / "data/01_raw/demo/customers.csv", dtype=str)
    for row, (column, value) in BROKEN.items():
        table.loc[row, column] = value
    table.to_csv(pandas_project / "data/01_raw/customers.csv", index=False)
    spark_project = Path(shutil.copytree(pandas_project, tmp_path_factory.mktemp("spark") / "project"))
    shutil.copytree(PROJECT_ROOT / "conf" / "spark", spark_project / "conf" / "spark")
    results = []
    for project, env in ((pandas_project, ()), (spark_project, ("--env", "spark"))):
        run = kedro_run(project, *env, "--pipelines", "data_processing")
        assert run.returncode == 0, run.stderr[-3000:]
        results.append(outputs(project))
    return results[0], results[1]


def test_spark_data_processing_publishes_what_pandas_does(both_engines):
    pandas_run, spark_run = both_engines
    assert spark_run["quality"] == pandas_run["quality"]
    assert spark_run["quality"]["rows_quarantined"] == 2 and spark_run["quality"]["repairs"]
    pd.testing.assert_frame_equal(spark_run["rejected"], pandas_run["rejected"])
    assert spark_run["medians"] == pytest.approx(pandas_run["medians"], abs=1e-9, rel=0)
    spark_input = spark_run["model_input"].set_index("CUST_ID").sort_index()
    pandas_input = pandas_run["model_input"].set_index("CUST_ID").sort_index()
    pd.testing.assert_frame_equal(spark_input, pandas_input, check_exact=False, atol=1e-9, rtol=0)
