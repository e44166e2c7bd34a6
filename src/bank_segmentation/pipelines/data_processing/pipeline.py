"""Data processing: raw table -> validated -> cleaned -> features -> model input."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_model_input,
    check_segmentable,
    engineer_features,
    export_rejected_customers,
    impute_customers,
    learn_imputer,
    summarise_data_quality,
    validate_customers,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the data processing pipeline."""
    return Pipeline(
        [
            Node(
                validate_customers,
                inputs=["customers_raw", "params:schema", "params:validation"],
                outputs=["customers_validated", "quarantined_customers", "validation_report"],
                name="validate_customers",
            ),
            Node(
                export_rejected_customers,
                inputs="quarantined_customers",
                outputs="rejected_customers",
                name="export_rejected_customers",
            ),
            Node(
                learn_imputer,
                inputs=["customers_validated", "params:schema", "params:imputation"],
                outputs="customer_imputer",
                name="learn_imputer",
            ),
            Node(
                impute_customers,
                inputs=["customers_validated", "customer_imputer"],
                outputs=["customers_clean", "imputed_counts"],
                name="impute_customers",
            ),
            Node(
                engineer_features,
                inputs=["customers_clean", "params:features"],
                outputs="customer_features",
                name="engineer_features",
            ),
            Node(
                build_model_input,
                inputs=["customer_features", "params:schema", "params:features"],
                outputs="model_input_unchecked",
                name="build_model_input",
            ),
            Node(
                check_segmentable,
                inputs=["model_input_unchecked", "validation_report", "params:schema", "params:validation"],
                outputs="model_input",
                name="check_segmentable",
            ),
            Node(
                summarise_data_quality,
                inputs=[
                    "validation_report",
                    "customers_validated",
                    "imputed_counts",
                    "params:schema",
                ],
                outputs="data_quality",
                name="summarise_data_quality",
            ),
        ],
        tags=["data_processing"],
    )
