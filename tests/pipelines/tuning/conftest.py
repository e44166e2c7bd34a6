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
FAST_EVALUATION: dict[str, Any] = {"n_init": 3, "agreement": {"n_refits": 3}}


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
        "customer_features": pd.read_parquet(project / "data/04_feature/customer_features.parquet"),
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
    """The project's evaluation block made light (fewer restarts and refits)."""
    evaluation = params["evaluation"]
    agreement = evaluation.agreement.model_copy(update=FAST_EVALUATION["agreement"])
    return evaluation.model_copy(update={"n_init": FAST_EVALUATION["n_init"], "agreement": agreement})


def tune_inputs(demo_inputs: dict[str, Any], tuning: dict[str, Any], **choice: Any) -> dict[str, Any]:
    """Keyword arguments of ``tune_segmentation`` on the demo inputs (model choice parameters overridable)."""
    params = demo_inputs["params"]
    return {
        "model_input": demo_inputs["model_input"],
        "customer_features": demo_inputs["customer_features"],
        "tuning": tuning,
        "evaluation": evaluation_params(params),
        "model_choice": {**params["model_choice"], **choice},
        "schema": params["schema"],
        "features": params["features"],
        "naming": params["reporting"]["naming"],
        "profiles": params["reporting"]["profiles"],
    }
