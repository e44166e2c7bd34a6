"""Fixtures of the tuning tests: the demo model input (built once) and small, fast tuning parameters."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import REPO_ROOT, make_project_copy

# Light scoring so a trial takes a fraction of a second; the search space itself is the shipped one.
FAST_EVALUATION: dict[str, Any] = {"n_init": 3, "stability": {"n_bootstrap": 3, "n_init": 1}}


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """model_input of the demo portfolio (data_processing run once in a project copy) and the parameters."""
    project = make_project_copy(tmp_path_factory.mktemp("tuning") / "project")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        bootstrap_project(project)
        with KedroSession.create(project_path=project) as session:
            params = session.load_context().params
            session.run(pipeline_names=["data_processing"])
    return {
        "model_input": pd.read_parquet(project / "data/05_model_input/model_input.parquet"),
        "params": params,
        "project": project,
    }


def tuning_params(storage: Path, **study: Any) -> dict[str, Any]:
    """The shipped tuning parameters with the study in ``storage`` and study settings overridden."""
    tuning = yaml.safe_load((REPO_ROOT / "conf/base/parameters_tuning.yml").read_text())["tuning"]
    tuning = copy.deepcopy(tuning)
    tuning["study"].update({"storage": f"sqlite:///{storage}", **study})
    tuning["log_nested_runs"] = False
    return tuning


def evaluation_params(params: dict[str, Any]) -> dict[str, Any]:
    """The project's evaluation block made light (fewer restarts and bootstrap fits)."""
    evaluation = copy.deepcopy(params["evaluation"])
    evaluation["n_init"] = FAST_EVALUATION["n_init"]
    evaluation["stability"].update(FAST_EVALUATION["stability"])
    return evaluation
