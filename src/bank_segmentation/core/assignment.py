"""Segment assignment: every customer's nearest segment centre, its distance, and the second-closest segment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from bank_segmentation.core.settings import Schema


def assign_segments(segmentation_model: Pipeline, model_input: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Segment of every customer, its distance to the segment centre and the second-closest segment."""
    distances = segmentation_model.transform(model_input)  # distances to every centroid (model space)
    order = np.argsort(distances, axis=1)
    rows = np.arange(len(distances))
    id_column = schema.id_column
    return pd.DataFrame(
        {
            id_column: model_input[id_column].to_numpy(),
            "segment": order[:, 0].astype(np.int64),
            "distance_to_centroid": distances[rows, order[:, 0]],
            "second_closest_segment": order[:, 1].astype(np.int64),
        }
    )


def carried_columns(schema: Schema, columns: Sequence[str]) -> list[str]:
    """The columns the schema sets to ``ignore`` (carried beside the id, as written) that ``columns`` holds."""
    return [col for col in schema.columns_with("ignore") if col in columns]


def with_carried_columns(customers: pd.DataFrame, customer_features: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``customers`` with the columns the schema sets to ``ignore`` beside the id, as the table wrote them."""
    carried = carried_columns(schema, customer_features.columns)
    if not carried:
        return customers
    values = customer_features[[schema.id_column, *carried]]
    merged = customers.merge(values, on=schema.id_column, how="left", validate="one_to_one")
    return merged[[schema.id_column, *carried, *[c for c in customers.columns if c != schema.id_column]]]
