"""A local Spark session for the Spark engine's tests; skipped where the `spark` extra is not installed,
except in CI (REQUIRE_SPARK=1), where a missing engine is a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

if os.environ.get("REQUIRE_SPARK") != "1":
    pytest.importorskip("pyspark", reason="the spark extra is not installed (uv sync --extra spark)")

from bank_segmentation.framework.spark_session import start_spark  # noqa: E402

TEST_SPARK = {
    "master": "local[2]",
    "app_name": "bank-segmentation-tests",
    # tiny tables: compiling generated code costs more than it saves, and one shuffle partition per core
    "conf": {
        "spark.sql.shuffle.partitions": 2,
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.adaptive.enabled": "false",
        "spark.ui.enabled": "false",
    },
}


@pytest.fixture(scope="session")
def spark() -> Iterator:
    session = start_spark(TEST_SPARK)
    yield session
    session.stop()
