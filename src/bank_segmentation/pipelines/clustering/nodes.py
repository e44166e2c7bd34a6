"""Clustering sweep (variants x k), MLflow logging of its candidates, and model selection."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd
from joblib import Parallel, delayed
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from bank_segmentation import tracking
from bank_segmentation.evaluation import (
    EvaluationSettings,
    MetricSpace,
    evaluate_kmeans,
    knee_point,
    reference_space,
    thread_limit,
)
from bank_segmentation.pipelines.reporting.figures import SELECTION_FIGURES, selection_figures
from bank_segmentation.pipelines.reporting.render import to_matplotlib
from bank_segmentation.preprocessing import build_preprocessor, describe_steps, feature_space

logger = logging.getLogger(__name__)

KEY_COLUMNS = ["variant", "k"]


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
    model_input: pd.DataFrame,
    ks: list[int],
    settings: EvaluationSettings,
    roles: Mapping[str, str],
    groups: Mapping[str, list[str]],
) -> list[dict[str, Any]]:
    """Every k of one variant; its feature space (and the reference space) live only in this worker."""
    with thread_limit(len(model_input), settings.single_thread_max_rows):
        ref = reference_space(model_input, roles, groups, settings)
        own = MetricSpace.build(
            build_preprocessor(spec, roles, groups, settings.random_state).fit_transform(model_input),
            settings.silhouette_max_rows,
            settings.random_state,
        )
        return [{"variant": variant, "k": k, **evaluate_kmeans(own, ref, k, settings)} for k in ks]


def sweep_segmentations(
    model_input: pd.DataFrame,
    clustering: dict[str, Any],
    evaluation: dict[str, Any],
    schema: dict[str, Any],
    features: dict[str, Any],
) -> pd.DataFrame:
    """Fit K-means for every variant x k and score each candidate (own and reference space, stability)."""
    start = time.perf_counter()
    settings = EvaluationSettings.from_params(evaluation)
    roles, groups = feature_space(schema, features)
    variants = swept_variants(clustering)
    ks = list(range(int(clustering["sweep"]["k_min"]), int(clustering["sweep"]["k_max"]) + 1))
    # One task per variant: a worker builds the variant's space once, fits every k, then frees it, so only
    # n_jobs spaces (each with its silhouette distance matrix) exist at a time.
    parallel = Parallel(
        n_jobs=int(clustering["sweep"]["n_jobs"]),
        backend=clustering["sweep"].get("backend", "threading"),
        return_as="generator_unordered",
    )
    jobs = parallel(
        delayed(_sweep_variant)(name, spec, model_input, ks, settings, roles, groups) for name, spec in variants.items()
    )
    rows = [row for rows in tqdm(jobs, total=len(variants), desc="clustering sweep", unit="variant") for row in rows]
    results = pd.DataFrame(rows).sort_values(KEY_COLUMNS, key=_variant_order(variants)).reset_index(drop=True)
    results.insert(2, "steps", [describe_steps(variants[name]) for name in results["variant"]])
    results.insert(3, "n_rows", len(model_input))
    logger.info("clustering sweep: %d variants x %d k in %.1f s", len(variants), len(ks), time.perf_counter() - start)
    return results


def _variant_order(variants: Mapping[str, Any]) -> Any:
    order = {name: i for i, name in enumerate(variants)}
    return lambda col: col.map(order) if col.name == "variant" else col


def log_sweep_runs(sweep_results: pd.DataFrame, clustering: dict[str, Any], evaluation: dict[str, Any]) -> None:
    """Log every swept candidate as a nested MLflow run (params, metrics, tags) under the pipeline run."""
    if not clustering["sweep"].get("log_nested_runs", True):
        return
    parent = tracking.parent_run()
    if parent is None:
        return
    settings = EvaluationSettings.from_params(evaluation)
    metric_columns = [c for c in sweep_results.columns if c not in {*KEY_COLUMNS, "steps", "n_rows"}]
    runs = [
        tracking.NestedRun(
            name=f"{row['variant']}-k{row['k']}",
            params={
                "variant": row["variant"],
                "steps": row["steps"],
                "k": int(row["k"]),
                "n_init": settings.n_init,
                "seed": settings.random_state,
                "n_rows": int(row["n_rows"]),
                "n_bootstrap": settings.n_bootstrap,
            },
            metrics={c: float(row[c]) for c in metric_columns},
            tags={"stage": "sweep", "variant": row["variant"], "k": int(row["k"])},
        )
        for row in sweep_results.to_dict("records")
    ]
    start = time.perf_counter()
    run_ids = tracking.log_nested_runs(tqdm(runs, desc="nested MLflow runs", unit="run"), parent)
    logger.info("logged %d nested sweep runs in %.1f s", len(run_ids), time.perf_counter() - start)


# --- model selection ---------------------------------------------------------------------------------
def _rejections(row: Mapping[str, Any], rule: Mapping[str, Any]) -> list[str]:
    reasons = []
    if not rule["k_min"] <= row["k"] <= rule["k_max"]:
        reasons.append(f"k={row['k']} outside the business bounds {rule['k_min']}..{rule['k_max']}")
    if row["smallest_segment_share"] < rule["min_segment_share"]:
        reasons.append(
            f"smallest segment {row['smallest_segment_share']:.1%} < {rule['min_segment_share']:.0%} (micro-cluster)"
        )
    if not row["stability"] >= rule["min_stability"]:
        reasons.append(f"stability {row['stability']:.2f} < {rule['min_stability']} (unstable)")
    return reasons


def _candidate(row: Mapping[str, Any]) -> dict[str, Any]:
    metrics = {k: (None if pd.isna(v) else v) for k, v in row.items() if k not in {"variant", "k", "steps"}}
    return {"variant": row["variant"], "k": int(row["k"]), "steps": row.get("steps"), "metrics": metrics}


def rule_text(rule: Mapping[str, Any]) -> str:
    """The selection rule in words, with its thresholds."""
    return (
        f"Admissible: {rule['k_min']} <= k <= {rule['k_max']}, smallest segment >= "
        f"{rule['min_segment_share']:.0%} of customers, bootstrap stability (mean pairwise ARI) >= "
        f"{rule['min_stability']}. Per variant, take the admissible k closest to the knee of its inertia "
        "curve (ties: higher silhouette_ref); then choose the variant whose pick has the highest silhouette "
        "in the common reference space (silhouette_ref)."
    )


def select_segmentation(sweep_results: pd.DataFrame, clustering: dict[str, Any]) -> dict[str, Any]:
    """Pick variant and k with the explainable rule of ``clustering.selection`` (or honour a pin)."""
    rule = clustering["selection"]
    variants = clustering["variants"]
    rows = sweep_results.to_dict("records")
    reasons = {(r["variant"], r["k"]): _rejections(r, rule) for r in rows}
    knees = {
        name: knee_point(group["k"].tolist(), group["inertia_own"].tolist())
        for name, group in sweep_results.groupby("variant", sort=False)
    }
    pinned = rule.get("pinned") or {}
    if pinned.get("variant") is not None and pinned.get("k") is not None:
        return _pinned_selection(pinned, rows, variants, rule, knees, reasons)

    picks: dict[str, dict[str, Any]] = {}
    for name, knee in knees.items():
        admissible = [r for r in rows if r["variant"] == name and not reasons[(name, r["k"])]]
        if not admissible:
            continue
        target = knee if knee is not None else min(r["k"] for r in admissible)
        picks[name] = min(admissible, key=lambda r: (abs(r["k"] - target), -r["silhouette_ref"]))
    mode = "rule"
    if not picks:
        mode = "fallback"
        within = [r for r in rows if rule["k_min"] <= r["k"] <= rule["k_max"]] or rows
        best = min(within, key=lambda r: (len(reasons[(r["variant"], r["k"])]), -r["silhouette_ref"]))
        picks[best["variant"]] = best
        logger.warning(
            "model selection: no candidate meets the rule; fell back to %s k=%s (%s)",
            best["variant"],
            best["k"],
            "; ".join(reasons[(best["variant"], best["k"])]),
        )
    ranked = sorted(picks.values(), key=lambda r: -r["silhouette_ref"])
    chosen, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    for row in rows:
        key = (row["variant"], row["k"])
        if reasons[key] or row is chosen:
            continue
        if picks.get(row["variant"]) is row:
            reasons[key] = [
                f"variant pick (knee k={knees[row['variant']]}) with silhouette_ref {row['silhouette_ref']:.3f} "
                f"< chosen {chosen['silhouette_ref']:.3f}"
            ]
        else:
            pick = picks.get(row["variant"])
            reasons[key] = [
                f"admissible, but further from the variant's knee (k={knees[row['variant']]}) than k={pick['k']}"
                if pick is not None
                else "admissible, but another variant was chosen"
            ]
    result = _selection(mode, rule, chosen, runner_up, rows, variants, knees, reasons)
    logger.info(
        "model selection (%s): %s k=%d (silhouette_ref %.3f, stability %.2f, smallest segment %.1f%%)",
        mode,
        chosen["variant"],
        chosen["k"],
        chosen["silhouette_ref"],
        chosen["stability"],
        100 * chosen["smallest_segment_share"],
    )
    return result


def _pinned_selection(
    pinned: Mapping[str, Any],
    rows: list[dict[str, Any]],
    variants: Mapping[str, Any],
    rule: Mapping[str, Any],
    knees: Mapping[str, int | None],
    reasons: dict[tuple[str, int], list[str]],
) -> dict[str, Any]:
    name, k = str(pinned["variant"]), int(pinned["k"])
    if name not in variants:
        raise ValueError(f"clustering.selection.pinned.variant: unknown variant {name!r}; declared: {list(variants)}")
    row = next((r for r in rows if r["variant"] == name and r["k"] == k), None)
    chosen = row or {"variant": name, "k": k, "steps": describe_steps(variants[name])}
    if row is not None and reasons[(name, k)]:
        logger.warning("pinned %s k=%d breaks the selection rule: %s", name, k, "; ".join(reasons[(name, k)]))
    result = _selection("pinned", rule, chosen, None, [r for r in rows if r is not row], variants, knees, reasons)
    result["chosen"]["rule_violations"] = reasons.get((name, k), ["not in the sweep: no metrics"])
    return result


def _selection(
    mode: str,
    rule: Mapping[str, Any],
    chosen: Mapping[str, Any],
    runner_up: Mapping[str, Any] | None,
    rows: list[dict[str, Any]],
    variants: Mapping[str, Any],
    knees: Mapping[str, int | None],
    reasons: Mapping[tuple[str, int], list[str]],
) -> dict[str, Any]:
    rejected = [
        {"variant": r["variant"], "k": int(r["k"]), "reasons": reasons[(r["variant"], r["k"])]}
        for r in rows
        if r is not chosen
    ]
    return {
        "mode": mode,
        "rule": rule_text(rule) if mode != "pinned" else "pinned in parameters (clustering.selection.pinned)",
        "thresholds": {k: rule[k] for k in ("k_min", "k_max", "min_segment_share", "min_stability")},
        "chosen": {**_candidate(chosen), "spec": dict(variants[chosen["variant"]])},
        "runner_up": _candidate(runner_up) if runner_up is not None else None,
        "knees": {name: knee for name, knee in knees.items()},
        "rejected": rejected,
    }


# --- figures -----------------------------------------------------------------------------------------
def plot_sweep(
    sweep_results: pd.DataFrame, model_selection: dict[str, Any], figures: dict[str, Any]
) -> tuple[Figure, ...]:
    """Elbow (with each variant's knee), silhouette (own and reference space) and stability by k.

    Drawn from the same figure specifications as the report, so the two never disagree.
    """
    specs = selection_figures(sweep_results, model_selection)
    return tuple(to_matplotlib(specs[name], figures["dpi"]) for name in SELECTION_FIGURES)
