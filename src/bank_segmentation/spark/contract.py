"""The customer-table contract on Spark: the rules of ``core.validation`` as Spark column expressions.

The same header matching, number reading, rules, policies, quarantine file and report as the pandas path,
evaluated by Spark over every row (no row-wise Python function). Rows in = rows kept + rows quarantined.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bank_segmentation.core.errors import DataContractError
from bank_segmentation.core.settings import NumberFormat, Schema
from bank_segmentation.core.validation import (
    COLUMN_RULES,
    HEADER_LINE_OFFSET,
    MISSING_TOKENS,
    REJECTED_LINE,
    REJECTED_REASONS,
    check_policies,
    header_mapping,
    rule_columns,
)

logger = logging.getLogger(__name__)

POSITION = "_position"  # a row's 0-based position in the file: its line is position + HEADER_LINE_OFFSET
WHITESPACE = " \t\n\x0b\x0c\r"  # what \s matches in Spark's regular expressions (ASCII whitespace)
REPEAT = "_repeated_id"  # the id was on an earlier line
# What a number looks like once the export's formatting is removed (Spark's cast alone would also take "1.5d").
PLAIN_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?([iI][nN][fF]([iI][nN][iI][tT][yY])?)$"
# Rules in the order the pandas path lists a row's reasons.
RULE_ORDER = ("numeric_type", "id_not_empty", "id_unique", "finite", "magnitude", "non_negative")
RULE_ORDER += ("frequency_range", "tenure_min")


@dataclass
class SparkValidation:
    """What the contract kept, what it quarantined (raw text, line, reasons) and its report."""

    kept: DataFrame
    rejected: DataFrame
    report: dict[str, Any]


def with_positions(raw: DataFrame) -> DataFrame:
    """Each row's position in the file, from per-partition row counts (no global sort, no Python per row)."""
    tagged = raw.withColumn("_partition", F.spark_partition_id()).withColumn("_id", F.monotonically_increasing_id())
    counts = sorted((row["_partition"], row["count"]) for row in tagged.groupBy("_partition").count().collect())
    offsets, total = {}, 0
    for partition, count in counts:
        offsets[partition], total = total, total + count
    offset = F.create_map(*chain.from_iterable((F.lit(p), F.lit(o)) for p, o in offsets.items()))
    # monotonically_increasing_id is (partition << 33) + the row's number within its partition
    within = F.col("_id") - F.shiftleft(F.col("_partition").cast("long"), 33)
    return tagged.withColumn(POSITION, offset[F.col("_partition")] + within).drop("_partition", "_id")


def _strip(column: Column) -> Column:
    """The text without the whitespace around it (a character trim: a regular expression per cell costs 13 s
    of a pass over 10M rows)."""
    return F.trim(column, F.lit(WHITESPACE))


def parse_numbers(table: DataFrame, columns: list[str], style: NumberFormat, decimal: str) -> DataFrame:
    """Each text column read as ``core.validation.parse_numbers`` reads it: the number (same name), whether
    the cell held text that is not a number (``_text_<col>``) and the cell as written (``_raw_<col>``).

    In steps, each selecting columns the next one refers to: one expression per cell would repeat the
    export-format parsing and outgrow Java's 64 KB limit for generated code on wide tables.
    """
    others = [c for c in table.columns if c not in columns]
    stripped = table.select(
        *others, *(F.col(c).alias(f"_raw_{c}") for c in columns), *(_strip(F.col(c)).alias(c) for c in columns)
    )
    missing = {c: F.col(c).isNull() | F.lower(F.col(c)).isin(sorted(MISSING_TOKENS)) for c in columns}
    valued = stripped.select(
        *others,
        *(f"_raw_{c}" for c in columns),
        *(missing[c].alias(f"_missing_{c}") for c in columns),
        *(
            F.when(~missing[c], F.coalesce(_plain(F.col(c), decimal), _formatted(F.col(c), style, decimal))).alias(c)
            for c in columns
        ),
    )
    return valued.select(
        *others,
        *(f"_raw_{c}" for c in columns),
        *columns,
        *((F.col(c).isNull() & ~F.col(f"_missing_{c}")).alias(f"_text_{c}") for c in columns),
    )


def _plain(text: Column, decimal: str) -> Column:
    """A number written plainly (a decimal comma allowed where the export uses one); null otherwise."""
    plain = text if decimal == "." else F.regexp_replace(text, re.escape(decimal), ".")
    return F.when(plain.rlike(PLAIN_NUMBER), plain.try_cast("double"))


def _formatted(text: Column, style: NumberFormat, decimal: str) -> Column:
    """Numbers written with currency symbols, thousands separators or accounting negatives; null otherwise."""
    cleaned = text
    if style.parentheses_negative:
        cleaned = F.regexp_replace(cleaned, r"^\((.*)\)$", "-$1")
    if style.currency_symbols:
        symbols = "|".join(re.escape(symbol) for symbol in style.currency_symbols)
        cleaned = _strip(F.regexp_replace(cleaned, rf"^(-?)\s*(?:{symbols})\s*|\s*(?:{symbols})$", "$1"))
    separators = [sep for sep in style.thousands_separators if sep != decimal]
    if separators:
        group = "|".join(re.escape(sep) for sep in separators)
        grouped = cleaned.rlike(rf"^-?\d{{1,3}}(?:(?:{group})\d{{3}})+(?:{re.escape(decimal)}\d*)?$")
        ungrouped = F.regexp_replace(cleaned, rf"(?<=\d)(?:{group})(?=\d{{3}})", "")
        cleaned = F.when(grouped, ungrouped).otherwise(cleaned)
    if decimal != ".":
        cleaned = F.regexp_replace(cleaned, re.escape(decimal), ".")
    return F.when(cleaned.rlike(PLAIN_NUMBER), cleaned.try_cast("double"))


def _shown(value: Column) -> Column:
    """A parsed value as the pandas path shows it in a reason (``inf`` rather than Java's ``Infinity``)."""
    return F.when(value == float("inf"), "inf").when(value == float("-inf"), "-inf").otherwise(value.cast("string"))


def _rule_tests(schema: Schema, max_abs_value: float) -> dict[str, tuple[list[str], Any]]:
    """Each range rule: its columns (``core.validation.rule_columns``) and the test a present value passes."""
    inf = float("inf")

    def finite(v: Column) -> Column:
        return ~v.isin(inf, -inf)

    tests = {
        "finite": finite,
        "magnitude": lambda v: (F.abs(v) <= max_abs_value) | ~finite(v),
        "non_negative": lambda v: (v >= 0) | ~finite(v),
        "frequency_range": lambda v: v.between(0, 1),
        "tenure_min": lambda v: v >= 1,
    }
    return {rule: (columns, tests[rule]) for rule, columns in rule_columns(schema).items()}


def validate_spark_table(
    raw: DataFrame, schema: Schema, params: Mapping[str, Any], source: str, delimiter: str = ","
) -> SparkValidation:
    """Apply the contract to a raw text table on Spark: repair, quarantine or fail, rule by rule."""
    policies = params["policies"]
    check_policies(policies)
    renames, extras, optional = header_mapping(raw.columns, schema, source)
    if extras:
        logger.warning("%s: ignoring %d unknown column(s): %s", source, len(extras), extras[:10])
    if not raw.take(1):
        raise DataContractError("the file has a header but no rows", source=source, rule="not_empty")
    raw = with_positions(raw)
    table = raw.select(
        POSITION,
        *(F.col(f"`{name}`").alias(column) for name, column in renames.items()),
        *(F.lit(None).cast("string").alias(column) for column in optional),
    )
    style = NumberFormat.model_validate(params.get("numbers", {}))
    decimal = style.decimal if style.decimal != "auto" else "," if delimiter == ";" else "."

    ids = _strip(F.col(schema.id_column))
    texts = {c: _strip(F.col(c)) for c in schema.text_columns}  # carried as written
    table = table.select(
        POSITION,
        F.when(ids != "", ids).alias(schema.id_column),
        *(F.when(text != "", text).alias(c) for c, text in texts.items()),
        *schema.feature_columns,
    )
    # Repeated ids from the (id, position) pairs alone: the window sorts two narrow columns, not the whole
    # table, and its few hits join the table by broadcast
    identifier = F.col(schema.id_column)
    first = Window.partitionBy(identifier).orderBy(POSITION)
    repeats = (
        table.select(POSITION, identifier)
        .where(identifier.isNotNull())
        .withColumn(REPEAT, F.row_number().over(first) > 1)
        .where(F.col(REPEAT))
        .select(POSITION, REPEAT)
    )
    parsed = parse_numbers(table, schema.feature_columns, style, decimal)
    parsed = parsed.join(F.broadcast(repeats), on=POSITION, how="left")
    flags: dict[tuple[str, str], Column] = {}
    shown: dict[tuple[str, str], Column] = {}
    for column in schema.feature_columns:
        flags[("numeric_type", column)] = F.col(f"_text_{column}")
        shown[("numeric_type", column)] = F.col(f"_raw_{column}")

    flags[("id_not_empty", schema.id_column)] = identifier.isNull()
    shown[("id_not_empty", schema.id_column)] = F.lit("None")
    flags[("id_unique", schema.id_column)] = F.coalesce(F.col(REPEAT), F.lit(False))
    shown[("id_unique", schema.id_column)] = identifier
    for rule, (columns, test) in _rule_tests(schema, params["max_abs_value"]).items():
        for column in columns:
            value = F.col(column)
            flags[(rule, column)] = value.isNotNull() & ~test(value)
            shown[(rule, column)] = _shown(value)
    ordered = sorted(flags, key=lambda key: (RULE_ORDER.index(key[0]), _column_order(schema, key[1])))
    names = {key: f"_flag_{i}" for i, key in enumerate(ordered)}
    # on local disk, not the JVM's heap: the wide text of every row would crowd the driver's memory
    flagged = parsed.select("*", *(flags[key].alias(names[key]) for key in ordered)).persist(StorageLevel.DISK_ONLY)

    counts = _counts(flagged, names, schema)
    empty = [
        c for c in schema.feature_columns if counts[f"_present_{c}"] == 0 and counts[names[("numeric_type", c)]] == 0
    ]
    return _apply_policies(flagged, raw, names, shown, counts, empty, schema, params, source, extras)


def _column_order(schema: Schema, column: str) -> int:
    columns = [schema.id_column, *schema.columns]
    return columns.index(column)


def _counts(flagged: DataFrame, names: Mapping[tuple[str, str], str], schema: Schema) -> dict[str, int]:
    """Violations of every (rule, column), present values of every feature, and rows: one pass."""
    aggregates = [F.sum(F.col(name).cast("long")).alias(name) for name in names.values()]
    aggregates += [F.count(F.col(c)).alias(f"_present_{c}") for c in schema.feature_columns]
    row = flagged.agg(F.count(F.lit(1)).alias("_rows"), *aggregates).collect()[0]
    return {key: int(row[key] or 0) for key in row.asDict()}


def _apply_policies(
    flagged: DataFrame,
    raw: DataFrame,
    names: Mapping[tuple[str, str], str],
    shown: Mapping[tuple[str, str], Column],
    counts: Mapping[str, int],
    empty: list[str],
    schema: Schema,
    params: Mapping[str, Any],
    source: str,
    extras: list[str],
) -> SparkValidation:
    """Turn the violations into repairs, quarantined rows or a fatal error (as ``core.validation``)."""
    policies = params["policies"]
    repairs: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    reasons, repaired = [], flagged
    for (rule, column), name in names.items():
        found = counts[name]
        if not found:
            continue
        if policies[rule] == "fail":
            raise DataContractError(
                f"{found} row(s) break this rule (policy: fail)",
                source=source,
                column=column,
                rule=rule,
                examples=_examples(flagged, name, shown[(rule, column)], params["example_rows"]),
            )
        if policies[rule] == "repair":
            repaired = _repair(repaired, rule, column, F.col(name))
            repairs[f"{rule}:{column}"] = found
            continue
        quarantined[f"{rule}:{column}"] = found
        reasons.append(F.when(F.col(name), F.concat(F.lit(f"{rule}: {column}="), shown[(rule, column)])))
    for column in empty:
        rule = next(iter(COLUMN_RULES))
        if policies[rule] == "fail":
            raise DataContractError(
                "1 row(s) break this rule (policy: fail)",
                source=source,
                column=column,
                rule=rule,
                examples=[f"line {HEADER_LINE_OFFSET}: 'every value missing'"],
            )
        repaired = repaired.withColumn(column, F.lit(0.0))
        repairs[f"{rule}:{column}"] = counts["_rows"]
    why = F.concat_ws(" | ", *reasons) if reasons else F.lit("")
    judged = repaired.withColumn(REJECTED_REASONS, why)
    bad = F.col(REJECTED_REASONS) != ""
    n_rows = counts["_rows"]
    n_bad = judged.filter(bad).count() if reasons else 0
    _fail_when_too_many_rejected(judged, n_bad, n_rows, quarantined, names, shown, params, source)
    kept = judged.filter(~bad).select(POSITION, schema.id_column, *schema.columns)
    lines = judged.filter(bad).select(POSITION, REJECTED_REASONS)
    if not n_bad:
        lines = lines.limit(0)  # known empty: the file is not read again to join it
    rejected = (
        raw.join(lines, POSITION)
        .withColumn(REJECTED_LINE, F.col(POSITION) + HEADER_LINE_OFFSET)
        .select(REJECTED_LINE, REJECTED_REASONS, *(c for c in raw.columns if c != POSITION))
    )
    report = {
        "source": source,
        "rows_in": n_rows,
        "rows_kept": n_rows - n_bad,
        "rows_quarantined": n_bad,
        "repairs": repairs,
        "quarantined": quarantined,
        "ignored_columns": extras,
    }
    for key, count in repairs.items():
        logger.info("%s: repaired %d value(s) (%s)", source, count, key)
    if n_bad:
        logger.warning("%s: quarantined %d row(s): %s", source, n_bad, quarantined)
    return SparkValidation(kept=kept, rejected=rejected, report=report)


def _repair(frame: DataFrame, rule: str, column: str, hit: Column) -> DataFrame:
    """Fix the violating cells: bad numbers become missing, ranges are clipped (as ``core.validation._repair``)."""
    value = F.col(column)
    if rule in ("numeric_type", "finite"):
        fixed = F.lit(None).cast("double")
    elif rule == "magnitude":
        bound = frame.filter(~hit).agg(F.max(F.abs(value))).collect()[0][0] or 0.0
        fixed = F.signum(value) * F.lit(float(bound))
    elif rule == "non_negative":
        fixed = F.lit(0.0)
    elif rule == "frequency_range":
        fixed = F.least(F.greatest(value, F.lit(0.0)), F.lit(1.0))
    else:  # tenure_min
        fixed = F.lit(1.0)
    return frame.withColumn(column, F.when(hit, fixed).otherwise(value))


def _examples(frame: DataFrame, flag: str, shown: Column, limit: int) -> list[str]:
    """'line N: value' strings for the first ``limit`` violations, in file order."""
    rows = frame.filter(F.col(flag)).orderBy(POSITION).select(POSITION, shown.alias("_shown")).limit(limit).collect()
    return [f"line {row[POSITION] + HEADER_LINE_OFFSET}: {row['_shown']!r}" for row in rows]


def _fail_when_too_many_rejected(
    judged: DataFrame,
    n_bad: int,
    n_rows: int,
    quarantined: Mapping[str, int],
    names: Mapping[tuple[str, str], str],
    shown: Mapping[tuple[str, str], Column],
    params: Mapping[str, Any],
    source: str,
) -> None:
    """Stop when quarantine would leave no rows, or more than the tolerated share (as the pandas path)."""
    tolerated = params["max_quarantine_share"]
    if (n_bad < n_rows or tolerated >= 1) and n_bad <= tolerated * n_rows:
        return
    top = max(quarantined, key=quarantined.get)
    key = tuple(top.split(":", 1))
    what = (
        "no valid rows remain"
        if n_bad == n_rows
        else f"{n_bad} of {n_rows} rows would be quarantined, above max_quarantine_share={tolerated}"
    )
    raise DataContractError(
        f"{what}; the most frequent problem is shown",
        source=source,
        column=key[1],
        rule=key[0],
        examples=_examples(judged, names[key], shown[key], params["example_rows"]),
    )
