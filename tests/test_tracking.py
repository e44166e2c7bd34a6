"""The MLflow helper: nested runs under the active run, from several threads, batched; no-op when off."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from bank_segmentation.framework import tracking


def _use_store(path: Path) -> Iterator[str]:
    uri = f"sqlite:///{path}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite store for the module (creating one costs seconds of migrations)."""
    yield from _use_store(tmp_path_factory.mktemp("mlflow") / "mlflow.db")


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "mlflow.db"
    yield from _use_store(path)


def test_nested_runs_from_several_threads_land_under_the_parent(store):
    mlflow.set_experiment("tracking-test")
    with mlflow.start_run() as parent_run:
        parent = tracking.parent_run()
        runs = [
            tracking.NestedRun(f"trial-{i}", params={"k": i}, metrics={"score": i / 10}, tags={"stage": "test"})
            for i in range(12)
        ]
        with ThreadPoolExecutor(4) as pool:  # worker threads have no active run of their own
            ids = list(pool.map(lambda run: tracking.log_nested_run(run, parent), runs))
        tracking.log_to_parent(metrics={"best_score": 1.1}, tags={"best": "trial-11"})
    client = MlflowClient(store)
    children = client.search_runs(
        [parent_run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run.info.run_id}'"
    )
    assert sorted(r.info.run_id for r in children) == sorted(ids)
    assert {r.data.params["k"] for r in children} == {str(i) for i in range(12)}
    assert all(r.info.status == "FINISHED" and r.data.tags["stage"] == "test" for r in children)
    assert {r.data.metrics["score"] for r in children} == {i / 10 for i in range(12)}
    finished_parent = client.get_run(parent_run.info.run_id)
    assert finished_parent.data.metrics["best_score"] == 1.1


def test_every_helper_is_a_no_op_without_an_active_run(empty_store, tmp_path, caplog):
    caplog.set_level("DEBUG", logger="bank_segmentation.framework.tracking")
    assert mlflow.active_run() is None
    assert tracking.parent_run() is None
    assert tracking.log_nested_run(tracking.NestedRun("x", metrics={"a": 1.0})) is None
    assert tracking.log_nested_runs([tracking.NestedRun("y")]) == []
    tracking.log_to_parent(metrics={"a": 1.0})
    assert tracking.log_python_model("m", {"python_model": object()}) == {}
    assert "tracking" in caplog.text and "disabled" in caplog.text
    assert not (tmp_path / "mlflow.db").exists()  # nothing was written, not even the store


def test_large_batches_are_split_within_mlflow_limits(store):
    mlflow.set_experiment("tracking-batches")
    with mlflow.start_run():
        run_id = tracking.log_nested_run(
            tracking.NestedRun(
                "wide", params={f"p{i}": i for i in range(250)}, metrics={f"m{i}": i for i in range(1200)}
            )
        )
    data = MlflowClient(store).get_run(run_id).data
    assert len(data.params) == 250 and len(data.metrics) == 1200
