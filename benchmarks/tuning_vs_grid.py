"""Search quality of the Optuna study against an exhaustive grid over the same discrete space.

    uv run python benchmarks/tuning_vs_grid.py                 # demo data, and the real table if present
    uv run python benchmarks/tuning_vs_grid.py --datasets demo --seeds 42 0 1
    uv run python benchmarks/tuning_vs_grid.py --grid-tables .grid   # keep the grid's points, reuse them

For each customer table (the shipped demo portfolio; the real CC GENERAL table from
$CC_GENERAL_CSV or ../shared/data/cc_general.csv when present) it runs the data_processing pipeline in a
throw-away project copy, then:

* the grid: every point of ``params:tuning.search_space`` (enumerated by the same function the trials
  use), scored exactly like a trial: reference-space silhouette, smallest-segment and stability
  constraints. Stability (the costly bootstrap) is only computed, best silhouette first, until the first
  candidate meeting it: the grid's best feasible value is exact without bootstrapping every point.
* Optuna: the default budget (``params:tuning.study``) from a fresh study, once per seed.

It prints the best value each reached and the ratio tuned / grid (target: >= 0.97, non-degenerate
winner). Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from tqdm.auto import tqdm

from bank_segmentation.evaluation import EvaluationSettings, thread_limit
from bank_segmentation.pipelines.tuning import nodes
from bank_segmentation.pipelines.tuning.objective import CandidateScorer, Objective
from bank_segmentation.pipelines.tuning.search_space import grid
from bank_segmentation.preprocessing import describe_steps, feature_space

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("tuning_vs_grid")


def real_table() -> Path | None:
    """The real CC GENERAL table, if this machine has it."""
    for candidate in (os.environ.get("CC_GENERAL_CSV"), REPO.parent / "shared/data/cc_general.csv"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def prepare(table: Path, workdir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """model_input of ``table`` (data_processing in a project copy) and the project's parameters."""
    project = workdir / table.stem
    shutil.copytree(REPO / "conf" / "base", project / "conf" / "base")
    (project / "conf" / "local").mkdir(parents=True)
    (project / "src").mkdir()
    shutil.copy(REPO / "pyproject.toml", project / "pyproject.toml")
    (project / "data" / "01_raw").mkdir(parents=True)
    shutil.copy(table, project / "data" / "01_raw" / "customers.csv")
    cwd = Path.cwd()
    os.chdir(project)
    # Absolute: MLflow keeps one SQLite engine per URI string, so a relative URI would keep writing to the
    # first table's (deleted) copy.
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlflow.db'}"
    try:
        bootstrap_project(project)
        for name in ("kedro", "kedro_mlflow", "bank_segmentation"):  # the numbers below are the output
            logging.getLogger(name).setLevel(logging.WARNING)
        with KedroSession.create(project_path=project) as session:
            params = session.load_context().params
            session.run(pipeline_names=["data_processing"])
        while mlflow.active_run() is not None:  # the project copy (and its mlflow.db) is deleted at the end
            mlflow.end_run()
        return pd.read_parquet(project / "data/05_model_input/model_input.parquet"), params
    finally:
        os.chdir(cwd)
        os.environ.pop("MLFLOW_TRACKING_URI", None)


def _score_spec(scorer: CandidateScorer, spec: dict[str, Any], points: list[tuple[int, int]]) -> list[dict]:
    """Every (k, n_init) of one preprocessing spec: labels, shares, and silhouette_ref if share-feasible."""
    X = scorer.features(spec)
    rows = []
    min_share = scorer.objective.min_segment_share or 0.0
    for k, n_init in points:
        labels, _ = scorer.labels(X, k, n_init)
        shares = np.bincount(labels) / len(labels)
        row = {"spec": json.dumps(spec, sort_keys=True), "k": k, "n_init": n_init, "smallest": float(shares.min())}
        if shares.min() >= min_share:
            row.update(scorer.score_labels(labels))
        rows.append(row)
    return rows


def grid_best(
    scorer: CandidateScorer, space: dict[str, Any], n_jobs: int, table_path: Path | None = None
) -> dict[str, Any]:
    """The best feasible point of the exhaustive grid, and how much work it took."""
    start = time.perf_counter()
    by_spec: dict[str, list[tuple[int, int]]] = defaultdict(list)
    n_points = n_invalid = 0
    for candidate in grid(space):
        n_points += len(candidate.settings)
        if candidate.spec is None:
            n_invalid += len(candidate.settings)
            continue
        by_spec[json.dumps(candidate.spec, sort_keys=True)].extend(candidate.settings)
    cached = table_path is not None and table_path.is_file()
    if cached:  # the same data, space and scoring (the fingerprint in its name): the same values
        table = pd.read_csv(table_path)
    else:
        tasks = [delayed(_score_spec)(scorer, json.loads(spec), points) for spec, points in by_spec.items()]
        jobs = Parallel(n_jobs=n_jobs, backend="threading", return_as="generator_unordered")(tasks)
        rows = [row for rows in tqdm(jobs, total=len(tasks), desc="grid", unit="space") for row in rows]
        table = pd.DataFrame(rows)
        if table_path is not None:
            table.to_csv(table_path, index=False)
    scored = table.dropna(subset=["silhouette_ref"]).sort_values("silhouette_ref", ascending=False)
    n_stability = 0
    best = None
    for row in scored.to_dict("records"):
        if scorer.objective.min_stability is None:
            best = row
            break
        n_stability += 1
        row["stability"] = scorer.stability(scorer.features(json.loads(row["spec"])), int(row["k"]))
        if row["stability"] >= scorer.objective.min_stability:
            best = row
            break
    near = scored["silhouette_ref"] >= 0.97 * best["silhouette_ref"] if best else scored["silhouette_ref"] < 0
    return {
        "points": n_points,
        "within_97_percent": int(near.sum()),
        "invalid_points": n_invalid,
        "valid_points": n_points - n_invalid,
        "feature_spaces": len(by_spec),
        "share_feasible": int(len(scored)),
        "stability_checked": n_stability,
        "seconds": round(time.perf_counter() - start, 1),
        "read_from": str(table_path) if cached else None,
        "best": best,
    }


def optuna_best(model_input: pd.DataFrame, params: dict[str, Any], seed: int, workdir: Path) -> dict[str, Any]:
    """The default Optuna budget from a fresh study with ``seed``."""
    tuning = json.loads(json.dumps(params["tuning"]))
    tuning["study"]["storage"] = f"sqlite:///{workdir / f'optuna-{seed}.db'}"
    tuning["study"]["seed"] = seed
    tuning["log_nested_runs"] = False
    trials, run = nodes.tune_segmentation(
        model_input, tuning, params["evaluation"], params["schema"], params["features"]
    )
    config, summary = nodes.select_tuned_segmentation(trials, run, params["evaluation"])
    return {"seed": seed, "run": run, "config": config, "summary": summary}


def benchmark(
    name: str, table: Path, seeds: list[int], n_jobs: int, workdir: Path, grid_tables: Path | None = None
) -> dict[str, Any]:
    """Grid and Optuna on one customer table."""
    model_input, params = prepare(table, workdir)
    roles, groups = feature_space(params["schema"], params["features"])
    settings = EvaluationSettings.from_params(params["evaluation"])
    objective = Objective.from_params(params["tuning"])
    if objective.multi or objective.metrics[0] != "silhouette_ref":
        sys.exit("this benchmark compares the default single objective silhouette_ref")
    with thread_limit(len(model_input), settings.single_thread_max_rows):
        scorer = CandidateScorer(model_input, roles, groups, settings, objective)
        grid_table = None
        if grid_tables is not None:  # named by the study fingerprint: data, space, objective and scoring
            grid_tables.mkdir(parents=True, exist_ok=True)
            fingerprint = nodes.study_fingerprint(model_input, params["tuning"], params["evaluation"])
            grid_table = grid_tables / f"{name}-{fingerprint}.csv"
        exhaustive = grid_best(scorer, params["tuning"]["search_space"], n_jobs, grid_table)
    tuned = [optuna_best(model_input, params, seed, workdir) for seed in seeds]
    return {
        "dataset": name,
        "rows": len(model_input),
        "grid": exhaustive,
        "optuna": tuned,
        "n_trials": params["tuning"]["study"]["n_trials"],
    }


def report(result: dict[str, Any]) -> None:
    """Print one dataset's comparison."""
    g = result["grid"]
    best = g["best"]
    print(f"\n=== {result['dataset']} ({result['rows']} customers) ===")
    work = f"points read from {g['read_from']}" if g.get("read_from") else f"{g['seconds']:.0f} s"
    print(
        f"grid: {g['valid_points']} valid points ({g['invalid_points']} invalid: too few groups), "
        f"{g['feature_spaces']} feature spaces, {g['share_feasible']} with smallest segment >= min share, "
        f"stability checked on {g['stability_checked']}, {work}; "
        f"{g['within_97_percent']} points within 97% of the best (before the stability check)"
    )
    spec = json.loads(best["spec"])
    print(
        f"grid best: silhouette_ref {best['silhouette_ref']:.4f}  {describe_steps(spec)} groups={spec['groups']} "
        f"k={best['k']} n_init={best['n_init']} smallest segment {best['smallest_segment_share']:.1%} "
        f"stability {best.get('stability', float('nan')):.3f}"
    )
    print(f"optuna, {result['n_trials']} trials (default budget):")
    for t in result["optuna"]:
        m = t["config"]["metrics"]
        ratio = m["silhouette_ref"] / best["silhouette_ref"]
        print(
            f"  seed {t['seed']:>3}: silhouette_ref {m['silhouette_ref']:.4f} = {ratio:.1%} of grid  "
            f"{describe_steps(t['config']['spec'])} groups={t['config']['spec']['groups']} k={t['config']['k']} "
            f"n_init={t['config']['n_init']} smallest {m['smallest_segment_share']:.1%} "
            f"stability {m.get('stability', float('nan')):.3f}  ({t['run']['seconds']:.1f} s, "
            f"{t['run']['trials_per_second']:.2f} trials/s, {t['summary']['trials_feasible']} feasible, "
            f"winner from {t['summary']['best_trial']['origin']})"
        )


def main() -> None:
    """Run the benchmark on the requested datasets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["demo", "real"], choices=["demo", "real"])
    parser.add_argument("--seeds", nargs="*", type=int, default=[42, 0, 1, 2, 3])
    parser.add_argument("--n-jobs", type=int, default=2, help="threads for the grid")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--grid-tables",
        type=Path,
        help="keep every grid point in <folder>/<dataset>-<fingerprint>.csv and reuse it on the next run",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    tables = {"demo": REPO / "data/01_raw/customers.csv", "real": real_table()}
    results = []
    with tempfile.TemporaryDirectory(prefix="tuning-vs-grid-") as tmp:
        for name in args.datasets:
            if tables[name] is None:
                print(f"\n=== {name}: table absent, skipped ===")
                continue
            results.append(benchmark(name, tables[name], args.seeds, args.n_jobs, Path(tmp), args.grid_tables))
            report(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
