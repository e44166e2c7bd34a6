"""Name segments from their profiles: one-to-one archetype matching, partial matches, descriptive names.

A name may only claim what most of a segment does. Archetype conditions therefore read the segment's
*median customer* (``median`` in the column's own unit, or ``pct``: where that median sits in the
portfolio) or its share of a portfolio volume (``volume_lift``) — never a mean that a tail can drag: on
CC GENERAL a segment whose *mean* full-payment rate is 31% has a median of 8%, and "Full Payers" would lie.
For a 0/1 column (a purchase type) the median is the majority.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from bank_segmentation.core.profiles import SEGMENT, SHARE, portfolio_means, profile_matrix

logger = logging.getLogger(__name__)

NAME_COLUMNS = [
    "segment",
    "name",
    "archetype",
    "description",
    "matched",
    "match",
    "conditions_held",
    "conditions_missed",
    "micro_segment",
    "score",
]
MEASURES = ("median", "pct", "volume_lift")
FULL, PARTIAL, NONE = "full", "partial", "none"


def condition_measures(profiles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Segments x features matrices of every measure a condition can read."""
    means = profile_matrix(profiles, "mean")
    portfolio = portfolio_means(profiles)
    return {
        "median": profile_matrix(profiles, "median"),
        "pct": profile_matrix(profiles, "pct"),
        "volume_lift": means / portfolio.where(portfolio > 0, np.nan),
    }


def check_levels(levels: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a level whose measure is unknown or which has no threshold (e.g. the retired ``z``)."""
    for name, level in levels.items():
        if level.get("measure") not in MEASURES:
            raise ValueError(
                f"reporting.naming.levels.{name}: measure {level.get('measure')!r} is not one of {MEASURES} "
                "(names read medians, percentiles of medians and volume shares, never means)"
            )
        if ("min" in level) == ("max" in level):
            raise ValueError(f"reporting.naming.levels.{name}: give exactly one of min / max")


def level_margin(value: float, level: Mapping[str, Any]) -> float:
    """How far ``value`` lies inside a level (>= 0: the level holds), in its measure's units."""
    if value is None or np.isnan(value):
        return -np.inf
    if "min" in level:
        return float(value - level["min"])
    return float(level["max"] - value)


def condition_margins(
    measures: Mapping[str, pd.DataFrame], segment: Any, conditions: Mapping[str, str], levels: Mapping[str, Any]
) -> dict[str, float]:
    """Margin of every condition of an archetype for one segment; a column the profiles lack never holds."""
    margins = {}
    for feature, level_name in conditions.items():
        level = levels[level_name]
        matrix = measures[level["measure"]]
        value = matrix.at[segment, feature] if feature in matrix.columns else np.nan
        margins[feature] = level_margin(value, level)
    return margins


def tie_break(measures: Mapping[str, pd.DataFrame], segment: Any, feature: str, level: Mapping[str, Any]) -> float:
    """How clearly a segment leans the way a condition asks, in [-1, 1] (used only to break ties).

    Percentile-based for ``median`` and ``pct`` conditions (how far the median customer sits from the
    portfolio middle, in the condition's direction), so money, months and shares compare; log2 of the
    ratio to the threshold for ``volume_lift``.
    """
    if level["measure"] == "volume_lift":
        matrix, threshold = measures["volume_lift"], float(level["min"] if "min" in level else level["max"])
        value = matrix.at[segment, feature] if feature in matrix.columns else np.nan
        ratio = np.log2(max(value, 1e-9) / max(threshold, 1e-9)) if np.isfinite(value) else -1.0
        return float(np.clip(ratio if "min" in level else -ratio, -1.0, 1.0))
    pct = measures["pct"]
    value = pct.at[segment, feature] if feature in pct.columns else np.nan
    if not np.isfinite(value):
        return -1.0
    lean = value - 0.5 if "min" in level else 0.5 - value
    return float(np.clip(2.0 * lean, -1.0, 1.0))


def applicable_archetypes(profiles: pd.DataFrame, archetypes: Mapping[str, Any]) -> dict[str, Any]:
    """The archetypes whose every condition names a profiled column; the others are skipped, with a note."""
    profiled = set(condition_measures(profiles)["median"].columns)
    absent = {key: sorted(set(spec["conditions"]) - profiled) for key, spec in archetypes.items()}
    skipped = {key: columns for key, columns in absent.items() if columns}
    if skipped:
        logger.info(
            "naming: %d of %d archetypes skipped, their conditions name columns this table lacks: %s",
            len(skipped),
            len(archetypes),
            "; ".join(f"{archetypes[key]['name']} ({', '.join(cols)})" for key, cols in skipped.items()),
        )
    return {key: spec for key, spec in archetypes.items() if key not in skipped}


def _scores(profiles: pd.DataFrame, naming: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[tuple[Any, str], dict]]:
    """Segments x archetypes: share of conditions held plus tie-breaks, and every condition's margin."""
    levels, archetypes = naming["levels"], applicable_archetypes(profiles, naming["archetypes"])
    check_levels(levels)
    measures = condition_measures(profiles)
    top_priority = max((float(spec.get("priority", 0)) for spec in archetypes.values()), default=0.0) or 1.0
    scores = pd.DataFrame(np.nan, index=profiles[SEGMENT], columns=list(archetypes))
    margins: dict[tuple[Any, str], dict] = {}
    for key, spec in archetypes.items():
        conditions = spec["conditions"]
        for segment in scores.index:
            found = condition_margins(measures, segment, conditions, levels)
            margins[(segment, key)] = found
            leans = [tie_break(measures, segment, f, levels[lvl]) for f, lvl in conditions.items()]
            scores.at[segment, key] = (
                _held(found)
                + float(naming["margin_weight"]) * float(np.mean(leans))
                + float(naming["priority_weight"]) * float(spec.get("priority", 0)) / top_priority
            )
    return scores, margins


def _held(margins: Mapping[str, float]) -> float:
    return float(np.mean([m >= 0 for m in margins.values()])) if margins else 0.0


def assign_archetypes(scores: pd.DataFrame) -> dict[Any, str]:
    """Best one-to-one segment -> archetype assignment (Hungarian); NaN pairs never match."""
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


def match_archetypes(profiles: pd.DataFrame, naming: Mapping[str, Any]) -> dict[Any, tuple[str, str, dict]]:
    """Segment -> (archetype, ``full`` | ``partial``, condition margins).

    Full matches first (every condition holds), one-to-one. Then every segment still unnamed may take a
    remaining archetype as a *partial* match when the archetype's ``defining`` conditions hold and at
    least ``partial_match.min_condition_share`` of all its conditions do.
    """
    scores, margins = _scores(profiles, naming)
    full = scores.where(
        pd.DataFrame(
            {k: [_held(margins[(s, k)]) >= 1.0 for s in scores.index] for k in scores.columns}, index=scores.index
        )
    )
    matched = {seg: (key, FULL, margins[(seg, key)]) for seg, key in assign_archetypes(full).items()}
    partial = naming.get("partial_match") or {}
    if partial.get("enabled", False):
        archetypes = naming["archetypes"]
        minimum = float(partial["min_condition_share"])
        remaining = scores.loc[
            [s for s in scores.index if s not in matched],
            [k for k in scores.columns if k not in {key for key, _, _ in matched.values()}],
        ]

        def qualifies(seg: Any, key: str) -> bool:
            found = margins[(seg, key)]
            defining = archetypes[key].get("defining") or list(found)
            return _held(found) >= minimum and all(found.get(f, -np.inf) >= 0 for f in defining)

        eligible = remaining.where(
            pd.DataFrame(
                {k: [qualifies(s, k) for s in remaining.index] for k in remaining.columns}, index=remaining.index
            )
        )
        matched.update({seg: (key, PARTIAL, margins[(seg, key)]) for seg, key in assign_archetypes(eligible).items()})
    return matched


def feature_label(feature: str, labels: Mapping[str, str]) -> str:
    """Plain-words label of a feature (e.g. ``Cash Advance``), else from its column name."""
    return labels.get(feature) or feature.replace("_", " ").title()


def descriptive_name(
    pct_row: pd.Series, descriptive: Mapping[str, Any], labels: Mapping[str, str], taken: set[str]
) -> str:
    """A name from the features where the median customer sits furthest from the portfolio middle.

    Only ``name_features`` the table has are used; a table that has none of them is described by all of its
    profiled features, so a name is never empty.
    """
    available = pct_row.dropna()
    eligible = [f for f in descriptive["name_features"] if f in available.index] or list(available.index)
    offset = pct_row[eligible] - 0.5
    ranked = offset.abs().sort_values(ascending=False, kind="stable")
    parts = [
        f"{descriptive['high_word'] if offset[f] >= 0 else descriptive['low_word']} {feature_label(f, labels)}"
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
    """Name every segment from its profile: its archetype (full or partial match), else a description."""
    matches = match_archetypes(profiles, naming)
    pct = profile_matrix(profiles, "pct")
    archetypes = naming["archetypes"]
    partial = naming.get("partial_match") or {}
    taken = {archetypes[key]["name"] for key, _, _ in matches.values()}
    rows = []
    for segment, share in zip(profiles[SEGMENT], profiles[SHARE], strict=True):
        key, match, margins = matches.get(segment, (None, NONE, {}))
        if key is None:
            name = descriptive_name(pct.loc[segment], naming["descriptive"], labels, taken)
            taken.add(name)
            description = naming["descriptive"]["description"]
        else:
            name, description = archetypes[key]["name"], archetypes[key]["description"]
            if match == PARTIAL:
                name = str(partial["name"]).format(name=name)
                description = f"{description} {partial['description']}"
        rows.append(
            {
                "segment": segment,
                "name": name,
                "archetype": key,
                "description": description,
                "matched": key is not None,
                "match": match,
                "conditions_held": ";".join(f for f, m in margins.items() if m >= 0),
                "conditions_missed": ";".join(f for f, m in margins.items() if m < 0),
                "micro_segment": bool(share < float(naming["micro_segment_share"])),
                "score": _held(margins) if key is not None else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=NAME_COLUMNS)


def archetype_coverage(names: pd.DataFrame, profiles: pd.DataFrame, partial: bool = False) -> float:
    """Share of customers in archetype-named segments (full matches; partial ones too when asked)."""
    shares = profiles.set_index(SEGMENT)[SHARE]
    kinds = {FULL, PARTIAL} if partial else {FULL}
    named = names.loc[names["match"].isin(kinds), "segment"]
    return round(float(shares.reindex(named).sum()), 6)  # a share of customers: no floating-point residue
