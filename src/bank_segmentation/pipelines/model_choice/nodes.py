"""Model choice nodes: gather the candidates of the sweep and the search, apply the one rule (or a pin)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from bank_segmentation.core.candidates import CANDIDATE_METRICS, Admission, CandidateScorer
from bank_segmentation.core.choice import Candidate, choose, pinned_record, source_runs
from bank_segmentation.core.evaluation import thread_limit
from bank_segmentation.core.preprocessing import describe_steps, resolve_columns, validate_spec
from bank_segmentation.core.settings import EvaluationSettings, Features, Schema
from bank_segmentation.framework import tracking

logger = logging.getLogger(__name__)

# The search records every metric of every k a trial fitted as <metric>_k<k>.
PER_K = re.compile(r"^(?P<metric>.+)_k(?P<k>\d+)$")


def _clean(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


def sweep_candidates(sweep_results: pd.DataFrame, variants: Mapping[str, Any]) -> list[Candidate]:
    """One candidate per swept variant x k."""
    return [
        Candidate(
            source="sweep",
            name=str(row["variant"]),
            k=int(row["k"]),
            spec=validate_spec(variants[row["variant"]]),
            steps=str(row["steps"]),
            metrics={m: _clean(row[m]) for m in CANDIDATE_METRICS if m in row},
        )
        for row in sweep_results.to_dict("records")
    ]


def search_candidates(tuning_trials: pd.DataFrame) -> list[Candidate]:
    """One candidate per completed trial x k it fitted (every k of the business bounds)."""
    if tuning_trials.empty or "spec" not in tuning_trials:
        return []
    per_k: dict[int, dict[str, str]] = {}
    for column in tuning_trials.columns:
        match = PER_K.match(column)
        if match and match["metric"] in CANDIDATE_METRICS:
            per_k.setdefault(int(match["k"]), {})[match["metric"]] = column
    done = tuning_trials[(tuning_trials["state"] == "COMPLETE") & tuning_trials["spec"].notna()]
    done = done[done["duplicate_of"].isna()] if "duplicate_of" in done else done
    candidates = []
    for row in done.to_dict("records"):
        spec = validate_spec(json.loads(row["spec"]))
        for k, columns in sorted(per_k.items()):
            metrics = {m: _clean(row[c]) for m, c in columns.items()}
            if metrics.get("silhouette_ref") is None:
                continue
            candidates.append(
                Candidate("search", f"trial {int(row['number'])}", k, spec, describe_steps(spec), metrics)
            )
    return candidates


def _measurer(scorer: CandidateScorer, n_jobs: int) -> Any:
    """Fill agreement and coverage of candidates in parallel threads; a feature space is built once per call
    and spec, and freed after it (at a million customers one space is ~140 MB)."""

    def measure(candidates: Sequence[Candidate]) -> None:
        spaces: dict[str, Any] = {}

        def one(candidate: Candidate) -> None:
            key = json.dumps(candidate.spec, sort_keys=True)
            if key not in spaces:
                spaces[key] = scorer.features(candidate.spec)
            X = spaces[key]
            labels, fit_seconds = scorer.partition(X, candidate.k)
            candidate.metrics.update({**scorer.score(labels), **scorer.measure(X, labels, candidate.k)})
            candidate.metrics.setdefault("fit_seconds", fit_seconds)

        with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
            list(pool.map(one, candidates))

    return measure


def k_table(chosen: Candidate, pool: Sequence[Candidate], admission: Admission, measure: Any) -> list[dict]:
    """The chosen feature space at every k of the bounds (a pin: at its own k only): why this k."""
    same = {c.k: c for c in pool if (c.source, c.name) == (chosen.source, chosen.name)}
    ks = [chosen.k] if chosen.source == "pinned" else admission.ks
    rows = [same.get(k) or Candidate(chosen.source, chosen.name, k, chosen.spec, chosen.steps) for k in ks]
    measure([c for c in rows if not c.measured])
    return [
        {
            "k": c.k,
            "chosen": c.k == chosen.k,
            **{
                m: _clean(c.metrics.get(m))
                for m in (
                    "silhouette_ref",
                    "silhouette_ref_se",
                    "agreement",
                    "agreement_min",
                    "coverage",
                    "smallest_segment_share",
                )
            },
            "admissible": not admission.reasons(c.k, c.metrics),
        }
        for c in rows
    ]


def _features(spec: Mapping[str, Any], schema: Schema, roles: Mapping[str, str], groups: Any) -> dict:
    """Which columns the chosen model uses, and which behavioural columns it leaves out."""
    used = resolve_columns(spec, roles, groups)
    raw = list(schema.feature_columns)
    return {"used": used, "left_out": [c for c in raw if c not in used]}


def choose_segmentation(
    sweep_results: pd.DataFrame,
    tuning_trials: pd.DataFrame,
    model_input: pd.DataFrame,
    customer_features: pd.DataFrame,
    model_choice: dict[str, Any],
    clustering: dict[str, Any],
    evaluation: EvaluationSettings,
    schema: Schema,
    features: Features,
    naming: dict[str, Any],
    profiles: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One decision over every candidate of the sweep and the search (or the pin): the record and the config."""
    source_runs(model_choice, "sweep")  # validates mode and sources
    admission = Admission.from_params(model_choice["rule"])
    with thread_limit(len(model_input), evaluation.single_thread_max_rows):
        scorer = CandidateScorer.from_settings(
            model_input, customer_features, evaluation, schema, features, naming, profiles
        )
        measure = _measurer(scorer, int(model_choice["n_jobs"]))
        if model_choice["mode"] == "pinned":
            pinned = model_choice["pinned"]
            variant, k = str(pinned["variant"]), int(pinned["k"])
            if variant not in clustering["variants"]:
                declared = list(clustering["variants"])
                raise ValueError(f"model_choice.pinned.variant: unknown variant {variant!r}; declared: {declared}")
            spec = validate_spec(clustering["variants"][variant])
            chosen = Candidate("pinned", variant, k, spec, describe_steps(spec))
            measure([chosen])
            record = pinned_record(chosen, admission, "model_choice.pinned")
            pool: list[Candidate] = [chosen]
        else:
            pool = sweep_candidates(sweep_results, clustering["variants"]) + search_candidates(tuning_trials)
            if not pool:
                raise ValueError(
                    "model_choice: no candidate to choose from; list at least one of sweep, search in "
                    "model_choice.sources, or set model_choice.mode: pinned"
                )
            record = choose(pool, admission, measure)
            chosen = next(c for c in pool if c.id == record["chosen"]["id"])
        record["k_table"] = k_table(chosen, pool, admission, measure)
    record["sources"] = {
        "sweep": {"ran": not sweep_results.empty, "candidates": sum(c.source == "sweep" for c in pool)},
        "search": {
            "ran": not tuning_trials.empty,
            "trials": int(len(tuning_trials)),
            "candidates": sum(c.source == "search" for c in pool),
        },
    }
    record["features"] = _features(chosen.spec, schema, scorer.roles, scorer.groups)
    record["fitting"] = {
        "customers": len(model_input),  # on the Spark engine, the seeded sample the model is chosen on
        "n_init": evaluation.n_init,
        "random_state": evaluation.random_state,
        "agreement_refits": evaluation.n_refits,
        "agreement_sample_share": evaluation.refit_share,
    }
    config = {
        "variant": chosen.name,
        "spec": chosen.spec,
        "k": chosen.k,
        "n_init": evaluation.n_init,
        "random_state": evaluation.random_state,
        "source": f"{chosen.id} ({record['mode']})",
    }
    logger.info(
        "model choice (%s): %s — silhouette_ref %.4f, agreement %.3f (min %.3f), coverage %.0f%%",
        record["mode"],
        chosen.id,
        chosen.silhouette,
        chosen.metrics["agreement"],
        chosen.metrics["agreement_min"],
        100 * chosen.metrics["coverage"],
    )
    return record, config


def log_model_choice(model_selection: dict[str, Any]) -> None:
    """Log the decision on the run's MLflow parent run: what was chosen and how it measures (aggregates only)."""
    chosen = model_selection["chosen"]
    metrics = {f"decision.{m}": v for m, v in chosen["metrics"].items() if isinstance(v, int | float)}
    metrics["decision.k"] = chosen["k"]
    params = {"decision.mode": model_selection["mode"], "decision.chosen": chosen["id"]}
    tracking.log_to_parent(params=params, metrics=metrics, tags={"decision": chosen["id"]})
