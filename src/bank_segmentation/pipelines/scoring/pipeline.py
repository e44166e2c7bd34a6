"""Scoring: the cleaned new customers -> the published package -> segments, flags, names, drift."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from bank_segmentation.spark import FULL_SCALE

from .nodes import (
    export_scored_customers,
    flag_outside_training,
    log_drift_metrics,
    log_migration_metrics,
    measure_drift,
    measure_segment_migration,
    record_scored_memberships,
    score_customers,
)
from .report import render_scoring_report


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Score ``scoring_model_input`` with the published package: segments, flags, names, drift.

    The registry puts data processing's cleaning pipeline in front of it (namespace ``scoring``), fed with
    ``customers_to_score_raw`` and the published imputer: nothing is re-fitted.
    """
    return Pipeline(
        [
            Node(
                func=score_customers,
                inputs=["segmentation_package", "scoring_model_input", "params:schema"],
                outputs="scored_assignments",
                name="score_customers",
            ),
            Node(
                func=flag_outside_training,
                inputs=["scored_assignments", "segmentation_package", "params:outside_training"],
                outputs="scored_assignments_flagged",
                name="flag_outside_training",
            ),
            Node(
                func=export_scored_customers,
                inputs=[
                    "scored_assignments_flagged",
                    "segmentation_package",
                    "customers_to_score_features",
                    "previous_segment_memberships",
                    "params:schema",
                ],
                outputs="scored_customers",
                name="export_scored_customers",
            ),
            Node(
                func=measure_drift,
                inputs=[
                    "model_input",
                    "scoring_model_input",
                    "segmentation_package",
                    "scored_assignments_flagged",
                    "params:schema",
                    "params:drift",
                    "params:outside_training",
                ],
                outputs="drift_report",
                name="measure_drift",
            ),
            Node(func=log_drift_metrics, inputs="drift_report", outputs=None, name="log_drift_metrics"),
            Node(
                func=record_scored_memberships,
                inputs=["scored_assignments_flagged", "segmentation_package", "params:schema"],
                outputs="segment_memberships",
                name="record_scored_memberships",
            ),
            Node(
                func=measure_segment_migration,
                inputs=[
                    "previous_segment_memberships",
                    "segment_memberships",
                    "rejected_customers_to_score",
                    "params:migration",
                    "params:schema",
                ],
                outputs="segment_migration",
                name="measure_segment_migration",
            ),
            Node(func=log_migration_metrics, inputs="segment_migration", outputs=None, name="log_migration_metrics"),
            Node(
                func=render_scoring_report,
                inputs=["segment_migration", "drift_report", "params:scoring_report"],
                outputs="scoring_report",
                name="render_scoring_report",
            ),
        ],
        tags=["scoring", FULL_SCALE],  # on Spark, every scored customer (nothing here needs the sample)
    )
