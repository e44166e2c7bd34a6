"""Nodes of the reporting pipeline (each implemented in the module named after its topic)."""

import logging
import time
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

import pandas as pd

from bank_segmentation.core import naming, rules
from bank_segmentation.core.imputation import CustomerImputer
from bank_segmentation.core.migration import memberships
from bank_segmentation.core.package import build_package
from bank_segmentation.core.profiles import SEGMENT, build_segment_profiles, portfolio_frame
from bank_segmentation.core.settings import Features, Schema
from bank_segmentation.framework import served
from bank_segmentation.pipelines.reporting.exports import (
    build_campaign_list,
    build_segment_catalogue,
    profile_roles,
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
from bank_segmentation.spark import on_spark

logger = logging.getLogger(__name__)


def profile_segments(
    customer_features: pd.DataFrame, segment_assignments: pd.DataFrame, schema: Schema, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Profile every segment: its numbers, and the share of each value of its categorical and label columns."""
    if on_spark(customer_features):
        from bank_segmentation.spark.profiles import profile_segments as profile_on_spark

        return profile_on_spark(
            customer_features, segment_assignments, schema.id_column, params, schema.described_columns
        )
    return build_segment_profiles(
        customer_features, segment_assignments, schema.id_column, params, described=schema.described_columns
    )


def explain_segments(
    customer_features: pd.DataFrame,
    segment_assignments: pd.DataFrame,
    schema: Schema,
    features: Features,
    labels: Mapping[str, str],
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """Readable rules per segment from a surrogate tree on the customers' own columns, with its fidelity."""
    frame = customer_features.merge(segment_assignments[[schema.id_column, SEGMENT]], on=schema.id_column)
    values = portfolio_frame(frame.drop(columns=[SEGMENT]), schema.id_column)
    segments = frame[SEGMENT].to_numpy()
    surrogate = rules.fit_rules(values, segments, params)
    roles = profile_roles(schema, features)
    texts = {leaf: rules.rule_text(bounds, roles, labels) for leaf, bounds in surrogate.leaves.items()}
    summary = rules.segment_rules(surrogate, values, segments, int(params["per_segment"]))
    logger.info("Segment rules: fidelity %.3f with trees of depth %d", surrogate.fidelity, int(params["max_depth"]))
    return {"model": surrogate, "texts": texts, "segments": summary}


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
    segment_rules: Mapping[str, Any],
) -> dict[str, Any]:
    """The model bound to this run's names, actions, training distances and rules: what scoring loads."""
    package = build_package(segmentation_model, segment_names, segment_catalogue, segment_assignments)
    return {**package, "rules": {"model": segment_rules["model"], "texts": segment_rules["texts"]}}


def record_training_memberships(
    segment_assignments: pd.DataFrame, segmentation_package: Mapping[str, Any], schema: Schema
) -> pd.DataFrame:
    """The trained customers' segments, names and archetypes: what the next scoring run compares with."""
    if on_spark(segment_assignments):
        from bank_segmentation.spark import engine

        return engine.map_batches(segment_assignments, memberships, segmentation_package, schema, "training")
    return memberships(segment_assignments, segmentation_package, schema, source="training")


def log_served_model(
    segmentation_package: Mapping[str, Any],
    customer_imputer: CustomerImputer,
    schema: Schema,
    features: Features,
    validation: Mapping[str, Any],
    training: Mapping[str, Any],
) -> dict[str, Any]:
    """Log the served model (raw rows in, segments out) to MLflow; registered once the whole run is published."""
    settings = training["mlflow"]
    if not settings.get("log_model", True):
        return {}
    start = time.perf_counter()
    parts = (segmentation_package, customer_imputer, schema, features, validation)
    requirements = [f"{name}=={version(name)}" for name in settings["pip_requirements"]]
    tags = {"k": len(segmentation_package["segments"]), "input": "raw customer rows"}
    info = served.log_service(settings["artifact_name"], *parts, pip_requirements=requirements, tags=tags)
    if info:
        info["seconds"] = round(time.perf_counter() - start, 2)
        logger.info("logged the served MLflow model %s in %.1f s", info["model_uri"], info["seconds"])
    return info


__all__ = [
    "build_campaign_list",
    "build_segment_catalogue",
    "explain_segments",
    "profile_segments",
    "record_training_memberships",
    "eda_figures",
    "log_served_model",
    "name_segments",
    "package_segmentation",
    "render_plotly_figures",
    "render_report",
    "render_report_images",
    "segment_figures",
    "segment_map",
    "selection_figures",
]
