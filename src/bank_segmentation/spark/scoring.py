"""Scoring on Spark: every new customer exported batch by batch with the pandas path's own function, and the
counts behind the drift and migration reports made by Spark; the reports are assembled by ``core``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bank_segmentation.core.drift import CUSTOMERS, OUTSIDE, psi_from_counts, quantile_levels
from bank_segmentation.core.migration import LEFT, NEW, REJECTED, migration_report, segment_archetypes
from bank_segmentation.core.settings import Schema
from bank_segmentation.spark.contract import POSITION
from bank_segmentation.spark.datasets import active_spark
from bank_segmentation.spark.engine import map_batches
from bank_segmentation.spark.medians import col

EDGE_ACCURACY = 10_000  # percentile_approx accuracy of the PSI bin edges: rank error at most 1/10,000
PREVIOUS_NAME = "_previous_segment_name"  # a scored customer's segment name last time, joined for the export
SEGMENT_NAME, ARCHETYPE, SOURCE = "segment_name", "archetype", "source"


def psi_by_feature(training: DataFrame, scoring: DataFrame, id_column: str, bins: int, eps: float) -> dict[str, float]:
    """PSI of every model-input feature: the training population's quantile bins (approximate edges, one pass),
    customers counted per bin over every training and every scored customer."""
    columns = [c for c in training.columns if c not in (id_column, POSITION)]
    quantiles = quantile_levels(bins)
    row = training.agg(
        *(F.percentile_approx(col(c), quantiles, EDGE_ACCURACY).alias(f"q{i}") for i, c in enumerate(columns))
    ).first()
    edges = {c: np.unique(np.asarray(row[f"q{i}"], dtype=float)) for i, c in enumerate(columns)}
    expected, actual = _bin_counts(training, edges), _bin_counts(scoring, edges)
    return {c: psi_from_counts(expected[c], actual[c], eps) for c in columns}


def _bin_counts(frame: DataFrame, edges: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values per bin of every column (bin ``i``: ``i`` edges at or below the value, as ``core.drift``)."""
    aggregates = []
    for i, (column, inner) in enumerate(edges.items()):
        index = sum((col(column) >= F.lit(float(edge))).cast("int") for edge in inner) if len(inner) else F.lit(0)
        aggregates += [F.sum((index == b).cast("long")).alias(f"c{i}_{b}") for b in range(len(inner) + 1)]
    row = frame.agg(*aggregates).first()
    return {
        column: np.array([int(row[f"c{i}_{b}"] or 0) for b in range(len(inner) + 1)])
        for i, (column, inner) in enumerate(edges.items())
    }


def segment_counts(scored: DataFrame) -> pd.DataFrame:
    """Scored customers per segment, and how many of them lie outside training (as ``core.drift``)."""
    counts = scored.groupBy("segment").agg(
        F.count(F.lit(1)).alias(CUSTOMERS), F.sum(F.col(OUTSIDE).cast("long")).alias(OUTSIDE)
    )
    return counts.toPandas().astype({"segment": "int64", CUSTOMERS: "int64", OUTSIDE: "int64"}).set_index("segment")


def export_batches(
    scored: DataFrame,
    features: DataFrame,
    previous: DataFrame,
    export: Callable[..., pd.DataFrame],
    package: Mapping[str, Any],
    schema: Schema,
) -> DataFrame:
    """``export(scored, package, features, previous, schema)`` applied to every batch of scored customers joined
    with their features and their segment name last time."""
    id_column = schema.id_column
    scored_columns = [c for c in scored.columns if c != POSITION]
    feature_columns = [c for c in features.columns if c != POSITION]
    last_time = previous.select(col(id_column), F.col(SEGMENT_NAME).alias(PREVIOUS_NAME))
    joined = scored.join(features.select(*feature_columns), on=id_column, how="left").join(
        last_time, on=id_column, how="left"
    )
    return map_batches(joined, _export_batch, export, scored_columns, feature_columns, package, schema)


def _export_batch(
    batch: pd.DataFrame,
    export: Callable[..., pd.DataFrame],
    scored_columns: list[str],
    feature_columns: list[str],
    package: Mapping[str, Any],
    schema: Schema,
) -> pd.DataFrame:
    previous = batch[[schema.id_column, PREVIOUS_NAME]].dropna(subset=[PREVIOUS_NAME])
    previous = previous.rename(columns={PREVIOUS_NAME: SEGMENT_NAME})
    return export(batch[scored_columns], package, batch[feature_columns], previous, schema)


def measure_migration(
    previous: DataFrame,
    current: DataFrame,
    rejected_ids: Sequence[str],
    params: Mapping[str, Any],
    id_column: str,
) -> dict[str, Any]:
    """``core.migration.measure_migration`` with the customers paired and counted by Spark."""
    before = previous.select(col(id_column).alias("_id"), F.col(SEGMENT_NAME).alias("_from"))
    now = current.select(col(id_column).alias("_id"), F.col(SEGMENT_NAME).alias("_to"))
    rejected = pd.DataFrame({"_id": sorted({str(customer) for customer in rejected_ids})}).assign(_rejected=True)
    rejected = active_spark().createDataFrame(rejected, schema="_id string, _rejected boolean")
    pairs = before.join(now, on="_id", how="full_outer").join(F.broadcast(rejected), on="_id", how="left")
    pairs = pairs.select(
        F.coalesce(F.col("_from"), F.lit(NEW)).alias("from"),
        F.when(F.col("_to").isNotNull(), F.col("_to")).when(F.col("_rejected"), REJECTED).otherwise(LEFT).alias("to"),
    )
    counts = pairs.groupBy("from", "to").agg(F.count(F.lit(1)).alias(CUSTOMERS)).toPandas()
    return migration_report(counts, _archetypes(previous, current), _source(previous), params)


def _archetypes(*frames: DataFrame) -> dict[str, str]:
    """Segment name -> archetype, from the memberships' distinct pairs."""
    return segment_archetypes(*(f.select(SEGMENT_NAME, ARCHETYPE).distinct().toPandas() for f in frames))


def _source(previous: DataFrame) -> str | None:
    """Where most customers of last time were segmented (ties: the first name, as pandas' mode)."""
    if SOURCE not in previous.columns:
        return None
    top = previous.groupBy(SOURCE).count().orderBy(F.desc("count"), F.asc(SOURCE)).first()
    return None if top is None or top[SOURCE] is None else str(top[SOURCE])
