"""The optional Spark engine (``uv sync --extra spark``): the data contract and imputation of ``core`` as Spark
column expressions, for tables that outgrow one process. It imports ``core`` only; nothing imports it
unless a Spark run asks for it."""
