"""What the schema and feature settings imply for the model input: column roles and purchase-type indicators."""

from __future__ import annotations

from bank_segmentation.core.settings import Features, Schema

PURCHASE_TYPES = ("none", "one_off", "installment", "both")
PURCHASE_TYPE_PREFIX = "PURCHASE_TYPE_"


def purchase_type_columns() -> list[str]:
    """Names of the one-hot purchase-type indicator columns."""
    return [f"{PURCHASE_TYPE_PREFIX}{kind.upper()}" for kind in PURCHASE_TYPES]


def model_input_roles(schema: Schema, features: Features) -> dict[str, str]:
    """Role of every numeric model-input column: raw features, KPIs and purchase-type indicators."""
    roles = {col: schema.roles[col] for col in schema.feature_columns}
    roles.update({name: kpi.role for name, kpi in features.active_kpis.items()})
    if features.purchase_type.enabled:
        roles.update({col: "indicator" for col in purchase_type_columns()})
    return roles
