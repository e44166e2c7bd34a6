"""Tuning pipeline definition."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from bank_segmentation.pipelines.tuning.nodes import plot_tuning, select_tuned_segmentation, tune_segmentation


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Run (or continue) the study, hand the best feasible trial to training, plot the study."""
    return Pipeline(
        [
            Node(
                tune_segmentation,
                inputs=[
                    "model_input",
                    "params:tuning",
                    "params:evaluation",
                    "params:schema",
                    "params:features",
                ],
                outputs=["tuning_trials", "tuning_run"],
                name="tune_segmentation",
            ),
            Node(
                select_tuned_segmentation,
                inputs=["tuning_trials", "tuning_run", "params:evaluation"],
                outputs=["best_segmentation_config", "tuning_summary"],
                name="select_tuned_segmentation",
            ),
            Node(
                plot_tuning,
                inputs=["tuning_trials", "tuning_run", "params:tuning"],
                outputs=[
                    "tuning_optimisation_history",
                    "tuning_param_importances",
                    "tuning_parallel_coordinates",
                ],
                name="plot_tuning",
            ),
        ]
    )
