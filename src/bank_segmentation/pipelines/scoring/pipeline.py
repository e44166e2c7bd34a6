"""Scoring: new customers -> same validation and cleaning (training statistics) -> segments, flags, drift."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from bank_segmentation.pipelines.data_processing.nodes import (
    build_model_input,
    engineer_features,
    export_rejected_customers,
    impute_customers,
    validate_customers,
)
from bank_segmentation.pipelines.scoring.nodes import (
    export_scored_customers,
    flag_outside_training,
    log_drift_metrics,
    measure_drift,
    score_customers,
)


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Apply the published imputer and segmentation package to ``customers_to_score_raw``; nothing is re-fitted."""
    return Pipeline(
        [
            Node(
                validate_customers,
                inputs=["customers_to_score_raw", "params:schema", "params:validation"],
                outputs=[
                    "customers_to_score_validated",
                    "quarantined_customers_to_score",
                    "scoring_validation_report",
                ],
                name="validate_customers_to_score",
            ),
            Node(
                export_rejected_customers,
                inputs="quarantined_customers_to_score",
                outputs="rejected_customers_to_score",
                name="export_rejected_customers_to_score",
            ),
            Node(
                impute_customers,
                inputs=["customers_to_score_validated", "customer_imputer"],
                outputs=["customers_to_score_clean", "scoring_imputed_counts"],
                name="impute_customers_to_score",
            ),
            Node(
                engineer_features,
                inputs=["customers_to_score_clean", "params:features"],
                outputs="customers_to_score_features",
                name="engineer_features_to_score",
            ),
            Node(
                build_model_input,
                inputs=["customers_to_score_features", "params:schema", "params:features"],
                outputs="scoring_model_input",
                name="build_scoring_model_input",
            ),
            Node(
                score_customers,
                inputs=["segmentation_package", "scoring_model_input", "params:schema"],
                outputs="scored_assignments",
                name="score_customers",
            ),
            Node(
                flag_outside_training,
                inputs=["scored_assignments", "segmentation_package", "params:outside_training"],
                outputs="scored_assignments_flagged",
                name="flag_outside_training",
            ),
            Node(
                export_scored_customers,
                inputs=["scored_assignments_flagged", "segmentation_package"],
                outputs="scored_customers",
                name="export_scored_customers",
            ),
            Node(
                measure_drift,
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
            Node(log_drift_metrics, inputs="drift_report", outputs=None, name="log_drift_metrics"),
        ],
        tags=["scoring"],
    )
