"""Segment profiles: size, mean/median per feature, position in the portfolio, volume shares."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def midrank_percentile(below: Any, upto: Any, total: int) -> Any:
    """Share of the portfolio below a value, ties counted half, from the counts below it and up to it."""
    return (below + upto) / 2 / total


@dataclass(frozen=True)
class SegmentStatistics:
    """What the segment profiles are assembled from, whichever engine computed it (pandas or Spark).

    Frames are segments x profiled columns, indexed by segment in ascending order."""

    customers: pd.Series
    means: pd.DataFrame
    medians: pd.DataFrame
    sums: pd.DataFrame
    portfolio_mean: pd.Series
    portfolio_std: pd.Series  # population standard deviation (ddof 0)
    pct: pd.DataFrame  # where each segment median sits in the portfolio (midrank percentile)
    value_counts: dict[str, pd.DataFrame]  # per described text column: segments x values, customers


def profile_values(frame: pd.DataFrame, id_column: str, params: Mapping[str, Any]) -> pd.DataFrame:
    """The numeric columns profiled (``portfolio_frame`` less ``params['exclude']``) of ``frame`` without its
    segment."""
    values = portfolio_frame(frame.drop(columns=[SEGMENT], errors="ignore"), id_column)
    return values.drop(columns=[c for c in params.get("exclude", []) if c in values.columns])


def described_text(frame: pd.DataFrame, column: str) -> pd.Series:
    """A described column's values as text, a blank as ``(missing)``."""
    return frame[column].astype("string").fillna(MISSING_VALUE)


def segment_statistics(
    frame: pd.DataFrame, id_column: str, params: Mapping[str, Any], described: Sequence[str]
) -> SegmentStatistics:
    """The profile statistics of customers with their ``segment`` column, computed by pandas."""
    values = profile_values(frame, id_column, params)
    segments = frame[SEGMENT].to_numpy()
    grouped = values.groupby(segments)
    means, medians = grouped.mean(), grouped.median()
    sorted_columns = {col: np.sort(values[col].to_numpy()) for col in values.columns}
    total = len(values)

    def pct_of(col: pd.Series) -> pd.Series:
        ordered = sorted_columns[col.name]
        below = np.searchsorted(ordered, col.to_numpy(), side="left")
        upto = np.searchsorted(ordered, col.to_numpy(), side="right")
        return pd.Series(midrank_percentile(below, upto, total), index=col.index)

    counts = {column: pd.crosstab(segments, described_text(frame, column).to_numpy()) for column in described}
    return SegmentStatistics(
        customers=pd.Series(segments).value_counts().reindex(means.index),
        means=means,
        medians=medians,
        sums=grouped.sum(),
        portfolio_mean=values.mean(),
        portfolio_std=values.std(ddof=0),
        pct=medians.apply(pct_of),
        value_counts=counts,
    )


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
    check_every_assigned_profiled(len(frame), len(segment_assignments))
    return assemble_profiles(segment_statistics(frame, id_column, params, described), params)


def check_every_assigned_profiled(profiled: int, assigned: int) -> None:
    """Refuse profiles that miss assigned customers (assignments and features from different runs)."""
    if profiled != assigned:
        raise ValueError(
            f"{assigned - profiled} assigned customers have no features; "
            "segment_assignments and customer_features must come from the same run"
        )


def assemble_profiles(stats: SegmentStatistics, params: Mapping[str, Any]) -> pd.DataFrame:
    """The profiles table (one row per segment, largest first) from the segment statistics."""
    means, medians = stats.means, stats.medians
    z = (means - stats.portfolio_mean) / stats.portfolio_std.where(stats.portfolio_std > 0, np.inf)
    total = int(stats.customers.sum())
    table = pd.DataFrame({SEGMENT: means.index, CUSTOMERS: stats.customers.reindex(means.index).to_numpy()})
    table[SHARE] = table[CUSTOMERS] / total
    absent = {key: column for key, column in params["volume_columns"].items() if column not in means.columns}
    if absent:
        logger.info("profiles: volume shares left out, the table has no column %s", ", ".join(absent.values()))
    for key, column in params["volume_columns"].items():
        if key in absent:
            continue
        sums = stats.sums[column].reindex(means.index)
        volume = sums.sum()
        table[f"{key}_volume_share"] = (sums / volume if volume > 0 else sums * 0.0).to_numpy()
    table[TOP_FEATURES] = [_top_features(z.loc[seg], int(params["top_features"])) for seg in means.index]
    matrices = {"mean": means, "median": medians, "z": z, "pct": stats.pct}
    columns = {
        stat_column(feature, stat): matrices[stat][feature].to_numpy() for feature in means.columns for stat in STATS
    }
    parts = [table, pd.DataFrame(columns, index=table.index)]
    if stats.value_counts:
        shares = value_shares(stats.value_counts, int(params["max_values"])).reindex(means.index)
        parts.append(shares.set_index(table.index))
    table = pd.concat(parts, axis=1)
    table = table.sort_values([SHARE, SEGMENT], ascending=[False, True], ignore_index=True)
    logger.debug("Profiled %d segments on %d features", len(table), means.shape[1])
    return table


def _top_features(z_row: pd.Series, count: int) -> str:
    """The ``count`` features furthest from the portfolio, e.g. ``TENURE (-2.4); LIMIT (-0.3)``."""
    top = z_row.abs().sort_values(ascending=False, kind="stable").index[:count]
    return "; ".join(f"{feature} ({z_row[feature]:+.2f})" for feature in top)


def value_shares(value_counts: Mapping[str, pd.DataFrame], max_values: int) -> pd.DataFrame:
    """Segments x ``COLUMN=value__share``: each value's share of the segment's customers.

    ``value_counts`` holds, per column, segments x values of customers. Values beyond the ``max_values`` most
    frequent in the portfolio are pooled as ``(other)``; a blank is ``(missing)``.
    """
    shares = []
    for column, counts in value_counts.items():
        frequent = counts.sum().sort_values(ascending=False, kind="stable").index[:max_values]
        table = counts[list(frequent)].copy()
        others = counts.drop(columns=list(frequent)).sum(axis=1)
        if others.any():
            table[OTHER_VALUES] = others
        table = table.div(table.sum(axis=1), axis=0)
        table.columns = [stat_column(f"{column}{VALUE_SEP}{value}", SHARE) for value in table.columns]
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
