"""One demo project trained once per test session; each scoring test scores in its own copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import make_project_copy, run_default

FAST_TRAINING = {
    "clustering": {"sweep": {"variants": ["log_standard"], "k_min": 3, "k_max": 8}},
    "evaluation": {"agreement": {"n_refits": 3}},
    "model_choice": {"sources": ["sweep"]},
}
TRAINING_PIPELINES = ["data_processing", "clustering", "tuning", "model_choice", "training", "reporting"]


@pytest.fixture(scope="session")
def trained_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy where the shipped demo portfolio has been trained (fast settings) and published, its served
    model registered."""
    project = make_project_copy(tmp_path_factory.mktemp("trained_demo") / "project")
    run_default(project, FAST_TRAINING, TRAINING_PIPELINES)
    return project


def copy_of(trained: Path, destination: Path) -> Path:
    """A copy of a trained project (a moved project: its MLflow store follows it)."""
    return Path(shutil.copytree(trained, destination, symlinks=True))


@pytest.fixture
def trained_project(trained_demo: Path, tmp_path: Path) -> Path:
    """This test's own copy of the trained demo project."""
    return copy_of(trained_demo, tmp_path / "project")
