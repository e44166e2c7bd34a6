"""The customer-table contract: every rule under every policy, header tolerance, fatal errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DatasetError

from bank_segmentation.core.errors import DataContractError
from bank_segmentation.framework.datasets import CustomerTableDataset
from bank_segmentation.pipelines.data_processing.nodes import validate_customers

# rule -> (column, bad text value, repaired value or None when the rule cannot be repaired)
CORRUPTIONS = {
    "numeric_type": ("BALANCE", "#DIV/0!", float("nan")),
    "finite": ("PAYMENTS", "inf", float("nan")),
    "non_negative": ("PURCHASES", "-120.5", 0.0),
    "frequency_range": ("CASH_ADVANCE_FREQUENCY", "1.5", 1.0),
    "tenure_min": ("TENURE", "0", 1.0),
    "id_not_empty": ("CUST_ID", "  ", None),
}
BAD_ROWS = [3, 17, 42]


def corrupt(raw: pd.DataFrame, column: str, value: str, rows: list[int]) -> pd.DataFrame:
    """A copy of ``raw`` with ``value`` written into ``column`` on ``rows``."""
    broken = raw.copy()
    broken.loc[rows, column] = value
    broken.attrs = dict(raw.attrs)
    return broken


def with_policy(dp_params: dict, rule: str, policy: str) -> dict:
    """Validation parameters with one rule's policy replaced."""
    validation = {**dp_params["validation"], "policies": dict(dp_params["validation"]["policies"])}
    validation["policies"][rule] = policy
    return validation


@pytest.mark.parametrize("rule", sorted(CORRUPTIONS))
def test_quarantine_moves_each_bad_row_out_with_its_reason(demo_raw, dp_params, rule):
    column, bad, _ = CORRUPTIONS[rule]
    broken = corrupt(demo_raw, column, bad, BAD_ROWS)
    kept, rejected, report = validate_customers(broken, dp_params["schema"], with_policy(dp_params, rule, "quarantine"))
    assert len(kept) + len(rejected) == len(broken)
    assert sorted(rejected["line"]) == [row + 2 for row in BAD_ROWS]
    assert rejected["reasons"].str.contains(f"{rule}: {column}").all()
    assert report["quarantined"] == {f"{rule}:{column}": len(BAD_ROWS)}
    assert report["rows_quarantined"] == len(BAD_ROWS)


@pytest.mark.parametrize("rule", sorted(r for r, c in CORRUPTIONS.items() if c[2] is not None))
def test_repair_keeps_every_row_and_counts_the_fix(demo_raw, dp_params, rule):
    column, bad, repaired = CORRUPTIONS[rule]
    broken = corrupt(demo_raw, column, bad, BAD_ROWS)
    kept, rejected, report = validate_customers(broken, dp_params["schema"], with_policy(dp_params, rule, "repair"))
    assert len(kept) == len(broken) and rejected.empty
    assert report["repairs"] == {f"{rule}:{column}": len(BAD_ROWS)}
    values = kept.loc[BAD_ROWS, column]
    if pd.isna(repaired):
        assert values.isna().all()
    else:
        assert (values == repaired).all()


@pytest.mark.parametrize("rule", sorted(CORRUPTIONS))
def test_fail_names_file_column_rule_and_example_lines(demo_raw, dp_params, rule):
    column, bad, _ = CORRUPTIONS[rule]
    broken = corrupt(demo_raw, column, bad, BAD_ROWS)
    with pytest.raises(DataContractError) as caught:
        validate_customers(broken, dp_params["schema"], with_policy(dp_params, rule, "fail"))
    message = str(caught.value)
    assert "customers.csv" in message and f"column '{column}'" in message
    assert f"rule '{rule}'" in message
    assert all(f"line {row + 2}" in message for row in BAD_ROWS)


def test_unrepairable_rule_with_repair_policy_is_a_configuration_error(demo_raw, dp_params):
    with pytest.raises(ValueError, match="id_unique"):
        validate_customers(demo_raw, dp_params["schema"], with_policy(dp_params, "id_unique", "repair"))


def test_duplicate_ids_keep_the_first_occurrence(demo_raw, dp_params):
    broken = corrupt(demo_raw, "CUST_ID", demo_raw.loc[0, "CUST_ID"], [5, 9])
    kept, rejected, _ = validate_customers(broken, dp_params["schema"], dp_params["validation"])
    assert kept["CUST_ID"].is_unique
    assert demo_raw.loc[0, "CUST_ID"] in set(kept["CUST_ID"])
    assert sorted(rejected["line"]) == [7, 11]
    assert rejected["reasons"].str.startswith("id_unique").all()


def test_a_row_breaking_several_rules_lists_every_reason(demo_raw, dp_params):
    broken = corrupt(demo_raw, "BALANCE", "oops", [4])
    broken.loc[4, "PAYMENTS"] = "-1"
    _, rejected, _ = validate_customers(broken, dp_params["schema"], dp_params["validation"])
    reasons = rejected.set_index("line").loc[6, "reasons"]
    assert "numeric_type: BALANCE=oops" in reasons and "non_negative: PAYMENTS=-1.0" in reasons


def test_mostly_broken_file_fails_instead_of_quarantining_everything(demo_raw, dp_params):
    broken = corrupt(demo_raw, "PURCHASES", "n.a.", list(range(0, 300, 2)))
    with pytest.raises(DataContractError, match="would be quarantined"):
        validate_customers(broken, dp_params["schema"], dp_params["validation"])


def write_variant(tmp_path: Path, demo_csv: Path, header_map, sep=",", encoding="utf-8") -> Path:
    """Write the first demo rows with a rewritten header, delimiter and encoding."""
    frame = pd.read_csv(demo_csv, dtype=str, nrows=50)
    frame.columns = [header_map(col) for col in frame.columns]
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False, sep=sep, encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("header_map", "sep", "encoding"),
    [
        (str.lower, ",", "utf-8"),
        (lambda c: f"  {c.title()} ", ",", "utf-8"),
        (str, ",", "utf-8-sig"),
        (str, ";", "utf-8"),
        (str, "\t", "cp1252"),
    ],
    ids=["lower-case", "spaces-and-title-case", "utf8-bom", "semicolon", "tab-cp1252"],
)
def test_headers_delimiters_and_encodings_are_tolerated(tmp_path, demo_csv, dp_params, header_map, sep, encoding):
    path = write_variant(tmp_path, demo_csv, header_map, sep, encoding)
    raw = CustomerTableDataset(str(path)).load()
    kept, rejected, _ = validate_customers(raw, dp_params["schema"], dp_params["validation"])
    assert len(kept) == 50 and rejected.empty
    assert list(kept.columns) == ["CUST_ID", *dp_params["schema"].columns]


def test_missing_column_is_fatal_and_named(tmp_path, demo_csv, dp_params):
    frame = pd.read_csv(demo_csv, dtype=str, nrows=20).drop(columns="CREDIT_LIMIT")
    frame.to_csv(tmp_path / "export.csv", index=False)
    raw = CustomerTableDataset(str(tmp_path / "export.csv")).load()
    with pytest.raises(DataContractError, match=r"export\.csv.*CREDIT_LIMIT.*required_columns"):
        validate_customers(raw, dp_params["schema"], dp_params["validation"])


def test_a_misspelt_header_is_named_with_the_column_it_should_be(tmp_path, demo_csv, dp_params):
    frame = pd.read_csv(demo_csv, dtype=str, nrows=20).rename(columns={"CREDIT_LIMIT": "CREDIT_LIMT"})
    frame.to_csv(tmp_path / "export.csv", index=False)
    raw = CustomerTableDataset(str(tmp_path / "export.csv")).load()
    with pytest.raises(DataContractError, match="did you mean 'CREDIT_LIMT' for 'CREDIT_LIMIT'"):
        validate_customers(raw, dp_params["schema"], dp_params["validation"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [("", "the file is empty"), ("CUST_ID,BALANCE\n", "the header has: CUST_ID, BALANCE")],
    ids=["empty", "header-only-missing-columns"],
)
def test_empty_inputs_are_fatal(tmp_path, dp_params, content, expected):
    path = tmp_path / "export.csv"
    path.write_text(content)
    with pytest.raises((DataContractError, DatasetError), match=expected):
        validate_customers(CustomerTableDataset(str(path)).load(), dp_params["schema"], dp_params["validation"])


def test_header_only_file_is_fatal(tmp_path, demo_csv, dp_params):
    path = tmp_path / "export.csv"
    path.write_text(demo_csv.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataContractError, match="header but no rows"):
        validate_customers(CustomerTableDataset(str(path)).load(), dp_params["schema"], dp_params["validation"])


def test_missing_file_is_fatal_and_named(tmp_path, dp_params):
    with pytest.raises(DatasetError, match=r"nowhere\.csv.*file_exists.*does not exist"):
        CustomerTableDataset(str(tmp_path / "nowhere.csv")).load()


def test_numbers_are_read_as_exports_write_them(demo_raw, dp_params):
    written = {
        3: ("BALANCE", " 12,000.00 ", 12000.0),
        4: ("PAYMENTS", "$1,234.50", 1234.5),
        5: ("CREDIT_LIMIT", "€ 7 500", 7500.0),
        6: ("PURCHASES", "1'234", 1234.0),
        7: ("CASH_ADVANCE", "(0.00)", 0.0),
    }
    broken = demo_raw.copy()
    for row, (column, text, _) in written.items():
        broken.loc[row, column] = text
    broken.attrs = dict(demo_raw.attrs)
    kept, rejected, report = validate_customers(broken, dp_params["schema"], dp_params["validation"])
    assert rejected.empty and len(kept) == len(demo_raw)
    for row, (column, _, value) in written.items():
        assert kept.loc[row, column] == pytest.approx(value)


def test_an_accounting_negative_amount_is_caught_by_the_sign_rule_not_read_as_text(demo_raw, dp_params):
    broken = corrupt(demo_raw, "PURCHASES", "(1,234.50)", BAD_ROWS)
    _, rejected, report = validate_customers(broken, dp_params["schema"], dp_params["validation"])
    assert rejected["reasons"].str.contains("non_negative").all() and len(rejected) == len(BAD_ROWS)


def test_an_ambiguous_number_is_never_guessed_and_its_raw_text_is_shown(demo_raw, dp_params):
    broken = corrupt(demo_raw, "PAYMENTS", "1,23", list(range(len(demo_raw))))
    with pytest.raises(DataContractError) as error:
        validate_customers(broken, dp_params["schema"], dp_params["validation"])
    message = str(error.value)
    assert "'PAYMENTS'" in message and "numeric_type" in message and "'1,23'" in message
    assert "every value missing" not in message


def test_numeric_ratio_and_share_roles_get_their_own_rules(demo_raw, dp_params):
    """A share must lie within [0, 1], a ratio must not be negative, a plain number may be anything."""
    columns = {**dp_params["schema"].columns, "PAYMENTS": "numeric", "BALANCE": "ratio", "PRC_FULL_PAYMENT": "share"}
    schema = dp_params["schema"].model_copy(update={"columns": columns})
    broken = demo_raw.copy()
    broken.loc[3, "PAYMENTS"] = "-50"  # allowed for a plain number
    broken.loc[4, "BALANCE"] = "-1.5"  # a negative ratio: quarantined
    broken.loc[5, "PRC_FULL_PAYMENT"] = "1.25"  # a share above 1: clipped
    broken.attrs = dict(demo_raw.attrs)
    kept, rejected, _ = validate_customers(broken, schema, dp_params["validation"])
    kept = kept.set_index("CUST_ID")
    ids = demo_raw["CUST_ID"]
    assert kept.loc[ids[3], "PAYMENTS"] == -50.0
    assert rejected["reasons"].tolist() == ["non_negative: BALANCE=-1.5"] and ids[4] not in kept.index
    assert kept.loc[ids[5], "PRC_FULL_PAYMENT"] == 1.0


def test_a_label_or_carried_column_may_be_absent_a_categorical_may_not(demo_raw, dp_params):
    """Customers scored before their outcome is known have no label column: they are scored all the same."""
    raw = demo_raw.assign(TIER="Gold")
    raw.attrs = dict(demo_raw.attrs)
    columns = {**dp_params["schema"].columns, "CHURNED": "label", "REGION": "ignore", "TIER": "categorical"}
    schema = dp_params["schema"].model_copy(update={"columns": columns})
    kept, rejected, _ = validate_customers(raw, schema, dp_params["validation"])
    assert len(kept) + len(rejected) == len(raw) and kept[["CHURNED", "REGION"]].isna().all().all()
    assert (kept["TIER"] == "Gold").all()

    without_tier = demo_raw.copy()
    without_tier.attrs = dict(demo_raw.attrs)
    with pytest.raises(DataContractError, match="TIER"):
        validate_customers(without_tier, schema, dp_params["validation"])
