"""Segment profiles on Spark: the statistics ``core.profiles`` assembles, aggregated by Spark over every customer.

Sizes, sums (volume shares), means and the portfolio's mean and spread are Spark aggregates; medians are exact
(the midpoint of the two middle values, as pandas computes them) by bracketing; the percentile of each segment
median in the portfolio is a count of the customers below it. The profiles table itself is assembled by the
core (``assemble_profiles``), as on the pandas path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import NumericType

from bank_segmentation.core.profiles import (
    MISSING_VALUE,
    PURCHASE_TYPE,
    SEGMENT,
    SegmentStatistics,
    assemble_profiles,
    check_every_assigned_profiled,
    midrank_percentile,
    purchase_type_columns,
)
from bank_segmentation.core.schema import PURCHASE_TYPES
from bank_segmentation.spark.engine import computed_once
from bank_segmentation.spark.medians import col, exact_medians


def profile_segments(
    customer_features: DataFrame,
    segment_assignments: DataFrame,
    id_column: str,
    params: Mapping[str, Any],
    described: Sequence[str],
) -> pd.DataFrame:
    """The profiles table of every assigned customer, as ``core.profiles.build_segment_profiles`` makes it."""
    frame = customer_features.join(segment_assignments.select(id_column, SEGMENT), on=id_column, how="inner")
    values = computed_once(profile_values(frame, id_column, params, list(described)))  # read by every aggregate
    try:
        stats = segment_statistics(values, list(described))
        check_every_assigned_profiled(int(stats.customers.sum()), segment_assignments.count())
    finally:
        values.unpersist()
    return assemble_profiles(stats, params)


def profile_values(frame: DataFrame, id_column: str, params: Mapping[str, Any], described: list[str]) -> DataFrame:
    """``core.profiles.profile_values`` and ``described_text`` as Spark columns, with each customer's segment."""
    excluded = {id_column, SEGMENT, *params.get("exclude", [])}
    numeric = [
        field.name
        for field in frame.schema.fields
        if isinstance(field.dataType, NumericType) and field.name not in excluded and not field.name.startswith("_")
    ]
    profiled = [col(c).cast("double").alias(c) for c in numeric]
    if PURCHASE_TYPE in frame.columns:  # one-hot shares, as the pandas portfolio frame encodes them
        kinds = zip(PURCHASE_TYPES, purchase_type_columns(), strict=True)
        profiled += [
            F.when(col(PURCHASE_TYPE) == kind, 1.0).otherwise(0.0).alias(column)
            for kind, column in kinds
            if column not in excluded
        ]
    texts = [F.coalesce(col(c).cast("string"), F.lit(MISSING_VALUE)).alias(c) for c in described]
    return frame.select(F.col(SEGMENT), *profiled, *texts)


def segment_statistics(values: DataFrame, described: list[str]) -> SegmentStatistics:
    """Sizes, means, sums, exact medians, portfolio mean and spread, median percentiles, value counts."""
    columns = [c for c in values.columns if c != SEGMENT and c not in described and not c.startswith("_")]
    # per segment and, in the same pass, for the whole portfolio (the rollup's total row)
    aggregates = [F.grouping(SEGMENT).alias("_total"), F.count(F.lit(1)).alias("_customers")]
    aggregates += [F.avg(col(c)).alias(f"mean{i}") for i, c in enumerate(columns)]
    aggregates += [F.sum(col(c)).alias(f"sum{i}") for i, c in enumerate(columns)]
    aggregates += [F.stddev_pop(col(c)).alias(f"std{i}") for i, c in enumerate(columns)]
    aggregates += [F.count(col(c)).alias(f"n{i}") for i, c in enumerate(columns)]
    rows = values.rollup(SEGMENT).agg(*aggregates).toPandas()
    portfolio = rows[rows["_total"] == 1].iloc[0]
    grouped = rows[rows["_total"] == 0].astype({SEGMENT: "int64"}).set_index(SEGMENT).sort_index()  # no total's null

    def matrix(prefix: str) -> pd.DataFrame:
        out = grouped[[f"{prefix}{i}" for i in range(len(columns))]].astype(float)
        out.columns = columns
        return out

    customers = grouped["_customers"].astype("int64")
    sizes = grouped[[f"n{i}" for i in range(len(columns))]]
    medians = exact_medians(values, columns, SEGMENT, sizes=sizes).reindex(customers.index)
    return SegmentStatistics(
        customers=customers,
        means=matrix("mean"),
        medians=medians,
        sums=matrix("sum"),
        portfolio_mean=pd.Series([portfolio[f"mean{i}"] for i in range(len(columns))], index=columns, dtype=float),
        portfolio_std=pd.Series([portfolio[f"std{i}"] for i in range(len(columns))], index=columns, dtype=float),
        pct=_median_percentiles(values, medians, int(customers.sum())),
        value_counts={column: _value_counts(values, column) for column in described},
    )


def _median_percentiles(values: DataFrame, medians: pd.DataFrame, total: int) -> pd.DataFrame:
    """Where each segment median sits in the portfolio: customers below it and up to it, counted in one pass."""
    cells = [(segment, column) for segment in medians.index for column in medians.columns]
    counts = []
    for n, (segment, column) in enumerate(cells):
        median = float(medians.at[segment, column])
        counts += [
            F.sum((col(column) < F.lit(median)).cast("long")).alias(f"below{n}"),
            F.sum((col(column) <= F.lit(median)).cast("long")).alias(f"upto{n}"),
        ]
    row = values.agg(*counts).first()
    pct = pd.DataFrame(index=medians.index, columns=medians.columns, dtype=float)
    for n, (segment, column) in enumerate(cells):
        below, upto = int(row[f"below{n}"] or 0), int(row[f"upto{n}"] or 0)
        pct.at[segment, column] = midrank_percentile(below, upto, total)
    return pct


def _value_counts(values: DataFrame, column: str) -> pd.DataFrame:
    counts = values.groupBy(SEGMENT, col(column).alias("_value")).count().toPandas()
    table = counts.pivot_table(index=SEGMENT, columns="_value", values="count", fill_value=0, aggfunc="sum")
    table.columns.name = None
    return table.sort_index(axis=0).sort_index(axis=1)
