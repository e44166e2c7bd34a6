"""Tuning pipeline nodes: run (or continue) the Optuna study, summarise it, plot it."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial

from bank_segmentation.core.candidates import Admission, CandidateScorer
from bank_segmentation.core.choice import source_runs
from bank_segmentation.core.evaluation import thread_limit
from bank_segmentation.core.preprocessing import describe_steps, feature_space, resolve_columns
from bank_segmentation.core.settings import EvaluationSettings, Features, Schema
from bank_segmentation.framework import tracking
from bank_segmentation.pipelines.tuning.objective import METRIC, Objective, score_trial
from bank_segmentation.pipelines.tuning.search_space import params_of_spec
from bank_segmentation.pipelines.tuning.study import (
    DUPLICATE_ATTR,
    ERROR_ATTR,
    INVALID_ATTR,
    METRICS_ATTR,
    ORIGIN_ATTR,
    SPEC_ATTR,
    StudySettings,
    chosen_trial,
    is_feasible,
    load_study,
    open_study,
    run_trials,
    stored,
)

logger = logging.getLogger(__name__)

FINGERPRINT_ATTR = "fingerprint"
TRIAL_COLUMNS = [
    "number",
    "state",
    "feasible",
    "best",
    "origin",
    f"objective_{METRIC}",
    "k",
    "steps",
    "spec",
    "duplicate_of",
    "note",
    "duration_seconds",
]


# --- the study ---------------------------------------------------------------------------------------
def study_fingerprint(model_input: pd.DataFrame, *settings: Mapping[str, Any]) -> str:
    """A short hash of what makes trials comparable: the data and every setting that scores a trial."""
    data = pd.util.hash_pandas_object(model_input, index=False).to_numpy()
    payload = json.dumps({"columns": list(model_input.columns), "settings": settings}, sort_keys=True, default=str)
    digest = hashlib.sha256(data.tobytes())
    digest.update(payload.encode())
    return digest.hexdigest()[:10]


def study_settings(tuning: Mapping[str, Any], fingerprint: str) -> StudySettings:
    """The study settings, the study name suffixed with the fingerprint when asked to."""
    settings = StudySettings.from_params(tuning["study"])
    if tuning["study"].get("name_with_fingerprint", True):
        settings = StudySettings(**{**settings.__dict__, "name": f"{settings.name}-{fingerprint}"})
    return settings


def tune_segmentation(
    model_input: pd.DataFrame,
    customer_features: pd.DataFrame,
    tuning: dict[str, Any],
    evaluation: EvaluationSettings,
    model_choice: dict[str, Any],
    schema: Schema,
    features: Features,
    naming: dict[str, Any],
    profiles: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Add ``n_trials`` trials to the persisted study, one nested MLflow run each; return every trial."""
    if not source_runs(model_choice, "search"):
        logger.info("tuning skipped: model_choice.mode=%s, sources=%s", model_choice["mode"], model_choice["sources"])
        return pd.DataFrame(columns=TRIAL_COLUMNS), {"ran": False}
    admission = Admission.from_params(model_choice["rule"])
    objective = Objective(admission)
    fingerprint = study_fingerprint(
        model_input, tuning["search_space"], evaluation.model_dump(), model_choice["rule"], naming, profiles
    )
    settings = study_settings(tuning, fingerprint)
    roles, groups = feature_space(schema, features)
    reference = evaluation.reference_space
    start_point = params_of_spec(reference, resolve_columns(reference, roles, groups), tuning["search_space"], groups)
    parent = tracking.parent_run() if tuning.get("log_nested_runs", True) else None
    start = time.perf_counter()
    with thread_limit(len(model_input), evaluation.single_thread_max_rows), stored(settings) as storage:
        scorer = CandidateScorer.from_settings(
            model_input, customer_features, evaluation, schema, features, naming, profiles
        )
        study = open_study(storage, settings, objective)
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
        previous = len(study.get_trials(deepcopy=False))
        added = run_trials(
            study,
            storage,
            lambda candidate: score_trial(scorer, admission, candidate),
            tuning["search_space"],
            admission.ks,
            objective,
            settings,
            on_trial=(lambda t: _log_trial(t, settings, len(model_input), parent)) if parent else None,
            start_point=start_point,
        )
        seconds = time.perf_counter() - start
        table = trials_table(study)
    run = {
        "ran": True,
        "study": settings.name,
        "storage": settings.storage,
        "fingerprint": fingerprint,
        "objective": METRIC,
        "sampler": type(study.sampler).__name__,
        "seed": settings.seed,
        "n_jobs": settings.n_jobs,
        "trials_before": previous,
        "trials_added": len(added),
        "seconds": round(seconds, 2),
        "trials_per_second": round(len(added) / seconds, 3) if seconds > 0 else None,
    }
    logger.info(
        "tuning: %d trials added to study %r (%d in total) in %.1f s (%.2f trials/s)",
        len(added),
        settings.name,
        len(table),
        seconds,
        run["trials_per_second"] or 0.0,
    )
    return table, run


def _log_trial(trial: FrozenTrial, settings: StudySettings, n_rows: int, parent: tracking.ParentRun) -> None:
    spec = trial.user_attrs.get(SPEC_ATTR)
    metrics = dict(trial.user_attrs.get(METRICS_ATTR, {}))
    if trial.values is not None:
        metrics[f"objective_{METRIC}"] = trial.values[0]
    metrics.update({f"constraint_{name}": v for name, v in trial.constraints.items()})
    params = {**trial.params, "study": settings.name, "n_rows": n_rows}
    if spec is not None:
        params["steps"] = describe_steps(spec)
        params["groups"] = ",".join(spec.get("groups", []))
    tags = {
        "stage": "tuning",
        "study": settings.name,
        "trial_number": trial.number,
        "state": trial.state.name,
        "feasible": is_feasible(trial),
    }
    for attr in (ORIGIN_ATTR, DUPLICATE_ATTR, INVALID_ATTR, ERROR_ATTR):
        if attr in trial.user_attrs:
            tags[attr] = trial.user_attrs[attr]
    name = f"trial {trial.number}" + (f" · k={metrics['k']:.0f}" if "k" in metrics else "")  # the k it proposes
    tracking.log_nested_run(tracking.NestedRun(name, params, metrics, tags), parent)


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """Every trial of the study: state, feasibility, objective, constraints, metrics (per k too), params, spec."""
    best = chosen_trial(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        spec = t.user_attrs.get(SPEC_ATTR)
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "feasible": is_feasible(t),
            "best": best is not None and t.number == best.number,
            "origin": t.user_attrs.get(ORIGIN_ATTR),
            f"objective_{METRIC}": t.values[0] if t.values else None,
        }
        row.update({f"constraint_{name}": v for name, v in t.constraints.items()})
        row.update({m: v for m, v in t.user_attrs.get(METRICS_ATTR, {}).items()})
        row.update({f"param_{name}": v for name, v in t.params.items()})
        row["steps"] = describe_steps(spec) if spec is not None else None
        row["spec"] = json.dumps(spec, sort_keys=True) if spec is not None else None
        row["duplicate_of"] = t.user_attrs.get(DUPLICATE_ATTR)
        row["note"] = t.user_attrs.get(INVALID_ATTR) or t.user_attrs.get(ERROR_ATTR)
        row["duration_seconds"] = t.duration.total_seconds() if t.duration is not None else None
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else TRIAL_COLUMNS)


# --- the summary -------------------------------------------------------------------------------------
SUMMARY_METRICS = (
    "silhouette_ref",
    "smallest_segment_share",
    "largest_segment_share",
    "agreement",
    "agreement_min",
    "coverage",
    "n_features",
)


def summarise_search(tuning_trials: pd.DataFrame, tuning_run: dict[str, Any]) -> dict[str, Any]:
    """What the search did: trials by state, feasible ones, and its best trial (one candidate of the choice)."""
    if not tuning_run.get("ran"):
        return {"ran": False, "reason": "the search did not run (model_choice.mode or model_choice.sources)"}
    states = tuning_trials["state"].value_counts().to_dict()
    summary = {
        **tuning_run,
        "trials_total": len(tuning_trials),
        "trials_by_state": {k: int(v) for k, v in states.items()},
        "trials_feasible": int(tuning_trials["feasible"].sum()),
        "trials_infeasible": int(((tuning_trials["state"] == "COMPLETE") & ~tuning_trials["feasible"]).sum()),
        "best_trial": None,
    }
    best = tuning_trials[tuning_trials["best"].astype(bool)]
    if best.empty:
        logger.warning("tuning: no trial of study %r meets the model-choice thresholds yet", tuning_run["study"])
        return summary
    row = best.iloc[0]
    summary["best_trial"] = {
        "number": int(row["number"]),
        "steps": row["steps"],
        "k": int(row["k"]),
        "origin": row["origin"],
        "spec": json.loads(row["spec"]),
        "params": {c.removeprefix("param_"): _plain(row[c]) for c in row.index if c.startswith("param_")},
        "metrics": {n: float(row[n]) for n in SUMMARY_METRICS if n in row.index and pd.notna(row[n])},
    }
    logger.info(
        "tuning: best trial %d: %s, k=%d (silhouette_ref %.4f, agreement %.3f, coverage %.0f%%)",
        summary["best_trial"]["number"],
        row["steps"],
        int(row["k"]),
        row["silhouette_ref"],
        row["agreement"],
        100 * row["coverage"],
    )
    return summary


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars unwrapped, NaN (a parameter the trial did not use) as null."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


# --- figures -----------------------------------------------------------------------------------------
def plot_tuning(tuning_run: dict[str, Any], tuning: dict[str, Any]) -> tuple[go.Figure, go.Figure, go.Figure]:
    """Optuna's optimisation history, parameter importances and parallel coordinates of the study."""
    titles = ("optimisation history", "parameter importances", "parallel coordinates")
    if not tuning_run.get("ran"):
        return tuple(_figure(lambda: _empty("the search did not run in this kedro run"), t) for t in titles)
    settings = StudySettings(**{**StudySettings.from_params(tuning["study"]).__dict__, "name": tuning_run["study"]})
    vis = optuna.visualization
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=settings.seed)
    with stored(settings) as storage:
        study = load_study(storage, settings)
        return (
            _figure(lambda: vis.plot_optimization_history(study), titles[0]),
            _figure(lambda: vis.plot_param_importances(study, evaluator=evaluator), titles[1]),
            _figure(lambda: vis.plot_parallel_coordinate(study), titles[2]),
        )


def _empty(text: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=text, showarrow=False)
    return figure


def _figure(draw: Any, title: str) -> go.Figure:
    try:
        figure = draw()
    except (ValueError, RuntimeError) as error:  # e.g. importances need two completed trials
        logger.info("tuning: no %s figure (%s)", title, error)
        figure = _empty(f"not enough trials for {title}: {error}")
    figure.update_layout(title=f"Optuna {title} ({METRIC}, reference space)")
    return figure
