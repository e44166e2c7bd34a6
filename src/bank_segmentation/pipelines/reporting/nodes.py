"""Nodes of the reporting pipeline (each implemented in the module named after its topic)."""

from bank_segmentation.naming import name_segments
from bank_segmentation.pipelines.reporting.exports import (
    build_campaign_list,
    build_segment_catalogue,
)
from bank_segmentation.pipelines.reporting.figures import (
    eda_figures,
    segment_figures,
    segment_map,
    selection_figures,
)
from bank_segmentation.pipelines.reporting.render import (
    render_plotly_figures,
    render_report_images,
)
from bank_segmentation.pipelines.reporting.report import render_report
from bank_segmentation.profiles import build_segment_profiles

__all__ = [
    "build_campaign_list",
    "build_segment_catalogue",
    "build_segment_profiles",
    "eda_figures",
    "name_segments",
    "render_plotly_figures",
    "render_report",
    "render_report_images",
    "segment_figures",
    "segment_map",
    "selection_figures",
]
