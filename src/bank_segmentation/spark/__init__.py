"""The optional Spark engine (``uv sync --extra spark``): the data contract and imputation of ``core`` as Spark
column expressions, for tables that outgrow one process. It imports ``core`` only; nothing imports it
unless a Spark run asks for it."""

from typing import Any


def on_spark(data: Any) -> bool:
    """Whether a node's input is a Spark table or frame (the ``spark`` conf env) rather than pandas."""
    return type(data).__module__.startswith(("pyspark.", "bank_segmentation.spark."))
