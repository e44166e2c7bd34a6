"""How one trial of the search is scored: with the model choice's own rule, in the common reference space.

The trial's feature space (its columns, transforms, scaler, PCA) is only where K-means runs. Its partitions
are scored in the reference space of ``params:evaluation.reference_space``, the same for every candidate, so
a space that merely *looks* well separated (PCA-2, robust or quantile scaling) gains nothing. The trial fits
every k of the business bounds (``model_choice.rule``) and reports its best admissible one; the thresholds
of the rule (smallest segment, agreement of refits, archetype coverage) are its Optuna constraints: a value
> 0 means violated, and a violated trial is recorded but never the study's best. Every k the trial fitted
stays a candidate of the model choice (``<metric>_k<k>`` in its metrics).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bank_segmentation.core.candidates import Admission, CandidateScorer
from bank_segmentation.pipelines.tuning.search_space import SegmentationCandidate

METRIC = "silhouette_ref"


@dataclass(frozen=True)
class Objective:
    """What a study maximises (reference-space silhouette) and what makes a trial feasible (the rule)."""

    admission: Admission

    metrics = (METRIC,)
    directions = ["maximize"]
    multi = False

    def values(self, metrics: Mapping[str, float]) -> list[float]:
        """The objective value of a scored trial."""
        return [float(metrics[METRIC])]

    def constraints(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """Constraint values (> 0 violated): how far below each threshold of the rule the trial falls."""
        return self.admission.constraints(metrics)


def score_trial(scorer: CandidateScorer, admission: Admission, candidate: SegmentationCandidate) -> dict[str, float]:
    """Every metric of one valid trial at its best admissible k, plus the scores of every k it fitted.

    The k are ranked by silhouette, those meeting the segment-share threshold first; agreement and coverage
    (refits and a naming pass) are measured down that ranking until a k meets every threshold. Without one,
    the k closest to meeting them is reported (the trial is then infeasible).
    """
    if candidate.spec is None:
        raise ValueError(f"invalid candidate: {candidate.invalid_reason}")
    start = time.perf_counter()
    X = scorer.features(candidate.spec)
    fitted = []
    for k in candidate.ks:
        labels, fit_seconds = scorer.partition(X, k)
        fitted.append({"k": k, "labels": labels, "fit_seconds": fit_seconds, **scorer.score(labels)})
    ranked = sorted(fitted, key=lambda f: (f["smallest_segment_share"] < admission.min_segment_share, -f[METRIC]))
    checked: list[dict[str, Any]] = []
    chosen = None
    for f in ranked:
        if checked and f["smallest_segment_share"] < admission.min_segment_share:
            break  # the rest break the share threshold too
        f.update(scorer.measure(X, f["labels"], f["k"]))
        checked.append(f)
        if admission.violation(f) == 0:
            chosen = f
            break
    chosen = chosen or min(checked, key=admission.violation)
    per_k = {
        f"{name}_k{f['k']}": value
        for f in fitted
        for name, value in f.items()
        if name not in {"k", "labels", "fit_seconds"}
    }
    metrics = {name: value for name, value in chosen.items() if name not in {"labels", "fit_seconds"}}
    return {
        **metrics,
        "k": float(chosen["k"]),
        **per_k,
        "n_features": float(X.shape[1]),
        "fit_seconds": sum(f["fit_seconds"] for f in fitted),
        "trial_seconds": time.perf_counter() - start,
    }
