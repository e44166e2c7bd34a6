"""The registered served model over raw customer rows: as the scoring pipeline answers, in process and over REST."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SERVER_START_SECONDS, answers, free_local_port, kedro_run
from tests.pipelines.scoring.conftest import copy_of

CHAMPION = "models:/bank-segmentation@champion"
BAD_ROWS = {"BALANCE": "twelve", "PURCHASES": "-40", "CASH_ADVANCE": "inf", "TENURE": "0"}  # one rule each


@pytest.fixture(scope="module")
def scored_10k(trained_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained project that scored 10,000 raw rows (the demo's customers and new ones, a few of them broken)."""
    project = copy_of(trained_demo, tmp_path_factory.mktemp("served") / "project")
    raw = project / "data/01_raw"
    known, month = (pd.read_csv(raw / name, dtype=str) for name in ("customers.csv", "customers_to_score.csv"))
    more = month.assign(CUST_ID=month["CUST_ID"] + "M")  # the month-later rows as other customers
    table = pd.concat([known, more]).head(10_000).reset_index(drop=True)
    for offset, (column, value) in enumerate(BAD_ROWS.items()):
        table.loc[offset * 997 + 5, column] = value
    table.to_csv(raw / "customers_to_score.csv", index=False)
    result = kedro_run(project, "--pipelines", "scoring")
    assert result.returncode == 0, result.stderr[-3000:]
    return project


def pipeline_answers(project: Path) -> pd.DataFrame:
    """What the scoring pipeline wrote: scored customers, and rejected ones with their reasons, by id."""
    scored = pd.read_csv(project / "data/07_model_output/scored_customers.csv", dtype={"CUST_ID": str})
    rejected = pd.read_csv(project / "data/02_intermediate/rejected_customers_to_score.csv", dtype=str)
    return pd.concat([scored.assign(status="scored"), rejected.assign(status="rejected")]).set_index("CUST_ID")


def test_each_run_registers_the_served_model_and_moves_champion_to_it(scored_10k: Path):
    client = MlflowClient(f"sqlite:///{scored_10k / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("bank-segmentation", "champion")
    published = json.loads((scored_10k / "data/published.json").read_text())["registered_model"]
    assert published == {"name": "bank-segmentation", "version": str(champion.version), "alias": "champion"}
    info = mlflow.models.get_model_info(f"{champion.source}")
    inputs = [spec.name for spec in info.signature.inputs.inputs]
    assert inputs[0] == "CUST_ID" and "BALANCE" in inputs and "TENURE" in inputs


def test_the_served_model_answers_10k_raw_rows_as_the_scoring_pipeline(scored_10k: Path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{scored_10k / 'mlflow.db'}")
    raw = pd.read_csv(scored_10k / "data/01_raw/customers_to_score.csv", dtype=str, keep_default_na=False)
    served = mlflow.pyfunc.load_model(CHAMPION).predict(raw)
    assert len(served) == len(raw) == 10_000
    assert served["CUST_ID"].tolist() == raw["CUST_ID"].tolist()  # one answer per row, in the request's order

    expected = pipeline_answers(scored_10k).loc[served["CUST_ID"]]
    assert served["status"].tolist() == expected["status"].tolist()
    assert (served["status"] == "rejected").sum() == len(BAD_ROWS)
    rejected = served[served["status"] == "rejected"].set_index("CUST_ID")
    assert rejected["reasons"].tolist() == expected.loc[rejected.index, "reasons"].tolist()
    assert rejected["segment"].isna().all()

    scored = served[served["status"] == "scored"].set_index("CUST_ID")
    wanted = expected.loc[scored.index]
    assert (scored["segment"].astype(int) == wanted["segment"].astype(int)).all()
    for column in ("segment_name", "recommended_action", "why"):
        assert scored[column].tolist() == wanted[column].tolist(), column
    assert np.allclose(scored["distance_to_centroid"].astype(float), wanted["distance_to_centroid"].astype(float))


def test_mlflow_models_serve_answers_raw_rows_over_rest_with_names_actions_and_rejections(scored_10k: Path):
    port = free_local_port()
    venv_bin = Path(sys.executable).parent  # `uv run` puts the environment's tools (uvicorn) on PATH
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{scored_10k / 'mlflow.db'}",
    }
    command = [str(venv_bin / "mlflow"), "models", "serve", "-m", CHAMPION, "--env-manager", "local"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = scored_10k / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=scored_10k, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not answers(f"http://127.0.0.1:{port}/ping"):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        raw = pd.read_csv(scored_10k / "data/01_raw/customers.csv").head(4)  # numbers, as JSON sends them
        raw = raw.astype(object)
        raw.loc[2, "PURCHASES"] = "lots"
        body = {"dataframe_split": json.loads(raw.to_json(orient="split", index=False))}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            predictions = json.loads(response.read())["predictions"]  # strict JSON: nulls, no NaN
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert [p["CUST_ID"] for p in predictions] == raw["CUST_ID"].tolist()
    assert [p["status"] for p in predictions] == ["scored", "scored", "rejected", "scored"]
    assert "PURCHASES=lots" in predictions[2]["reasons"] and predictions[2]["segment"] is None
    expected = pipeline_answers(scored_10k)
    for answer in (predictions[i] for i in (0, 1, 3)):
        wanted = expected.loc[answer["CUST_ID"]]
        assert answer["segment"] == int(wanted["segment"])
        assert answer["segment_name"] == wanted["segment_name"] and answer["recommended_action"]
        assert answer["why"] and isinstance(answer["rules_agree"], bool)
