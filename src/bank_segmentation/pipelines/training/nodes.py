"""Training of the final segmentation model: fit on all customers, MLflow model, assignments."""

from __future__ import annotations

import logging
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

import bank_segmentation
from bank_segmentation.core.evaluation import fit_kmeans, thread_limit
from bank_segmentation.core.preprocessing import TRUSTED_TYPES, build_preprocessor, feature_space
from bank_segmentation.core.settings import EvaluationSettings, Features, Schema
from bank_segmentation.framework import tracking

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


def log_segmentation_model(
    segmentation_model: Pipeline,
    model_input: pd.DataFrame,
    segmentation_config: dict[str, Any],
    training: dict[str, Any],
) -> dict[str, Any]:
    """Log the model to MLflow with its signature (schema only, no customer rows); it is registered when the
    whole run is published (bank_segmentation.framework.runs), never by a run that fails later."""
    settings = training["mlflow"]
    if not settings.get("log_model", True):
        return {}
    from mlflow.models import infer_signature

    columns = model_columns(segmentation_model)
    sample = model_input[columns].head(2)
    signature = infer_signature(sample, segmentation_model.predict(sample).astype(np.int64))
    start = time.perf_counter()
    info = tracking.log_sklearn_model(
        segmentation_model,
        settings["artifact_name"],
        registered_model_name=None,
        signature=signature,
        pip_requirements=[f"{name}=={version(name)}" for name in settings["pip_requirements"]],
        code_paths=[Path(bank_segmentation.__file__).parent],
        trusted_types=TRUSTED_TYPES,
        tags={"variant": segmentation_config["variant"], "k": segmentation_config["k"]},
    )
    if info:
        info["seconds"] = round(time.perf_counter() - start, 2)
        logger.info(
            "logged MLflow model %s in %.1f s (registered when the run is published)",
            info["model_uri"],
            info["seconds"],
        )
    return info
