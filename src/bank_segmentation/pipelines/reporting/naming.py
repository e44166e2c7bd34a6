"""Name segments from their profiles: one-to-one archetype matching, descriptive fallback names."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from bank_segmentation.pipelines.reporting.profiles import SEGMENT, SHARE, profile_matrix

logger = logging.getLogger(__name__)

NAME_COLUMNS = ["segment", "name", "archetype", "description", "matched", "micro_segment", "score"]


def level_margin(value: float, level: Mapping[str, Any]) -> float:
    """How far ``value`` lies inside a level (>= 0: the level holds), in its measure units."""
    if "min" in level:
        return float(value - level["min"])
    return float(level["max"] - value)


def _margin(measure: pd.DataFrame, segment: Any, feature: str, level: Mapping[str, Any]) -> float:
    """Margin of one condition; a feature the profiles lack (e.g. KPIs switched off) never holds."""
    if feature not in measure.columns:
        return -np.inf
    return level_margin(measure.at[segment, feature], level)


def match_scores(profiles: pd.DataFrame, naming: Mapping[str, Any]) -> pd.DataFrame:
    """Segments x archetypes match score; NaN where a segment does not qualify for an archetype.

    The score is the share of the archetype's conditions that hold, plus a small tie-break for how
    clearly they hold and for the archetype's priority.
    """
    levels, archetypes = naming["levels"], naming["archetypes"]
    measures = {measure: profile_matrix(profiles, measure) for measure in ("z", "pct")}
    top_priority = max(float(spec.get("priority", 0)) for spec in archetypes.values()) or 1.0
    cap = float(naming["margin_cap"])
    scores = pd.DataFrame(np.nan, index=profiles[SEGMENT], columns=list(archetypes))
    for key, spec in archetypes.items():
        conditions = spec["conditions"]
        for segment in scores.index:
            margins = np.array(
                [
                    _margin(measures[levels[lvl]["measure"]], segment, feature, levels[lvl])
                    for feature, lvl in conditions.items()
                ]
            )
            held = float(np.mean(margins >= 0))
            if held < float(naming["min_condition_share"]):
                continue
            scores.at[segment, key] = (
                held
                + float(naming["margin_weight"]) * float(np.mean(np.clip(margins, -cap, cap)) / cap)
                + float(naming["priority_weight"]) * float(spec.get("priority", 0)) / top_priority
            )
    return scores


def assign_archetypes(scores: pd.DataFrame) -> dict[Any, str]:
    """Best one-to-one segment -> archetype assignment (Hungarian); unqualified pairs stay out."""
    if scores.empty or scores.notna().sum().sum() == 0:
        return {}
    values = scores.to_numpy(dtype=float)
    # Leaving a segment unnamed scores 0; a pair that does not qualify is never chosen over that.
    forbidden = -1.0 - np.nansum(np.abs(values))
    gains = np.hstack([np.where(np.isnan(values), forbidden, values), np.zeros((len(scores),) * 2)])
    rows, cols = linear_sum_assignment(gains, maximize=True)
    n_archetypes = scores.shape[1]
    return {
        scores.index[r]: scores.columns[c]
        for r, c in zip(rows, cols, strict=True)
        if c < n_archetypes and not np.isnan(values[r, c])
    }


def feature_label(feature: str, labels: Mapping[str, str]) -> str:
    """Plain-words label of a feature (e.g. ``Cash Advance``), else from its column name."""
    return labels.get(feature) or feature.replace("_", " ").title()


def descriptive_name(
    z_row: pd.Series, descriptive: Mapping[str, Any], labels: Mapping[str, str], taken: set[str]
) -> str:
    """A name from the most distinctive eligible features, e.g. ``High Balance, Low Purchases``."""
    eligible = [f for f in descriptive["name_features"] if f in z_row.index]
    ranked = z_row[eligible].abs().sort_values(ascending=False, kind="stable")
    parts = [
        f"{descriptive['high_word'] if z_row[f] >= 0 else descriptive['low_word']} {feature_label(f, labels)}"
        for f in ranked.index
    ]
    count = int(descriptive["features"])
    name = descriptive["separator"].join(parts[:count])
    while name in taken and count < len(parts):  # two look-alike segments: add a feature
        count += 1
        name = descriptive["separator"].join(parts[:count])
    suffix = 2
    base = name
    while name in taken:
        name, suffix = f"{base} ({suffix})", suffix + 1
    return name


def name_segments(profiles: pd.DataFrame, naming: Mapping[str, Any], labels: Mapping[str, str]) -> pd.DataFrame:
    """Name every segment from its profile: its archetype if one matches, else a description."""
    scores = match_scores(profiles, naming)
    assigned = assign_archetypes(scores)
    z = profile_matrix(profiles, "z")
    archetypes = naming["archetypes"]
    taken = {archetypes[key]["name"] for key in assigned.values()}
    rows = []
    for segment, share in zip(profiles[SEGMENT], profiles[SHARE], strict=True):
        key = assigned.get(segment)
        if key is None:
            name = descriptive_name(z.loc[segment], naming["descriptive"], labels, taken)
            taken.add(name)
            description = naming["descriptive"]["description"]
        else:
            name, description = archetypes[key]["name"], archetypes[key]["description"]
        rows.append(
            {
                "segment": segment,
                "name": name,
                "archetype": key,
                "description": description,
                "matched": key is not None,
                "micro_segment": bool(share < float(naming["micro_segment_share"])),
                "score": float(scores.at[segment, key]) if key is not None else np.nan,
            }
        )
    names = pd.DataFrame(rows, columns=NAME_COLUMNS)
    for row in names.itertuples():
        logger.info(
            "Segment %s -> %s%s",
            row.segment,
            row.name,
            " (micro-segment)" if row.micro_segment else "",
        )
    return names
