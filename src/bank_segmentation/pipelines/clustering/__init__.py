"""Clustering pipeline: sweep preprocessing variants x k, log the candidates, select the model."""

from bank_segmentation.pipelines.clustering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
