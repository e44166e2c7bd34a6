"""`kedro run` from a shell: a bad input stops with one plain message, never a stack trace first."""

from __future__ import annotations

import pandas as pd
import yaml

from tests.conftest import kedro_run


def test_missing_column_stops_the_run_with_a_plain_message(project_copy):
    path = project_copy / "data/01_raw/customers.csv"
    pd.read_csv(path, dtype=str).drop(columns="TENURE").to_csv(path, index=False)
    result = kedro_run(project_copy, "--pipelines", "data_processing")
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Traceback" not in output
    assert "Run stopped: Invalid customer table" in result.stderr
    assert "customers.csv" in result.stderr and "'TENURE'" in result.stderr and "required_columns" in result.stderr


def test_text_in_a_numeric_column_beyond_the_quarantine_share_names_example_rows(project_copy):
    path = project_copy / "data/01_raw/customers.csv"
    raw = pd.read_csv(path, dtype=str)
    raw.loc[raw.index[: len(raw) // 2], "PAYMENTS"] = "#VALUE!"
    raw.to_csv(path, index=False)
    result = kedro_run(project_copy, "--pipelines", "data_processing")
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "column 'PAYMENTS', rule 'numeric_type'" in result.stderr
    assert "line 2: '#VALUE!'" in result.stderr


def test_every_parameter_problem_is_listed_at_once_before_any_data_is_read(project_copy):
    evaluation = project_copy / "conf/base/parameters_evaluation.yml"
    evaluation.write_text(evaluation.read_text().replace("    n_refits: 10", "    n_refit: 10"))
    schema = project_copy / "conf/base/parameters_schema.yml"
    schema.write_text(schema.read_text().replace("BALANCE: amount", "BALANCE: amout"))
    result = kedro_run(project_copy, "--params", "tuning.study.n_trials=many")
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Traceback" not in output
    assert "3 problem(s) in the parameters" in result.stderr
    assert (
        "conf/base/parameters_evaluation.yml: evaluation.agreement.n_refit: unknown key; did you mean 'n_refits'?"
        in result.stderr
    )
    assert "conf/base/parameters_schema.yml: schema.columns.BALANCE: Input should be 'amount'" in result.stderr
    assert "tuning.study.n_trials: Input should be a valid integer" in result.stderr
    assert not (project_copy / "data/runs").exists() and not (project_copy / "mlflow.db").exists()


def test_a_misspelt_column_and_group_in_an_environment_stop_the_run_with_both_named(project_copy):
    """The bank's own file (schema, KPIs, groups) is checked strictly: its misspellings are errors."""
    schema = yaml.safe_load((project_copy / "conf/base/parameters_schema.yml").read_text())
    features = yaml.safe_load((project_copy / "conf/base/parameters_features.yml").read_text())
    features["features"]["groups"]["spending"][0] = "PURCHASE"  # PURCHASES
    env = project_copy / "conf/otherbank"
    env.mkdir()
    features["features"]["one_hot"] = {"BALANCE": ["1"]}  # not a categorical column
    (env / "parameters_data_processing.yml").write_text(yaml.safe_dump({**schema, **features, "tunning": {}}))
    tuning = yaml.safe_load((project_copy / "conf/base/parameters_tuning.yml").read_text())
    tuning["tuning"]["search_space"]["groups"][0] = "spendng"  # spending
    (env / "parameters_tuning.yml").write_text(yaml.safe_dump(tuning))
    result = kedro_run(project_copy, "--env", "otherbank")
    assert result.returncode == 2 and not (project_copy / "data/runs").exists()  # stopped before anything ran
    assert "Traceback" not in result.stdout + result.stderr
    assert "4 problem(s) in the parameters" in result.stderr  # a misspelt key hides none of the others
    assert "parameters_data_processing.yml: tunning: unknown key; did you mean 'tuning'?" in result.stderr
    no_categoricals = "(there is no categorical column at all)"
    assert f"features.one_hot: unknown categorical column 'BALANCE' {no_categoricals}" in result.stderr
    assert (
        "conf/otherbank/parameters_data_processing.yml: features.groups.spending: unknown column 'PURCHASE'; "
        "did you mean 'PURCHASES'?" in result.stderr
    )
    assert (
        "conf/otherbank/parameters_tuning.yml: tuning.search_space.groups: unknown group 'spendng'; "
        "did you mean 'spending'?" in result.stderr
    )
