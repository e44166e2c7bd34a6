"""Marketing outputs: the segment catalogue (segments.json) and the safe campaign list."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.core.assignment import carried_columns, with_carried_columns
from bank_segmentation.core.naming import feature_label
from bank_segmentation.core.profiles import (
    CUSTOMERS,
    SEGMENT,
    SHARE,
    described_values,
    portfolio_average,
    portfolio_frame,
    portfolio_means,
    positive_value,
    profile_matrix,
)
from bank_segmentation.core.schema import model_input_roles
from bank_segmentation.core.settings import Features, Schema
from bank_segmentation.core.spreadsheet import spreadsheet_safe
from bank_segmentation.spark import on_spark

logger = logging.getLogger(__name__)

VOLUME_SUFFIX = "_volume_share"
SUMMARY_VALUES = 2  # values of a categorical column named on a segment card (segments.json holds them all)


def profile_roles(schema: Schema, features: Features) -> dict[str, str]:
    """Role of every profiled column (raw, KPI, purchase-type share), from the data contract."""
    every_purchase_type = features.purchase_type.model_copy(update={"enabled": True})
    return model_input_roles(schema, features.model_copy(update={"purchase_type": every_purchase_type}))


def format_value(value: float, role: str | None, percent_roles: list[str]) -> str:
    """A number in plain words with its unit: percentages for frequencies and shares, months for tenure."""
    if role in percent_roles:
        return f"{value:.0%}"
    if role == "tenure":
        return f"{value:.0f} months"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def segment_traits(
    profiles: pd.DataFrame,
    segment: Any,
    leading: list[str],
    portfolio_medians: pd.Series,
    labels: Mapping[str, str],
    roles: Mapping[str, str],
    params: Mapping[str, Any],
) -> list[str]:
    """Plain-words traits of the segment's typical (median) customer: the ``leading`` features (the conditions
    behind its name), then those where it sits furthest from the portfolio's middle.

    E.g. ``Purchase Frequency higher than the portfolio's typical customer: 92% vs 50%``.
    """
    medians = profile_matrix(profiles, "median").loc[segment]
    lean = (profile_matrix(profiles, "pct").loc[segment] - 0.5).abs()
    ranked = lean.sort_values(ascending=False, kind="stable").index
    leading = [f for f in leading if f in medians.index]
    top = list(dict.fromkeys([*leading, *ranked]))[: max(int(params["traits"]), len(leading))]
    percent_roles = list(params["percent_roles"])
    traits = []
    for f in top:
        value, typical = medians[f], portfolio_medians.get(f, float("nan"))
        text = format_value(value, roles.get(f), percent_roles)
        if pd.isna(typical) or format_value(typical, roles.get(f), percent_roles) == text:
            traits.append(f"{feature_label(f, labels)}: {text}, like the portfolio's typical customer")
        else:
            word = "higher" if value > typical else "lower"
            traits.append(
                f"{feature_label(f, labels)} {word} than the portfolio's typical customer: {text} vs "
                f"{format_value(typical, roles.get(f), percent_roles)}"
            )
    return traits


def recommendations(archetype: str | None, micro_segment: bool, playbook: Mapping[str, Any]) -> dict[str, Any]:
    """The playbook entry of an archetype (or the fallback), with its campaign action."""
    entry = dict(playbook.get(archetype or "", playbook["fallback"]))
    entry["offers"] = list(entry["offers"])
    entry["campaign_action"] = entry["offers"][0]
    if micro_segment:
        entry["note"] = playbook["micro_segment_note"]
    return entry


def build_segment_catalogue(
    customer_features: pd.DataFrame,
    profiles: pd.DataFrame,
    names: pd.DataFrame,
    playbook: Mapping[str, Any],
    labels: Mapping[str, str],
    naming: Mapping[str, Any],
    schema: Schema,
    features: Features,
    params: Mapping[str, Any],
    segment_rules: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Per segment: id, name, how well it matches its archetype, size, traits, key statistics, readable rules,
    recommendations.

    Traits and key statistics describe the segment's typical (median) customer against the portfolio's.
    """
    roles = profile_roles(schema, features)
    portfolio_medians = portfolio_frame(customer_features, schema.id_column).median()
    percent_roles = list(params["percent_roles"])
    named = profiles.merge(names, on=SEGMENT, how="left", validate="one_to_one")
    means, medians = profile_matrix(profiles, "mean"), profile_matrix(profiles, "median")
    portfolio = portfolio_means(profiles)
    # the statistics a bank asked for that this table has; a table with none of them shows its own columns
    key_statistics = [f for f in params["key_statistics"] if f in means.columns] or [
        f for f in schema.feature_columns if f in means.columns
    ]
    volumes = [c for c in profiles.columns if c.endswith(VOLUME_SUFFIX)]
    described = {column: described_values(profiles, column) for column in schema.described_columns}
    portfolio_shares = {column: portfolio_average(profiles, shares) for column, shares in described.items()}
    positives = {column: positive_value(portfolio_shares[column]) for column in schema.columns_with("label")}
    segments = []
    for row in named.to_dict("records"):
        seg = row[SEGMENT]
        archetype = row["archetype"] if isinstance(row["archetype"], str) else None
        leading = list(naming["archetypes"][archetype]["conditions"]) if archetype else []
        segments.append(
            {
                "id": _plain(seg),
                "name": row["name"],
                "archetype": archetype,
                "description": row["description"],
                "matched": bool(row["matched"]),
                "match": row["match"],
                "conditions_missed": [
                    feature_label(f, labels) for f in str(row["conditions_missed"] or "").split(";") if f
                ],
                "micro_segment": bool(row["micro_segment"]),
                "customers": int(row[CUSTOMERS]),
                "share": float(row[SHARE]),
                "traits": segment_traits(profiles, seg, leading, portfolio_medians, labels, roles, params),
                "volume_shares": {c[: -len(VOLUME_SUFFIX)]: float(row[c]) for c in volumes},
                "key_statistics": {
                    f: {
                        "label": feature_label(f, labels),
                        "mean": float(means.at[seg, f]),
                        "median": float(medians.at[seg, f]),
                        "portfolio_mean": float(portfolio[f]),
                        "portfolio_median": float(portfolio_medians[f]),
                        "mean_text": format_value(means.at[seg, f], roles.get(f), percent_roles),
                        "median_text": format_value(medians.at[seg, f], roles.get(f), percent_roles),
                        "portfolio_mean_text": format_value(portfolio[f], roles.get(f), percent_roles),
                        "portfolio_median_text": format_value(portfolio_medians[f], roles.get(f), percent_roles),
                    }
                    for f in key_statistics
                },
                "categories": {
                    column: _value_shares(column, described[column].loc[seg], portfolio_shares[column], labels)
                    for column in schema.columns_with("categorical")
                },
                "labels": {
                    column: _label_rate(
                        column, described[column].loc[seg], portfolio_shares[column], positives[column], labels
                    )
                    for column in schema.columns_with("label")
                },
                "rules": _rules(segment_rules, seg),
                "recommendations": recommendations(archetype, bool(row["micro_segment"]), playbook),
            }
        )
    catalogue = {"customers": int(profiles[CUSTOMERS].sum()), "segments": segments}
    if segment_rules is not None:
        catalogue["rules_fidelity"] = segment_rules["model"].fidelity
    return catalogue


def _rules(segment_rules: Mapping[str, Any] | None, segment: Any) -> dict[str, Any] | None:
    """A segment's readable rules, each with its precision and coverage, and theirs together."""
    if segment_rules is None or int(segment) not in segment_rules["segments"]:
        return None
    summary = segment_rules["segments"][int(segment)]
    return {
        "conditions": [
            {"text": segment_rules["texts"][leaf], **quality}
            for leaf, quality in zip(summary["leaves"], summary["rules"], strict=True)
        ],
        "precision": summary["precision"],
        "coverage": summary["coverage"],
    }


def _value_shares(column: str, shares: pd.Series, portfolio: pd.Series, labels: Mapping[str, str]) -> dict[str, Any]:
    """A text column in one segment: the share of each value beside the portfolio's, most frequent first."""
    ordered = shares.sort_values(ascending=False, kind="stable")
    shown = [value for value, share in ordered.items() if round(share, 2) or round(portfolio[value], 2)]
    label = feature_label(column, labels)
    return {
        "label": label,
        "shares": {value: float(share) for value, share in ordered.items()},
        "portfolio_shares": {value: float(portfolio[value]) for value in ordered.index},
        "text": f"{label}: " + "; ".join(_share_text(value, ordered, portfolio) for value in shown),
        # the segment card's line: its most frequent values
        "summary": f"{label}: " + "; ".join(_share_text(value, ordered, portfolio) for value in shown[:SUMMARY_VALUES]),
    }


def _share_text(value: str, shares: pd.Series, portfolio: pd.Series) -> str:
    return f"{value} {shares[value]:.0%} (portfolio {portfolio[value]:.0%})"


def _label_rate(
    column: str, shares: pd.Series, portfolio: pd.Series, positive: str | None, labels: Mapping[str, str]
) -> dict[str, Any]:
    """A label in one segment: its rate (share of customers with the counted value) beside the portfolio's."""
    described = _value_shares(column, shares, portfolio, labels)
    if positive is None:  # a label with more than two values: its shares say it all
        return {**described, "value": None, "rate": None, "portfolio_rate": None}
    rate, portfolio_rate = float(shares[positive]), float(portfolio[positive])
    text = f"{described['label']} = {positive}: {rate:.0%} of the segment (portfolio {portfolio_rate:.0%})"
    return {
        **described,
        "value": positive,
        "rate": rate,
        "portfolio_rate": portfolio_rate,
        "text": text,
        "summary": text,
    }


def build_campaign_list(
    segment_assignments: pd.DataFrame,
    segment_catalogue: Mapping[str, Any],
    customer_features: pd.DataFrame,
    schema: Schema,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """One row per customer: id, the columns carried as written, segment name, action and channel,
    spreadsheet-safe (on Spark, batch by batch)."""
    if on_spark(segment_assignments):
        from bank_segmentation.spark import engine

        carried = [schema.id_column, *carried_columns(schema, customer_features.columns)]
        customers = segment_assignments.join(customer_features.select(*carried), on=schema.id_column)
        return engine.map_batches(customers, _campaign_rows, segment_catalogue, schema, params)
    id_column = schema.id_column
    by_id = {
        seg["id"]: (
            seg["name"],
            seg["recommendations"]["campaign_action"],
            seg["recommendations"]["channel"],
        )
        for seg in segment_catalogue["segments"]
    }
    looked_up = [by_id[_plain(s)] for s in segment_assignments[SEGMENT]]
    names = params["columns"]
    campaign = pd.DataFrame(
        {
            id_column: segment_assignments[id_column].astype(str).to_numpy(),  # keyed by the table's own id
            names["segment_name"]: [item[0] for item in looked_up],
            names["recommended_action"]: [item[1] for item in looked_up],
            names["channel"]: [item[2] for item in looked_up],
        }
    )
    logger.info("Campaign list: %d customers in %d segments", len(campaign), len(by_id))
    features = customer_features.assign(**{id_column: customer_features[id_column].astype(str)})
    return spreadsheet_safe(with_carried_columns(campaign, features, schema))


def _campaign_rows(
    customers: pd.DataFrame, segment_catalogue: Mapping[str, Any], schema: Schema, params: Mapping[str, Any]
) -> pd.DataFrame:
    return build_campaign_list(customers, segment_catalogue, customers, schema, params)


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy ints become Python ints)."""
    return value.item() if isinstance(value, np.generic) else value
