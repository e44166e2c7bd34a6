"""Nodes of the data processing pipeline; the scoring pipeline reuses them unchanged."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.core.errors import DataContractError
from bank_segmentation.core.imputation import CustomerImputer, fit_imputer
from bank_segmentation.core.schema import (
    PURCHASE_TYPE_PREFIX,
    PURCHASE_TYPES,
    model_input_roles,
    one_hot_columns,
)
from bank_segmentation.core.settings import Features, Kpi, Schema
from bank_segmentation.core.spreadsheet import spreadsheet_safe
from bank_segmentation.core.validation import validate_table

logger = logging.getLogger(__name__)

PURCHASE_TYPE = "PURCHASE_TYPE"


def validate_customers(
    customers_raw: pd.DataFrame, schema: Schema, validation: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Split the raw table into validated customers and quarantined rows, with a report."""
    outcome = validate_table(customers_raw, schema, validation)
    return outcome.kept, outcome.rejected, outcome.report


def export_rejected_customers(quarantined_customers: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows with their file line and reasons, safe to open in a spreadsheet."""
    # The rows are the file's own text, header included: a hostile cell must not run when a person opens them.
    return spreadsheet_safe(quarantined_customers)


def learn_imputer(customers_validated: pd.DataFrame, schema: Schema, imputation: dict[str, Any]) -> CustomerImputer:
    """Learn the imputation statistics from the validated customers."""
    return fit_imputer(customers_validated, schema.feature_columns, imputation)


def impute_customers(
    customers_validated: pd.DataFrame, imputer: CustomerImputer
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Fill every missing value with the learned imputer; report what was filled."""
    return imputer.transform(customers_validated)


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


def check_segmentable(
    model_input: pd.DataFrame, validation_report: dict[str, Any], schema: Schema, validation: dict[str, Any]
) -> pd.DataFrame:
    """Refuse a table with too few customers, or too few distinct ones, to be worth segmenting."""
    source = validation_report.get("source")
    n_rows, needed = len(model_input), validation["min_customers"]
    if n_rows < needed:
        raise DataContractError(
            f"{n_rows} valid customer(s) left after validation; segmenting needs at least {needed} "
            "(validation.min_customers)",
            source=source,
            rule="enough_customers",
        )
    profiles = model_input.drop(columns=schema.id_column)
    distinct = int(pd.util.hash_pandas_object(profiles, index=False).nunique())
    if distinct < validation["min_distinct_customers"]:
        raise DataContractError(
            f"only {distinct} distinct customer profile(s) among {n_rows} customers: there is nothing to "
            f"segment (at least {validation['min_distinct_customers']} needed, validation.min_distinct_customers)",
            source=source,
            rule="distinct_customers",
        )
    return model_input


def summarise_data_quality(
    validation_report: dict[str, Any],
    customers_validated: pd.DataFrame,
    imputed_counts: dict[str, dict[str, Any]],
    schema: Schema,
) -> dict[str, Any]:
    """One data-quality summary: rows in/kept/quarantined, repairs, missing and imputed values."""
    columns = schema.feature_columns
    missing = customers_validated[columns].isna().sum()
    summary = {
        **validation_report,
        "missing_values": {col: int(n) for col, n in missing.items() if n},
        "imputed": imputed_counts,
        "conservation_holds": validation_report["rows_in"]
        == validation_report["rows_kept"] + validation_report["rows_quarantined"],
    }
    logger.info(
        "Data quality: %d rows in, %d kept, %d quarantined, %d values repaired, %d imputed",
        summary["rows_in"],
        summary["rows_kept"],
        summary["rows_quarantined"],
        sum(validation_report["repairs"].values()),
        sum(sum(c.values()) for c in imputed_counts.values()),
    )
    return summary
