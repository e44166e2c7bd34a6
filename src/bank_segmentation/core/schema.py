"""Column roles of the customer table, read from ``params:schema``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bank_segmentation.core.errors import ConfigurationError

ROLES = ("amount", "frequency", "count", "limit", "tenure", "ignore")
KPI_ROLES = ("amount", "ratio", "share")  # engineered columns; purchase-type indicators get "indicator"


@dataclass(frozen=True)
class Schema:
    """The id column and the role of every behavioural column."""

    id_column: str
    roles: Mapping[str, str]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Schema:
        """Build the schema from the ``schema`` parameters block."""
        roles = dict(params["columns"])
        unknown = {col: role for col, role in roles.items() if role not in ROLES}
        if unknown:
            raise ConfigurationError(
                f"parameters 'schema.columns': unknown role(s) {unknown}; each column's role must be one of {ROLES}"
            )
        return cls(id_column=str(params["id_column"]), roles=roles)

    @property
    def columns(self) -> list[str]:
        """Every behavioural column, in declaration order."""
        return list(self.roles)

    @property
    def feature_columns(self) -> list[str]:
        """Behavioural columns usable as model features."""
        return [col for col, role in self.roles.items() if role != "ignore"]

    def columns_with(self, *roles: str) -> list[str]:
        """Columns whose role is one of ``roles``, in declaration order."""
        return [col for col, role in self.roles.items() if role in roles]


PURCHASE_TYPES = ("none", "one_off", "installment", "both")
PURCHASE_TYPE_PREFIX = "PURCHASE_TYPE_"


def purchase_type_columns() -> list[str]:
    """Names of the one-hot purchase-type indicator columns."""
    return [f"{PURCHASE_TYPE_PREFIX}{kind.upper()}" for kind in PURCHASE_TYPES]


def model_input_roles(schema: Schema, features: Mapping[str, Any]) -> dict[str, str]:
    """Role of every numeric model-input column: raw features, KPIs and purchase-type indicators."""
    roles = {col: schema.roles[col] for col in schema.feature_columns}
    if features.get("kpis_enabled", True):
        kpis = features.get("kpis", {})
        unknown = {name: spec.get("role") for name, spec in kpis.items() if spec.get("role") not in KPI_ROLES}
        if unknown:
            raise ConfigurationError(
                f"parameters 'features.kpis': unknown role(s) {unknown}; each KPI's role must be one of {KPI_ROLES}"
            )
        roles.update({name: spec["role"] for name, spec in kpis.items()})
    if features.get("purchase_type", {}).get("enabled", False):
        roles.update({col: "indicator" for col in purchase_type_columns()})
    return roles
