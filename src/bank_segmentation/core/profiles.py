"""Segment profiles: size, mean/median per feature, position in the portfolio, volume shares."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.core.schema import PURCHASE_TYPE_PREFIX, PURCHASE_TYPES, purchase_type_columns

logger = logging.getLogger(__name__)

SEGMENT = "segment"
CUSTOMERS = "customers"
SHARE = "share"
TOP_FEATURES = "top_features"
STATS = ("mean", "median", "z", "pct")
SEP = "__"
PURCHASE_TYPE = PURCHASE_TYPE_PREFIX.rstrip("_")  # the categorical column of customer_features
VALUE_SEP = "="  # a text column's value in the profiles: ``REGION=North__share``
MISSING_VALUE = "(missing)"
OTHER_VALUES = "(other)"
# Values a label uses for "yes, it happened" (churned, defaulted): its rate is the share of customers with it.
POSITIVE_LABELS = ("1", "true", "yes", "y")


def stat_column(feature: str, stat: str) -> str:
    """Column of the profiles table holding ``stat`` of ``feature`` (e.g. ``BALANCE__mean``)."""
    return f"{feature}{SEP}{stat}"


def profile_features(profiles: pd.DataFrame) -> list[str]:
    """Features described in a profiles table, in their column order."""
    suffix = f"{SEP}mean"
    return [col[: -len(suffix)] for col in profiles.columns if col.endswith(suffix)]


def profile_matrix(profiles: pd.DataFrame, stat: str) -> pd.DataFrame:
    """Segments x features matrix of one statistic (mean, median, z or pct), indexed by segment."""
    features = profile_features(profiles)
    matrix = profiles.set_index(SEGMENT)[[stat_column(f, stat) for f in features]]
    matrix.columns = features
    return matrix


def portfolio_means(profiles: pd.DataFrame) -> pd.Series:
    """Portfolio mean of every feature: segment means weighted by segment size."""
    return portfolio_average(profiles, profile_matrix(profiles, "mean"))


def portfolio_average(profiles: pd.DataFrame, matrix: pd.DataFrame) -> pd.Series:
    """The portfolio's value of each column of a segments x columns ``matrix``: weighted by segment size."""
    weights = profiles.set_index(SEGMENT)[CUSTOMERS]
    return matrix.mul(weights, axis=0).sum() / weights.sum()


def portfolio_frame(customer_features: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Numeric profile columns of the portfolio, the purchase type one-hot encoded as shares."""
    numeric = customer_features.drop(columns=[id_column]).select_dtypes("number").astype(float)
    if PURCHASE_TYPE in customer_features.columns:
        kinds = customer_features[PURCHASE_TYPE].astype(str)
        for kind, column in zip(PURCHASE_TYPES, purchase_type_columns(), strict=True):
            numeric[column] = (kinds == kind).astype(float).to_numpy()
    return numeric


def _midrank_percentile(sorted_values: np.ndarray, value: float) -> float:
    """Share of the portfolio below ``value``, ties counted half (robust 'where does it sit')."""
    below = np.searchsorted(sorted_values, value, side="left")
    upto = np.searchsorted(sorted_values, value, side="right")
    return float((below + upto) / 2 / len(sorted_values))


def build_segment_profiles(
    customer_features: pd.DataFrame,
    segment_assignments: pd.DataFrame,
    id_column: str,
    params: Mapping[str, Any],
    described: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per segment: size, share, volume shares, top features, mean/median/z/pct, and the share of each
    value of the ``described`` text columns (categoricals, labels)."""
    frame = customer_features.merge(
        segment_assignments[[id_column, SEGMENT]], on=id_column, how="inner", validate="one_to_one"
    )
    if len(frame) != len(segment_assignments):
        raise ValueError(
            f"{len(segment_assignments) - len(frame)} assigned customers have no features; "
            "segment_assignments and customer_features must come from the same run"
        )
    values = portfolio_frame(frame.drop(columns=[SEGMENT]), id_column)
    values = values.drop(columns=[c for c in params.get("exclude", []) if c in values.columns])
    segments = frame[SEGMENT].to_numpy()
    grouped = values.groupby(segments)
    means, medians = grouped.mean(), grouped.median()
    portfolio_mean, portfolio_std = values.mean(), values.std(ddof=0)
    z = (means - portfolio_mean) / portfolio_std.where(portfolio_std > 0, np.inf)
    sorted_columns = {col: np.sort(values[col].to_numpy()) for col in values.columns}
    pct = medians.apply(lambda col: col.map(lambda v, name=col.name: _midrank_percentile(sorted_columns[name], v)))

    counts = pd.Series(segments).value_counts()
    table = pd.DataFrame({SEGMENT: means.index, CUSTOMERS: counts.reindex(means.index).to_numpy()})
    table[SHARE] = table[CUSTOMERS] / len(frame)
    absent = {key: column for key, column in params["volume_columns"].items() if column not in values.columns}
    if absent:
        logger.info("profiles: volume shares left out, the table has no column %s", ", ".join(absent.values()))
    for key, column in params["volume_columns"].items():
        if key in absent:
            continue
        total = values[column].sum()
        sums = values[column].groupby(segments).sum().reindex(means.index)
        table[f"{key}_volume_share"] = (sums / total if total > 0 else sums * 0.0).to_numpy()
    table[TOP_FEATURES] = [_top_features(z.loc[seg], int(params["top_features"])) for seg in means.index]
    stats = {"mean": means, "median": medians, "z": z, "pct": pct}
    columns = {
        stat_column(feature, stat): stats[stat][feature].to_numpy() for feature in values.columns for stat in STATS
    }
    parts = [table, pd.DataFrame(columns, index=table.index)]
    if described:
        shares = value_shares(frame, segments, described, int(params["max_values"])).reindex(means.index)
        parts.append(shares.set_index(table.index))
    table = pd.concat(parts, axis=1)
    table = table.sort_values([SHARE, SEGMENT], ascending=[False, True], ignore_index=True)
    logger.debug("Profiled %d segments on %d features", len(table), values.shape[1])
    return table


def _top_features(z_row: pd.Series, count: int) -> str:
    """The ``count`` features furthest from the portfolio, e.g. ``TENURE (-2.4); LIMIT (-0.3)``."""
    top = z_row.abs().sort_values(ascending=False, kind="stable").index[:count]
    return "; ".join(f"{feature} ({z_row[feature]:+.2f})" for feature in top)


def value_shares(frame: pd.DataFrame, segments: np.ndarray, columns: Sequence[str], max_values: int) -> pd.DataFrame:
    """Segments x ``COLUMN=value__share``: each value's share of the segment's customers.

    Values beyond the ``max_values`` most frequent in the portfolio are pooled as ``(other)``; a blank is
    ``(missing)``.
    """
    shares = []
    for column in columns:
        values = frame[column].astype("string").fillna(MISSING_VALUE)
        frequent = values.value_counts(sort=True).index[:max_values]
        values = values.where(values.isin(frequent), OTHER_VALUES)
        table = pd.crosstab(segments, values.to_numpy(), normalize="index")
        ordered = [v for v in [*frequent, OTHER_VALUES] if v in table.columns]
        table = table[ordered]
        table.columns = [stat_column(f"{column}{VALUE_SEP}{value}", SHARE) for value in ordered]
        shares.append(table)
    return pd.concat(shares, axis=1)


def described_values(profiles: pd.DataFrame, column: str) -> pd.DataFrame:
    """Segments x values of one described text column: the share of each value, indexed by segment."""
    prefix, suffix = f"{column}{VALUE_SEP}", f"{SEP}{SHARE}"
    columns = [c for c in profiles.columns if c.startswith(prefix) and c.endswith(suffix)]
    matrix = profiles.set_index(SEGMENT)[columns]
    matrix.columns = [c[len(prefix) : -len(suffix)] for c in columns]
    return matrix


def positive_value(portfolio_shares: pd.Series) -> str | None:
    """The value a label's rate counts: its "yes" (1, true, yes), else the rarer of exactly two values, else None.

    ``portfolio_shares`` maps each value of the label to its share of the portfolio.
    """
    values = [v for v in portfolio_shares.index if v not in (MISSING_VALUE, OTHER_VALUES)]
    for value in values:
        text = str(value).strip().lower()
        if text in POSITIVE_LABELS or _is_one(text):
            return value
    if len(values) == 2:
        return str(portfolio_shares[values].idxmin())
    return None


def _is_one(text: str) -> bool:
    try:
        return float(text) == 1.0
    except ValueError:
        return False
