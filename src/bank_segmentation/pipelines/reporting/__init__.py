"""Segment intelligence and reporting: profiles, names, playbook, figures and the HTML report."""

from bank_segmentation.pipelines.reporting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
