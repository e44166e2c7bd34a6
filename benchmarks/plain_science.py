"""The science of the default ``kedro run`` as a plain script: no Kedro, no MLflow, no report.

Same input file, same parameters (conf/base), same node functions in the same order: validation,
imputation, KPIs, model input; the sweep (every variant x k, reference-space metrics, agreement of refits and
archetype coverage within the business bounds); the Optuna study (same SQLite storage, sampler, seed and
number of trials); the model choice over both; the final fit and the customers' segments. Left out: Kedro
(session, catalog, hooks, dataset files), MLflow (nested runs, model logging and registration) and everything
of the reporting pipeline and the plots.

    uv run python benchmarks/plain_science.py PROJECT_DIR [--timings timings.json]

PROJECT_DIR is a project copy (conf/base + data/01_raw; the study is stored in its data/06_models).
Used by benchmarks/run.py to measure the framework overhead; the stage timings go to ``--timings``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types
from pathlib import Path

import pandas as pd
import yaml


def _science_modules_without_framework() -> None:
    """Import the pipelines' node modules without their packages' ``__init__`` (which builds Kedro pipelines).

    The node modules reach MLflow only through ``bank_segmentation.framework.tracking``; a stub stands in for it, and
    nested-run logging is switched off below, so the stub is never called.
    """
    import bank_segmentation

    package_root = Path(bank_segmentation.__file__).parent
    sys.modules["bank_segmentation.framework.tracking"] = types.ModuleType("bank_segmentation.framework.tracking")
    for name in ("data_processing", "clustering", "tuning", "model_choice", "training"):
        stub = types.ModuleType(f"bank_segmentation.pipelines.{name}")
        stub.__path__ = [str(package_root / "pipelines" / name)]
        sys.modules[stub.__name__] = stub


def load_parameters(project: Path) -> dict:
    """Every ``conf/base/parameters*.yml`` merged (top-level keys are unique across files)."""
    params: dict = {}
    for path in sorted((project / "conf" / "base").glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()) or {})
    return params


def run(project: Path) -> dict[str, float]:
    """Run the science once; return seconds per stage."""
    _science_modules_without_framework()
    from bank_segmentation.core.assignment import assign_segments
    from bank_segmentation.pipelines.clustering import nodes as clustering
    from bank_segmentation.pipelines.data_processing import nodes as data_processing
    from bank_segmentation.pipelines.model_choice import nodes as model_choice
    from bank_segmentation.pipelines.training import nodes as training
    from bank_segmentation.pipelines.tuning import nodes as tuning

    params = load_parameters(project)
    params["tuning"]["log_nested_runs"] = False
    params["clustering"]["sweep"]["log_nested_runs"] = False
    schema, features = params["schema"], params["features"]
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    raw = pd.read_csv(
        project / "data" / "01_raw" / "customers.csv", dtype=str, keep_default_na=False, skipinitialspace=True
    )
    validated, _, report = data_processing.validate_customers(raw, schema, params["validation"])
    imputer = data_processing.learn_imputer(validated, schema, params["imputation"])
    clean, imputed = data_processing.impute_customers(validated, imputer)
    customer_features = data_processing.engineer_features(clean, features)
    model_input = data_processing.build_model_input(customer_features, schema, features)
    if hasattr(data_processing, "check_segmentable"):
        model_input = data_processing.check_segmentable(model_input, report, schema, params["validation"])
    data_processing.summarise_data_quality(report, validated, imputed, schema)
    lap("data_processing")

    choice, naming, profiles = params["model_choice"], params["reporting"]["naming"], params["reporting"]["profiles"]
    scoring = (params["evaluation"], choice, schema, features, naming, profiles)
    sweep = clustering.sweep_segmentations(model_input, customer_features, params["clustering"], *scoring)
    lap("clustering")

    trials, tuning_run = tuning.tune_segmentation(model_input, customer_features, params["tuning"], *scoring)
    tuning.summarise_search(trials, tuning_run)
    lap("tuning")

    _, config = model_choice.choose_segmentation(
        sweep,
        trials,
        model_input,
        customer_features,
        choice,
        params["clustering"],
        params["evaluation"],
        schema,
        features,
        naming,
        profiles,
    )
    lap("model_choice")

    model = training.train_segmentation_model(model_input, config, schema, features, params["evaluation"])
    assign_segments(model, model_input, schema)
    lap("training")
    timings["mlflow_imported"] = float("mlflow" in sys.modules)
    timings["kedro_framework_imported"] = float("kedro.framework.session" in sys.modules)
    return timings


def main() -> None:
    """Command line: run the science in PROJECT_DIR and write the stage timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--timings", type=Path, default=None)
    args = parser.parse_args()
    os.chdir(args.project)  # the study's SQLite path is relative to the project, as in `kedro run`
    timings = run(args.project.resolve())
    if args.timings:
        args.timings.write_text(json.dumps(timings, indent=2))
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
