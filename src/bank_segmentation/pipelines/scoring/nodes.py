"""Scoring nodes: the published segmentation package applied to new customers, flags and drift."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.core.assignment import assign_segments, with_carried_columns
from bank_segmentation.core.migration import measure_migration, memberships, movements
from bank_segmentation.core.package import distance_thresholds, training_percentile, training_shares
from bank_segmentation.core.serving import why_columns
from bank_segmentation.core.settings import Schema
from bank_segmentation.core.spreadsheet import spreadsheet_safe
from bank_segmentation.framework import tracking

logger = logging.getLogger(__name__)


def population_stability_index(expected: np.ndarray, actual: np.ndarray, bins: int, eps: float) -> float:
    """PSI of ``actual`` against ``expected``, on the expected population's quantile bins."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    expected_share = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    actual_share = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    expected_share = np.clip(expected_share / max(len(expected), 1), eps, None)
    actual_share = np.clip(actual_share / max(len(actual), 1), eps, None)
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))


def _drift_level(psi: float, thresholds: dict[str, float]) -> str:
    """stable / moderate / major, from the PSI thresholds in parameters."""
    if psi >= thresholds["major"]:
        return "major"
    return "moderate" if psi >= thresholds["moderate"] else "stable"


def _segment_share_shift(package: Mapping[str, Any], scored: pd.DataFrame) -> list[dict[str, Any]]:
    """Share of every segment among training and scored customers, and the shift between them."""
    training_share = training_shares(package)
    scored_share = scored["segment"].value_counts(normalize=True)
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


def score_customers(segmentation_package: Mapping[str, Any], model_input: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Segment, distance and second-closest segment of every new customer, with the published model."""
    return assign_segments(segmentation_package["model"], model_input, schema)


def flag_outside_training(
    scored_assignments: pd.DataFrame, segmentation_package: Mapping[str, Any], outside_training: dict[str, Any]
) -> pd.DataFrame:
    """Flag scored customers farther from their segment's centre than training customers were."""
    threshold = scored_assignments["segment"].map(distance_thresholds(segmentation_package, outside_training))
    # A segment no training customer was in has no threshold (NaN): nothing vouches for its customers.
    outside = ~(scored_assignments["distance_to_centroid"] <= threshold)
    return scored_assignments.assign(
        outside_training=outside.to_numpy(),
        distance_percentile=training_percentile(segmentation_package, scored_assignments),
    )


def _psi_by_feature(
    training_input: pd.DataFrame, scoring_input: pd.DataFrame, id_column: str, drift: dict[str, Any]
) -> dict[str, float]:
    """PSI of every model-input feature, scored against training customers."""
    return {
        col: round(
            population_stability_index(
                training_input[col].to_numpy(), scoring_input[col].to_numpy(), drift["bins"], drift["epsilon"]
            ),
            6,
        )
        for col in training_input.columns
        if col != id_column
    }


def _outside_training_summary(
    scored_assignments: pd.DataFrame, package: Mapping[str, Any], outside_training: dict[str, Any]
) -> dict[str, Any]:
    """How many scored customers lie outside what training saw, per segment, with the thresholds used."""
    flagged = scored_assignments["outside_training"]
    per_segment = scored_assignments.loc[flagged, "segment"].value_counts()
    thresholds = distance_thresholds(package, outside_training)
    return {
        "quantile": outside_training["quantile"],
        "factor": outside_training["factor"],
        "n_flagged": int(flagged.sum()),
        "share": round(float(flagged.mean()) if len(flagged) else 0.0, 6),
        "by_segment": {int(seg): int(n) for seg, n in per_segment.sort_index().items()},
        "distance_thresholds": {int(seg): round(float(value), 6) for seg, value in thresholds.items()},
    }


def _columns_at(report: dict[str, Any], level: str) -> str:
    """'COL psi, COL psi' of the features at a drift level, worst first ('' when none)."""
    at_level = [(col, row["psi"]) for col, row in report["features"].items() if row["level"] == level]
    return ", ".join(f"{col} {psi:.2f}" for col, psi in sorted(at_level, key=lambda item: -item[1]))


def _log_drift(report: dict[str, Any]) -> None:
    """Major drift and customers outside training as warnings naming what moved; moderate drift as info."""
    logger.info(
        "Drift: max PSI %.3f (%s); largest segment-share shift %.1f pp",
        report["max_psi"]["psi"],
        report["max_psi"]["feature"],
        100 * report["max_share_shift"],
    )
    thresholds = report["psi_thresholds"]
    if moderate := _columns_at(report, "moderate"):
        logger.info("Moderate drift (PSI >= %s): %s", thresholds["moderate"], moderate)
    if major := _columns_at(report, "major"):
        logger.warning(
            "Major drift (PSI >= %s): %s. These customers differ from the training population: the segment "
            "names may not describe them; consider retraining.",
            thresholds["major"],
            major,
        )
    if flagged := report["outside_training"]["n_flagged"]:
        logger.warning(
            "%d of %d scored customer(s) lie outside what training saw (outside_training in scored_customers): "
            "their segment is only the nearest one.",
            flagged,
            report["n_scored"],
        )


def measure_drift(
    training_input: pd.DataFrame,
    scoring_input: pd.DataFrame,
    segmentation_package: Mapping[str, Any],
    scored_assignments: pd.DataFrame,
    schema: Schema,
    drift: dict[str, Any],
    outside_training: dict[str, Any],
) -> dict[str, Any]:
    """PSI per feature, the shift in segment shares and the customers outside training, scored vs training."""
    psi = _psi_by_feature(training_input, scoring_input, schema.id_column, drift)
    shifts = _segment_share_shift(segmentation_package, scored_assignments)
    worst = max(psi, key=psi.get)
    report = {
        "n_training": len(training_input),
        "n_scored": len(scoring_input),
        "psi_thresholds": drift["psi_thresholds"],
        "features": {
            col: {"psi": value, "level": _drift_level(value, drift["psi_thresholds"])} for col, value in psi.items()
        },
        "max_psi": {"feature": worst, "psi": psi[worst]},
        "segment_shares": shifts,
        "max_share_shift": max(abs(row["shift"]) for row in shifts),
        "outside_training": _outside_training_summary(scored_assignments, segmentation_package, outside_training),
    }
    _log_drift(report)
    return report


def export_scored_customers(
    scored_assignments: pd.DataFrame,
    segmentation_package: Mapping[str, Any],
    customers_to_score_features: pd.DataFrame,
    previous_segment_memberships: pd.DataFrame,
    schema: Schema,
) -> pd.DataFrame:
    """Scored customers with the columns carried as written, their segment's name and recommended action, the
    rule they meet and their segment last time, safe to open in a spreadsheet."""
    segments = segmentation_package["segments"][["segment", "name", "recommended_action"]]
    names = segments.rename(columns={"name": "segment_name"})
    named = scored_assignments.merge(names, on="segment", how="left", validate="many_to_one")
    first = list(scored_assignments.columns[:2]) + ["segment_name", "recommended_action"]
    ordered = named[first + [col for col in named.columns if col not in first]]
    explained = ordered.assign(**why_columns(ordered, segmentation_package, customers_to_score_features, schema))
    moved = explained.join(movements(explained, previous_segment_memberships, schema.id_column))
    return spreadsheet_safe(with_carried_columns(moved, customers_to_score_features, schema))


def record_scored_memberships(
    scored_assignments: pd.DataFrame, segmentation_package: Mapping[str, Any], schema: Schema
) -> pd.DataFrame:
    """The scored customers' segments, names and archetypes: what the next scoring run compares with."""
    return memberships(scored_assignments, segmentation_package, schema, source="scoring")


def measure_segment_migration(
    previous_segment_memberships: pd.DataFrame,
    segment_memberships: pd.DataFrame,
    rejected_customers_to_score: pd.DataFrame,
    migration: Mapping[str, Any],
    schema: Schema,
) -> dict[str, Any]:
    """Who stayed, moved, arrived or left since the customers were last segmented, and the watched moves."""
    rejected_ids = rejected_customers_to_score.get(schema.id_column, pd.Series(dtype=object)).astype("string")
    report = measure_migration(
        previous_segment_memberships, segment_memberships, list(rejected_ids.dropna()), migration, schema.id_column
    )
    counts = report["counts"]
    logger.info(
        "Migration since %s: %d stayed, %d moved, %d new, %d left, %d rejected",
        report["previous_source"] or "nothing",
        *(counts[key] for key in ("stayed", "moved", "new", "left", "rejected")),
    )
    for rule in report["watched"]:
        if rule["customers"]:
            logger.info("Watched move %r: %d customers", rule["name"], rule["customers"])
    return report


def log_migration_metrics(segment_migration: dict[str, Any]) -> None:
    """Log the migration counts and watched moves (aggregates only) on the run's MLflow parent run."""
    metrics = {f"migration.{key}": value for key, value in segment_migration["counts"].items()}
    metrics["migration.moved_share"] = segment_migration["moved_share"]
    for rule in segment_migration["watched"]:
        metrics[f"migration.watched.{rule['name'].replace(' ', '_')}"] = rule["customers"]
    tracking.log_to_parent(metrics=metrics)


def log_drift_metrics(drift_report: dict[str, Any]) -> None:
    """Log the drift figures (aggregates only) on the run's MLflow parent run."""
    metrics = {f"psi.{col}": row["psi"] for col, row in drift_report["features"].items()}
    metrics["psi.max"] = drift_report["max_psi"]["psi"]
    metrics["segment_share_shift.max"] = drift_report["max_share_shift"]
    metrics["outside_training.n"] = drift_report["outside_training"]["n_flagged"]
    metrics["outside_training.share"] = drift_report["outside_training"]["share"]
    tracking.log_to_parent(metrics=metrics, tags={"stage": "scoring"})
