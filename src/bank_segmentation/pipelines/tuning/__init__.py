"""Tuning pipeline: an Optuna search over features, transforms, scaling, PCA and k, scored honestly."""

from bank_segmentation.pipelines.tuning.pipeline import create_pipeline

__all__ = ["create_pipeline"]
