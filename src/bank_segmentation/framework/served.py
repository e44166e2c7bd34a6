"""The served model: an MLflow pyfunc that takes raw customer rows and answers each one (``core.serving``).

It holds the published package (model, names, actions), the imputation statistics and the settings it was
trained with; no customer row is inside it. Its signature is the table's own columns, as text.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec
from mlflow.types import Schema as MlflowSchema
from mlflow.types.schema import AnyType

import bank_segmentation
from bank_segmentation.core.imputation import CustomerImputer
from bank_segmentation.core.serving import score_raw_rows
from bank_segmentation.core.settings import Features, Schema
from bank_segmentation.framework import tracking
from bank_segmentation.framework.quiet import without_artifact_progress_bars

PACKAGE, IMPUTER, SETTINGS = "segmentation_package", "customer_imputer", "settings"


# MLflow reads predict's type hints when the class is made and calls a DataFrame "AnyType" (no validation):
# the signature below validates the columns instead, so that notice is dropped here.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*Any type hint is inferred as AnyType", category=UserWarning)

    class SegmentationService(mlflow.pyfunc.PythonModel):
        """Raw customer rows in, one answer per row out: scored with its segment, or rejected with its reasons."""

        def load_context(self, context: Any) -> None:
            """Read the package, the imputer and the settings saved beside the model."""
            self._package = pickle.loads(Path(context.artifacts[PACKAGE]).read_bytes())
            self._imputer = pickle.loads(Path(context.artifacts[IMPUTER]).read_bytes())
            settings = json.loads(Path(context.artifacts[SETTINGS]).read_text(encoding="utf-8"))
            self._schema = Schema.model_validate(settings["schema"])
            self._features = Features.model_validate(settings["features"])
            self._validation = settings["validation"]

        def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
            """One answer per row, in the request's order."""
            return score_raw_rows(
                model_input, self._package, self._imputer, self._schema, self._features, self._validation
            )


def raw_signature(schema: Schema) -> ModelSignature:
    """The served model's input: the id and the schema's columns as the bank's export writes them (text or
    numbers; the contract checks each value, so a bad one rejects its row instead of failing the request).
    Columns a run can do without (labels, ignored columns) are optional."""
    optional = set(schema.optional_columns)
    return ModelSignature(
        inputs=MlflowSchema(
            [ColSpec(AnyType(), c, required=c not in optional) for c in [schema.id_column, *schema.columns]]
        )
    )


def service_model(
    folder: Path,
    package: Mapping[str, Any],
    imputer: CustomerImputer,
    schema: Schema,
    features: Features,
    validation: Mapping[str, Any],
    pip_requirements: list[str],
) -> dict[str, Any]:
    """The arguments MLflow saves or logs the served model with; its artifacts are written into ``folder``."""
    files = {PACKAGE: folder / "package.pkl", IMPUTER: folder / "imputer.pkl", SETTINGS: folder / "settings.json"}
    # the training distances are one value per training customer: customer-level data stays out of the model
    served = {key: value for key, value in package.items() if key != "training_distances"}
    files[PACKAGE].write_bytes(pickle.dumps(served))
    files[IMPUTER].write_bytes(pickle.dumps(imputer))
    settings = {"schema": schema.model_dump(), "features": features.model_dump(), "validation": dict(validation)}
    files[SETTINGS].write_text(json.dumps(settings), encoding="utf-8")
    return {
        "python_model": str(Path(__file__).with_name("served_entry.py")),
        "artifacts": {name: str(file) for name, file in files.items()},
        "signature": raw_signature(schema),
        "pip_requirements": pip_requirements,
        # the pickled package names the project's own classes (preprocessing steps, imputer)
        "code_paths": [str(Path(bank_segmentation.__file__).parent)],
    }


@contextlib.contextmanager
def no_input_example_notice() -> Iterator[None]:
    """No input example is given on purpose (it would put customer rows inside the artifact), and copying the
    artifacts into the model needs no progress bars."""
    with warnings.catch_warnings(), without_artifact_progress_bars():
        warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
        yield


def save_service(path: Path, *parts: Any, pip_requirements: list[str]) -> None:
    """Save the served model at ``path`` (an MLflow model folder); ``parts`` as for ``service_model``."""
    with tempfile.TemporaryDirectory() as folder, no_input_example_notice():
        mlflow.pyfunc.save_model(str(path), **service_model(Path(folder), *parts, pip_requirements=pip_requirements))


def log_service(name: str, *parts: Any, pip_requirements: list[str], tags: Mapping[str, Any]) -> dict[str, Any]:
    """Log the served model on the run's MLflow parent run, unregistered; ``{}`` when tracking is off."""
    with tempfile.TemporaryDirectory() as folder, no_input_example_notice():
        model = service_model(Path(folder), *parts, pip_requirements=pip_requirements)
        return tracking.log_python_model(name, model, tags)
