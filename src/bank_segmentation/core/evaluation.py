"""Clustering metrics shared by the sweep and the Optuna search.

Silhouette and friends are only comparable within one feature space: a quantile- or PCA-transformed space
scores far higher than a magnitude-preserving one for equally good segments. Every metric is therefore
computed twice: in the model's own space (``*_own``) and in one common *reference space* (``*_ref``,
built once per run from ``params:evaluation.reference_space`` with the same builder as the variants).
Model selection uses the reference-space numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from sklearn.metrics.pairwise import euclidean_distances
from threadpoolctl import threadpool_limits

from bank_segmentation.core.preprocessing import build_preprocessor
from bank_segmentation.core.settings import EvaluationSettings


def thread_limit(n_rows: int, single_thread_max_rows: int) -> contextlib.AbstractContextManager[Any]:
    """One BLAS/OpenMP thread for small data (avoids oversubscription), the library default above.

    The OpenMP limit holds for the calling thread only: a worker thread must enter it itself (K-means in a
    worker thread without it ran 67x slower here on a loaded 2-core machine: 44 s instead of 0.66 s).
    """
    if n_rows <= single_thread_max_rows:
        return threadpool_limits(limits=1)
    return contextlib.nullcontext()


# --- metric spaces -----------------------------------------------------------------------------------
@dataclass
class MetricSpace:
    """A feature matrix plus the pairwise distances of its (seeded) silhouette sample.

    The distances are float32: silhouette reads the whole matrix for every labelling, so half the bytes is
    close to half the time (and 100 MB instead of 200 MB at 5,000 rows), for a relative error near 1e-6.
    """

    X: np.ndarray
    sample: np.ndarray
    distances: np.ndarray

    @classmethod
    def build(cls, X: np.ndarray, max_rows: int, random_state: int) -> MetricSpace:
        """Exact silhouette up to ``max_rows`` rows, a seeded sample of ``max_rows`` rows above."""
        X = np.asarray(X, dtype=np.float64)
        sample = silhouette_sample(len(X), max_rows, random_state)
        return cls(X=X, sample=sample, distances=euclidean_distances(X[sample]).astype(np.float32))

    def silhouette(self, labels: np.ndarray) -> float:
        """Mean silhouette of a labelling of every row, measured on the silhouette sample."""
        return self.silhouette_with_error(labels)[0]

    def silhouette_with_error(self, labels: np.ndarray) -> tuple[float, float]:
        """Mean silhouette and its standard error (the sampling noise of the mean over the sampled rows)."""
        points = silhouette_points(self.distances, labels[self.sample])
        if points is None:
            return float("nan"), float("nan")
        return float(points.mean()), float(points.std(ddof=1) / np.sqrt(len(points)))


def silhouette_sample(n_rows: int, max_rows: int, random_state: int) -> np.ndarray:
    """Row indices used for silhouette: all rows, or the same seeded sample for every space."""
    return seeded_rows(n_rows, max_rows, random_state)


def seeded_rows(n_rows: int, max_rows: int | None, random_state: int) -> np.ndarray:
    """All row indices up to ``max_rows`` rows (``None``: no limit), a sorted seeded sample of ``max_rows`` above."""
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(random_state).choice(n_rows, size=max_rows, replace=False))


def reference_space(
    model_input: pd.DataFrame,
    roles: Mapping[str, str],
    groups: Mapping[str, Sequence[str]],
    settings: EvaluationSettings,
) -> MetricSpace:
    """The common space all candidates are also scored in, built once per run."""
    X = build_preprocessor(settings.reference_space, roles, groups, settings.random_state).fit_transform(model_input)
    return MetricSpace.build(X, settings.silhouette_max_rows, settings.random_state)


# --- metrics -----------------------------------------------------------------------------------------
def silhouette_points(distances: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """Silhouette of every labelled point from the pairwise distance matrix (as scikit-learn); None if undefined."""
    _, codes = np.unique(labels, return_inverse=True)
    n_clusters = codes.max() + 1
    if n_clusters < 2 or n_clusters >= len(codes):
        return None
    onehot = np.zeros((len(codes), n_clusters), dtype=distances.dtype)  # one dtype: BLAS, no upcast copy
    onehot[np.arange(len(codes)), codes] = 1.0
    sums = (distances @ onehot).astype(np.float64)
    counts = onehot.sum(axis=0)
    rows = np.arange(len(codes))
    own_size = counts[codes]
    a = sums[rows, codes] / np.maximum(own_size - 1, 1)
    mean_other = sums / counts
    mean_other[rows, codes] = np.inf
    b = mean_other.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(own_size > 1, (b - a) / np.maximum(a, b), 0.0)
    return np.nan_to_num(s)


def silhouette_from_distances(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of labelled points from their pairwise distance matrix (as scikit-learn)."""
    points = silhouette_points(distances, labels)
    return float("nan") if points is None else float(points.mean())


def inertia(X: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of points to their cluster mean."""
    total = 0.0
    for label in np.unique(labels):
        members = X[labels == label]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total


def space_metrics(space: MetricSpace, labels: np.ndarray, suffix: str) -> dict[str, float]:
    """Inertia, silhouette (and its standard error), Calinski-Harabasz and Davies-Bouldin in one space."""
    silhouette, error = space.silhouette_with_error(labels)
    return {
        f"inertia_{suffix}": inertia(space.X, labels),
        f"silhouette_{suffix}": silhouette,
        f"silhouette_{suffix}_se": error,
        f"calinski_harabasz_{suffix}": float(calinski_harabasz_score(space.X, labels)),
        f"davies_bouldin_{suffix}": float(davies_bouldin_score(space.X, labels)),
    }


def segment_shares(labels: np.ndarray) -> dict[str, float]:
    """Smallest and largest segment share of a labelling."""
    shares = np.bincount(np.unique(labels, return_inverse=True)[1]) / len(labels)
    return {"smallest_segment_share": float(shares.min()), "largest_segment_share": float(shares.max())}


def fit_kmeans(X: np.ndarray, k: int, n_init: int, random_state: int, max_rows: int | None = None) -> KMeans:
    """A K-means fit with a fixed seed.

    Above ``max_rows`` rows the ``n_init`` restarts run on a seeded sample of ``max_rows`` rows, and the best
    centres are then refined on every row (Lloyd iterations from those centres), so every row is assigned.
    """
    model = KMeans(n_clusters=k, n_init=n_init, random_state=random_state)
    if max_rows is None or len(X) <= max_rows:
        return model.fit(X)
    centres = model.fit(X[seeded_rows(len(X), max_rows, random_state)]).cluster_centers_
    return KMeans(n_clusters=k, init=centres, n_init=1, random_state=random_state).fit(X)


def refit_agreement(X: np.ndarray, labels: np.ndarray, k: int, settings: EvaluationSettings) -> tuple[float, float]:
    """How reproducible the partition ``labels`` is: mean and minimum adjusted Rand index between it and
    ``n_refits`` refits of the same procedure (same ``n_init``) with other seeds on seeded subsamples, each
    refit labelling every customer.

    It measures the segments that are shipped, not the procedure: refits that agree with each other but
    not with an unlucky shipped partition score low. Above ``agreement_max_rows`` rows, it is measured on a
    seeded sample of that many customers.
    """
    rows_all = seeded_rows(len(X), settings.agreement_max_rows, settings.random_state)
    X, labels = X[rows_all], np.asarray(labels)[rows_all]
    rng = np.random.default_rng(settings.random_state)
    size = max(k, int(round(settings.refit_share * len(X))))
    scores = []
    for refit in range(settings.n_refits):
        rows = rng.choice(len(X), size=size, replace=False)
        model = fit_kmeans(X[rows], k, settings.n_init, settings.random_state + 1 + refit, settings.fit_max_rows)
        scores.append(adjusted_rand_score(labels, model.predict(X)))
    return float(np.mean(scores)), float(np.min(scores))


# --- knee of an inertia curve ------------------------------------------------------------------------
def knee_point(ks: Sequence[int], inertias: Sequence[float]) -> int | None:
    """The k at the knee of a decreasing, convex inertia curve (Kneedle: furthest below the chord)."""
    order = np.argsort(np.asarray(ks))
    x = np.asarray(ks, dtype=float)[order]
    y = np.asarray(inertias, dtype=float)[order]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    x_n = (x - x.min()) / np.ptp(x)
    y_n = (y - y.min()) / np.ptp(y)
    gap = (1.0 - x_n) - y_n
    best = int(np.argmax(gap))
    return int(x[best]) if gap[best] > 0 else None
