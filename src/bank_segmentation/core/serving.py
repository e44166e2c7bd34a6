"""Raw customer rows in, one answer per row out: what the served model computes.

The same contract, imputation statistics, features and model as the scoring pipeline, applied to a request:
every row comes back, either scored (segment, name, action, distance) or rejected with its reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bank_segmentation.core.assignment import assign_segments
from bank_segmentation.core.features import build_model_input, engineer_features
from bank_segmentation.core.imputation import CustomerImputer
from bank_segmentation.core.settings import Features, Schema
from bank_segmentation.core.validation import REJECTED_REASONS, validate_table

SCORED, REJECTED = "scored", "rejected"
ANSWER_COLUMNS = ["status", "reasons", "segment", "segment_name", "recommended_action", "distance_to_centroid"]


def score_raw_rows(
    raw: pd.DataFrame,
    package: Mapping[str, Any],
    imputer: CustomerImputer,
    schema: Schema,
    features: Features,
    validation: Mapping[str, Any],
) -> pd.DataFrame:
    """One answer per raw row, in the request's order: its id, status and reasons, or its segment."""
    text = raw.astype("string").reset_index(drop=True)
    text.attrs = {**raw.attrs}
    outcome = validate_table(text, schema, {**validation, "max_quarantine_share": 1.0})  # answer every row
    answers = pd.DataFrame({schema.id_column: text[schema.id_column].to_numpy()}, index=text.index)
    answers = answers.assign(status=SCORED, reasons="")
    rejected_at = outcome.rejected.index  # the request's row positions
    answers.loc[rejected_at, "status"] = REJECTED
    answers.loc[rejected_at, "reasons"] = outcome.rejected[REJECTED_REASONS].to_numpy()
    kept_at = answers.index.difference(rejected_at)  # validation keeps the other rows in order
    if len(kept_at):
        clean, _ = imputer.transform(outcome.kept)
        model_input = build_model_input(engineer_features(clean, features), schema, features)
        assigned = assign_segments(package["model"], model_input, schema).set_index(kept_at)
        segments = package["segments"].set_index("segment")
        answers.loc[kept_at, "segment"] = assigned["segment"]
        answers.loc[kept_at, "segment_name"] = assigned["segment"].map(segments["name"])
        answers.loc[kept_at, "recommended_action"] = assigned["segment"].map(segments["recommended_action"])
        answers.loc[kept_at, "distance_to_centroid"] = assigned["distance_to_centroid"]
    return answers.reindex(columns=[schema.id_column, *ANSWER_COLUMNS])
