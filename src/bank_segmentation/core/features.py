"""Engineered features and the model input: what training, scoring and a served model compute alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bank_segmentation.core.profiles import PURCHASE_TYPE
from bank_segmentation.core.schema import PURCHASE_TYPE_PREFIX, PURCHASE_TYPES, model_input_roles, one_hot_columns
from bank_segmentation.core.settings import Features, Kpi, Schema


def _ratio(frame: pd.DataFrame, kpi: Kpi) -> pd.Series:
    """numerator / sum(denominator), ``when_zero`` where the denominator is not positive."""
    numerator = frame[kpi.numerator].to_numpy(dtype="float64")
    denominator = frame[list(kpi.denominator)].to_numpy(dtype="float64").sum(axis=1)
    safe = denominator > 0
    out = np.full(len(frame), kpi.when_zero)
    np.divide(numerator, denominator, out=out, where=safe)
    return pd.Series(out, index=frame.index)


def _purchase_type(frame: pd.DataFrame, oneoff_column: str, installment_column: str) -> pd.Series:
    """none / one_off / installment / both, from which purchase amounts are positive."""
    oneoff = frame[oneoff_column].gt(0).to_numpy()
    installment = frame[installment_column].gt(0).to_numpy()
    codes = oneoff.astype(int) + 2 * installment.astype(int)
    return pd.Series(np.asarray(PURCHASE_TYPES)[codes], index=frame.index)


def engineer_features(customers_clean: pd.DataFrame, features: Features) -> pd.DataFrame:
    """Add the card KPIs and the purchase type to the cleaned customers."""
    enriched = customers_clean.copy()
    for name, kpi in features.active_kpis.items():
        enriched[name] = _ratio(enriched, kpi)
    kinds = features.purchase_type
    if kinds.enabled:
        enriched[PURCHASE_TYPE] = _purchase_type(enriched, kinds.oneoff_column, kinds.installment_column)
    return enriched


def build_model_input(customer_features: pd.DataFrame, schema: Schema, features: Features) -> pd.DataFrame:
    """Keep the id and every numeric model-input column; one-hot encode the categoricals and the purchase type."""
    model_input = customer_features[[schema.id_column]].copy()
    encoded = one_hot_columns(features)
    for col, role in model_input_roles(schema, features).items():
        if col in encoded:
            column, value = encoded[col]
            model_input[col] = customer_features[column].eq(value).fillna(False).astype("float64")
        elif role == "indicator":
            kind = col.removeprefix(PURCHASE_TYPE_PREFIX).lower()
            model_input[col] = customer_features[PURCHASE_TYPE].eq(kind).astype("float64")
        else:
            model_input[col] = customer_features[col].astype("float64")
    numeric = model_input.drop(columns=schema.id_column).to_numpy()
    if not np.isfinite(numeric).all():
        raise ValueError("model input holds NaN or inf: an imputation or KPI rule is missing")
    return model_input
