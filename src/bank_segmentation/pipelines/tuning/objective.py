"""How one candidate of the search is scored: honestly, in the common reference space.

The candidate's own space (its columns, transforms, scaler, PCA) is only where K-means runs. Its labels
are then scored in the reference space of ``params:evaluation.reference_space``, the same for every
candidate, so a space that merely *looks* well separated (PCA-2, robust or quantile scaling) gains
nothing. Constraints (smallest segment, bootstrap stability) are Optuna constraints: a value > 0 means
violated, and a violated trial is recorded but never chosen.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.evaluation import (
    EvaluationSettings,
    MetricSpace,
    bootstrap_stability,
    fit_kmeans,
    reference_space,
    space_metrics,
)
from bank_segmentation.pipelines.tuning.search_space import SegmentationCandidate
from bank_segmentation.preprocessing import build_preprocessor

# Metrics a study may optimise, with their direction.
DIRECTIONS = {
    "silhouette_ref": "maximize",
    "calinski_harabasz_ref": "maximize",
    "davies_bouldin_ref": "minimize",
    "stability": "maximize",
}


@dataclass(frozen=True)
class Objective:
    """What a study optimises and which constraints make a candidate admissible."""

    metrics: tuple[str, ...]
    min_segment_share: float | None
    min_stability: float | None

    @classmethod
    def from_params(cls, tuning: Mapping[str, Any]) -> Objective:
        """Read ``tuning.objective`` and ``tuning.constraints``."""
        objective = tuning["objective"]
        mode = objective["mode"]
        if mode == "single":
            metrics: tuple[str, ...] = (objective["metric"],)
        elif mode == "multi":
            metrics = tuple(objective["metrics"])
            if len(metrics) < 2:
                raise ValueError("tuning.objective.metrics: multi-objective mode needs at least two metrics")
        else:
            raise ValueError(f"tuning.objective.mode must be 'single' or 'multi', got {mode!r}")
        unknown = [m for m in metrics if m not in DIRECTIONS]
        if unknown:
            raise ValueError(f"tuning.objective: unknown metric(s) {unknown}; choose from {list(DIRECTIONS)}")
        constraints = tuning.get("constraints") or {}
        share, stability = constraints.get("min_segment_share"), constraints.get("min_stability")
        return cls(
            metrics=metrics,
            min_segment_share=None if share is None else float(share),
            min_stability=None if stability is None else float(stability),
        )

    @property
    def multi(self) -> bool:
        """True when the study has several objectives (Pareto front)."""
        return len(self.metrics) > 1

    @property
    def directions(self) -> list[str]:
        """Optuna directions of the objective metrics."""
        return [DIRECTIONS[m] for m in self.metrics]

    @property
    def needs_stability(self) -> bool:
        """Whether trials must run the (costly) bootstrap."""
        return self.min_stability is not None or "stability" in self.metrics

    def values(self, metrics: Mapping[str, float]) -> list[float]:
        """The objective value(s) of a scored candidate."""
        return [float(metrics[m]) for m in self.metrics]

    def constraints(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """Constraint values (> 0 violated): how far below each threshold the candidate falls."""
        out = {}
        if self.min_segment_share is not None:
            out["min_segment_share"] = self.min_segment_share - float(metrics["smallest_segment_share"])
        if self.min_stability is not None:
            out["min_stability"] = self.min_stability - float(metrics["stability"])
        return out

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` of the first metric beats ``b``."""
        return a < b if self.directions[0] == "minimize" else a > b


class CandidateScorer:
    """Fits K-means for candidates on one customer table and scores them in its reference space."""

    def __init__(
        self,
        model_input: pd.DataFrame,
        roles: Mapping[str, str],
        groups: Mapping[str, Sequence[str]],
        settings: EvaluationSettings,
        objective: Objective,
    ) -> None:
        self.model_input = model_input
        self.roles = roles
        self.groups = groups
        self.settings = settings
        self.objective = objective
        self.reference: MetricSpace = reference_space(model_input, roles, groups, settings)

    def features(self, spec: Mapping[str, Any]) -> np.ndarray:
        """The candidate's own feature space (where K-means runs)."""
        pipeline = build_preprocessor(spec, self.roles, self.groups, self.settings.random_state)
        return np.asarray(pipeline.fit_transform(self.model_input), dtype=np.float64)

    def labels(self, X: np.ndarray, k: int, n_init: int) -> tuple[np.ndarray, float]:
        """K-means labels of every customer and the fit time in seconds."""
        start = time.perf_counter()
        labels = fit_kmeans(X, k, n_init, self.settings.random_state, self.settings.fit_max_rows).labels_
        return labels, time.perf_counter() - start

    def score_labels(self, labels: np.ndarray) -> dict[str, float]:
        """Reference-space metrics and segment shares of a labelling."""
        shares = np.bincount(np.unique(labels, return_inverse=True)[1]) / len(labels)
        return {
            **space_metrics(self.reference, labels, "ref"),
            "smallest_segment_share": float(shares.min()),
            "largest_segment_share": float(shares.max()),
        }

    def stability(self, X: np.ndarray, k: int) -> float:
        """Bootstrap stability (mean pairwise ARI) of K-means with ``k`` segments in the own space."""
        s = self.settings
        return bootstrap_stability(
            X, k, s.n_bootstrap, s.bootstrap_share, s.bootstrap_n_init, s.random_state, s.stability_max_rows
        )

    def score(self, candidate: SegmentationCandidate) -> dict[str, float]:
        """Every metric of one valid candidate at its best admissible ``(k, n_init)``, plus timings.

        The settings are ranked by the first objective metric, those meeting the segment-share constraint
        first; stability (the costly part, one bootstrap per k) is measured down that ranking until a
        setting meets every constraint. Without one, the setting closest to meeting them is reported (the
        trial is then infeasible). ``k`` and ``n_init`` name the setting; ``<metric>_k<k>_n<n_init>`` keep
        the first metric of every setting tried.
        """
        if candidate.spec is None:
            raise ValueError(f"invalid candidate: {candidate.invalid_reason}")
        start = time.perf_counter()
        X = self.features(candidate.spec)
        metric = self.objective.metrics[0]
        fitted = []
        ranked: dict[bytes, float] = {}  # several restarts often find the same segments: score them once
        for k, n_init in candidate.settings:
            labels, fit_seconds = self.labels(X, k, n_init)
            partition = np.unique(labels, return_index=True)[1].argsort().argsort()[labels].tobytes()
            if partition not in ranked:
                ranked[partition] = self._ranking_metric(labels)
            shares = np.bincount(labels) / len(labels)
            fitted.append(
                {
                    "k": k,
                    "n_init": n_init,
                    "labels": labels,
                    "fit_seconds": fit_seconds,
                    "smallest_segment_share": float(shares.min()),
                    metric: ranked[partition],
                }
            )
        chosen = self._choose(fitted, X)
        metrics = {"k": float(chosen["k"]), "n_init": float(chosen["n_init"]), **self.score_labels(chosen["labels"])}
        if "stability" in chosen:
            metrics["stability"] = chosen["stability"]
        if len(fitted) > 1 and metric != "stability":
            metrics.update({f"{metric}_k{f['k']}_n{f['n_init']}": f[metric] for f in fitted})
        metrics["n_features"] = float(X.shape[1])
        metrics["fit_seconds"] = sum(f["fit_seconds"] for f in fitted)
        metrics["trial_seconds"] = time.perf_counter() - start
        return metrics

    def _ranking_metric(self, labels: np.ndarray) -> float:
        """The first objective metric of a labelling (silhouette alone is cheap; stability comes later)."""
        metric = self.objective.metrics[0]
        if metric == "stability":
            return float("nan")
        if metric == "silhouette_ref":
            return self.reference.silhouette(labels)
        return self.score_labels(labels)[metric]

    def _choose(self, fitted: list[dict[str, Any]], X: np.ndarray) -> dict[str, Any]:
        """The best setting meeting every constraint, else the one closest to meeting them."""
        metric = self.objective.metrics[0]
        stabilities: dict[int, float] = {}

        def with_stability(f: dict[str, Any]) -> dict[str, Any]:
            if f["k"] not in stabilities:
                stabilities[f["k"]] = self.stability(X, f["k"])
            return {**f, "stability": stabilities[f["k"]]}

        def violation(f: dict[str, Any]) -> float:
            return sum(max(0.0, v) for v in self.objective.constraints(f).values())

        if metric == "stability":
            fitted = [with_stability(f) for f in fitted]
        share = self.objective.min_segment_share or 0.0
        sign = -1.0 if self.objective.directions[0] == "maximize" else 1.0
        ranked = sorted(fitted, key=lambda f: (f["smallest_segment_share"] < share, sign * f[metric]))
        checked = []
        for f in ranked:
            if self.objective.needs_stability:
                f = with_stability(f)
            if violation(f) <= 0:
                return f
            checked.append(f)
            if f["smallest_segment_share"] < share:
                break  # the rest break the share constraint too
        return min(checked, key=violation)
