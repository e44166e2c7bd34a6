"""Kedro datasets of the Spark engine: the customer export read by Spark, and Parquet folders written by it.

``kedro_datasets.spark.SparkDataset`` (kedro-datasets 9) imports ``hdfs`` and ``s3fs`` even for local files,
which would pull the boto stack into the ``spark`` extra; these two datasets need pyspark only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bank_segmentation.core.errors import DataContractError
from bank_segmentation.core.validation import sniff_delimiter
from bank_segmentation.spark.contract import POSITION

logger = logging.getLogger(__name__)

HASH_BUCKETS = 1_000_000  # resolution of the sample's share


@dataclass(frozen=True)
class SparkTable:
    """A customer export as Spark reads it (every cell as text), with its file and delimiter for messages."""

    frame: DataFrame
    source: str
    delimiter: str


def active_spark() -> SparkSession:
    """The session the run started (framework/spark_session.py), or a local one."""
    return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()


class SparkCustomerTableDataset(AbstractDataset[SparkTable, None]):
    """A customer CSV export (a file, or a folder of CSV parts) read by Spark as text; or a Parquet folder."""

    def __init__(
        self, filepath: str, fallback_filepath: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._fallback = PurePosixPath(fallback_filepath) if fallback_filepath else None
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "fallback_filepath": str(self._fallback)}

    def _load(self) -> SparkTable:
        path = Path(self._filepath)
        if not path.exists() and self._fallback is not None:
            logger.info("%s not found: using the shipped demo %s", path, self._fallback)
            path = Path(self._fallback)
        if not path.exists():
            raise DataContractError("the file does not exist", source=str(path), rule="file_exists")
        spark = active_spark()
        if path.suffix == ".parquet" or any(path.glob("*.parquet")):
            frame = spark.read.parquet(str(path))
            return SparkTable(frame.select(*(F.col(c).cast("string") for c in frame.columns)), str(path), ",")
        first = next(iter(sorted(path.glob("*.csv")))) if path.is_dir() else path
        delimiter = sniff_delimiter(_header_line(first))  # as the pandas engine reads it
        options = {"header": True, "inferSchema": False, "sep": delimiter, "ignoreLeadingWhiteSpace": True}
        return SparkTable(spark.read.options(**options).csv(str(path)), str(path), delimiter)

    def _save(self, data: SparkTable) -> None:
        raise NotImplementedError("the customer export is read, never written, by the Spark engine")

    def _exists(self) -> bool:
        return Path(self._filepath).exists() or (self._fallback is not None and Path(self._fallback).exists())


def _header_line(path: Path) -> str:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        return handle.readline().rstrip("\r\n")


class SparkParquetDataset(AbstractDataset[DataFrame | pd.DataFrame, DataFrame]):
    """A folder written by Spark, Parquet (optionally partitioned by columns) or CSV parts with a header.

    A pandas frame saved to it (a node that ran on the driver, e.g. scoring) is written by Spark all the same."""

    def __init__(
        self,
        filepath: str,
        partition_by: list[str] | None = None,
        file_format: str = "parquet",
        drop_columns: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._partition_by = partition_by or []
        self._format = file_format
        self._drop = drop_columns or []
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "partition_by": self._partition_by, "file_format": self._format}

    def _save(self, data: DataFrame | pd.DataFrame) -> None:
        if isinstance(data, pd.DataFrame):
            data = active_spark().createDataFrame(data)
        writer = data.drop(*self._drop).write.mode("overwrite")
        if self._partition_by:
            writer = writer.partitionBy(*self._partition_by)
        writer = writer.format(self._format).options(**({"header": True} if self._format == "csv" else {}))
        writer.save(str(self._filepath))

    def _load(self) -> DataFrame:
        reader = active_spark().read.format(self._format)
        if self._format == "csv":
            reader = reader.options(header=True, inferSchema=True)
        return reader.load(str(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath).exists()


def sample_to_pandas(frame: DataFrame, max_rows: int, seed: int, id_column: str) -> pd.DataFrame:
    """At most about ``max_rows`` rows on the driver, chosen by a seeded hash of the id, in file order."""
    total = frame.count()
    if total > max_rows:
        bucket = F.pmod(F.xxhash64(F.col(id_column).cast("string"), F.lit(seed)), F.lit(HASH_BUCKETS))
        frame = frame.filter(bucket < F.lit(int(HASH_BUCKETS * max_rows / total)))
    if POSITION in frame.columns:
        frame = frame.orderBy(POSITION).drop(POSITION)
    sample = frame.toPandas()
    logger.debug("a sample of %d of %d rows (seed %d)", len(sample), total, seed)
    return sample
