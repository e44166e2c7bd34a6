"""Settings fitted to the table the schema describes: what names columns the table lacks is left out.

A bank onboards its table with one file (``schema``, optionally ``features.kpis`` and ``features.groups``).
Every other setting that names columns was written for the shipped CC GENERAL demo; here each one keeps
what the table has, is derived from the schema when nothing is left, and every change is one note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bank_segmentation.core.consistency import REPORTED_COLUMN_LISTS, SPECIAL_GROUPS, spec_names
from bank_segmentation.core.schema import model_input_roles
from bank_segmentation.core.settings import ProjectParameters

# The parameter blocks fitting may change; every other block is used as written.
FITTED_BLOCKS = ("features", "imputation", "tuning", "clustering", "model_choice", "reporting")


@dataclass
class FittedParameters:
    """The parameters fitted to the table, and one note per setting that changed."""

    parameters: ProjectParameters
    notes: list[str] = field(default_factory=list)


def fit_to_table(parameters: ProjectParameters) -> FittedParameters:
    """Leave out every KPI, group member, rule, variant and reporting column the table lacks; derive the rest."""
    notes: list[str] = []
    schema = parameters.schema_
    raw = set(schema.feature_columns)

    features = parameters.features
    kpis = {name: kpi for name, kpi in features.kpis.items() if {kpi.numerator, *kpi.denominator} <= raw}
    _note(notes, "features.kpis", sorted(set(features.kpis) - set(kpis)), "KPIs left out")
    purchase_type = features.purchase_type
    kinds = {purchase_type.oneoff_column, purchase_type.installment_column}
    if purchase_type.enabled and not kinds <= raw:
        purchase_type = purchase_type.model_copy(update={"enabled": False})
        notes.append("features.purchase_type: switched off, the table has no one-off and instalment amounts")
    features = features.model_copy(update={"kpis": kpis, "purchase_type": purchase_type})
    roles = model_input_roles(schema, features)
    columns = set(roles)
    groups = {name: [c for c in members if c in columns] for name, members in features.groups.items()}
    groups = {name: members for name, members in groups.items() if members}
    _note(notes, "features.groups", sorted(set(features.groups) - set(groups)), "groups left out (no column left)")
    if not groups:
        groups = _groups_by_role(roles)
        notes.append(f"features.groups: derived from the roles: {', '.join(groups)}")
    features = features.model_copy(update={"groups": groups})

    rules = [r for r in parameters.imputation.domain_rules if {r.column, r.when_zero} <= raw]
    if len(rules) < len(parameters.imputation.domain_rules):
        notes.append(f"imputation.domain_rules: {len(parameters.imputation.domain_rules) - len(rules)} left out")
    imputation = parameters.imputation.model_copy(update={"domain_rules": rules})

    search_space = parameters.tuning.search_space
    searched = [g for g in search_space.groups if g in groups] or list(groups)
    if searched != search_space.groups:
        notes.append(f"tuning.search_space.groups: searches {', '.join(searched)}")
    search_space = search_space.model_copy(
        update={"groups": searched, "min_groups": min(search_space.min_groups, len(searched))}
    )
    tuning = parameters.tuning.model_copy(update={"search_space": search_space})

    valid_groups = (*groups, *SPECIAL_GROUPS)
    variants = {
        name: spec
        for name, spec in parameters.clustering.variants.items()
        if not _names_absent(spec, columns, valid_groups)
    }
    _note(notes, "clustering.variants", sorted(set(parameters.clustering.variants) - set(variants)), "left out")
    sweep = parameters.clustering.sweep
    if sweep.variants is not None:
        sweep = sweep.model_copy(update={"variants": [v for v in sweep.variants if v in variants] or None})
    clustering = parameters.clustering.model_copy(update={"variants": variants, "sweep": sweep})

    reporting = _fit_reporting(parameters.reporting.model_dump(), raw, columns, notes)
    model_choice = parameters.model_choice
    if not _archetypes_fitting(reporting, columns) and model_choice.rule.min_coverage > 0:
        # Coverage is the share of customers in archetype-named segments: with no archetype it is 0 everywhere.
        model_choice = model_choice.model_copy(
            update={"rule": model_choice.rule.model_copy(update={"min_coverage": 0.0})}
        )
        notes.append("model_choice.rule.min_coverage: 0, no archetype fits the table's columns")
    fitted = parameters.model_copy(
        update={
            "features": features,
            "imputation": imputation,
            "tuning": tuning,
            "clustering": clustering,
            "model_choice": model_choice,
            "reporting": parameters.reporting.model_validate(reporting),
        }
    )
    return FittedParameters(fitted, notes)


def _fit_reporting(reporting: dict[str, Any], raw: set[str], columns: set[str], notes: list[str]) -> dict[str, Any]:
    profiles = reporting["profiles"]
    volumes = {k: c for k, c in profiles["volume_columns"].items() if c in raw}
    _note(
        notes, "reporting.profiles.volume_columns", sorted(set(profiles["volume_columns"]) - set(volumes)), "left out"
    )
    profiles["volume_columns"] = volumes
    for block, key in REPORTED_COLUMN_LISTS:
        named = reporting[block][key]
        kept = [c for c in named if c in columns]
        if named and not kept:
            notes.append(f"reporting.{block}.{key}: none of its columns in the table, the table's own are shown")
        reporting[block][key] = kept
    descriptive = reporting["naming"]["descriptive"]
    descriptive["name_features"] = [c for c in descriptive["name_features"] if c in columns]
    report = reporting["report"]
    if not _archetypes_fitting(reporting, columns) and "neutral_title" in report:
        report["title"], report["subtitle"] = report["neutral_title"], report["neutral_subtitle"]
        notes.append("reporting.report: no archetype fits the table's columns, so the report's titles are neutral")
    return reporting


def _archetypes_fitting(reporting: Mapping[str, Any], columns: set[str]) -> list[str]:
    """The archetypes whose conditions name only columns the table has."""
    archetypes = reporting["naming"]["archetypes"]
    return [name for name, spec in archetypes.items() if set(spec["conditions"]) <= columns]


def _groups_by_role(roles: Mapping[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for column, role in roles.items():
        groups.setdefault(role, []).append(column)
    return groups


def _names_absent(spec: Mapping[str, Any], columns: set[str], groups: tuple[str, ...]) -> bool:
    return any(
        name not in valid
        for kind, names, valid in spec_names(spec, tuple(columns), groups, ())
        if kind != "role"
        for name in names
    )


def _note(notes: list[str], key: str, left_out: list[str], what: str) -> None:
    if left_out:
        notes.append(f"{key}: {what}: {', '.join(left_out)}")
