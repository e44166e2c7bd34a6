"""Tuning pipeline definition."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from .nodes import plot_tuning, summarise_search, tune_segmentation


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Run (or continue) the study, whose trials are candidates of the model choice; summarise and plot it."""
    return Pipeline(
        [
            Node(
                func=tune_segmentation,
                inputs=[
                    "model_input",
                    "customer_features",
                    "params:tuning",
                    "params:evaluation",
                    "params:model_choice",
                    "params:schema",
                    "params:features",
                    "params:reporting.naming",
                    "params:reporting.profiles",
                ],
                outputs=["tuning_trials", "tuning_run"],
                name="tune_segmentation",
            ),
            Node(
                func=summarise_search,
                inputs=["tuning_trials", "tuning_run"],
                outputs="tuning_summary",
                name="summarise_search",
            ),
            Node(
                func=plot_tuning,
                inputs=["tuning_run", "params:tuning"],
                outputs=[
                    "tuning_optimisation_history",
                    "tuning_param_importances",
                    "tuning_parallel_coordinates",
                ],
                name="plot_tuning",
            ),
        ],
        tags=["tuning"],  # kedro-viz lists every stage under Tags
    )
