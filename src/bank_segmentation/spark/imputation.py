"""Imputation on Spark: the statistics of ``core.imputation`` learned and applied by Spark.

The learned object is the same ``CustomerImputer`` the pandas path publishes, so either engine can score
with it. Medians are exact, as pandas computes them (``exact_medians``), not approximate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bank_segmentation.core.errors import ConfigurationError
from bank_segmentation.core.imputation import CustomerImputer, count_imputed, domain_label

SPARK_STRATEGIES = ("median", "domain")  # knn needs every row in one process: the pandas engine only


def fit_spark_imputer(frame: DataFrame, columns: Sequence[str], params: Mapping[str, Any]) -> CustomerImputer:
    """Learn the training medians (and keep the domain rules) from the validated customers on Spark."""
    strategy = params["strategy"]
    if strategy not in SPARK_STRATEGIES:
        raise ConfigurationError(
            f"parameters 'imputation.strategy': {strategy!r} is not available on Spark; use one of {SPARK_STRATEGIES}"
        )
    medians = exact_medians(frame, list(columns))
    rules = [dict(rule) for rule in params.get("domain_rules", [])]
    return CustomerImputer(strategy=strategy, columns=list(columns), medians=medians, domain_rules=rules)


def exact_medians(frame: DataFrame, columns: list[str], band: float = 0.01) -> dict[str, float]:
    """Each column's exact median (pandas' midpoint of the two middle values; 0 for an empty column).

    Spark's exact ``percentile`` keeps every value of a column in one buffer (10M customers ran a 4 GB
    driver out of memory), so: approximate quantiles bracket the median, the values inside the bracket (about
    ``2 * band`` of the column) come to the driver, and the two middle order statistics are read off them.
    A bracket that misses them is widened until it holds them.
    """
    counts = frame.agg(*(F.count(F.col(c)).alias(c) for c in columns)).collect()[0]
    medians = {}
    for column in columns:
        n = int(counts[column])
        medians[column] = _median_of(frame, column, n, band) if n else 0.0
    return medians


def _median_of(frame: DataFrame, column: str, n: int, band: float) -> float:
    value = F.col(column)
    wanted = ((n - 1) // 2, n // 2)  # the 0-based order statistics whose midpoint is the median
    while True:
        low, high = frame.agg(
            F.percentile_approx(value, [max(0.5 - band, 0.0), min(0.5 + band, 1.0)], 100_000)
        ).first()[0]
        below = frame.filter(value < low).count()
        inside = sorted(row[0] for row in frame.filter(value.between(low, high)).select(column).collect())
        if below <= wanted[0] and below + len(inside) > wanted[1]:
            return (inside[wanted[0] - below] + inside[wanted[1] - below]) / 2
        if band >= 0.5:
            raise RuntimeError(f"could not bracket the median of {column}")  # every value was inside: unreachable
        band = min(band * 4, 0.5)


def impute_spark(frame: DataFrame, imputer: CustomerImputer) -> tuple[DataFrame, dict[str, dict[str, Any]]]:
    """Fill missing values as ``CustomerImputer.transform`` does; the filled frame and per-column counts."""
    steps: list[tuple[str, str]] = []  # (column, strategy label) of each filling step, marked _hit_<n>
    filled = frame
    if imputer.strategy == "domain":
        for rule in imputer.domain_rules:
            column = rule["column"]
            hit = F.col(column).isNull() & (F.col(rule["when_zero"]) == 0)
            steps.append((column, domain_label(rule)))
            filled = filled.withColumn(f"_hit_{len(steps)}", hit)
            filled = filled.withColumn(column, F.when(hit, F.lit(float(rule["value"]))).otherwise(F.col(column)))
    for column in imputer.columns:
        steps.append((column, "median"))
        filled = filled.withColumn(f"_hit_{len(steps)}", F.col(column).isNull())
        filled = filled.withColumn(column, F.coalesce(F.col(column), F.lit(imputer.medians[column])))
    marks = [f"_hit_{i + 1}" for i in range(len(steps))]
    totals = filled.agg(*(F.sum(F.col(mark).cast("long")).alias(mark) for mark in marks)).collect()[0]
    counts: dict[str, dict[str, Any]] = {}
    for (column, label), mark in zip(steps, marks):
        count_imputed(counts, column, label, int(totals[mark] or 0))
    return filled.drop(*marks), counts
