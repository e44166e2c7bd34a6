"""Exact medians on Spark, over a whole frame or per group, without holding a column in one buffer."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

GROUP = "_group"  # the grouping column of a whole-frame median
BRACKET_ACCURACY = 1_000  # percentile_approx accuracy: the bracket's rank error is at most 1/1,000 of a group


def col(name: str) -> Column:
    """A column by its exact name (a table's own column may hold a dot or a space)."""
    return F.col(f"`{name}`")


def exact_medians(
    frame: DataFrame, columns: list[str], by: str | None = None, sizes: pd.DataFrame | None = None, band: float = 0.01
) -> pd.DataFrame:
    """Each column's exact median per value of ``by`` (or over the whole frame): groups x columns.

    Spark's exact ``percentile`` keeps every value of a group in one buffer (10M customers ran a 4 GB
    driver out of memory), so: approximate quantiles bracket each median; customers below a bracket and tied at
    its ends are counted, the distinct values strictly inside it (about ``2 * band`` of a group at most) come to
    the driver with their counts, and the two middle order statistics are read off them. A bracket that misses
    them is widened until every bracket holds them. An empty group's median is NaN.
    """
    if by is None:
        frame, by = frame.withColumn(GROUP, F.lit(0)), GROUP
    if sizes is None:  # values per group and column (``n<i>``), unless the caller counted them already
        sizes = frame.groupBy(by).agg(*(F.count(col(c)).alias(f"n{i}") for i, c in enumerate(columns))).toPandas()
        sizes = sizes.set_index(by).sort_index()
    medians = pd.DataFrame(index=sizes.index, columns=columns, dtype=float)
    pending = {(group, i) for group in sizes.index for i in range(len(columns)) if sizes.at[group, f"n{i}"] > 0}
    while pending:
        found = _bracketed_medians(frame, columns, by, sizes, band)
        for group, i in list(pending):
            if (group, i) in found:
                medians.at[group, columns[i]] = found[(group, i)]
                pending.discard((group, i))
        if pending and band >= 0.5:
            raise RuntimeError(f"could not bracket the medians {sorted(pending)}")  # every value was inside
        band = min(band * 4, 0.5)
    return medians


def _bracketed_medians(
    frame: DataFrame, columns: list[str], by: str, sizes: pd.DataFrame, band: float
) -> dict[tuple[Any, int], float]:
    """The medians whose order statistics fall inside this band's brackets, by (group, column index)."""
    quantiles = [max(0.5 - band, 0.0), min(0.5 + band, 1.0)]
    brackets = frame.groupBy(by).agg(
        *(F.percentile_approx(col(c), quantiles, BRACKET_ACCURACY).alias(f"q{i}") for i, c in enumerate(columns))
    )
    bounds = brackets.select(
        by,
        *(F.col(f"q{i}")[0].alias(f"lo{i}") for i in range(len(columns))),
        *(F.col(f"q{i}")[1].alias(f"hi{i}") for i in range(len(columns))),
    ).toPandas()  # computed once (two passes below use it), a row per group
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
