"""Candidate segmentations (a feature space and a number of segments k), scored the same way wherever
they come from: the clustering sweep, the Optuna search, a pin, or the model choice measuring a tie.

A candidate is fitted once, with ``evaluation.n_init`` K-means restarts, and the lowest-inertia partition
is the one scored — and the one training ships (same spec, k, restarts and seed give the same partition).
Restarts are not a search dimension: on CC GENERAL the same features score silhouette 0.245 with 3 restarts
and 0.200 with 10, and rewarding the luckier restart ships a partition that refits do not reproduce.

Every candidate gets, in the common reference space: silhouette and its standard error, segment shares;
and, where the choice needs them (they cost refits and a naming pass): the agreement of refits with the
partition (mean and minimum ARI) and the archetype coverage (share of customers in archetype-named segments).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.core.evaluation import (
    MetricSpace,
    fit_kmeans,
    reference_space,
    refit_agreement,
    segment_shares,
    space_metrics,
    thread_limit,
)
from bank_segmentation.core.naming import archetype_coverage, name_segments
from bank_segmentation.core.preprocessing import build_preprocessor, feature_space
from bank_segmentation.core.profiles import SEGMENT, build_segment_profiles
from bank_segmentation.core.settings import EvaluationSettings, Features, Schema

MEASURED = ("agreement", "agreement_min", "coverage", "coverage_with_partial")
# What every candidate carries into the model choice: its reference-space scores, then the measured metrics.
CANDIDATE_METRICS = (
    "silhouette_ref",
    "silhouette_ref_se",
    "calinski_harabasz_ref",
    "davies_bouldin_ref",
    "smallest_segment_share",
    "largest_segment_share",
    *MEASURED,
)
PREFERENCES = ("coverage", "k", "silhouette_ref", "agreement")


@dataclass(frozen=True)
class Admission:
    """What makes a candidate admissible, and how the choice breaks ties (``params:model_choice.rule``)."""

    k_min: int
    k_max: int
    min_segment_share: float
    min_agreement: float
    min_coverage: float
    tie_z: float
    prefer: tuple[str, ...]
    tolerances: Mapping[str, float]

    @classmethod
    def from_params(cls, rule: Mapping[str, Any]) -> Admission:
        """Read the ``model_choice.rule`` block."""
        prefer = tuple(rule["prefer"])
        unknown = [p for p in prefer if p not in PREFERENCES]
        unknown += [t for t in rule.get("tolerances") or {} if t not in prefer]
        if unknown:
            raise ValueError(
                f"model_choice.rule.prefer / tolerances: unknown or unused preference(s) {unknown}; "
                f"use {list(PREFERENCES)}"
            )
        admission = cls(
            k_min=int(rule["k_min"]),
            k_max=int(rule["k_max"]),
            min_segment_share=float(rule["min_segment_share"]),
            min_agreement=float(rule["min_agreement"]),
            min_coverage=float(rule["min_coverage"]),
            tie_z=float(rule["tie_z"]),
            prefer=prefer,
            tolerances={key: float(v) for key, v in (rule.get("tolerances") or {}).items()},
        )
        if not 2 <= admission.k_min <= admission.k_max:
            raise ValueError(f"model_choice.rule: need 2 <= k_min <= k_max, got {admission.k_min}..{admission.k_max}")
        return admission

    @property
    def ks(self) -> list[int]:
        """The numbers of segments the business accepts."""
        return list(range(self.k_min, self.k_max + 1))

    def cheap_reasons(self, k: int, metrics: Mapping[str, Any]) -> list[str]:
        """Why a candidate is out before any refit: k outside the bounds, or a micro-segment."""
        reasons = []
        if not self.k_min <= k <= self.k_max:
            reasons.append(f"k={k} outside the business bounds {self.k_min}..{self.k_max}")
        share = metrics.get("smallest_segment_share")
        if share is not None and share < self.min_segment_share:
            reasons.append(f"smallest segment {share:.1%} < {self.min_segment_share:.0%} (micro-segment)")
        return reasons

    def measured_reasons(self, metrics: Mapping[str, Any]) -> list[str]:
        """Why a measured candidate is out: refits disagree with it, or too few customers get an archetype."""
        reasons = []
        agreement, coverage = metrics.get("agreement"), metrics.get("coverage")
        if agreement is not None and not agreement >= self.min_agreement:
            reasons.append(
                f"agreement of refits {agreement:.2f} < {self.min_agreement} (the segments do not reproduce)"
            )
        if coverage is not None and not coverage >= self.min_coverage:
            reasons.append(f"archetype coverage {coverage:.0%} < {self.min_coverage:.0%} (too many unnamed customers)")
        return reasons

    def reasons(self, k: int, metrics: Mapping[str, Any]) -> list[str]:
        """Every rule a candidate breaks (unmeasured metrics break nothing yet)."""
        return self.cheap_reasons(k, metrics) + self.measured_reasons(metrics)

    def constraints(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        """Optuna constraint values (> 0: violated): each shortfall relative to its threshold, so a 1-point
        shortfall in a 2% share weighs as much as a 45-point one in a 0.9 agreement."""
        thresholds = {
            "min_segment_share": (self.min_segment_share, metrics["smallest_segment_share"]),
            "min_agreement": (self.min_agreement, metrics["agreement"]),
            "min_coverage": (self.min_coverage, metrics["coverage"]),
        }
        return {name: (low - float(value)) / max(low, 1e-9) for name, (low, value) in thresholds.items()}

    def violation(self, metrics: Mapping[str, Any]) -> float:
        """How far a measured candidate is from admissible (0: admissible): the relative shortfalls summed."""
        return float(sum(max(0.0, v) for v in self.constraints(metrics).values()))

    def text(self) -> str:
        """The rule in plain words, with its thresholds."""
        return (
            f"Admissible: {self.k_min} <= k <= {self.k_max} segments, none smaller than "
            f"{self.min_segment_share:.0%} of customers, mean agreement of refits with other seeds on subsamples "
            f"(adjusted Rand index with the shipped segments) >= {self.min_agreement}, and at least "
            f"{self.min_coverage:.0%} of customers in archetype-named segments. Among admissible candidates the "
            f"best silhouette in the common reference space sets the bar; candidates within {self.tie_z:g} "
            "standard errors of it are ties (silhouette cannot tell them apart), and among ties the rule prefers "
            + self.preferences_text()
            + "."
        )

    def preferences_text(self) -> str:
        """The tie-breaking preferences in plain words, e.g. ``more segments, then the higher silhouette``."""
        words = [
            _PREFERENCE_WORDS[p]
            + (f" (differences under {self.tolerances[p]:g} count as equal)" if p in self.tolerances else "")
            for p in self.prefer
        ]
        if "silhouette_ref" not in self.prefer:
            words.append(_PREFERENCE_WORDS["silhouette_ref"])
        return ", then ".join(words)


_PREFERENCE_WORDS = {
    "coverage": "more customers in archetype-named segments",
    "k": "more segments",
    "silhouette_ref": "the higher silhouette",
    "agreement": "the higher agreement of refits",
}


class CandidateScorer:
    """Fits and scores candidates on one customer table (its reference space is built once)."""

    def __init__(
        self,
        model_input: pd.DataFrame,
        customer_features: pd.DataFrame,
        id_column: str,
        roles: Mapping[str, str],
        groups: Mapping[str, Sequence[str]],
        settings: EvaluationSettings,
        naming: Mapping[str, Any],
        profiles: Mapping[str, Any],
    ) -> None:
        if (
            len(model_input) != len(customer_features)
            or not (model_input[id_column].to_numpy() == customer_features[id_column].to_numpy()).all()
        ):
            raise ValueError("model_input and customer_features must hold the same customers in the same order")
        self.model_input = model_input
        self.customer_features = customer_features
        self.id_column = id_column
        self.roles = roles
        self.groups = groups
        self.settings = settings
        self.naming = naming
        self.profiles = profiles
        self.reference: MetricSpace = reference_space(model_input, roles, groups, settings)

    @classmethod
    def from_settings(
        cls,
        model_input: pd.DataFrame,
        customer_features: pd.DataFrame,
        evaluation: EvaluationSettings,
        schema: Schema,
        features: Features,
        naming: Mapping[str, Any],
        profiles: Mapping[str, Any],
    ) -> CandidateScorer:
        """The scorer of the project's settings (evaluation, schema, features, naming, profiles)."""
        roles, groups = feature_space(schema, features)
        return cls(model_input, customer_features, schema.id_column, roles, groups, evaluation, naming, profiles)

    def _threads(self) -> contextlib.AbstractContextManager[Any]:
        """The BLAS/OpenMP limit, entered by every method that computes: callers may be worker threads."""
        return thread_limit(len(self.model_input), self.settings.single_thread_max_rows)

    def features(self, spec: Mapping[str, Any]) -> np.ndarray:
        """The candidate's own feature space (where K-means runs)."""
        pipeline = build_preprocessor(spec, self.roles, self.groups, self.settings.random_state)
        with self._threads():
            return np.asarray(pipeline.fit_transform(self.model_input), dtype=np.float64)

    def partition(self, X: np.ndarray, k: int) -> tuple[np.ndarray, float]:
        """The lowest-inertia partition of ``n_init`` seeded restarts, and the fit time in seconds."""
        start = time.perf_counter()
        with self._threads():
            labels = fit_kmeans(X, k, self.settings.n_init, self.settings.random_state, self.settings.fit_max_rows)
        return labels.labels_, time.perf_counter() - start

    def score(self, labels: np.ndarray) -> dict[str, float]:
        """Reference-space metrics (silhouette with its standard error) and segment shares of a partition."""
        with self._threads():
            return {**space_metrics(self.reference, labels, "ref"), **segment_shares(labels)}

    def coverage(self, labels: np.ndarray) -> tuple[float, float]:
        """Share of customers in archetype-named segments: full matches, and with partial matches."""
        assignments = pd.DataFrame({self.id_column: self.customer_features[self.id_column].to_numpy(), SEGMENT: labels})
        # names read per-segment statistics only: the portfolio volume shares of the profiles are not needed
        settings = {**self.profiles, "volume_columns": {}}
        profiles = build_segment_profiles(self.customer_features, assignments, self.id_column, settings)
        names = name_segments(profiles, self.naming, {})
        return archetype_coverage(names, profiles), archetype_coverage(names, profiles, partial=True)

    def measure(self, X: np.ndarray, labels: np.ndarray, k: int) -> dict[str, float]:
        """The costly metrics of a partition: agreement of refits and archetype coverage."""
        with self._threads():
            agreement, agreement_min = refit_agreement(X, labels, k, self.settings)
        coverage, with_partial = self.coverage(labels)
        return {
            "agreement": agreement,
            "agreement_min": agreement_min,
            "coverage": coverage,
            "coverage_with_partial": with_partial,
        }

    def evaluate(self, spec: Mapping[str, Any], k: int) -> dict[str, float]:
        """Every metric of one candidate: fit, reference-space scores, agreement and coverage."""
        X = self.features(spec)
        labels, fit_seconds = self.partition(X, k)
        return {**self.score(labels), **self.measure(X, labels, k), "fit_seconds": fit_seconds}
