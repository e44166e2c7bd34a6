"""Settings that name columns or groups, checked against the table the schema describes.

A misspelt column in a KPI, a group or a variant would otherwise surface minutes into a run as a bare
``KeyError``; here every such name is found at once, before any data is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bank_segmentation.core.preprocessing import ALL_GROUP, RAW_GROUP, as_list
from bank_segmentation.core.schema import model_input_roles
from bank_segmentation.core.settings import ROLES, ProjectParameters

SPECIAL_GROUPS = (RAW_GROUP, ALL_GROUP)  # column selections every variant may name
ENGINEERED_ROLES = ("indicator",)  # the purchase-type one-hot columns; KPI roles are schema roles too
# The reporting lists of columns to show: (block, key) under ``reporting``.
REPORTED_COLUMN_LISTS = (
    ("catalogue", "key_statistics"),
    ("figures", "snake_features"),
    ("figures", "heatmap_features"),
)


@dataclass(frozen=True)
class UnknownName:
    """A name in the settings that the table or the settings do not define."""

    key: str  # dotted parameter key, e.g. features.groups.spending
    kind: str  # column, group or role
    name: str
    valid: tuple[str, ...]


def unknown_names(parameters: ProjectParameters) -> list[UnknownName]:
    """Every column, group or role named in the settings that does not exist, in the order of the settings."""
    schema, features = parameters.schema_, parameters.features
    raw = tuple(schema.feature_columns)
    model_input = tuple(model_input_roles(schema, features))
    groups = (*features.groups, *SPECIAL_GROUPS)
    roles = (*ROLES, *ENGINEERED_ROLES)
    found: list[UnknownName] = []

    def check(key: str, kind: str, names: Iterable[str], valid: tuple[str, ...]) -> None:
        found.extend(UnknownName(key, kind, str(name), valid) for name in names if name not in valid)

    for name, kpi in features.kpis.items():
        check(f"features.kpis.{name}", "column", [kpi.numerator, *kpi.denominator], raw)
    if features.purchase_type.enabled:
        columns = [features.purchase_type.oneoff_column, features.purchase_type.installment_column]
        check("features.purchase_type", "column", [c for c in columns if c is not None], raw)
    check("features.one_hot", "categorical column", features.one_hot, tuple(schema.columns_with("categorical")))
    for name, members in features.groups.items():
        check(f"features.groups.{name}", "column", members, model_input)
    for index, rule in enumerate(parameters.imputation.domain_rules):
        check(f"imputation.domain_rules.{index}", "column", [rule.column, rule.when_zero], raw)
    check("tuning.search_space.groups", "group", parameters.tuning.search_space.groups, tuple(features.groups))
    reporting = parameters.reporting
    check("reporting.profiles.volume_columns", "column", reporting.profiles["volume_columns"].values(), raw)
    for block, key in REPORTED_COLUMN_LISTS:
        check(f"reporting.{block}.{key}", "column", getattr(reporting, block)[key], model_input)
    check("reporting.naming.descriptive", "column", reporting.naming["descriptive"]["name_features"], model_input)
    specs = {f"clustering.variants.{name}": spec for name, spec in parameters.clustering.variants.items()}
    specs["evaluation.reference_space"] = parameters.evaluation.reference_space
    for key, spec in specs.items():
        for kind, names, valid in spec_names(spec, model_input, groups, roles):
            check(key, kind, names, valid)
    return found


def spec_names(
    spec: Mapping[str, Any], columns: tuple[str, ...], groups: tuple[str, ...], roles: tuple[str, ...]
) -> Iterator[tuple[str, list[str], tuple[str, ...]]]:
    """The names a variant spec selects by, each with what it may be."""
    selected = as_list(spec.get("columns"))
    yield "column or group", selected, (*groups, *columns)
    yield "group", as_list(spec.get("groups")), groups
    yield "role", as_list(spec.get("roles")), roles
    yield "column", as_list(spec.get("exclude")), columns
    if isinstance(spec.get("log1p"), list):
        yield "role", as_list(spec["log1p"]), roles
