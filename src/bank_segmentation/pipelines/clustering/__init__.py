"""Clustering pipeline: sweep preprocessing variants x k and log the candidates of the model choice."""

from bank_segmentation.pipelines.clustering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
