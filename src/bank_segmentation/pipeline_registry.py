"""Project pipelines: every pipeline folder, composed here (pipelines never import each other)."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline, pipeline

from bank_segmentation.pipelines.data_processing.pipeline import create_cleaning_pipeline

# Pipelines that only run on demand (``kedro run --pipelines <name>``).
ON_DEMAND_PIPELINES = ("demo_data", "scoring")

# New customers go through the training table's cleaning, with the published imputation statistics.
SCORING_CLEANING_INPUTS = {"customers_raw": "customers_to_score_raw", "customer_imputer": "customer_imputer"}
SCORING_CLEANING_OUTPUTS = {
    "customers_validated": "customers_to_score_validated",
    "quarantined_customers": "quarantined_customers_to_score",
    "rejected_customers": "rejected_customers_to_score",
    "validation_report": "scoring_validation_report",
    "customers_clean": "customers_to_score_clean",
    "imputed_counts": "scoring_imputed_counts",
    "customer_features": "customers_to_score_features",
    "model_input_unchecked": "scoring_model_input",
}
SHARED_PARAMETERS = {name: name for name in ("params:schema", "params:validation", "params:features")}


def scoring_cleaning() -> Pipeline:
    """Data processing's cleaning, namespaced ``scoring`` and wired to the customers to score."""
    return pipeline(
        create_cleaning_pipeline(),
        inputs=SCORING_CLEANING_INPUTS,
        outputs=SCORING_CLEANING_OUTPUTS,
        parameters=SHARED_PARAMETERS,
        namespace="scoring",
    )


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline folder; scoring gets its cleaning; the default run excludes the on-demand ones."""
    pipelines = find_pipelines(raise_errors=True)
    if "scoring" in pipelines:  # Kedro loads only the pipelines a run asks for
        pipelines["scoring"] = Pipeline([scoring_cleaning(), pipelines["scoring"]], tags=["scoring"])
    pipelines["__default__"] = sum(
        (pipe for name, pipe in pipelines.items() if name not in ON_DEMAND_PIPELINES),
        Pipeline([]),
    )
    return pipelines
