"""Training nodes: the final model (the partition the choice scored) and the customer assignments."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bank_segmentation.core.assignment import assign_segments
from bank_segmentation.core.evaluation import fit_kmeans
from bank_segmentation.core.preprocessing import build_preprocessor, feature_space
from bank_segmentation.pipelines.training.nodes import (
    model_columns,
    train_segmentation_model,
)
from tests.test_preprocessing import demo_model_input
from tests.workspace import node_parameters

CONF = Path(__file__).resolve().parents[3] / "conf" / "base"


@pytest.fixture(scope="module")
def params() -> dict[str, Any]:
    return node_parameters()


@pytest.fixture(scope="module")
def model_input(params: dict[str, Any]) -> pd.DataFrame:
    return demo_model_input(2000, 3, params)


def config(variant: str, k: int, params: dict[str, Any]) -> dict[str, Any]:
    """The segmentation config the model choice writes."""
    return {
        "variant": variant,
        "spec": params["clustering"]["variants"][variant],
        "k": k,
        "n_init": params["evaluation"].n_init,
        "random_state": params["evaluation"].random_state,
        "source": f"sweep · {variant} · k={k} (rule)",
    }


def test_training_ships_the_very_partition_the_model_choice_scored(params, model_input):
    """Agreement and coverage were measured on a partition: the model must reproduce it, customer by customer."""
    roles, groups = feature_space(params["schema"], params["features"])
    settings = params["evaluation"]
    scorer_X = np.asarray(
        build_preprocessor(params["clustering"]["variants"]["log_standard"], roles, groups, 42).fit_transform(
            model_input
        )
    )
    scored = fit_kmeans(scorer_X, 6, settings.n_init, settings.random_state, settings.fit_max_rows).labels_
    model = train_segmentation_model(
        model_input, config("log_standard", 6, params), params["schema"], params["features"], params["evaluation"]
    )
    np.testing.assert_array_equal(model.predict(model_input), scored)


def test_model_assigns_every_customer_and_scores_new_ones_without_refit(params, model_input):
    chosen = config("log_standard", 5, params)
    model = train_segmentation_model(model_input, chosen, params["schema"], params["features"], params["evaluation"])
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
    again = train_segmentation_model(model_input, chosen, params["schema"], params["features"], params["evaluation"])
    np.testing.assert_array_equal(again.predict(new_customers), model.predict(new_customers))
