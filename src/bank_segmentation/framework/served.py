"""The served model: an MLflow pyfunc that takes raw customer rows and answers each one (``core.serving``).

It holds the published package (model, names, actions), the imputation statistics and the settings it was
trained with; no customer row is inside it. Its signature is the table's own columns, as text.
"""

from __future__ import annotations

import json
import pickle
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec
from mlflow.types import Schema as MlflowSchema

from bank_segmentation.core.imputation import CustomerImputer
from bank_segmentation.core.serving import score_raw_rows
from bank_segmentation.core.settings import Features, Schema

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
    """The served model's input: the id and every column of the schema, as the bank's export writes them."""
    return ModelSignature(inputs=MlflowSchema([ColSpec("string", c) for c in [schema.id_column, *schema.columns]]))


def save_service(
    path: Path,
    package: Mapping[str, Any],
    imputer: CustomerImputer,
    schema: Schema,
    features: Features,
    validation: Mapping[str, Any],
    pip_requirements: list[str],
) -> None:
    """Save the served model at ``path`` (an MLflow model folder)."""
    with tempfile.TemporaryDirectory() as folder:
        files = {PACKAGE: Path(folder) / "package.pkl", IMPUTER: Path(folder) / "imputer.pkl"}
        files[PACKAGE].write_bytes(pickle.dumps(dict(package)))
        files[IMPUTER].write_bytes(pickle.dumps(imputer))
        files[SETTINGS] = Path(folder) / "settings.json"
        settings = {"schema": schema.model_dump(), "features": features.model_dump(), "validation": dict(validation)}
        files[SETTINGS].write_text(json.dumps(settings), encoding="utf-8")
        # No input example: it would put customer rows inside the artifact; the signature says the columns.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
            mlflow.pyfunc.save_model(
                str(path),
                python_model=SegmentationService(),
                artifacts={name: str(file) for name, file in files.items()},
                signature=raw_signature(schema),
                pip_requirements=pip_requirements,
            )
