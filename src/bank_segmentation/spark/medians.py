"""Exact medians on Spark, over a whole frame or per group, without holding a column in one buffer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

GROUP = "_group"  # the grouping column of a whole-frame median
BRACKET_SAMPLE_ROWS = 200_000  # the brackets are read off a seeded sample of this many rows of a larger frame
BRACKET_SAMPLE_SEED = 20240601
BRACKET_SIGMAS = 5  # a bracket reaches this many standard errors of the sample median's rank either side


def col(name: str) -> Column:
    """A column by its exact name (a table's own column may hold a dot or a space)."""
    return F.col(f"`{name}`")


def exact_medians(
    frame: DataFrame, columns: list[str], by: str | None = None, sizes: pd.DataFrame | None = None, band: float = 0.01
) -> pd.DataFrame:
    """Each column's exact median per value of ``by`` (or over the whole frame): groups x columns.

    Spark's exact ``percentile`` keeps every value of a group in one buffer (10M customers ran a 4 GB
    driver out of memory), so: a seeded sample's quantiles bracket each median; customers below a bracket and
    tied at its ends are counted, the distinct values strictly inside it (about ``2 * band`` of a group, more
    for a small group's sampling error) come to the driver with their counts, and the two middle order
    statistics are read off them. A bracket that misses them is widened until every bracket holds them. An
    empty group's median is NaN.
    """
    if by is None:
        frame, by = frame.withColumn(GROUP, F.lit(0)), GROUP
    if sizes is None:  # values per group and column (``n<i>``), unless the caller counted them already
        sizes = frame.groupBy(by).agg(*(F.count(col(c)).alias(f"n{i}") for i, c in enumerate(columns))).toPandas()
        sizes = sizes.set_index(by).sort_index()
    rows = int(sizes.max(axis=1).sum())
    sampled = rows > BRACKET_SAMPLE_ROWS
    picked = frame.select(by, *(col(c) for c in columns))
    if sampled:
        picked = picked.sample(fraction=BRACKET_SAMPLE_ROWS / rows, seed=BRACKET_SAMPLE_SEED)
    sample = picked.toPandas()
    medians = pd.DataFrame(index=sizes.index, columns=columns, dtype=float)
    pending = {(group, i) for group in sizes.index for i in range(len(columns)) if sizes.at[group, f"n{i}"] > 0}
    while pending:
        bounds = _brackets(sample, sizes.index, columns, by, band, sampled)
        found = _bracketed_medians(frame, columns, by, sizes, bounds)
        for group, i in list(pending):
            if (group, i) in found:
                medians.at[group, columns[i]] = found[(group, i)]
                pending.discard((group, i))
        if pending and band >= 0.5:
            raise RuntimeError(f"could not bracket the medians {sorted(pending)}")  # every value was inside
        band = min(band * 4, 0.5)
    return medians


def _brackets(
    sample: pd.DataFrame, groups: pd.Index, columns: list[str], by: str, band: float, sampled: bool
) -> pd.DataFrame:
    """Per group, each column's bracket (``lo<i>``, ``hi<i>``) around its median, read off the sample: wider for a
    group with few sampled rows; unbounded at the widest band, or where the sample holds no value."""
    parts = dict(iter(sample.groupby(by)))
    rows = []
    for group in groups:
        part = parts.get(group, sample.iloc[:0])
        row: dict[str, Any] = {by: group}
        for i, column in enumerate(columns):
            values = part[column].dropna().to_numpy(dtype=float)
            half = band + (BRACKET_SIGMAS * 0.5 / np.sqrt(len(values)) if sampled and len(values) else 0.0)
            if band >= 0.5 or not len(values) or half >= 0.5:
                row[f"lo{i}"], row[f"hi{i}"] = -np.inf, np.inf
            else:
                row[f"lo{i}"] = float(np.quantile(values, 0.5 - half, method="lower"))
                row[f"hi{i}"] = float(np.quantile(values, 0.5 + half, method="higher"))
        rows.append(row)
    return pd.DataFrame(
        rows, columns=[by, *(f"lo{i}" for i in range(len(columns))), *(f"hi{i}" for i in range(len(columns)))]
    )


def _bracketed_medians(
    frame: DataFrame, columns: list[str], by: str, sizes: pd.DataFrame, bounds: pd.DataFrame
) -> dict[tuple[Any, int], float]:
    """The medians whose order statistics fall inside their brackets, by (group, column index)."""
    joined = frame.join(F.broadcast(frame.sparkSession.createDataFrame(bounds)), on=by)
    # customers below each bracket and tied at its ends are counted: a column where most customers tie (tenure 12,
    # a frequency of 0) has its bracket's end at the tie, and millions of customers there are one count
    counted = {
        "below": lambda c, i: col(c) < F.col(f"lo{i}"),
        "at_lo": lambda c, i: col(c) == F.col(f"lo{i}"),
        "at_hi": lambda c, i: (col(c) == F.col(f"hi{i}")) & (F.col(f"hi{i}") > F.col(f"lo{i}")),
    }
    counts = joined.groupBy(by).agg(
        *(
            F.sum(rule(c, i).cast("long")).alias(f"{name}{i}")
            for name, rule in counted.items()
            for i, c in enumerate(columns)
        )
    )
    counts = counts.toPandas().set_index(by)
    # the distinct values strictly inside a bracket (at most about 2 * band of a group) with their counts
    open_columns = [i for i in range(len(columns)) if (bounds[f"hi{i}"] > bounds[f"lo{i}"]).any()]
    hits = F.array(
        *(
            F.when(
                (col(columns[i]) > F.col(f"lo{i}")) & (col(columns[i]) < F.col(f"hi{i}")),
                F.struct(F.lit(i).alias("i"), col(columns[i]).alias("v")),
            )
            for i in open_columns
        )
    )
    inside = (
        joined.select(by, F.explode(F.filter(hits, lambda hit: hit.isNotNull())).alias("hit"))  # hits only
        .groupBy(by, "hit.i", "hit.v")
        .count()
        .toPandas()
        if open_columns
        else pd.DataFrame(columns=[by, "i", "v", "count"])
    )
    interior = {key: part for key, part in inside.groupby([by, "i"])}
    limits = bounds.set_index(by)
    found = {}
    for group in counts.index:
        for i in range(len(columns)):
            n = int(sizes.at[group, f"n{i}"]) if group in sizes.index else 0
            if n == 0:
                continue
            lo, hi = limits.at[group, f"lo{i}"], limits.at[group, f"hi{i}"]
            part = interior.get((group, i), inside.iloc[:0])
            values = pd.concat(
                [
                    pd.DataFrame(
                        {"v": [lo, hi], "count": [counts.at[group, f"at_lo{i}"], counts.at[group, f"at_hi{i}"]]}
                    ),
                    part[["v", "count"]],
                ]
            )
            values = values[values["count"].fillna(0) > 0].sort_values("v")
            if values.empty:
                continue
            first, second = (n - 1) // 2, n // 2  # the 0-based order statistics whose midpoint is the median
            skipped = int(counts.at[group, f"below{i}"] or 0)
            reached = skipped + values["count"].astype("int64").cumsum().to_numpy()  # order statistics up to each value
            if skipped <= first and reached[-1] > second:
                ordered = values["v"].to_numpy(dtype=float)
                found[(group, i)] = (ordered[(reached > first).argmax()] + ordered[(reached > second).argmax()]) / 2
    return found
