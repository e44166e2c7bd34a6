"""Nodes of the reporting pipeline (each implemented in the module named after its topic)."""

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from bank_segmentation.core import naming
from bank_segmentation.core.package import build_package
from bank_segmentation.core.profiles import build_segment_profiles
from bank_segmentation.core.settings import Schema
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

logger = logging.getLogger(__name__)


def profile_segments(
    customer_features: pd.DataFrame, segment_assignments: pd.DataFrame, schema: Schema, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Profile every segment: its numbers, and the share of each value of its categorical and label columns."""
    return build_segment_profiles(
        customer_features, segment_assignments, schema.id_column, params, described=schema.described_columns
    )


def name_segments(profiles: pd.DataFrame, params: Mapping[str, Any], labels: Mapping[str, str]) -> pd.DataFrame:
    """Name every segment from its profile (archetype, partial match or description) and log the names."""
    names = naming.name_segments(profiles, params, labels)
    for row in names.itertuples():
        flags = [
            f for f, on in (("partial match", row.match == naming.PARTIAL), ("micro-segment", row.micro_segment)) if on
        ]
        logger.info("Segment %s -> %s%s", row.segment, row.name, f" ({', '.join(flags)})" if flags else "")
    return names


def package_segmentation(
    segmentation_model: Any,
    segment_names: pd.DataFrame,
    segment_catalogue: Mapping[str, Any],
    segment_assignments: pd.DataFrame,
) -> dict[str, Any]:
    """The model bound to this run's names, actions and training distances: what scoring loads."""
    return build_package(segmentation_model, segment_names, segment_catalogue, segment_assignments)


__all__ = [
    "build_campaign_list",
    "build_segment_catalogue",
    "profile_segments",
    "eda_figures",
    "name_segments",
    "package_segmentation",
    "render_plotly_figures",
    "render_report",
    "render_report_images",
    "segment_figures",
    "segment_map",
    "selection_figures",
]
