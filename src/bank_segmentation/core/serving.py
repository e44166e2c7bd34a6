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
from bank_segmentation.core.profiles import portfolio_frame
from bank_segmentation.core.settings import Features, Schema
from bank_segmentation.core.validation import REJECTED_REASONS, validate_table

SCORED, REJECTED = "scored", "rejected"
ANSWER_COLUMNS = [
    "status",
    "reasons",
    "segment",
    "segment_name",
    "recommended_action",
    "distance_to_centroid",
    "why",
    "rules_agree",
]


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
    segmented = pd.DataFrame(index=kept_at)
    if len(kept_at):
        clean, _ = imputer.transform(outcome.kept)
        customer_features = engineer_features(clean, features)
        model_input = build_model_input(customer_features, schema, features)
        assigned = assign_segments(package["model"], model_input, schema)
        assigned = assigned.assign(**why_columns(assigned, package, customer_features, schema)).set_index(kept_at)
        segments = package["segments"].set_index("segment")
        segmented = assigned.assign(
            segment_name=assigned["segment"].map(segments["name"]),
            recommended_action=assigned["segment"].map(segments["recommended_action"]),
        )
    answers = answers.join(segmented.reindex(columns=ANSWER_COLUMNS[2:]))
    # a rejected row has no segment: nullable types answer null there and keep the scored rows' values as they are
    types = {"segment": "Int64", "distance_to_centroid": "Float64", "rules_agree": "boolean"}
    types.update(dict.fromkeys(["segment_name", "recommended_action", "why"], "string"))
    return answers.astype(types)[[schema.id_column, *ANSWER_COLUMNS]]


def why_columns(
    scored: pd.DataFrame, package: Mapping[str, Any], customer_features: pd.DataFrame, schema: Schema
) -> dict[str, Any]:
    """``why``: the readable rule each customer meets; ``rules_agree``: whether it points to the same segment.

    A package from before the rules has none: both columns are then left empty.
    """
    if "rules" not in package:
        return {"why": "", "rules_agree": pd.NA}
    surrogate, texts = package["rules"]["model"], package["rules"]["texts"]
    features = customer_features.set_index(schema.id_column).loc[scored[schema.id_column]].reset_index()
    leaves = surrogate.leaf_of(portfolio_frame(features, schema.id_column))
    return {
        "why": [texts[leaf] for leaf in leaves],
        "rules_agree": [surrogate.segment_of_leaf(leaf) == seg for leaf, seg in zip(leaves, scored["segment"])],
    }
