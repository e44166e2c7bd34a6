"""The Spark session of a Spark run, from ``conf/<env>/spark.yml`` (Kedro's documented hook pattern).

A run without a ``spark.yml`` (the default pandas engine) never imports pyspark.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from bank_segmentation.framework.quiet import silence_third_party_warnings

logger = logging.getLogger(__name__)

QUIET = {"spark.ui.showConsoleProgress": "false"}  # the run's own progress lines are the story
LOG4J2 = Path(__file__).with_name("spark_log4j2.properties")  # Spark's JVM logs errors only


def start_spark(settings: Mapping[str, Any]) -> Any:
    """Get or create the Spark session ``settings`` describe (master URL, app name, conf), quietly."""
    silence_third_party_warnings()  # pyspark 4.3 on pandas 3
    from pyspark.sql import SparkSession

    master = str(settings.get("master", "local[*]"))
    builder = SparkSession.builder.master(master).appName(str(settings.get("app_name", "bank-customer-segmentation")))
    if master.startswith("local"):
        # Local Python workers run this environment's interpreter, where the project is installed (pyspark
        # reads PYSPARK_PYTHON when the context starts); a cluster's workers need the project installed.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no "hostname resolves to a loopback" warning
    quiet = {**QUIET, "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{LOG4J2}"}
    for key, value in {**quiet, **dict(settings.get("conf") or {})}.items():
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
