"""The Spark session of a Spark run, from ``conf/<env>/spark.yml`` (Kedro's documented hook pattern), and
the sample the model is chosen on.

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

from bank_segmentation.framework.quiet import PYSPARK_ON_PANDAS_3, silence_third_party_warnings

logger = logging.getLogger(__name__)

QUIET = {"spark.ui.showConsoleProgress": "false"}  # the run's own progress lines are the story
LOG4J2 = Path(__file__).with_name("spark_log4j2.properties")  # Spark's JVM logs errors only
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"  # spark.yml's options are added to the logging one


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
        # Spark's Python workers are other processes: the warning filter reaches them through the environment
        os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PYSPARK_ON_PANDAS_3}:FutureWarning")
    conf = {**QUIET, **dict(settings.get("conf") or {})}
    java_options = f"-Dlog4j2.configurationFile=file:{LOG4J2} {conf.get(DRIVER_JAVA_OPTIONS, '')}".strip()
    for key, value in {**conf, DRIVER_JAVA_OPTIONS: java_options}.items():
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(str(settings.get("log_level", "ERROR")))
    logger.info("Spark %s on %s", session.version, session.sparkContext.master)
    return session


class SparkHook:
    """Starts the Spark session when the run's configuration has a ``spark.yml``; hands every node not tagged
    ``full_scale`` the seeded sample of its Spark inputs (``spark.yml``: ``sample``), the same customers in each.
    """

    def __init__(self) -> None:
        self._sample: dict[str, Any] | None = None
        self._samples: dict[str, Any] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._sample, self._samples = None, {}
        try:
            settings = context.config_loader["spark"]
        except MissingConfigException:  # no spark.yml in this environment: the pandas engine
            return
        if settings:
            start_spark(settings)
            id_column = context.config_loader["parameters"]["schema"]["id_column"]
            self._sample = {**dict(settings.get("sample") or {}), "id_column": id_column}

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any], is_async: bool) -> dict[str, Any] | None:
        from bank_segmentation.spark import FULL_SCALE, on_spark

        if self._sample is None or FULL_SCALE in node.tags:
            return None
        sampled = {name: value for name, value in inputs.items() if on_spark(value)}
        if not sampled:
            return None
        from bank_segmentation.spark.datasets import sample_to_pandas

        for name, frame in sampled.items():
            if name not in self._samples:  # one sample per dataset and run: every node sees the same rows
                self._samples[name] = sample_to_pandas(frame, **self._sample)
                logger.info("%s: a seeded sample of %d customers for %s", name, len(self._samples[name]), node.name)
        return {name: self._samples[name] for name in sampled}
