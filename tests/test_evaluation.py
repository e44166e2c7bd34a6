"""Shared clustering metrics: reference space, silhouette, stability, knee."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from bank_segmentation.evaluation import (
    EvaluationSettings,
    MetricSpace,
    bootstrap_stability,
    clustering_metrics,
    evaluate_kmeans,
    fit_kmeans,
    knee_point,
    silhouette_sample,
)


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=1200, centers=4, n_features=5, cluster_std=0.6, random_state=0)


def test_reference_metrics_do_not_depend_on_the_variant_space(blobs):
    X, _ = blobs
    labels = fit_kmeans(X, 4, 5, 0).labels_
    ref = MetricSpace.build(X, 5000, 0)
    squashed = QuantileTransformer(n_quantiles=200, output_distribution="uniform").fit_transform(X)
    metrics = [
        clustering_metrics(MetricSpace.build(own, 5000, 0), ref, labels)
        for own in (X, StandardScaler().fit_transform(X) * 10, squashed)
    ]
    ref_keys = [k for k in metrics[0] if k.endswith("_ref")]
    assert len(ref_keys) == 4
    for other in metrics[1:]:
        assert {k: other[k] for k in ref_keys} == {k: metrics[0][k] for k in ref_keys}
    # the own-space numbers do move with the space: that is why selection never compares them
    assert metrics[2]["silhouette_own"] != pytest.approx(metrics[0]["silhouette_own"])


def test_silhouette_matches_scikit_learn_and_samples_above_the_row_limit(blobs):
    X, _ = blobs
    labels = fit_kmeans(X, 3, 3, 0).labels_
    exact = MetricSpace.build(X, 5000, 0)
    assert clustering_metrics(exact, exact, labels)["silhouette_own"] == pytest.approx(silhouette_score(X, labels))
    sampled = MetricSpace.build(X, 500, 0)
    assert len(sampled.sample) == 500
    np.testing.assert_array_equal(sampled.sample, silhouette_sample(len(X), 500, 0))  # seeded
    assert clustering_metrics(sampled, sampled, labels)["silhouette_own"] == pytest.approx(
        silhouette_score(X[sampled.sample], labels[sampled.sample])
    )


def test_segment_shares_are_reported():
    X = np.vstack([np.zeros((95, 2)), np.full((5, 2), 10.0)]) + np.random.default_rng(0).normal(size=(100, 2)) * 0.1
    labels = np.r_[np.zeros(95, int), np.ones(5, int)]
    space = MetricSpace.build(X, 5000, 0)
    metrics = clustering_metrics(space, space, labels)
    assert metrics["smallest_segment_share"] == pytest.approx(0.05)
    assert metrics["largest_segment_share"] == pytest.approx(0.95)


def test_stability_is_perfect_for_separated_blobs_and_lower_for_noise(blobs):
    X, _ = blobs
    assert bootstrap_stability(X, 4, 5, 0.8, 1, 0) == pytest.approx(1.0)
    noise = np.random.default_rng(0).uniform(size=(1200, 5))
    assert bootstrap_stability(noise, 6, 5, 0.8, 1, 0) < 0.9


def test_evaluation_is_deterministic_and_complete(blobs):
    X, _ = blobs
    space = MetricSpace.build(X, 5000, 0)
    settings = EvaluationSettings(n_init=3, random_state=7, n_bootstrap=3, bootstrap_n_init=1)
    first, second = (evaluate_kmeans(space, space, 4, settings) for _ in range(2))
    first.pop("fit_seconds"), second.pop("fit_seconds")
    assert first == second
    assert {"inertia_own", "silhouette_ref", "calinski_harabasz_ref", "davies_bouldin_own", "stability"} <= set(first)


def test_knee_of_an_inertia_curve():
    ks = list(range(2, 11))
    elbow_at_4 = [1000, 600, 250, 220, 200, 185, 175, 168, 162]
    assert knee_point(ks, elbow_at_4) == 4
    assert knee_point(ks[::-1], elbow_at_4[::-1]) == 4  # order does not matter
    assert knee_point(ks, [100 - 10 * i for i in range(9)]) is None  # a straight line has no knee
    assert knee_point([2, 3], [10, 5]) is None


def test_settings_from_parameters():
    settings = EvaluationSettings.from_params(
        {
            "n_init": 12,
            "random_state": 3,
            "stability": {"n_bootstrap": 4, "sample_share": 0.7, "n_init": 2},
            "silhouette_max_rows": 100,
            "reference_space": {"columns": "raw"},
        }
    )
    assert (settings.n_init, settings.n_bootstrap, settings.bootstrap_share, settings.bootstrap_n_init) == (
        12,
        4,
        0.7,
        2,
    )
    assert settings.reference_space == {"columns": "raw"}


def test_large_data_fits_on_a_sample_and_still_labels_every_row(blobs):
    X, truth = blobs
    full = fit_kmeans(X, 4, 5, 0)
    sampled = fit_kmeans(X, 4, 5, 0, max_rows=300)
    assert len(sampled.labels_) == len(X)
    assert adjusted_rand_score(full.labels_, sampled.labels_) == pytest.approx(1.0)
    assert adjusted_rand_score(truth, sampled.labels_) == pytest.approx(1.0)
    assert bootstrap_stability(X, 4, 5, 0.8, 1, 0, max_rows=300) == pytest.approx(1.0)
