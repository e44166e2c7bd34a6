"""Every private internal of a dependency the project still relies on, checked against the installed version.

Each use is marked ``PRIVATE API`` at its site with the reason no public route exists. An upgrade that
removes or renames one fails here, by name, instead of somewhere in a run.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog
from kedro_datasets.pickle import PickleDataset
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
from kedro_mlflow.io.artifacts import MlflowArtifactDataset
from kedro_mlflow.io.catalog.switch_catalog_logging import switch_catalog_logging

from bank_segmentation.framework.hooks import ProjectMlflowHook
from bank_segmentation.framework.tracking import (
    EXPERIMENT_KIND_TAG,
    MODEL_TRAINING_KIND,
    MODEL_TRAINING_WORKFLOW,
    WORKFLOW_PARAMETER,
)
from tests.workspace import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "src" / "bank_segmentation"


def test_every_private_use_is_marked_and_listed_here():
    """The marked sites are exactly the ones this file checks (a new one must be added here)."""
    marked = sorted(
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if "PRIVATE API (tests/test_private_api.py)" in path.read_text(encoding="utf-8")
    )
    assert marked == ["framework/hooks.py", "framework/runs.py", "framework/session.py", "framework/tracking.py"]


def test_a_kedro_session_records_its_id_in_its_private_store(tmp_path: Path):
    """framework/session.py redraws a taken save version: Kedro has no setter for the id its store records."""
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT) as session:
        assert session._store["session_id"] == session.session_id
        session._store["session_id"] = "claimed-elsewhere"
        assert session.store["session_id"] == "claimed-elsewhere"


def test_kedro_mlflow_switches_logging_with_a_private_dataset_flag(tmp_path: Path):
    """framework/runs.py re-creates versioned datasets and must carry kedro-mlflow's switch over."""
    dataset = MlflowArtifactDataset(dataset={"type": PickleDataset, "filepath": str(tmp_path / "x.pkl")})
    catalog = DataCatalog(datasets={"report": dataset})
    switch_catalog_logging(catalog, False)
    assert catalog.get("report")._logging_activated is False


def test_the_guarded_mlflow_hook_overrides_kedro_mlflow_hooks_with_their_signatures():
    """framework/hooks.py subclasses MlflowHook: each overridden hook must still exist with the same arguments."""
    overridden = [
        name
        for name, member in vars(ProjectMlflowHook).items()
        if callable(member) and not name.startswith("_") and hasattr(MlflowHook, name)
    ]
    assert {"after_context_created", "after_catalog_created", "before_node_run", "on_pipeline_error"} <= set(overridden)
    for name in overridden:
        ours = list(inspect.signature(getattr(ProjectMlflowHook, name)).parameters)
        theirs = list(inspect.signature(getattr(MlflowHook, name)).parameters)
        assert ours == theirs, name


def test_the_quietened_mlflow_registry_logger_still_exists():
    """framework/tracking.py quietens the registry client's logger, which lives in a private mlflow module."""
    assert importlib.util.find_spec("mlflow.tracking._model_registry.client") is not None


def test_the_mlflow_ui_still_reads_the_experiment_kind_tag():
    """framework/tracking.py tags the experiment so the UI opens its runs table: the UI bundle must know the tag."""
    import mlflow

    bundle = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"
    scripts = [path.read_text(encoding="utf-8", errors="ignore") for path in bundle.glob("*.js")]
    assert any(EXPERIMENT_KIND_TAG in script and MODEL_TRAINING_KIND in script for script in scripts)
    # ... and the route parameter that opens the model-training view whatever the browser remembers
    assert any(
        f'get("{WORKFLOW_PARAMETER}")' in script and f'"{MODEL_TRAINING_WORKFLOW}"' in script for script in scripts
    )
