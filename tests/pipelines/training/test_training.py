"""Training nodes: the segmentation config, the final model and the customer assignments."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from bank_segmentation.pipelines.training.nodes import (
    assign_segments,
    build_segmentation_config,
    model_columns,
    train_segmentation_model,
)
from tests.test_preprocessing import demo_model_input

CONF = Path(__file__).resolve().parents[3] / "conf" / "base"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF / f"parameters_{name}.yml").read_text())


@pytest.fixture(scope="module")
def params() -> dict[str, Any]:
    return {**load("data_processing"), **load("clustering"), **load("training")}


@pytest.fixture(scope="module")
def model_input(params: dict[str, Any]) -> pd.DataFrame:
    return demo_model_input(2000, 3, params)


def selection(variant: str, k: int, params: dict[str, Any]) -> dict[str, Any]:
    spec = params["clustering"]["variants"][variant]
    return {"mode": "rule", "chosen": {"variant": variant, "k": k, "spec": spec, "metrics": {}}}


def test_config_follows_the_sweep_selection_by_default(params):
    config = build_segmentation_config(
        selection("winsor_log_standard", 6, params), params["training"], params["clustering"], params["evaluation"]
    )
    assert set(config) == {"variant", "spec", "k", "n_init", "random_state", "source"}
    assert (config["variant"], config["k"]) == ("winsor_log_standard", 6)
    assert config["spec"]["winsorize"] == 0.99 and config["spec"]["scaler"] == "standard"
    assert config["n_init"] == params["evaluation"]["n_init"]
    assert "model_selection" in config["source"]
    yaml.safe_load(yaml.safe_dump(config))  # plain YAML, the format tuning also writes


def test_pinned_mode_trains_the_pinned_variant_whatever_the_sweep_chose(params):
    training = {**params["training"], "mode": "pinned", "pinned": {"variant": "seed_baseline", "k": 7}}
    config = build_segmentation_config(
        selection("log_standard", 4, params), training, params["clustering"], params["evaluation"]
    )
    assert (config["variant"], config["k"]) == ("seed_baseline", 7)
    assert config["source"].startswith("pinned")


@pytest.mark.parametrize(
    ("training", "message"),
    [({"mode": "guess"}, "training.mode"), ({"mode": "pinned", "pinned": {"variant": "nope", "k": 3}}, "nope")],
)
def test_invalid_training_modes_are_refused(training, message, params):
    with pytest.raises(ValueError, match=message):
        build_segmentation_config(
            selection("log_standard", 4, params), training, params["clustering"], params["evaluation"]
        )


def test_model_assigns_every_customer_and_scores_new_ones_without_refit(params, model_input):
    config = build_segmentation_config(
        selection("log_standard", 5, params), params["training"], params["clustering"], params["evaluation"]
    )
    model = train_segmentation_model(model_input, config, params["schema"], params["features"], params["evaluation"])
    assignments = assign_segments(model, model_input, params["schema"])
    assert list(assignments) == ["CUST_ID", "segment", "distance_to_centroid", "second_closest_segment"]
    assert assignments["CUST_ID"].tolist() == model_input["CUST_ID"].tolist()
    assert assignments["segment"].nunique() == 5
    assert (assignments["distance_to_centroid"] >= 0).all()
    assert (assignments["segment"] != assignments["second_closest_segment"]).all()
    assert model_columns(model) == model_input.columns.drop("CUST_ID")[:17].tolist()

    restored = pickle.loads(pickle.dumps(model))
    new_customers = demo_model_input(200, 4, params)
    np.testing.assert_array_equal(restored.predict(new_customers), model.predict(new_customers))
    again = train_segmentation_model(model_input, config, params["schema"], params["features"], params["evaluation"])
    np.testing.assert_array_equal(again.predict(new_customers), model.predict(new_customers))
