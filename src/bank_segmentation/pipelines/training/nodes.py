"""Training of the final segmentation model: fit on all customers, MLflow model, assignments."""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from bank_segmentation.core.assignment import assign_segments
from bank_segmentation.core.evaluation import fit_kmeans, thread_limit
from bank_segmentation.core.preprocessing import build_preprocessor, feature_space
from bank_segmentation.core.settings import EvaluationSettings, Features, Schema
from bank_segmentation.spark import on_spark

logger = logging.getLogger(__name__)


def train_segmentation_model(
    model_input: pd.DataFrame,
    segmentation_config: dict[str, Any],
    schema: Schema,
    features: Features,
    evaluation: EvaluationSettings,
) -> Pipeline:
    """Fit the preprocessing pipeline and K-means on every customer of ``model_input``.

    Above ``evaluation.fit_max_rows`` customers, the K-means restarts run on a seeded sample and the best
    centres are refined on every customer (:func:`bank_segmentation.core.evaluation.fit_kmeans`).
    """
    roles, groups = feature_space(schema, features)
    random_state = segmentation_config["random_state"]
    preprocess = build_preprocessor(segmentation_config["spec"], roles, groups, random_state)
    start = time.perf_counter()
    with thread_limit(len(model_input), evaluation.single_thread_max_rows):
        X = preprocess.fit_transform(model_input)
        k, n_init = segmentation_config["k"], segmentation_config["n_init"]
        kmeans = fit_kmeans(X, k, n_init, random_state, evaluation.fit_max_rows)
    model = Pipeline([("preprocess", preprocess), ("segment", kmeans)])
    logger.info("segmentation model fitted on %d customers in %.2f s", len(model_input), time.perf_counter() - start)
    return model


def model_columns(model: Pipeline) -> list[str]:
    """The input columns a fitted segmentation model reads."""
    return list(model.named_steps["preprocess"].named_steps["select"].columns)


def assign_customers(segmentation_model: Pipeline, model_input: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Every customer's segment, distance to its centre and second-closest segment (on Spark, batch by batch)."""
    if on_spark(model_input):
        from bank_segmentation.spark import engine

        return engine.assign(segmentation_model, model_input, schema)
    return assign_segments(segmentation_model, model_input, schema)
