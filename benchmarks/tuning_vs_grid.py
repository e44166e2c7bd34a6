"""Search quality of the Optuna study against an exhaustive grid over the same discrete space.

    uv run python benchmarks/tuning_vs_grid.py                 # demo data, and the real table if present
    uv run python benchmarks/tuning_vs_grid.py --datasets demo --seeds 42 0 1
    uv run python benchmarks/tuning_vs_grid.py --grid-tables .grid   # keep the grid's points, reuse them

For each customer table (the shipped demo portfolio; the real CC GENERAL table from
$CC_GENERAL_CSV or ../shared/data/cc_general.csv when present) it runs the data_processing pipeline in a
throw-away project copy, then:

* the grid: every valid feature space of ``params:tuning.search_space`` (enumerated by the same function
  the trials use) at every k of the business bounds ``params:model_choice.rule`` (k_min..k_max), scored
  exactly like a trial: the partition of ``evaluation.n_init`` restarts, its reference-space silhouette and
  segment shares; then agreement of refits and archetype coverage (the costly part) measured best
  silhouette first, only until the first point meeting every threshold of the rule
  (``Admission.violation == 0``): the grid's best admissible value is exact without measuring every point.
* Optuna: the default budget (``params:tuning.study``) from a fresh study, once per seed; its value is the
  silhouette of the best feasible trial (the trial's best admissible k).

It prints the best admissible value each reached and the ratio Optuna / grid (target: >= 0.97). Numbers
only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from joblib import Parallel, delayed
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from tqdm.auto import tqdm

from bank_segmentation.core.candidates import Admission, CandidateScorer
from bank_segmentation.core.evaluation import thread_limit
from bank_segmentation.core.preprocessing import describe_steps
from bank_segmentation.pipelines.tuning import nodes
from bank_segmentation.pipelines.tuning.search_space import grid

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests' project-copy helper
from tests.workspace import copy_project  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.97
logger = logging.getLogger("tuning_vs_grid")


def real_table() -> Path | None:
    """The real CC GENERAL table, if this machine has it."""
    for candidate in (os.environ.get("CC_GENERAL_CSV"), REPO.parent / "shared/data/cc_general.csv"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def prepare(table: Path, workdir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """model_input and customer_features of ``table`` (data_processing in a project copy), and the parameters."""
    project = copy_project(REPO, workdir / table.stem, raw_files=False)
    (project / "data" / "01_raw" / "customers.csv").write_bytes(table.read_bytes())
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
        return (
            pd.read_parquet(project / "data/05_model_input/model_input.parquet"),
            pd.read_parquet(project / "data/04_feature/customer_features.parquet"),
            params,
        )
    finally:
        os.chdir(cwd)
        os.environ.pop("MLFLOW_TRACKING_URI", None)


def make_scorer(
    model_input: pd.DataFrame, customer_features: pd.DataFrame, params: dict[str, Any]
) -> tuple[CandidateScorer, Admission]:
    """The scorer and admission rule of a trial, built from the project's parameters as the tuning node does."""
    scorer = CandidateScorer.from_settings(
        model_input,
        customer_features,
        params["evaluation"],
        params["schema"],
        params["features"],
        params["reporting"]["naming"],
        params["reporting"]["profiles"],
    )
    return scorer, Admission.from_params(params["model_choice"]["rule"])


# --- the grid ----------------------------------------------------------------------------------------
def _score_space(scorer: CandidateScorer, spec: str, ks: Sequence[int]) -> list[dict[str, Any]]:
    """Every k of one feature space: the partition, its reference-space metrics and shares (as a trial)."""
    X = scorer.features(json.loads(spec))
    rows = []
    for k in ks:
        labels, fit_seconds = scorer.partition(X, k)
        rows.append({"spec": spec, "k": k, **scorer.score(labels), "fit_seconds": fit_seconds})
    return rows


def _measure_point(scorer: CandidateScorer, spec: str, k: int) -> dict[str, Any]:
    """Agreement of refits and archetype coverage of one (space, k): the same partition, measured as a trial."""
    X = scorer.features(json.loads(spec))
    labels, _ = scorer.partition(X, k)
    start = time.perf_counter()
    measured = scorer.measure(X, labels, k)
    return {"spec": spec, "k": k, **measured, "measure_seconds": time.perf_counter() - start}


def _read_rows(path: Path | None) -> pd.DataFrame | None:
    return pd.read_csv(path) if path is not None and path.is_file() and path.stat().st_size > 0 else None


def _append_rows(path: Path | None, rows: list[dict[str, Any]]) -> None:
    if path is not None and rows:
        pd.DataFrame(rows).to_csv(path, mode="a", header=not path.is_file() or path.stat().st_size == 0, index=False)


def score_grid(
    scorer: CandidateScorer, specs: list[str], ks: Sequence[int], n_jobs: int, table_path: Path | None
) -> tuple[pd.DataFrame, str | None, int]:
    """The silhouette pass over every (space, k): read from ``table_path`` when complete, else computed (a
    partial table ``<table>.partial.csv`` keeps finished spaces across an interrupted run)."""
    complete = _read_rows(table_path)
    if complete is not None:
        return complete, str(table_path), 0
    partial_path = table_path.with_suffix(".partial.csv") if table_path is not None else None
    partial = _read_rows(partial_path)
    done = set(partial["spec"]) if partial is not None else set()
    todo = [spec for spec in specs if spec not in done]
    tasks = [delayed(_score_space)(scorer, spec, ks) for spec in todo]
    jobs = Parallel(n_jobs=n_jobs, backend="threading", return_as="generator_unordered")(tasks)
    rows: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for space_rows in tqdm(jobs, total=len(tasks), desc="grid", unit="space", mininterval=30):
        rows.extend(space_rows)
        pending.extend(space_rows)
        if len(pending) >= 50 * len(ks):  # checkpoint every 50 spaces
            _append_rows(partial_path, pending)
            pending = []
    _append_rows(partial_path, pending)
    table = pd.concat([t for t in (partial, pd.DataFrame(rows)) if t is not None and not t.empty], ignore_index=True)
    if table_path is not None:
        table.to_csv(table_path, index=False)
        partial_path.unlink(missing_ok=True)
    return table, None, len(todo)


def grid_best(
    scorer: CandidateScorer,
    admission: Admission,
    space: dict[str, Any],
    n_jobs: int,
    table_path: Path | None,
    max_measured: int = 1000,
) -> dict[str, Any]:
    """The best admissible point of the exhaustive grid, and how much work it took."""
    start = time.perf_counter()
    ks = admission.ks
    specs: list[str] = []
    n_points = n_invalid = 0
    for candidate in grid(space, ks):
        n_points += len(candidate.ks)
        if candidate.spec is None:
            n_invalid += len(candidate.ks)
            continue
        specs.append(json.dumps(candidate.spec, sort_keys=True))
    if len(set(specs)) != len(specs):
        sys.exit("two grid points build the same feature space: the grid would count it twice")
    table, read_from, computed = score_grid(scorer, specs, ks, n_jobs, table_path)
    silhouette_seconds = time.perf_counter() - start

    # agreement and coverage, best silhouette first, until the first admissible point (kept across runs)
    scored = table.dropna(subset=["silhouette_ref"])
    screened = scored[scored["smallest_segment_share"] >= admission.min_segment_share]
    ranked = screened.sort_values(["silhouette_ref", "spec", "k"], ascending=[False, True, True])
    measured_path = table_path.with_suffix(".measured.csv") if table_path is not None else None
    cache = _read_rows(measured_path)
    known = {} if cache is None else {(r["spec"], int(r["k"])): r for r in cache.to_dict("records")}
    walked: list[dict[str, Any]] = []
    best = None
    measured_now = 0
    records = ranked.to_dict("records")
    batch = max(1, n_jobs)
    for first in range(0, min(len(records), max_measured), batch):
        group = records[first : first + batch]
        todo = [r for r in group if (r["spec"], int(r["k"])) not in known]
        if todo:
            found = Parallel(n_jobs=len(todo), backend="threading")(
                delayed(_measure_point)(scorer, r["spec"], int(r["k"])) for r in todo
            )
            _append_rows(measured_path, found)
            measured_now += len(found)
            known.update({(m["spec"], int(m["k"])): m for m in found})
        for row in group:
            row.update({m: v for m, v in known[(row["spec"], int(row["k"]))].items() if m not in ("spec", "k")})
            walked.append(row)
            if admission.violation(row) == 0:
                best = row
                break
        if best is not None:
            break
    out_for = {"agreement": 0, "coverage": 0}
    for row in walked[:-1] if best is not None else walked:
        out_for["agreement"] += row["agreement"] < admission.min_agreement
        out_for["coverage"] += row["coverage"] < admission.min_coverage
    bar = TARGET * best["silhouette_ref"] if best is not None else float("inf")
    return {
        "points": n_points,
        "invalid_points": n_invalid,
        "valid_points": n_points - n_invalid,
        "feature_spaces": len(specs),
        "ks": ks,
        "share_feasible": len(screened),
        "measured": len(walked),
        "measured_now": measured_now,
        "measured_cpu_seconds": round(sum(r["measure_seconds"] for r in walked), 1),
        "measured_out_for": out_for,
        "within_97_percent": int((screened["silhouette_ref"] >= bar).sum()),
        "within_97_percent_any_share": int((scored["silhouette_ref"] >= bar).sum()),
        "above_best_inadmissible": len(walked) - (best is not None),
        "best_any": scored.sort_values("silhouette_ref", ascending=False).iloc[0].to_dict(),
        "spaces_computed": computed,
        "silhouette_seconds": round(silhouette_seconds, 1),
        "measure_seconds": round(time.perf_counter() - start - silhouette_seconds, 1),
        "read_from": read_from,
        "best": best,
    }


# --- Optuna ------------------------------------------------------------------------------------------
def optuna_best(
    model_input: pd.DataFrame, customer_features: pd.DataFrame, params: dict[str, Any], seed: int, workdir: Path
) -> dict[str, Any]:
    """The default Optuna budget from a fresh study with ``seed``."""
    tuning = json.loads(json.dumps(params["tuning"]))
    tuning["study"]["storage"] = f"sqlite:///{workdir / f'optuna-{seed}.db'}"
    tuning["study"]["seed"] = seed
    tuning["log_nested_runs"] = False
    trials, run = nodes.tune_segmentation(
        model_input,
        customer_features,
        tuning,
        params["evaluation"],
        params["model_choice"],
        params["schema"],
        params["features"],
        params["reporting"]["naming"],
        params["reporting"]["profiles"],
    )
    summary = nodes.summarise_search(trials, run)
    return {"seed": seed, "run": run, "summary": summary}


def benchmark(
    name: str,
    table: Path,
    seeds: list[int],
    n_jobs: int,
    workdir: Path,
    grid_tables: Path | None = None,
    max_measured: int = 1000,
) -> dict[str, Any]:
    """Grid and Optuna on one customer table."""
    model_input, customer_features, params = prepare(table, workdir)
    settings = params["evaluation"]
    load = os.getloadavg()
    with thread_limit(len(model_input), settings.single_thread_max_rows):
        scorer, admission = make_scorer(model_input, customer_features, params)
        grid_table = None
        if grid_tables is not None:  # named by the study's fingerprint: data, space, evaluation, rule, naming, profiles
            grid_tables.mkdir(parents=True, exist_ok=True)
            fingerprint = nodes.study_fingerprint(
                model_input,
                params["tuning"]["search_space"],
                params["evaluation"],
                params["model_choice"]["rule"],
                params["reporting"]["naming"],
                params["reporting"]["profiles"],
            )
            grid_table = grid_tables / f"{name}-{fingerprint}.csv"
        exhaustive = grid_best(scorer, admission, params["tuning"]["search_space"], n_jobs, grid_table, max_measured)
    load_after_grid = os.getloadavg()
    tuned = [optuna_best(model_input, customer_features, params, seed, workdir) for seed in seeds]
    return {
        "dataset": name,
        "rows": len(model_input),
        "grid": exhaustive,
        "optuna": tuned,
        "n_trials": params["tuning"]["study"]["n_trials"],
        "n_init": settings.n_init,
        "rule": params["model_choice"]["rule"],
        "load": {"start": load, "after_grid": load_after_grid, "end": os.getloadavg()},
    }


# --- the report --------------------------------------------------------------------------------------
def _point(row: dict[str, Any]) -> str:
    spec = json.loads(row["spec"]) if isinstance(row["spec"], str) else row["spec"]
    return f"{describe_steps(spec)} groups={spec['groups']}"


def _measured(metrics: dict[str, Any]) -> str:
    return (
        f"smallest segment {metrics['smallest_segment_share']:.1%}, agreement {metrics['agreement']:.3f} "
        f"(min {metrics.get('agreement_min', float('nan')):.3f}), coverage {metrics['coverage']:.1%}"
    )


def report(result: dict[str, Any]) -> None:
    """Print one dataset's comparison."""
    g, rule = result["grid"], result["rule"]
    best = g["best"]
    print(f"\n=== {result['dataset']} ({result['rows']} customers) ===")
    print(
        f"rule: k {rule['k_min']}..{rule['k_max']}, smallest segment >= {rule['min_segment_share']}, agreement >= "
        f"{rule['min_agreement']}, coverage >= {rule['min_coverage']}; every fit {result['n_init']} restarts"
    )
    work = (
        f"silhouettes read from {g['read_from']}"
        if g["read_from"]
        else f"silhouette pass {g['silhouette_seconds']:.0f} s ({g['spaces_computed']} spaces computed)"
    )
    print(
        f"grid: {g['valid_points']} valid points ({g['feature_spaces']} feature spaces x k "
        f"{g['ks'][0]}..{g['ks'][-1]}; "
        f"{g['invalid_points']} invalid: too few groups), {g['share_feasible']} with smallest segment >= "
        f"{rule['min_segment_share']:.0%}; agreement + coverage measured best-first on {g['measured']} "
        f"({g['measured_out_for']['agreement']} out for agreement, {g['measured_out_for']['coverage']} for "
        f"coverage) in {g['measure_seconds']:.0f} s ({g['measured_now']} measured now, "
        f"{g['measured_cpu_seconds']:.0f} s of measuring in all); {work}"
    )
    top = g["best_any"]
    print(
        f"grid top silhouette (any admissibility): {top['silhouette_ref']:.4f}  {_point(top)} k={int(top['k'])} "
        f"smallest segment {top['smallest_segment_share']:.1%}"
    )
    if best is None:
        where = f" among the {g['measured']} best (--max-measured)" if g["measured"] < g["share_feasible"] else ""
        print(f"grid: NO admissible point{where}; no ratio reported")
        return
    print(
        f"grid best admissible: silhouette_ref {best['silhouette_ref']:.4f} (se {best['silhouette_ref_se']:.4f})  "
        f"{_point(best)} k={int(best['k'])}  {_measured(best)}"
    )
    print(
        f"grid points within {TARGET:.0%} of the best admissible value: {g['within_97_percent']} with smallest "
        f"segment >= {rule['min_segment_share']:.0%} ({g['within_97_percent_any_share']} regardless of shares; "
        f"agreement and coverage unchecked; {g['above_best_inadmissible']} above the best are inadmissible)"
    )
    print(f"optuna, {result['n_trials']} trials (default budget), fresh study per seed:")
    reached = []
    for t in result["optuna"]:
        summary, run = t["summary"], t["run"]
        trial = summary["best_trial"]
        timing = (
            f"({run['seconds']:.1f} s, {run['trials_per_second']:.2f} trials/s, {summary['trials_feasible']} of "
            f"{summary['trials_total']} feasible)"
        )
        if trial is None:
            print(f"  seed {t['seed']:>3}: no feasible trial {timing}")
            reached.append(0.0)
            continue
        m = trial["metrics"]
        ratio = m["silhouette_ref"] / best["silhouette_ref"]
        reached.append(ratio)
        print(
            f"  seed {t['seed']:>3}: silhouette_ref {m['silhouette_ref']:.4f} = {ratio:.1%} of grid  "
            f"{_point(trial)} k={trial['k']}  {_measured(m)}  trial {trial['number']} ({trial['origin']})  {timing}"
        )
    print(
        f"optuna >= {TARGET:.0%} of the grid: {sum(r >= TARGET for r in reached)} of {len(reached)} seeds "
        f"({' / '.join(f'{r:.1%}' for r in reached)})"
    )
    load = result["load"]
    print(
        "load average (1/5/15 min): "
        + "; ".join(f"{when} {' '.join(f'{v:.2f}' for v in values)}" for when, values in load.items())
    )


def main() -> None:
    """Run the benchmark on the requested datasets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["demo", "real"], choices=["demo", "real"])
    parser.add_argument("--seeds", nargs="*", type=int, default=[42, 0, 1, 2, 3])
    parser.add_argument("--n-jobs", type=int, default=2, help="threads for the grid")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--max-measured",
        type=int,
        default=1000,
        help="give up the best-first walk (agreement + coverage) after this many grid points",
    )
    parser.add_argument(
        "--grid-tables",
        type=Path,
        help="keep every grid point in <folder>/<dataset>-<fingerprint>.csv (and the measured ones in "
        "*.measured.csv) and reuse them on the next run",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    tables = {"demo": REPO / "data/01_raw/demo/customers.csv", "real": real_table()}
    results = []
    with tempfile.TemporaryDirectory(prefix="tuning-vs-grid-") as tmp:
        for name in args.datasets:
            if tables[name] is None:
                print(f"\n=== {name}: table absent, skipped ===")
                continue
            results.append(
                benchmark(name, tables[name], args.seeds, args.n_jobs, Path(tmp), args.grid_tables, args.max_measured)
            )
            report(results[-1])
            sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
