"""Clustering pipeline definition."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from bank_segmentation.pipelines.clustering.nodes import log_sweep_runs, plot_sweep, sweep_segmentations


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Sweep variants x k (candidates of the model choice), log each as a nested MLflow run, plot."""
    return Pipeline(
        [
            Node(
                sweep_segmentations,
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
                log_sweep_runs,
                inputs=["sweep_results", "params:clustering", "params:evaluation"],
                outputs=None,
                name="log_sweep_runs",
            ),
            Node(
                plot_sweep,
                inputs=["sweep_results", "model_selection", "params:reporting.figures"],
                outputs=["sweep_elbow_plot", "sweep_silhouette_plot", "sweep_agreement_plot"],
                name="plot_sweep",
            ),
        ]
    )
