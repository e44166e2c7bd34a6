"""``demo_data`` pipeline: generate the shipped synthetic demo portfolio and customers to score."""

from bank_segmentation.pipelines.demo_data.pipeline import create_pipeline

__all__ = ["create_pipeline"]
