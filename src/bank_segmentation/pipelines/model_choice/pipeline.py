"""Model-choice pipeline definition."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from .nodes import choose_segmentation, log_model_choice


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Sweep and search candidates (or a pin) -> one rule -> the model selection and the config to train."""
    return Pipeline(
        [
            Node(
                func=choose_segmentation,
                inputs=[
                    "sweep_results",
                    "tuning_trials",
                    "model_input",
                    "customer_features",
                    "params:model_choice",
                    "params:clustering",
                    "params:evaluation",
                    "params:schema",
                    "params:features",
                    "params:reporting.naming",
                    "params:reporting.profiles",
                ],
                outputs=["model_selection", "segmentation_config"],
                name="choose_segmentation",
            ),
            Node(func=log_model_choice, inputs="model_selection", outputs=None, name="log_model_choice"),
        ],
        tags=["model_choice"],  # kedro-viz lists every stage under Tags
    )
