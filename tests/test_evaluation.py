"""Shared clustering metrics: reference space, silhouette and its standard error, agreement of refits."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from bank_segmentation.core.evaluation import (
    MetricSpace,
    fit_kmeans,
    refit_agreement,
    segment_shares,
    silhouette_sample,
    space_metrics,
)
from bank_segmentation.core.settings import EvaluationSettings


def clustering_metrics(own: MetricSpace, ref: MetricSpace, labels: np.ndarray) -> dict[str, float]:
    return {**space_metrics(own, labels, "own"), **space_metrics(ref, labels, "ref"), **segment_shares(labels)}


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
    assert len(ref_keys) == 4 and "silhouette_ref_se" in metrics[0]
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


def test_silhouette_standard_error_shrinks_with_the_sample(blobs):
    X, _ = blobs
    labels = fit_kmeans(X, 4, 5, 0).labels_
    small, large = (MetricSpace.build(X, rows, 0).silhouette_with_error(labels) for rows in (200, 1200))
    assert 0 < large[1] < small[1]
    # the standard error is the noise of the mean: two samples of 200 rows differ by a few of them
    other = MetricSpace.build(X, 200, 1).silhouette_with_error(labels)
    assert abs(other[0] - small[0]) < 4 * np.hypot(small[1], other[1])


SETTINGS = EvaluationSettings(n_init=3, random_state=7, agreement={"n_refits": 4})


def test_agreement_is_perfect_for_separated_blobs_and_low_for_noise(blobs):
    X, _ = blobs
    labels = fit_kmeans(X, 4, 3, 7).labels_
    mean, minimum = refit_agreement(X, labels, 4, SETTINGS)
    assert mean == pytest.approx(1.0) and minimum == pytest.approx(1.0)
    noise = np.random.default_rng(0).uniform(size=(1200, 5))
    assert refit_agreement(noise, fit_kmeans(noise, 6, 3, 7).labels_, 6, SETTINGS)[0] < 0.9


def test_agreement_measures_the_shipped_partition_not_the_procedure(blobs):
    """Refits that agree with each other still disagree with an unlucky partition: agreement says so."""
    X, truth = blobs
    good = fit_kmeans(X, 4, 3, 7).labels_
    unlucky = good.copy()
    unlucky[np.isin(good, [0, 1])] = 0  # two true segments merged ...
    unlucky[(good == 2) & (np.arange(len(X)) % 2 == 0)] = 1  # ... and one split in halves
    assert refit_agreement(X, good, 4, SETTINGS)[0] == pytest.approx(1.0)
    mean, minimum = refit_agreement(X, unlucky, 4, SETTINGS)
    assert mean < 0.8 and minimum <= mean


def test_settings_from_parameters_refuse_unknown_keys_and_out_of_range_values():
    settings = EvaluationSettings.model_validate(
        {
            "n_init": 12,
            "random_state": 3,
            "agreement": {"n_refits": 4, "sample_share": 0.7},
            "silhouette_max_rows": 100,
            "reference_space": {"columns": "raw"},
        }
    )
    assert (settings.n_init, settings.n_refits, settings.refit_share) == (12, 4, 0.7)
    assert settings.reference_space == {"columns": "raw"}
    with pytest.raises(ValidationError, match="sample_share"):
        EvaluationSettings.model_validate({"n_init": 10, "random_state": 0, "agreement": {"sample_share": 1.5}})
    with pytest.raises(ValidationError, match="n_refit"):
        EvaluationSettings.model_validate({"n_init": 10, "agreement": {"n_refit": 4}})
    with pytest.raises(ValidationError, match="frozen"):
        settings.n_init = 3  # type: ignore[misc]


def test_large_data_fits_on_a_sample_and_still_labels_every_row(blobs):
    X, truth = blobs
    full = fit_kmeans(X, 4, 5, 0)
    sampled = fit_kmeans(X, 4, 5, 0, max_rows=300)
    assert len(sampled.labels_) == len(X)
    assert adjusted_rand_score(full.labels_, sampled.labels_) == pytest.approx(1.0)
    assert adjusted_rand_score(truth, sampled.labels_) == pytest.approx(1.0)
    sampled_settings = EvaluationSettings(n_init=3, random_state=0, agreement={"n_refits": 3}, agreement_max_rows=300)
    assert refit_agreement(X, sampled.labels_, 4, sampled_settings)[0] == pytest.approx(1.0)
