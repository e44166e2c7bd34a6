"""Nodes of the reporting pipeline (each implemented in the module named after its topic)."""

from bank_segmentation.pipelines.reporting.exports import (
    build_campaign_list,
    build_segment_catalogue,
)
from bank_segmentation.pipelines.reporting.naming import name_segments
from bank_segmentation.pipelines.reporting.profiles import build_segment_profiles

__all__ = [
    "build_campaign_list",
    "build_segment_catalogue",
    "build_segment_profiles",
    "name_segments",
]
