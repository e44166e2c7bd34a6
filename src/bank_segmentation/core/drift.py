"""Drift of scored customers against training: the population stability index of every feature, the shift in
segment shares and the customers outside what training saw, from counts either engine makes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.core.package import distance_thresholds, training_shares

CUSTOMERS, OUTSIDE = "customers", "outside_training"  # columns of the per-segment counts


def quantile_levels(bins: int) -> list[float]:
    """The quantile levels of the inner edges of ``bins`` equal-population bins."""
    return [float(level) for level in np.linspace(0, 1, bins + 1)[1:-1]]


def quantile_edges(expected: np.ndarray, bins: int) -> np.ndarray:
    """The inner edges of the expected population's quantile bins (ties merge bins)."""
    return np.unique(np.quantile(expected, quantile_levels(bins)))


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values per bin: bin ``i`` holds the values with ``i`` edges at or below them."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)


def psi_from_counts(expected_counts: np.ndarray, actual_counts: np.ndarray, eps: float) -> float:
    """PSI of the actual bin counts against the expected ones, empty bins floored at ``eps``."""
    expected_share = np.clip(expected_counts / max(expected_counts.sum(), 1), eps, None)
    actual_share = np.clip(actual_counts / max(actual_counts.sum(), 1), eps, None)
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))


def population_stability_index(expected: np.ndarray, actual: np.ndarray, bins: int, eps: float) -> float:
    """PSI of ``actual`` against ``expected``, on the expected population's quantile bins."""
    edges = quantile_edges(expected, bins)
    return psi_from_counts(bin_counts(expected, edges), bin_counts(actual, edges), eps)


def segment_counts(scored: pd.DataFrame) -> pd.DataFrame:
    """Scored customers per segment, and how many of them lie outside training (pandas)."""
    grouped = scored.groupby("segment")[OUTSIDE]
    return pd.DataFrame({CUSTOMERS: grouped.size(), OUTSIDE: grouped.sum().astype("int64")})


def segment_share_shift(package: Mapping[str, Any], counts: pd.DataFrame) -> list[dict[str, Any]]:
    """Share of every segment among training and scored customers, and the shift between them."""
    training_share = training_shares(package)
    scored_share = counts[CUSTOMERS] / max(int(counts[CUSTOMERS].sum()), 1)
    segments = sorted(set(training_share.index) | set(scored_share.index))
    return [
        {
            "segment": int(seg),
            "training_share": round(float(training_share.get(seg, 0.0)), 6),
            "scored_share": round(float(scored_share.get(seg, 0.0)), 6),
            "shift": round(float(scored_share.get(seg, 0.0) - training_share.get(seg, 0.0)), 6),
        }
        for seg in segments
    ]


def outside_training_summary(
    counts: pd.DataFrame, package: Mapping[str, Any], outside_training: Mapping[str, Any]
) -> dict[str, Any]:
    """How many scored customers lie outside what training saw, per segment, with the thresholds used."""
    flagged, scored = int(counts[OUTSIDE].sum()), int(counts[CUSTOMERS].sum())
    per_segment = counts.loc[counts[OUTSIDE] > 0, OUTSIDE].sort_index()
    thresholds = distance_thresholds(package, outside_training)
    return {
        "quantile": outside_training["quantile"],
        "factor": outside_training["factor"],
        "n_flagged": flagged,
        "share": round(flagged / scored if scored else 0.0, 6),
        "by_segment": {int(seg): int(n) for seg, n in per_segment.items()},
        "distance_thresholds": {int(seg): round(float(value), 6) for seg, value in thresholds.items()},
    }
