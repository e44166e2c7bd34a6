"""Throw-away working copies of the project, for tests and benchmarks that must not touch its data."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]

DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)
DEMO_DIR = Path("data") / "01_raw" / "demo"  # the shipped synthetic demo, committed
METADATA_FILES = ("pyproject.toml", ".telemetry")


def copy_project(source: Path, destination: Path, raw_files: bool = True) -> Path:
    """A fresh copy of ``source`` at ``destination``: conf/base, metadata, empty data layers, the demo.

    The shipped demo (``data/01_raw/demo``) is copied to the copy's demo folder and to its input paths
    (``data/01_raw/customers.csv`` ...), so a test can change an input; a table of the user's own in the
    source is never copied. Outputs, the MLflow store and the Optuna study of runs in the copy land in the
    copy. The package itself is imported from the environment; Kedro only needs a ``src`` folder to exist.
    """
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for name in METADATA_FILES:
        if (source / name).exists():
            shutil.copy(source / name, destination / name)
    (destination / "src").mkdir()
    shutil.copytree(source / "conf" / "base", destination / "conf" / "base")
    (destination / "conf" / "local").mkdir(parents=True)
    if (source / "conf" / "logging.yml").exists():
        shutil.copy(source / "conf" / "logging.yml", destination / "conf" / "logging.yml")
    for layer in DATA_LAYERS:
        (destination / "data" / layer).mkdir(parents=True, exist_ok=True)
    if raw_files:
        (destination / DEMO_DIR).mkdir(parents=True)
        for csv in (source / DEMO_DIR).glob("*.csv"):
            shutil.copy(csv, destination / DEMO_DIR / csv.name)
            shutil.copy(csv, destination / "data" / "01_raw" / csv.name)
    return destination


@functools.cache
def node_parameters() -> dict[str, Any]:
    """The shipped parameters (conf/base) as nodes receive them: typed blocks parsed by Kedro's own validator."""
    from kedro.config import OmegaConfigLoader
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project
    from kedro.validation import ParameterValidator

    bootstrap_project(PROJECT_ROOT)
    raw = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="base")
    return ParameterValidator(dict(pipelines)).validate_raw_params(raw["parameters"])
