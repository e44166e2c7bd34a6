"""Data processing: raw table -> validated -> cleaned -> features -> model input."""

from kedro.pipeline import Node, Pipeline

from bank_segmentation.spark import FULL_SCALE

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


def create_cleaning_pipeline() -> Pipeline:
    """Validation, the quarantine export, imputation with the given statistics, features and the model input:
    what training and new customers go through alike (scoring reuses it, namespaced, in the registry)."""
    return Pipeline(
        [
            Node(
                func=validate_customers,
                inputs=["customers_raw", "params:schema", "params:validation"],
                outputs=["customers_validated", "quarantined_customers", "validation_report"],
                name="validate_customers",
            ),
            Node(
                func=export_rejected_customers,
                inputs="quarantined_customers",
                outputs="rejected_customers",
                name="export_rejected_customers",
            ),
            Node(
                func=impute_customers,
                inputs=["customers_validated", "customer_imputer"],
                outputs=["customers_clean", "imputed_counts"],
                name="impute_customers",
            ),
            Node(
                func=engineer_features,
                inputs=["customers_clean", "params:features"],
                outputs="customer_features",
                name="engineer_features",
            ),
            Node(
                func=build_model_input,
                inputs=["customer_features", "params:schema", "params:features"],
                outputs="model_input_unchecked",
                name="build_model_input",
            ),
        ],
        tags=[FULL_SCALE],  # on Spark, every customer (training's and those scored)
    )


def create_pipeline(**kwargs) -> Pipeline:
    """The cleaning pipeline on the training table, with the imputation statistics learned from it."""
    training_only = Pipeline(
        [
            Node(
                func=learn_imputer,
                inputs=["customers_validated", "params:schema", "params:imputation"],
                outputs="customer_imputer",
                name="learn_imputer",
            ),
            Node(
                func=check_segmentable,
                inputs=["model_input_unchecked", "validation_report", "params:schema", "params:validation"],
                outputs="model_input",
                name="check_segmentable",
            ),
            Node(
                func=summarise_data_quality,
                inputs=["validation_report", "customers_validated", "imputed_counts", "params:schema"],
                outputs="data_quality",
                name="summarise_data_quality",
            ),
        ]
    )
    return Pipeline([create_cleaning_pipeline(), training_only], tags=["data_processing", FULL_SCALE])
