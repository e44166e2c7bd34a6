"""Clustering pipeline definition."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from bank_segmentation.pipelines.clustering.nodes import (
    log_sweep_runs,
    plot_sweep,
    select_segmentation,
    sweep_segmentations,
)


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Sweep variants x k, log each candidate as a nested MLflow run, select and plot."""
    return Pipeline(
        [
            Node(
                sweep_segmentations,
                inputs=[
                    "model_input",
                    "params:clustering",
                    "params:evaluation",
                    "params:schema",
                    "params:features",
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
                select_segmentation,
                inputs=["sweep_results", "params:clustering"],
                outputs="model_selection",
                name="select_segmentation",
            ),
            Node(
                plot_sweep,
                inputs=["sweep_results", "model_selection", "params:reporting.figures"],
                outputs=["sweep_elbow_plot", "sweep_silhouette_plot", "sweep_stability_plot"],
                name="plot_sweep",
            ),
        ]
    )
