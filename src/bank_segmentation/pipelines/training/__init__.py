"""Training pipeline: fit the chosen segmentation config on all customers, publish and apply it."""

from bank_segmentation.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
