"""Nodes of the data processing pipeline; the scoring pipeline reuses them unchanged."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from bank_segmentation.core import features as core_features
from bank_segmentation.core.errors import DataContractError
from bank_segmentation.core.imputation import CustomerImputer, fit_imputer
from bank_segmentation.core.settings import Features, Schema
from bank_segmentation.core.spreadsheet import spreadsheet_safe
from bank_segmentation.core.validation import validate_table
from bank_segmentation.spark import on_spark

logger = logging.getLogger(__name__)

__all__ = [
    "build_model_input",
    "check_segmentable",
    "engineer_features",
    "export_rejected_customers",
    "impute_customers",
    "learn_imputer",
    "summarise_data_quality",
    "validate_customers",
]


def validate_customers(
    customers_raw: pd.DataFrame, schema: Schema, validation: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Split the raw table into validated customers and quarantined rows, with a report."""
    if on_spark(customers_raw):
        from bank_segmentation.spark import engine

        return engine.validate(customers_raw, schema, validation)
    outcome = validate_table(customers_raw, schema, validation)
    return outcome.kept, outcome.rejected, outcome.report


def export_rejected_customers(quarantined_customers: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows with their file line and reasons, safe to open in a spreadsheet."""
    # The rows are the file's own text, header included: a hostile cell must not run when a person opens them.
    return spreadsheet_safe(quarantined_customers)


def learn_imputer(customers_validated: pd.DataFrame, schema: Schema, imputation: dict[str, Any]) -> CustomerImputer:
    """Learn the imputation statistics from the validated customers."""
    if on_spark(customers_validated):
        from bank_segmentation.spark import engine

        return engine.learn_imputer(customers_validated, schema, imputation)
    return fit_imputer(customers_validated, schema.feature_columns, imputation)


def impute_customers(
    customers_validated: pd.DataFrame, imputer: CustomerImputer
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Fill every missing value with the learned imputer; report what was filled."""
    if on_spark(customers_validated):
        from bank_segmentation.spark import engine

        return engine.impute(customers_validated, imputer)
    return imputer.transform(customers_validated)


def engineer_features(customers_clean: pd.DataFrame, features: Features) -> pd.DataFrame:
    """Add the card KPIs and the purchase type to the cleaned customers (``core.features``)."""
    if on_spark(customers_clean):
        from bank_segmentation.spark import engine

        return engine.map_batches(customers_clean, core_features.engineer_features, features)
    return core_features.engineer_features(customers_clean, features)


def build_model_input(customer_features: pd.DataFrame, schema: Schema, features: Features) -> pd.DataFrame:
    """The id and every numeric model-input column, categoricals one-hot encoded (``core.features``)."""
    if on_spark(customer_features):
        from bank_segmentation.spark import engine

        return engine.map_batches(customer_features, core_features.build_model_input, schema, features)
    return core_features.build_model_input(customer_features, schema, features)


def check_segmentable(
    model_input: pd.DataFrame, validation_report: dict[str, Any], schema: Schema, validation: dict[str, Any]
) -> pd.DataFrame:
    """Refuse a table with too few customers, or too few distinct ones, to be worth segmenting."""
    source = validation_report.get("source")
    if on_spark(model_input):
        from bank_segmentation.spark import engine

        n_rows = validation_report["rows_kept"]  # the distinct check reads the first customers only: not persisted
        distinct = engine.distinct_profiles(model_input, schema, validation["min_distinct_customers"])
    else:
        profiles = model_input.drop(columns=schema.id_column)
        n_rows, distinct = len(model_input), int(pd.util.hash_pandas_object(profiles, index=False).nunique())
    needed = validation["min_customers"]
    if n_rows < needed:
        raise DataContractError(
            f"{n_rows} valid customer(s) left after validation; segmenting needs at least {needed} "
            "(validation.min_customers)",
            source=source,
            rule="enough_customers",
        )
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
    if on_spark(customers_validated):
        from bank_segmentation.spark import engine

        missing = engine.missing_counts(customers_validated, columns)
    else:
        missing = customers_validated[columns].isna().sum().to_dict()
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
