"""Scoring nodes: the published segmentation package applied to new customers, flags and drift."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from bank_segmentation.core.assignment import assign_segments, with_carried_columns
from bank_segmentation.core.drift import (
    outside_training_summary,
    population_stability_index,
    segment_counts,
    segment_share_shift,
)
from bank_segmentation.core.migration import measure_migration, memberships, movements
from bank_segmentation.core.package import distance_thresholds, training_percentile
from bank_segmentation.core.serving import why_columns
from bank_segmentation.core.settings import Schema
from bank_segmentation.core.spreadsheet import spreadsheet_safe
from bank_segmentation.framework import tracking
from bank_segmentation.spark import on_spark

logger = logging.getLogger(__name__)


def _drift_level(psi: float, thresholds: dict[str, float]) -> str:
    """stable / moderate / major, from the PSI thresholds in parameters."""
    if psi >= thresholds["major"]:
        return "major"
    return "moderate" if psi >= thresholds["moderate"] else "stable"


def score_customers(segmentation_package: Mapping[str, Any], model_input: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Segment, distance and second-closest segment of every new customer, with the published model."""
    if on_spark(model_input):
        from bank_segmentation.spark import engine

        return engine.materialized(engine.assign(segmentation_package["model"], model_input, schema))
    return assign_segments(segmentation_package["model"], model_input, schema)


def flag_outside_training(
    scored_assignments: pd.DataFrame, segmentation_package: Mapping[str, Any], outside_training: dict[str, Any]
) -> pd.DataFrame:
    """Flag scored customers farther from their segment's centre than training customers were."""
    if on_spark(scored_assignments):
        from bank_segmentation.spark import engine

        flagged = engine.map_batches(scored_assignments, flag_outside_training, segmentation_package, outside_training)
        return engine.materialized(flagged)  # read by the export, the drift and the memberships
    threshold = scored_assignments["segment"].map(distance_thresholds(segmentation_package, outside_training))
    # A segment no training customer was in has no threshold (NaN): nothing vouches for its customers.
    outside = ~(scored_assignments["distance_to_centroid"] <= threshold)
    return scored_assignments.assign(
        outside_training=outside.to_numpy(),
        distance_percentile=training_percentile(segmentation_package, scored_assignments),
    )


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
    if on_spark(scoring_input):
        from bank_segmentation.spark import scoring

        psi = scoring.psi_by_feature(training_input, scoring_input, schema.id_column, drift["bins"], drift["epsilon"])
        counts = scoring.segment_counts(scored_assignments)
        n_training, n_scored = training_input.count(), scoring_input.count()
    else:
        psi = {
            col: population_stability_index(
                training_input[col].to_numpy(), scoring_input[col].to_numpy(), drift["bins"], drift["epsilon"]
            )
            for col in training_input.columns
            if col != schema.id_column and col in scoring_input.columns  # not the row positions a Spark run keeps
        }
        counts, n_training, n_scored = segment_counts(scored_assignments), len(training_input), len(scoring_input)
    psi = {col: round(value, 6) for col, value in psi.items()}
    shifts = segment_share_shift(segmentation_package, counts)
    worst = max(psi, key=psi.get)
    report = {
        "n_training": n_training,
        "n_scored": n_scored,
        "psi_thresholds": drift["psi_thresholds"],
        "features": {
            col: {"psi": value, "level": _drift_level(value, drift["psi_thresholds"])} for col, value in psi.items()
        },
        "max_psi": {"feature": worst, "psi": psi[worst]},
        "segment_shares": shifts,
        "max_share_shift": max(abs(row["shift"]) for row in shifts),
        "outside_training": outside_training_summary(counts, segmentation_package, outside_training),
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
    if on_spark(scored_assignments):
        from bank_segmentation.spark import scoring

        return scoring.export_batches(
            scored_assignments,
            customers_to_score_features,
            previous_segment_memberships,
            export_scored_customers,
            segmentation_package,
            schema,
        )
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
    if on_spark(scored_assignments):
        from bank_segmentation.spark import engine

        return engine.map_batches(scored_assignments, memberships, segmentation_package, schema, "scoring")
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
    measure = measure_migration
    if on_spark(segment_memberships):
        from bank_segmentation.spark.scoring import measure_migration as measure
    report = measure(
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
