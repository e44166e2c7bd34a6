"""The reporting pipeline: profiles -> names -> playbook -> outputs, figures and the HTML report."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from bank_segmentation.spark import FULL_SCALE

from .figures import (
    EDA_FIGURES,
    SEGMENT_FIGURES,
    SELECTION_FIGURES,
)
from .nodes import (
    build_campaign_list,
    build_segment_catalogue,
    eda_figures,
    explain_segments,
    log_served_model,
    name_segments,
    package_segmentation,
    profile_segments,
    record_training_memberships,
    render_plotly_figures,
    render_report,
    render_report_images,
    segment_figures,
    segment_map,
    selection_figures,
)

TAGS = ["reporting"]
FIGURE_GROUPS = ["eda_figure_specs", "selection_figure_specs", "segment_figure_specs"]
ALL_FIGURES = (*EDA_FIGURES, *SELECTION_FIGURES, *SEGMENT_FIGURES)


def create_pipeline(**kwargs) -> Pipeline:
    """Build the reporting pipeline."""
    return Pipeline(
        [
            Node(
                func=profile_segments,
                inputs=["customer_features", "segment_assignments", "params:schema", "params:reporting.profiles"],
                outputs="segment_profiles",
                name="build_segment_profiles",
                tags=[FULL_SCALE],
            ),
            Node(
                func=explain_segments,
                inputs=[
                    "customer_features",
                    "segment_assignments",
                    "params:schema",
                    "params:features",
                    "params:reporting.feature_labels",
                    "params:reporting.rules",
                ],
                outputs="segment_rules",
                name="explain_segments",
            ),
            Node(
                func=name_segments,
                inputs=[
                    "segment_profiles",
                    "params:reporting.naming",
                    "params:reporting.feature_labels",
                ],
                outputs="segment_names",
                name="name_segments",
            ),
            Node(
                func=build_segment_catalogue,
                inputs=[
                    "customer_features",
                    "segment_profiles",
                    "segment_names",
                    "params:reporting.playbook",
                    "params:reporting.feature_labels",
                    "params:reporting.naming",
                    "params:schema",
                    "params:features",
                    "params:reporting.catalogue",
                    "segment_rules",
                ],
                outputs="segment_catalogue",
                name="build_segment_catalogue",
            ),
            Node(
                func=package_segmentation,
                inputs=[
                    "segmentation_model",
                    "segment_names",
                    "segment_catalogue",
                    "segment_assignments",
                    "segment_rules",
                ],
                outputs="segmentation_package",
                name="package_segmentation",
            ),
            Node(
                func=log_served_model,
                inputs=[
                    "segmentation_package",
                    "customer_imputer",
                    "params:schema",
                    "params:features",
                    "params:validation",
                    "params:training",
                ],
                outputs="segmentation_model_mlflow",
                name="log_served_model",
            ),
            Node(
                func=record_training_memberships,
                inputs=["segment_assignments", "segmentation_package", "params:schema"],
                outputs="segment_memberships",
                name="record_training_memberships",
                tags=[FULL_SCALE],
            ),
            Node(
                func=build_campaign_list,
                inputs=[
                    "segment_assignments",
                    "segment_catalogue",
                    "customer_features",
                    "params:schema",
                    "params:reporting.campaign",
                ],
                outputs="campaign_list",
                name="build_campaign_list",
                tags=[FULL_SCALE],
            ),
            Node(
                func=eda_figures,
                inputs=[
                    "customer_features",
                    "data_quality",
                    "params:schema",
                    "params:reporting.feature_labels",
                    "params:reporting.figures",
                ],
                outputs="eda_figure_specs",
                name="describe_eda_figures",
            ),
            Node(
                func=selection_figures,
                inputs=["sweep_results", "model_selection"],
                outputs="selection_figure_specs",
                name="describe_selection_figures",
            ),
            Node(
                func=segment_map,
                inputs=[
                    "model_input",
                    "segment_assignments",
                    "segment_names",
                    "params:schema",
                    "params:features",
                    "params:evaluation",
                    "params:reporting.figures",
                ],
                outputs="segment_map",
                name="map_segments",
            ),
            Node(
                func=segment_figures,
                inputs=[
                    "segment_profiles",
                    "segment_names",
                    "segment_map",
                    "params:reporting.feature_labels",
                    "params:reporting.figures",
                ],
                outputs="segment_figure_specs",
                name="describe_segment_figures",
            ),
            Node(
                func=render_plotly_figures,
                inputs=FIGURE_GROUPS,
                outputs={name: f"{name}_figure" for name in ALL_FIGURES},
                name="render_plotly_figures",
            ),
            Node(
                func=render_report_images,
                inputs=["params:reporting.figures", *FIGURE_GROUPS],
                outputs="report_images",
                name="render_report_images",
            ),
            Node(
                func=render_report,
                inputs=[
                    "segment_catalogue",
                    "segmentation_config",
                    "model_selection",
                    "data_quality",
                    "report_images",
                    "params:reporting.report",
                    "tuning_summary",
                    "params:reporting.feature_labels",
                ],
                outputs="segmentation_report",
                name="render_report",
            ),
        ],
        tags=TAGS,
    )
