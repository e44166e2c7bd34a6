"""Clustering pipeline definition."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from .nodes import log_sweep_runs, sweep_segmentations


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Sweep variants x k (candidates of the model choice) and log each as a nested MLflow run; the reporting
    pipeline draws the sweep's curves."""
    return Pipeline(
        [
            Node(
                func=sweep_segmentations,
                inputs=[
                    "model_input",
                    "customer_features",
                    "params:clustering",
                    "params:evaluation",
                    "params:model_choice",
                    "params:schema",
                    "params:features",
                    "params:reporting.naming",
                    "params:reporting.profiles",
                ],
                outputs="sweep_results",
                name="sweep_segmentations",
            ),
            Node(
                func=log_sweep_runs,
                inputs=["sweep_results", "params:clustering", "params:evaluation"],
                outputs=None,
                name="log_sweep_runs",
            ),
        ],
        tags=["clustering"],  # kedro-viz lists every stage under Tags
    )
