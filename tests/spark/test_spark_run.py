"""`kedro run --env spark` through the real Kedro runner, the whole default job: the Spark engine's data processing
writes what the pandas engine writes for the same table (quarantined rows, data quality, imputation statistics,
model input); the model is chosen and fitted on a seeded sample; every customer is then assigned in Spark with
the labels that model gives in pandas, and the profiles, memberships and campaign list count every customer."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bank_segmentation.core.assignment import assign_segments
from bank_segmentation.core.profiles import build_segment_profiles
from bank_segmentation.core.settings import Schema
from bank_segmentation.framework.runs import PublishedSet
from tests.conftest import kedro_run, make_project_copy
from tests.workspace import PROJECT_ROOT

BROKEN = {3: ("BALANCE", "#DIV/0!"), 10: ("PURCHASES", "-12.50"), 25: ("PRC_FULL_PAYMENT", "1.4")}
SAMPLE = 4000  # customers the Spark run chooses and fits its model on, of the demo's 8,948 kept
PINNED = ("--params", "model_choice.mode=pinned")  # the fixed model of the benchmark: no sweep, no search
POSITION = "_position"


def published(project: Path, name: str) -> Path:
    """Where the last run's published ``name`` is (data/published.json)."""
    return project / PublishedSet.load(project).datasets[name]["path"]


def outputs(project: Path) -> dict:
    """What a run published, as a user reads it."""
    model_input = published(project, "model_input")
    return {
        "quality": json.loads((project / "data/08_reporting/data_quality.json").read_text().replace(str(project), ".")),
        "rejected": pd.read_csv(project / "data/02_intermediate/rejected_customers.csv", dtype=str),
        "medians": pickle.loads(published(project, "customer_imputer").read_bytes()).medians,
        "model_input": pd.read_parquet(model_input).drop(columns=POSITION, errors="ignore"),
        "features": pd.read_parquet(published(project, "customer_features")).drop(columns=POSITION, errors="ignore"),
    }


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    pandas_project = make_project_copy(tmp_path_factory.mktemp("pandas") / "project")
    table = pd.read_csv(pandas_project / "data/01_raw/demo/customers.csv", dtype=str)
    for row, (column, value) in BROKEN.items():
        table.loc[row, column] = value
    table.to_csv(pandas_project / "data/01_raw/customers.csv", index=False)
    spark_project = Path(shutil.copytree(pandas_project, tmp_path_factory.mktemp("spark") / "project"))
    shutil.copytree(PROJECT_ROOT / "conf" / "spark", spark_project / "conf" / "spark")
    settings = spark_project / "conf/spark/spark.yml"
    settings.write_text(settings.read_text().replace("max_rows: 200000", f"max_rows: {SAMPLE}"))
    results = []
    for project, args in ((pandas_project, ("--pipelines", "data_processing")), (spark_project, ("--env", "spark"))):
        run = kedro_run(project, *args, *PINNED)
        assert run.returncode == 0, run.stderr[-3000:]
        results.append(outputs(project))
    return results[0], results[1], spark_project


def test_spark_data_processing_publishes_what_pandas_does(both_engines):
    pandas_run, spark_run, _ = both_engines
    assert spark_run["quality"] == pandas_run["quality"]
    assert spark_run["quality"]["rows_quarantined"] == 2 and spark_run["quality"]["repairs"]
    pd.testing.assert_frame_equal(spark_run["rejected"], pandas_run["rejected"])
    assert spark_run["medians"] == pytest.approx(pandas_run["medians"], abs=1e-9, rel=0)
    spark_input = spark_run["model_input"].set_index("CUST_ID").sort_index()
    pandas_input = pandas_run["model_input"].set_index("CUST_ID").sort_index()
    pd.testing.assert_frame_equal(spark_input, pandas_input, check_exact=False, atol=1e-9, rtol=0)


def test_spark_chooses_on_a_sample_and_assigns_every_customer_as_pandas_would(both_engines):
    pandas_run, _, project = both_engines
    kept = pandas_run["model_input"]
    fitted_on = json.loads((project / "data/08_reporting/model_selection.json").read_text())["fitting"]["customers"]
    assert 0.8 * SAMPLE < fitted_on < 1.2 * SAMPLE < len(kept)
    report = (project / "data/08_reporting/segmentation_report.html").read_text()
    assert f"{len(kept):,} customers were split" in report and f"seeded sample of {fitted_on:,}" in report

    model = pickle.loads(published(project, "segmentation_model").read_bytes())
    schema = Schema.model_validate(yaml.safe_load((project / "conf/base/parameters_schema.yml").read_text())["schema"])
    expected = assign_segments(model, kept, schema).set_index("CUST_ID").sort_index()
    spark = pd.read_parquet(published(project, "segment_assignments")).drop(columns=POSITION)
    spark = spark.astype({"segment": "int64"}).set_index("CUST_ID").sort_index()[expected.columns]
    assert spark.index.equals(expected.index)  # every kept customer, once
    assert (spark["segment"] == expected["segment"]).all()  # the same model gives identical labels
    assert (spark["second_closest_segment"] == expected["second_closest_segment"]).all()
    assert spark["distance_to_centroid"].to_numpy() == pytest.approx(expected["distance_to_centroid"], abs=1e-9)

    params = yaml.safe_load((project / "conf/base/parameters_reporting.yml").read_text())["reporting"]["profiles"]
    pandas_profiles = build_segment_profiles(pandas_run["features"], expected.reset_index(), "CUST_ID", params)
    spark_profiles = pd.read_csv(published(project, "segment_profiles"))
    assert list(spark_profiles.columns) == list(pandas_profiles.columns)
    assert spark_profiles["customers"].sum() == len(kept)
    numbers = pandas_profiles.select_dtypes("number").columns
    pd.testing.assert_frame_equal(spark_profiles[numbers], pandas_profiles[numbers], check_exact=False, rtol=1e-9)
    assert (spark_profiles["top_features"] == pandas_profiles["top_features"]).all()


def test_spark_campaign_list_and_memberships_hold_every_customer(both_engines):
    pandas_run, _, project = both_engines
    names = {s["id"]: s["name"] for s in json.loads(published(project, "segment_catalogue").read_text())["segments"]}
    assignments = pd.read_parquet(published(project, "segment_assignments")).astype({"segment": "int64"})
    named = assignments.set_index("CUST_ID")["segment"].map(names)
    campaign = pd.concat(pd.read_csv(part) for part in sorted(published(project, "campaign_list").glob("*.csv")))
    assert sorted(campaign["CUST_ID"]) == sorted(pandas_run["model_input"]["CUST_ID"])
    assert (campaign.set_index("CUST_ID")["segment_name"] == named.reindex(campaign["CUST_ID"])).all()
    memberships = pd.read_parquet(published(project, "segment_memberships"))
    assert list(memberships.columns) == ["CUST_ID", "segment", "segment_name", "archetype", "source"]
    assert len(memberships) == len(campaign) and set(memberships["source"]) == {"training"}
    assert (memberships.set_index("CUST_ID")["segment_name"] == named.reindex(memberships["CUST_ID"])).all()


@pytest.fixture(scope="module")
def both_scorings(both_engines, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The Spark-trained project scored twice from the same published set: by pandas, then by Spark."""
    _, _, trained = both_engines
    pandas_scoring = Path(shutil.copytree(trained, tmp_path_factory.mktemp("pandas_scoring") / "project"))
    spark_scoring = Path(shutil.copytree(trained, tmp_path_factory.mktemp("spark_scoring") / "project"))
    for project, args in ((pandas_scoring, ()), (spark_scoring, ("--env", "spark"))):
        run = kedro_run(project, *args, "--pipelines", "scoring")
        assert run.returncode == 0, run.stderr[-3000:]
    return pandas_scoring, spark_scoring


def report(project: Path, name: str) -> dict:
    return json.loads((project / f"data/08_reporting/{name}.json").read_text())


def test_spark_scores_every_customer_as_pandas_does(both_scorings):
    pandas_project, spark_project = both_scorings
    expected = pd.read_csv(published(pandas_project, "scored_customers"), dtype={"CUST_ID": str})
    folder = published(spark_project, "scored_customers")
    assert sorted(p.name for p in folder.glob("segment=*")), "partitioned by segment"
    scored = pd.read_parquet(folder).astype({"segment": "int64"})
    assert list(scored.columns) == [c for c in expected.columns if c != "segment"] + ["segment"]
    expected, scored = expected.set_index("CUST_ID").sort_index(), scored.set_index("CUST_ID").sort_index()
    assert scored.index.equals(expected.index)  # every scored customer, once
    exact = ["segment", "second_closest_segment", "segment_name", "recommended_action", "outside_training"]
    exact += ["why", "rules_agree", "previous_segment_name", "movement"]
    for column in exact:
        left, right = scored[column].astype("string").fillna(""), expected[column].astype("string").fillna("")
        assert (left == right).all(), column
    for column in ("distance_to_centroid", "distance_percentile"):
        assert scored[column].to_numpy() == pytest.approx(expected[column].to_numpy(), abs=1e-9), column

    assert report(spark_project, "migration") == report(pandas_project, "migration")
    spark_drift, pandas_drift = report(spark_project, "drift"), report(pandas_project, "drift")
    for key in ("n_training", "n_scored", "segment_shares", "max_share_shift", "outside_training"):
        assert spark_drift[key] == pandas_drift[key], key
    # bin edges: approximate quantiles on Spark, interpolated ones in pandas
    for column, row in pandas_drift["features"].items():
        assert spark_drift["features"][column]["psi"] == pytest.approx(row["psi"], abs=0.02), column
    memberships = pd.read_parquet(published(spark_project, "segment_memberships"))
    assert set(memberships["source"]) == {"scoring"} and len(memberships) == len(scored)
