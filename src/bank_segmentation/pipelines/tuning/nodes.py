"""Tuning pipeline nodes: run (or continue) the Optuna study, hand off the best configuration, plot."""

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

from bank_segmentation import tracking
from bank_segmentation.evaluation import EvaluationSettings, reference_spec, thread_limit
from bank_segmentation.pipelines.tuning.objective import CandidateScorer, Objective
from bank_segmentation.pipelines.tuning.search_space import params_of_spec
from bank_segmentation.pipelines.tuning.study import (
    DUPLICATE_ATTR,
    ERROR_ATTR,
    INVALID_ATTR,
    METRICS_ATTR,
    ORIGIN_ATTR,
    SPEC_ATTR,
    StudySettings,
    best_trials,
    chosen_trial,
    is_feasible,
    load_study,
    open_study,
    run_trials,
    stored,
)
from bank_segmentation.preprocessing import describe_steps, feature_space, resolve_columns, validate_spec

logger = logging.getLogger(__name__)

FINGERPRINT_ATTR = "fingerprint"


# --- the study ---------------------------------------------------------------------------------------
def study_fingerprint(model_input: pd.DataFrame, tuning: Mapping[str, Any], evaluation: Mapping[str, Any]) -> str:
    """A short hash of what makes trials comparable: the data, the search space, objective and scoring."""
    data = pd.util.hash_pandas_object(model_input, index=False).to_numpy()
    payload = json.dumps(
        {
            "columns": list(model_input.columns),
            "space": tuning["search_space"],
            "objective": tuning["objective"],
            "constraints": tuning.get("constraints"),
            "evaluation": evaluation,
        },
        sort_keys=True,
        default=str,
    )
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
    tuning: dict[str, Any],
    evaluation: dict[str, Any],
    schema: dict[str, Any],
    features: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Add ``n_trials`` trials to the persisted study, one nested MLflow run each; return every trial."""
    settings_eval = EvaluationSettings.from_params(evaluation)
    objective = Objective.from_params(tuning)
    if objective.needs_stability and settings_eval.n_bootstrap < 2:
        raise ValueError("tuning needs bootstrap stability: set evaluation.stability.n_bootstrap >= 2")
    fingerprint = study_fingerprint(model_input, tuning, evaluation)
    settings = study_settings(tuning, fingerprint)
    roles, groups = feature_space(schema, features)
    reference = reference_spec(settings_eval)
    start_point = params_of_spec(reference, resolve_columns(reference, roles, groups), tuning["search_space"], groups)
    parent = tracking.parent_run() if tuning.get("log_nested_runs", True) else None
    start = time.perf_counter()
    with thread_limit(len(model_input), settings_eval.single_thread_max_rows), stored(settings) as storage:
        scorer = CandidateScorer(model_input, roles, groups, settings_eval, objective)
        study = open_study(storage, settings, objective)
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
        previous = len(study.get_trials(deepcopy=False))
        added = run_trials(
            study,
            scorer,
            tuning["search_space"],
            objective,
            settings,
            on_trial=(lambda t: _log_trial(t, settings, objective, len(model_input), parent)) if parent else None,
            start_point=start_point,
        )
        seconds = time.perf_counter() - start
        table = trials_table(study, objective)
    run = {
        "study": settings.name,
        "storage": settings.storage,
        "fingerprint": fingerprint,
        "objective": list(objective.metrics),
        "directions": objective.directions,
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


def _log_trial(
    trial: FrozenTrial, settings: StudySettings, objective: Objective, n_rows: int, parent: tracking.ParentRun
) -> None:
    spec = trial.user_attrs.get(SPEC_ATTR)
    metrics = dict(trial.user_attrs.get(METRICS_ATTR, {}))
    if trial.values is not None:
        metrics.update({f"objective_{m}": v for m, v in zip(objective.metrics, trial.values)})
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
    tracking.log_nested_run(tracking.NestedRun(f"trial-{trial.number}", params, metrics, tags), parent)


def trials_table(study: optuna.Study, objective: Objective) -> pd.DataFrame:
    """Every trial of the study: state, feasibility, objective, constraints, metrics, params and spec."""
    front = {t.number for t in best_trials(study, objective)}
    chosen = chosen_trial(study, objective)
    rows = []
    for t in study.get_trials(deepcopy=False):
        spec = t.user_attrs.get(SPEC_ATTR)
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "feasible": is_feasible(t),
            "best": t.number in front,
            "chosen": chosen is not None and t.number == chosen.number,
            "origin": t.user_attrs.get(ORIGIN_ATTR),
        }
        values = t.values or [None] * len(objective.metrics)
        row.update({f"objective_{m}": v for m, v in zip(objective.metrics, values)})
        row.update({f"constraint_{name}": v for name, v in t.constraints.items()})
        row.update({m: v for m, v in t.user_attrs.get(METRICS_ATTR, {}).items()})
        row.update({f"param_{name}": v for name, v in t.params.items()})
        row["steps"] = describe_steps(spec) if spec is not None else None
        row["spec"] = json.dumps(spec, sort_keys=True) if spec is not None else None
        row["duplicate_of"] = t.user_attrs.get(DUPLICATE_ATTR)
        row["note"] = t.user_attrs.get(INVALID_ATTR) or t.user_attrs.get(ERROR_ATTR)
        row["duration_seconds"] = t.duration.total_seconds() if t.duration is not None else None
        rows.append(row)
    return pd.DataFrame(rows)


# --- the hand-off ------------------------------------------------------------------------------------
def select_tuned_segmentation(
    tuning_trials: pd.DataFrame, tuning_run: dict[str, Any], evaluation: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The best feasible trial as a segmentation config for training, and the study's summary."""
    chosen = tuning_trials[tuning_trials["chosen"].astype(bool)]
    if chosen.empty:
        raise ValueError(
            f"tuning: no trial of study {tuning_run['study']!r} meets the constraints after {len(tuning_trials)} "
            "trials; raise tuning.study.n_trials, widen tuning.search_space or relax tuning.constraints"
        )
    row = chosen.iloc[0]
    metric = tuning_run["objective"][0]
    settings = EvaluationSettings.from_params(evaluation)
    config = {
        "variant": f"tuned-trial-{int(row['number'])}",
        "spec": validate_spec(json.loads(row["spec"])),
        "k": int(row["k"]),
        "n_init": int(row["n_init"]),
        "random_state": settings.random_state,
        "source": f"optuna study {tuning_run['study']}, trial {int(row['number'])} "
        f"({metric} {row[f'objective_{metric}']:.4f})",
        "study": tuning_run["study"],
        "storage": tuning_run["storage"],
        "trial": int(row["number"]),
        "metrics": _metrics(row),
    }
    states = tuning_trials["state"].value_counts().to_dict()
    summary = {
        **tuning_run,
        "trials_total": len(tuning_trials),
        "trials_by_state": {k: int(v) for k, v in states.items()},
        "trials_feasible": int(tuning_trials["feasible"].sum()),
        "trials_infeasible": int(((tuning_trials["state"] == "COMPLETE") & ~tuning_trials["feasible"]).sum()),
        "best_trial": {
            "number": int(row["number"]),
            "steps": row["steps"],
            "k": config["k"],
            "n_init": config["n_init"],
            "origin": row["origin"],
            "spec": config["spec"],
            "params": {c.removeprefix("param_"): _plain(row[c]) for c in row.index if c.startswith("param_")},
            "metrics": config["metrics"],
        },
        "pareto_front": [
            {
                "number": int(r["number"]),
                "steps": r["steps"],
                "k": int(r["k"]),
                "n_init": int(r["n_init"]),
                "metrics": _metrics(r),
            }
            for _, r in tuning_trials[tuning_trials["best"].astype(bool)].iterrows()
        ]
        if len(tuning_run["objective"]) > 1
        else None,
    }
    logger.info(
        "tuning: best trial %d: %s, k=%d, n_init=%d (%s %.4f, smallest segment %.1f%%, stability %s)",
        config["trial"],
        row["steps"],
        config["k"],
        config["n_init"],
        metric,
        row[f"objective_{metric}"],
        100 * row["smallest_segment_share"],
        _fmt(row.get("stability")),
    )
    return config, summary


def _metrics(row: pd.Series) -> dict[str, float]:
    names = (
        "silhouette_ref",
        "calinski_harabasz_ref",
        "davies_bouldin_ref",
        "smallest_segment_share",
        "largest_segment_share",
        "stability",
        "n_features",
    )
    return {n: float(row[n]) for n in names if n in row.index and pd.notna(row[n])}


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars unwrapped, NaN (a parameter the trial did not use) as null."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


def _fmt(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.2f}"


# --- figures -----------------------------------------------------------------------------------------
def plot_tuning(
    tuning_trials: pd.DataFrame, tuning_run: dict[str, Any], tuning: dict[str, Any]
) -> tuple[go.Figure, go.Figure, go.Figure]:
    """Optuna's optimisation history, parameter importances and parallel coordinates of the study."""
    settings = StudySettings(**{**StudySettings.from_params(tuning["study"]).__dict__, "name": tuning_run["study"]})
    metric = tuning_run["objective"][0]
    kwargs: dict[str, Any] = {}
    if len(tuning_run["objective"]) > 1:
        kwargs = {"target": lambda t: t.values[0], "target_name": metric}
    vis = optuna.visualization
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=settings.seed)
    with stored(settings) as storage:
        study = load_study(storage, settings)
        return (
            _figure(lambda: vis.plot_optimization_history(study, **kwargs), "optimisation history", metric),
            _figure(
                lambda: vis.plot_param_importances(study, evaluator=evaluator, **kwargs),
                "parameter importances",
                metric,
            ),
            _figure(lambda: vis.plot_parallel_coordinate(study, **kwargs), "parallel coordinates", metric),
        )


def _figure(draw: Any, title: str, metric: str) -> go.Figure:
    try:
        figure = draw()
    except (ValueError, RuntimeError) as error:  # e.g. importances need two completed trials
        logger.info("tuning: no %s figure (%s)", title, error)
        figure = go.Figure()
        figure.add_annotation(text=f"not enough trials for {title}: {error}", showarrow=False)
    figure.update_layout(title=f"Optuna {title} ({metric}, reference space)")
    return figure
