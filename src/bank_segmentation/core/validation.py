"""The customer-table contract: header matching, numeric parsing and per-rule policies.

Every rule has a policy from ``params:validation.policies``:
``repair`` fixes the value and counts it, ``quarantine`` moves the row to the rejected-rows file with every
reason, ``fail`` stops the run with a message that names the file, the column, the rule and example rows.
Rows in = rows kept + rows quarantined, always.
"""

from __future__ import annotations

import csv
import difflib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from bank_segmentation.core.errors import ConfigurationError, DataContractError
from bank_segmentation.core.settings import NumberFormat, Schema

# What the dataset that reads a customer export records in ``DataFrame.attrs``: the file (for error messages)
# and the delimiter it detected (a ";" export writes decimal commas).
SOURCE_ATTR = "source"
DELIMITER_ATTR = "delimiter"
DELIMITERS = ",;\t|"  # the delimiters an export may use

logger = logging.getLogger(__name__)

POLICIES = ("repair", "quarantine", "fail")
# Rules whose repair has a meaning; the others accept quarantine or fail only.
REPAIRABLE = {
    "numeric_type",
    "finite",
    "magnitude",
    "non_negative",
    "frequency_range",
    "tenure_min",
    "column_not_empty",
}
# Column-level rules: quarantining every row is never the answer, so they repair or fail.
COLUMN_RULES = {"column_not_empty"}
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})
HEADER_LINE_OFFSET = 2  # file line = row position + header line + 1-based numbering
REJECTED_LINE = "line"
REJECTED_REASONS = "reasons"


@dataclass
class ValidationOutcome:
    """What validation kept, what it quarantined and what it changed."""

    kept: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def sniff_delimiter(header: str) -> str:
    """The delimiter of an export's header line (one of ``DELIMITERS``); a comma when it cannot tell."""
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def normalise_header(name: object) -> str:
    """Header key for tolerant matching: no BOM, no surrounding spaces, upper case."""
    return str(name).replace("\ufeff", "").strip().upper()


def header_mapping(
    columns: Sequence[object], schema: Schema, source: str
) -> tuple[dict[Any, str], list[str], list[str]]:
    """Which header becomes which schema column, the extra headers, and the optional columns the file lacks;
    fails on a missing required column."""
    wanted = {normalise_header(col): col for col in [schema.id_column, *schema.columns]}
    renames, extras = {}, []
    for col in columns:
        key = normalise_header(col)
        if key in wanted and wanted[key] not in renames.values():
            renames[col] = wanted[key]
        else:
            extras.append(str(col))
    absent = [col for col in wanted.values() if col not in renames.values()]
    optional = [col for col in absent if col in schema.optional_columns]
    if optional:
        logger.warning("%s: no column %s: left blank in the outputs", source, ", ".join(optional))
    missing = [col for col in absent if col not in optional]
    if missing:
        found = ", ".join(map(str, list(columns)[:8])) + (" ..." if len(columns) > 8 else "")
        hint = " (the file has a single column: is the delimiter one of , ; tab |?)" if len(columns) == 1 else ""
        close = {col: difflib.get_close_matches(col, list(map(str, extras)), n=1) for col in missing}
        hint += "".join(f"; did you mean {match[0]!r} for {col!r}?" for col, match in close.items() if match)
        raise DataContractError(
            f"required column(s) {missing} not found; the header has: {found}{hint}",
            source=source,
            column=missing[0],
            rule="required_columns",
        )
    return renames, extras, optional


def match_columns(raw: pd.DataFrame, schema: Schema, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Rename raw headers to the schema's names; fail on missing columns, return the extras."""
    renames, extras, optional = header_mapping(list(raw.columns), schema, source)
    table = raw.rename(columns=renames).assign(**dict.fromkeys(optional, pd.NA))
    return table[[schema.id_column, *schema.columns]], extras


def parse_numbers(text: pd.Series, style: NumberFormat, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Numbers from text cells as exports write them, and the mask of cells that hold text that is not a number.

    Surrounding spaces, currency symbols, thousands separators between digit groups and (if asked)
    accounting negatives ``(1,234.50)`` are read; anything else that is not a number stays text, so it is
    reported with its raw value instead of being guessed.
    """
    stripped = text.astype("string").str.strip()
    missing = stripped.isna() | stripped.str.lower().isin(MISSING_TOKENS)
    plain = stripped if decimal == "." else stripped.str.replace(decimal, ".", regex=False)
    values = pd.to_numeric(plain.where(~missing), errors="coerce").astype("float64")
    formatted = values.isna() & ~missing  # only these few cells pay for the export-format parsing
    if formatted.any():
        values[formatted] = _parse_formatted(stripped[formatted], style, decimal)
    return values, values.isna() & ~missing


def _parse_formatted(text: pd.Series, style: NumberFormat, decimal: str) -> pd.Series:
    """Numbers written with currency symbols, thousands separators or accounting negatives; NaN otherwise."""
    cleaned = text
    if style.parentheses_negative:
        cleaned = cleaned.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    if style.currency_symbols:
        symbols = "|".join(re.escape(symbol) for symbol in style.currency_symbols)
        cleaned = cleaned.str.replace(rf"^(-?)\s*(?:{symbols})\s*|\s*(?:{symbols})$", r"\1", regex=True).str.strip()
    separators = [sep for sep in style.thousands_separators if sep != decimal]
    if separators:
        group = "|".join(re.escape(sep) for sep in separators)
        grouped = cleaned.str.fullmatch(rf"-?\d{{1,3}}(?:(?:{group})\d{{3}})+(?:{re.escape(decimal)}\d*)?")
        ungrouped = cleaned.str.replace(rf"(?<=\d)(?:{group})(?=\d{{3}})", "", regex=True)
        cleaned = cleaned.where(~grouped.fillna(False).astype(bool), ungrouped)
    if decimal != ".":
        cleaned = cleaned.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def rule_columns(schema: Schema) -> dict[str, list[str]]:
    """The columns each range rule covers, by their roles (both engines check these)."""
    return {
        "finite": schema.feature_columns,
        "magnitude": schema.feature_columns,
        "non_negative": schema.columns_with("amount", "count", "limit", "ratio"),
        "frequency_range": schema.columns_with("frequency", "share"),
        "tenure_min": schema.columns_with("tenure"),
    }


def _rule_checks(schema: Schema, max_abs_value: float) -> dict[str, tuple[list[str], Callable[[pd.Series], pd.Series]]]:
    """Each range rule: the columns it covers and the vectorised test a valid value passes."""
    tests: dict[str, Callable[[pd.Series], pd.Series]] = {
        "finite": lambda s: ~np.isinf(s),
        "magnitude": lambda s: s.abs().le(max_abs_value) | np.isinf(s),
        "non_negative": lambda s: s.ge(0) | ~np.isfinite(s),
        "frequency_range": lambda s: s.between(0, 1),
        "tenure_min": lambda s: s.ge(1),
    }
    return {rule: (columns, tests[rule]) for rule, columns in rule_columns(schema).items()}


def build_pandera_schema(schema: Schema, max_abs_value: float) -> pa.DataFrameSchema:
    """The pandera contract of a parsed customer table; check names are the rule names."""
    checks_by_column: dict[str, list[pa.Check]] = {col: [] for col in schema.feature_columns}
    for rule, (columns, test) in _rule_checks(schema, max_abs_value).items():
        for col in columns:
            checks_by_column[col].append(pa.Check(test, name=rule, ignore_na=True))
    columns = {
        schema.id_column: pa.Column(str, nullable=False, unique=True, report_duplicates="exclude_first"),
        **{col: pa.Column(float, checks_by_column[col], nullable=True) for col in schema.feature_columns},
    }
    return pa.DataFrameSchema(columns, strict=False)


PANDERA_RULES = {"not_nullable": "id_not_empty", "field_uniqueness": "id_unique"}


def find_violations(parsed: pd.DataFrame, schema: Schema, max_abs_value: float) -> pd.DataFrame:
    """Every broken rule as rows of (rule, column, index, value)."""
    try:
        build_pandera_schema(schema, max_abs_value).validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        cases = cases[cases["index"].notna()]
        return pd.DataFrame(
            {
                "rule": cases["check"].map(lambda c: PANDERA_RULES.get(c, c)),
                "column": cases["column"],
                "index": cases["index"].astype(int),
                "value": cases["failure_case"].astype(str),
            }
        )
    return pd.DataFrame(columns=["rule", "column", "index", "value"])


def _examples(cases: pd.DataFrame, limit: int) -> list[str]:
    """'line N: value' strings for the first ``limit`` violations."""
    head = cases.head(limit)
    return [f"line {i + HEADER_LINE_OFFSET}: {v!r}" for i, v in zip(head["index"], head["value"])]


def _repair(parsed: pd.DataFrame, rule: str, column: str, index: pd.Index) -> None:
    """Fix the violating cells in place: bad numbers become missing, ranges are clipped."""
    if rule in ("numeric_type", "finite"):
        parsed.loc[index, column] = np.nan
    elif rule == "magnitude":
        bound = float(np.nanmax(np.abs(parsed.loc[~parsed.index.isin(index), column]), initial=0.0))
        parsed.loc[index, column] = np.sign(parsed.loc[index, column]) * bound
    elif rule == "non_negative":
        parsed.loc[index, column] = 0.0
    elif rule == "frequency_range":
        parsed.loc[index, column] = parsed.loc[index, column].clip(0.0, 1.0)
    elif rule == "tenure_min":
        parsed.loc[index, column] = 1.0


def check_policies(policies: Mapping[str, str]) -> None:
    """Reject unknown policies, and repair where a rule cannot be repaired."""
    for rule, policy in policies.items():
        if policy not in POLICIES:
            raise ConfigurationError(f"parameters 'validation.policies.{rule}': {policy!r} not in {POLICIES}")
        if policy == "repair" and rule not in REPAIRABLE:
            raise ConfigurationError(
                f"parameters 'validation.policies.{rule}': this rule cannot be repaired; use quarantine or fail"
            )
        if policy == "quarantine" and rule in COLUMN_RULES:
            raise ConfigurationError(
                f"parameters 'validation.policies.{rule}': a whole column cannot be quarantined; use repair or fail"
            )


def validate_table(raw: pd.DataFrame, schema: Schema, params: Mapping[str, Any]) -> ValidationOutcome:
    """Apply the contract to a raw text table: repair, quarantine or fail, rule by rule."""
    source = raw.attrs.get(SOURCE_ATTR, "<in-memory table>")
    policies = params["policies"]
    check_policies(policies)
    table, extras = match_columns(raw, schema, source)
    if extras:
        logger.warning("%s: ignoring %d unknown column(s): %s", source, len(extras), extras[:10])
    if table.empty:
        raise DataContractError("the file has a header but no rows", source=source, rule="not_empty")

    parsed = pd.DataFrame(index=table.index)
    ids = table[schema.id_column].astype("string").str.strip()
    parsed[schema.id_column] = ids.mask(ids.eq("")).astype(object)
    text_cells = []
    empty_columns = []
    style = NumberFormat.model_validate(params.get("numbers", {}))
    # Semicolon-separated exports come from locales that write decimals with a comma (1234,56).
    decimal = style.decimal if style.decimal != "auto" else "," if raw.attrs.get(DELIMITER_ATTR) == ";" else "."
    for col in schema.feature_columns:
        parsed[col], is_text = parse_numbers(table[col], style, decimal)
        if parsed[col].isna().all() and not is_text.any():
            empty_columns.append(col)
        if is_text.any():
            text_cells.append(
                pd.DataFrame(
                    {
                        "rule": "numeric_type",
                        "column": col,
                        "index": table.index[is_text],
                        "value": table.loc[is_text, col].astype(str),
                    }
                )
            )
    violations = pd.concat(
        [
            *text_cells,
            find_violations(parsed, schema, params["max_abs_value"]),
            *(
                pd.DataFrame({"rule": "column_not_empty", "column": col, "index": [0], "value": "every value missing"})
                for col in empty_columns
            ),
        ],
        ignore_index=True,
    )
    for col in schema.text_columns:  # carried as written: never parsed as numbers, kept for the outputs
        text = table[col].astype("string").str.strip()
        parsed[col] = text.mask(text.eq(""))
    return _apply_policies(raw, parsed, violations, params, source, extras)


def _apply_policies(
    raw: pd.DataFrame,
    parsed: pd.DataFrame,
    violations: pd.DataFrame,
    params: Mapping[str, Any],
    source: str,
    extras: list[str],
) -> ValidationOutcome:
    """Turn the violations into repairs, quarantined rows or a fatal error."""
    policies, n_examples = params["policies"], params["example_rows"]
    repairs: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    reasons: dict[int, list[str]] = {}
    for (rule, column), cases in violations.groupby(["rule", "column"], sort=False):
        policy = policies[rule]
        if policy == "fail":
            raise DataContractError(
                f"{len(cases)} row(s) break this rule (policy: fail)",
                source=source,
                column=column,
                rule=rule,
                examples=_examples(cases, n_examples),
            )
        if rule in COLUMN_RULES and policy == "repair":
            parsed[column] = 0.0
            repairs[f"{rule}:{column}"] = len(parsed)
            continue
        if policy == "repair":
            _repair(parsed, rule, column, pd.Index(cases["index"]))
            repairs[f"{rule}:{column}"] = len(cases)
            continue
        quarantined[f"{rule}:{column}"] = len(cases)
        for idx, value in zip(cases["index"], cases["value"]):
            reasons.setdefault(int(idx), []).append(f"{rule}: {column}={value}")

    bad = pd.Index(sorted(reasons), dtype="int64")
    _fail_when_too_many_rejected(violations, bad, len(parsed), params, source)
    rejected = raw.loc[bad].copy()
    rejected.insert(0, REJECTED_REASONS, [" | ".join(reasons[i]) for i in bad])
    rejected.insert(0, REJECTED_LINE, bad + HEADER_LINE_OFFSET)
    kept = parsed.drop(index=bad).reset_index(drop=True)
    report = {
        "source": source,
        "rows_in": len(parsed),
        "rows_kept": len(kept),
        "rows_quarantined": len(rejected),
        "repairs": repairs,
        "quarantined": quarantined,
        "ignored_columns": extras,
    }
    assert report["rows_in"] == report["rows_kept"] + report["rows_quarantined"]
    for key, count in repairs.items():
        logger.info("%s: repaired %d value(s) (%s)", source, count, key)
    if len(rejected):
        logger.warning("%s: quarantined %d row(s): %s", source, len(rejected), quarantined)
    return ValidationOutcome(kept=kept, rejected=rejected, report=report)


def _fail_when_too_many_rejected(
    violations: pd.DataFrame, bad: pd.Index, n_rows: int, params: Mapping[str, Any], source: str
) -> None:
    """Stop when quarantine would leave no rows, or more than the tolerated share.

    A tolerated share of 1 tolerates every row rejected: a served model answers each row with its status.
    """
    tolerated = params["max_quarantine_share"]
    if (len(bad) < n_rows or tolerated >= 1) and len(bad) <= tolerated * n_rows:
        return
    worst = violations[violations["index"].isin(bad)]
    top_rule, top_column = worst.groupby(["rule", "column"]).size().idxmax()
    cases = worst[(worst["rule"] == top_rule) & (worst["column"] == top_column)]
    what = (
        "no valid rows remain"
        if len(bad) == n_rows
        else (
            f"{len(bad)} of {n_rows} rows would be quarantined, above max_quarantine_share="
            f"{params['max_quarantine_share']}"
        )
    )
    raise DataContractError(
        f"{what}; the most frequent problem is shown",
        source=source,
        column=top_column,
        rule=top_rule,
        examples=_examples(cases, params["example_rows"]),
    )
