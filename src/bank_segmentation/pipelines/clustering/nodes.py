"""Clustering sweep (variants x k) and the MLflow logging of its candidates."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from bank_segmentation.core.candidates import CANDIDATE_METRICS, Admission, CandidateScorer
from bank_segmentation.core.choice import source_runs
from bank_segmentation.core.evaluation import MetricSpace, space_metrics, thread_limit
from bank_segmentation.core.preprocessing import describe_steps
from bank_segmentation.core.settings import EvaluationSettings, Features, Schema
from bank_segmentation.framework import tracking

logger = logging.getLogger(__name__)

KEY_COLUMNS = ["variant", "k"]
SWEEP_COLUMNS = [
    *KEY_COLUMNS,
    "steps",
    "n_rows",
    "inertia_own",
    "silhouette_own",
    "silhouette_own_se",
    "calinski_harabasz_own",
    "davies_bouldin_own",
    "inertia_ref",
    *CANDIDATE_METRICS,
    "fit_seconds",
]


def swept_variants(clustering: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The variant specs the sweep covers (all declared ones unless ``sweep.variants`` lists some)."""
    declared = clustering["variants"]
    names = clustering["sweep"].get("variants") or list(declared)
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise ValueError(f"clustering.sweep.variants: unknown variant(s) {unknown}; declared: {list(declared)}")
    return {name: dict(declared[name]) for name in names}


def _sweep_variant(
    variant: str,
    spec: Mapping[str, Any],
    scorer: CandidateScorer,
    ks: list[int],
    measured_ks: set[int],
) -> list[dict[str, Any]]:
    """Every k of one variant; its feature space lives only in this worker."""
    settings = scorer.settings
    X = scorer.features(spec)
    with thread_limit(len(X), settings.single_thread_max_rows):  # this worker thread's own OpenMP limit
        own = MetricSpace.build(X, settings.silhouette_max_rows, settings.random_state)
    rows = []
    for k in ks:
        labels, fit_seconds = scorer.partition(X, k)
        with thread_limit(len(X), settings.single_thread_max_rows):
            own_metrics = space_metrics(own, labels, "own")
        row = {"variant": variant, "k": k, **own_metrics, **scorer.score(labels)}
        if k in measured_ks:  # refits and naming only where the choice can use them
            row.update(scorer.measure(X, labels, k))
        rows.append({**row, "fit_seconds": fit_seconds})
    return rows


def sweep_segmentations(
    model_input: pd.DataFrame,
    customer_features: pd.DataFrame,
    clustering: dict[str, Any],
    evaluation: EvaluationSettings,
    model_choice: dict[str, Any],
    schema: Schema,
    features: Features,
    naming: dict[str, Any],
    profiles: dict[str, Any],
) -> pd.DataFrame:
    """Fit K-means for every variant x k and score each candidate; agreement and coverage within the bounds."""
    if not source_runs(model_choice, "sweep"):
        logger.info(
            "clustering sweep skipped: model_choice.mode=%s, sources=%s", model_choice["mode"], model_choice["sources"]
        )
        return pd.DataFrame(columns=SWEEP_COLUMNS)
    start = time.perf_counter()
    admission = Admission.from_params(model_choice["rule"])
    variants = swept_variants(clustering)
    ks = list(range(int(clustering["sweep"]["k_min"]), int(clustering["sweep"]["k_max"]) + 1))
    with thread_limit(len(model_input), evaluation.single_thread_max_rows):
        scorer = CandidateScorer.from_settings(
            model_input, customer_features, evaluation, schema, features, naming, profiles
        )
        # One task per variant: a worker builds the variant's space once, fits every k, then frees it, so only
        # n_jobs spaces (each with its silhouette distance matrix) exist at a time.
        parallel = Parallel(
            n_jobs=int(clustering["sweep"]["n_jobs"]), backend="threading", return_as="generator_unordered"
        )
        jobs = parallel(
            delayed(_sweep_variant)(name, spec, scorer, ks, set(admission.ks)) for name, spec in variants.items()
        )
        rows = [
            row for rows in tqdm(jobs, total=len(variants), desc="clustering sweep", unit="variant") for row in rows
        ]
    results = pd.DataFrame(rows).sort_values(KEY_COLUMNS, key=_variant_order(variants)).reset_index(drop=True)
    results.insert(2, "steps", [describe_steps(variants[name]) for name in results["variant"]])
    results.insert(3, "n_rows", len(model_input))
    logger.info("clustering sweep: %d variants x %d k in %.1f s", len(variants), len(ks), time.perf_counter() - start)
    return results.reindex(columns=SWEEP_COLUMNS)


def _variant_order(variants: Mapping[str, Any]) -> Any:
    order = {name: i for i, name in enumerate(variants)}
    return lambda col: col.map(order) if col.name == "variant" else col


def log_sweep_runs(sweep_results: pd.DataFrame, clustering: dict[str, Any], evaluation: EvaluationSettings) -> None:
    """Log every swept candidate as a nested MLflow run (params, metrics, tags) under the pipeline run."""
    if sweep_results.empty or not clustering["sweep"].get("log_nested_runs", True):
        return
    parent = tracking.parent_run()
    if parent is None:
        return
    metric_columns = [c for c in sweep_results.columns if c not in {*KEY_COLUMNS, "steps", "n_rows"}]
    runs = [
        tracking.NestedRun(
            name=f"sweep · {row['variant']} · k={row['k']}",
            params={
                "variant": row["variant"],
                "steps": row["steps"],
                "k": int(row["k"]),
                "n_init": evaluation.n_init,
                "seed": evaluation.random_state,
                "n_rows": int(row["n_rows"]),
                "agreement_refits": evaluation.n_refits,
            },
            metrics={c: float(row[c]) for c in metric_columns if pd.notna(row[c])},
            tags={"stage": "sweep", "variant": row["variant"], "k": int(row["k"])},
        )
        for row in sweep_results.to_dict("records")
    ]
    start = time.perf_counter()
    run_ids = tracking.log_nested_runs(tqdm(runs, desc="nested MLflow runs", unit="run"), parent)
    logger.info("logged %d nested sweep runs in %.1f s", len(run_ids), time.perf_counter() - start)
