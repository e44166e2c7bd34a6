"""Imputation on Spark: the statistics of ``core.imputation`` learned and applied by Spark.

The learned object is the same ``CustomerImputer`` the pandas path publishes, so either engine can score
with it. Medians are exact, as pandas computes them (``medians.exact_medians``), not approximate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bank_segmentation.core.errors import ConfigurationError
from bank_segmentation.core.imputation import CustomerImputer, count_imputed, domain_label
from bank_segmentation.spark.medians import exact_medians

SPARK_STRATEGIES = ("median", "domain")  # knn needs every row in one process: the pandas engine only


def fit_spark_imputer(frame: DataFrame, columns: Sequence[str], params: Mapping[str, Any]) -> CustomerImputer:
    """Learn the training medians (and keep the domain rules) from the validated customers on Spark."""
    strategy = params["strategy"]
    if strategy not in SPARK_STRATEGIES:
        raise ConfigurationError(
            f"parameters 'imputation.strategy': {strategy!r} is not available on Spark; use one of {SPARK_STRATEGIES}"
        )
    found = exact_medians(frame, list(columns)).iloc[0]
    medians = {c: float(found[c]) if pd.notna(found[c]) else 0.0 for c in columns}  # 0 for an empty column
    rules = [dict(rule) for rule in params.get("domain_rules", [])]
    return CustomerImputer(strategy=strategy, columns=list(columns), medians=medians, domain_rules=rules)


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
