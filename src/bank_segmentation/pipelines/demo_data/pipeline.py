"""The ``demo_data`` pipeline (on demand: ``kedro run --pipelines demo_data``)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from .nodes import (
    generate_customers_to_score,
    generate_demo_customers,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Write the synthetic demo portfolio and the customers to score to ``data/01_raw/demo``."""
    return Pipeline(
        [
            Node(
                func=generate_demo_customers,
                inputs="params:demo_data",
                outputs=["demo_customers", "customer_personas"],
                name="generate_demo_customers_node",
                tags=["demo_data"],
            ),
            Node(
                func=generate_customers_to_score,
                inputs=["demo_customers", "customer_personas", "params:demo_data"],
                outputs=["demo_customers_to_score", "customers_to_score_personas"],
                name="generate_customers_to_score_node",
                tags=["demo_data"],
            ),
        ]
    )
