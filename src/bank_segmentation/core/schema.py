"""What the schema and feature settings imply for the model input: column roles and purchase-type indicators."""

from __future__ import annotations

from bank_segmentation.core.settings import Features, Schema

PURCHASE_TYPES = ("none", "one_off", "installment", "both")
PURCHASE_TYPE_PREFIX = "PURCHASE_TYPE_"
ONE_HOT_SEPARATOR = "="


def purchase_type_columns() -> list[str]:
    """Names of the one-hot purchase-type indicator columns."""
    return [f"{PURCHASE_TYPE_PREFIX}{kind.upper()}" for kind in PURCHASE_TYPES]


def one_hot_columns(features: Features) -> dict[str, tuple[str, str]]:
    """The 0/1 model-input columns of the one-hot encoded categoricals: ``COLUMN=value`` -> (column, value)."""
    return {
        f"{column}{ONE_HOT_SEPARATOR}{value}": (column, value)
        for column, values in features.one_hot.items()
        for value in values
    }


def raw_feature_columns(schema: Schema, features: Features) -> list[str]:
    """The table's own columns as model features: its numeric columns and its one-hot encoded categoricals."""
    return [*schema.feature_columns, *one_hot_columns(features)]


def model_input_roles(schema: Schema, features: Features) -> dict[str, str]:
    """Role of every numeric model-input column: raw features, one-hot categoricals, KPIs, purchase types."""
    roles = {col: schema.roles[col] for col in schema.feature_columns}
    roles.update({col: "indicator" for col in one_hot_columns(features)})
    roles.update({name: kpi.role for name, kpi in features.active_kpis.items()})
    if features.purchase_type.enabled:
        roles.update({col: "indicator" for col in purchase_type_columns()})
    return roles
