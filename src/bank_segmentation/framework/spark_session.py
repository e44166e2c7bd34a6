"""The Spark session of a Spark run, from ``conf/<env>/spark.yml`` (Kedro's documented hook pattern).

A run without a ``spark.yml`` (the default pandas engine) never imports pyspark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from bank_segmentation.framework.quiet import silence_third_party_warnings

logger = logging.getLogger(__name__)

QUIET = {"spark.ui.showConsoleProgress": "false"}  # the run's own progress lines are the story


def start_spark(settings: Mapping[str, Any]) -> Any:
    """Get or create the Spark session ``settings`` describe (master URL, app name, conf), quietly."""
    silence_third_party_warnings()  # pyspark 4.3 on pandas 3
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(str(settings.get("master", "local[*]")))
    builder = builder.appName(str(settings.get("app_name", "bank-customer-segmentation")))
    for key, value in {**QUIET, **dict(settings.get("conf") or {})}.items():
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(str(settings.get("log_level", "ERROR")))
    logger.info("Spark %s on %s", session.version, session.sparkContext.master)
    return session


class SparkHook:
    """Starts the Spark session when the run's configuration has a ``spark.yml``."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        try:
            settings = context.config_loader["spark"]
        except MissingConfigException:  # no spark.yml in this environment: the pandas engine
            return
        if settings:
            start_spark(settings)
