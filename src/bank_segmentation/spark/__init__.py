"""The optional Spark engine (``uv sync --extra spark``): the data contract and imputation of ``core`` as Spark
column expressions, for tables that outgrow one process. It imports ``core`` only; nothing imports it
unless a Spark run asks for it."""

from typing import Any

# Nodes tagged so work on every customer: on the Spark engine they receive Spark frames (and dispatch on
# ``on_spark``); every other node receives the seeded sample of customers the model is chosen on.
FULL_SCALE = "full_scale"


def on_spark(data: Any) -> bool:
    """Whether a node's input is a Spark table or frame (the ``spark`` conf env) rather than pandas."""
    return type(data).__module__.startswith(("pyspark.", "bank_segmentation.spark."))
