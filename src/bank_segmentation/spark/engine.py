"""The data-processing steps on Spark, called by the same nodes as the pandas path when their input is Spark's.

Rules, statistics and KPIs are the core's: the contract and imputation as Spark expressions
(``contract.py``, ``imputation.py``), the KPIs and the model input by the core's own functions applied batch by
batch inside Spark (``mapInPandas``: vectorised per Arrow batch, never per row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from threadpoolctl import threadpool_limits

from bank_segmentation.core.assignment import assign_segments
from bank_segmentation.core.imputation import CustomerImputer
from bank_segmentation.core.settings import Schema
from bank_segmentation.spark.contract import POSITION, validate_spark_table
from bank_segmentation.spark.datasets import SparkTable, active_spark
from bank_segmentation.spark.imputation import fit_spark_imputer, impute_spark

SCHEMA_SAMPLE_ROWS = 64  # rows a batch function is tried on to learn its output's Spark schema
FIRST_CUSTOMERS_PER_PROFILE = 10  # customers read per distinct profile needed before deduplicating them all


def validate(table: SparkTable, schema: Schema, validation: Mapping[str, Any]) -> tuple[DataFrame, pd.DataFrame, dict]:
    """Kept customers (Spark), quarantined rows (few, to the driver for the spreadsheet-safe file), report."""
    outcome = validate_spark_table(table.frame, schema, validation, table.source, table.delimiter)
    return outcome.kept, outcome.rejected.orderBy("line").toPandas(), outcome.report


def learn_imputer(frame: DataFrame, schema: Schema, imputation: Mapping[str, Any]) -> CustomerImputer:
    """The imputation statistics, learned by Spark."""
    return fit_spark_imputer(frame, schema.feature_columns, imputation)


def impute(frame: DataFrame, imputer: CustomerImputer) -> tuple[DataFrame, dict[str, dict[str, Any]]]:
    """Missing values filled by Spark with the learned statistics."""
    return impute_spark(frame, imputer)


def map_batches(frame: DataFrame, transform: Callable[..., pd.DataFrame], *args: Any) -> DataFrame:
    """``transform(batch, *args)`` applied by Spark to every Arrow batch of ``frame``; a row-by-row ``transform``
    keeps each row's file position (the order the sample and the outputs follow)."""

    def positioned(batch: pd.DataFrame) -> pd.DataFrame:
        out = transform(batch, *args)
        if POSITION in batch.columns and POSITION not in out.columns and len(out) == len(batch):
            out[POSITION] = batch[POSITION].to_numpy()
        return out

    sample = frame.limit(SCHEMA_SAMPLE_ROWS).toPandas()
    schema = active_spark().createDataFrame(positioned(sample)).schema

    def batches(frames):
        # Spark runs one Python worker per core: a worker's numpy/BLAS keeps to one thread (no oversubscription)
        with threadpool_limits(1):
            for batch in frames:
                yield positioned(batch)

    return frame.mapInPandas(batches, schema)


def assign(model: Any, model_input: DataFrame, schema: Schema) -> DataFrame:
    """Every customer's segment, distance to its centre and second-closest segment, batch by batch."""
    return map_batches(model_input, _assign_batch, model, schema)


def _assign_batch(model_input: pd.DataFrame, model: Any, schema: Schema) -> pd.DataFrame:
    return assign_segments(model, model_input, schema)


def materialized(frame: DataFrame) -> DataFrame:
    """``frame`` computed now, whole, and kept on local disk: the steps after it read it, and a step that reads
    only its first rows never stops its Python workers midway (each stopped worker prints a broken pipe)."""
    kept = computed_once(frame)
    kept.count()
    return kept


def computed_once(frame: DataFrame) -> DataFrame:
    """``frame`` kept on local disk once computed: the steps after it read it rather than compute it again."""
    return frame.persist(StorageLevel.DISK_ONLY)


def distinct_profiles(model_input: DataFrame, schema: Schema, enough: int) -> int:
    """Distinct customer profiles (every column but the id): exact below ``enough``; at least ``enough`` once the
    first customers hold that many (the usual case, decided without deduplicating every customer)."""
    profile = [c for c in model_input.columns if c not in (schema.id_column, POSITION)]
    first = model_input.select(*profile).limit(enough * FIRST_CUSTOMERS_PER_PROFILE).toPandas()
    found = len(first.drop_duplicates())
    return found if found >= enough else model_input.select(*profile).distinct().count()


def missing_counts(frame: DataFrame, columns: list[str]) -> dict[str, int]:
    """Missing values per column, counted by Spark."""
    row = frame.agg(*(F.sum(F.col(c).isNull().cast("long")).alias(c) for c in columns)).collect()[0]
    return {c: int(row[c] or 0) for c in columns}
