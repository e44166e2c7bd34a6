"""The reporting pipeline: profiles -> names -> playbook -> outputs, figures and the HTML report."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from bank_segmentation.pipelines.reporting import nodes

TAGS = ["reporting"]


def create_pipeline(**kwargs) -> Pipeline:
    """Build the reporting pipeline."""
    return pipeline(
        [
            node(
                nodes.build_segment_profiles,
                inputs=[
                    "customer_features",
                    "segment_assignments",
                    "params:schema.id_column",
                    "params:reporting.profiles",
                ],
                outputs="segment_profiles",
                name="build_segment_profiles",
            ),
            node(
                nodes.name_segments,
                inputs=[
                    "segment_profiles",
                    "params:reporting.naming",
                    "params:reporting.feature_labels",
                ],
                outputs="segment_names",
                name="name_segments",
            ),
            node(
                nodes.build_segment_catalogue,
                inputs=[
                    "segment_profiles",
                    "segment_names",
                    "params:reporting.playbook",
                    "params:reporting.feature_labels",
                    "params:reporting.naming",
                    "params:schema",
                    "params:features",
                    "params:reporting.catalogue",
                ],
                outputs="segment_catalogue",
                name="build_segment_catalogue",
            ),
            node(
                nodes.build_campaign_list,
                inputs=[
                    "segment_assignments",
                    "segment_catalogue",
                    "params:schema.id_column",
                    "params:reporting.campaign",
                ],
                outputs="campaign_list",
                name="build_campaign_list",
            ),
        ],
        tags=TAGS,
    )
