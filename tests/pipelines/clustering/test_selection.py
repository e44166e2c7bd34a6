"""Model selection: the explainable rule, its rejections, the fallback and pinning."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from bank_segmentation.pipelines.clustering.nodes import select_segmentation

VARIANTS = {
    "seed_baseline": {"columns": "raw", "scaler": "standard"},
    "log_standard": {"columns": "raw", "log1p": ["amount", "count"], "scaler": "standard"},
    "quantile": {"columns": "raw", "scaler": "quantile_normal"},
}


def candidate(
    variant: str,
    k: int,
    inertia: float,
    sil_ref: float,
    smallest: float,
    stability: float,
    sil_own: float | None = None,
) -> dict[str, Any]:
    return {
        "variant": variant,
        "k": k,
        "steps": "...",
        "n_rows": 8950,
        "inertia_own": inertia,
        "silhouette_own": sil_ref if sil_own is None else sil_own,
        "calinski_harabasz_own": 1.0,
        "davies_bouldin_own": 1.0,
        "inertia_ref": inertia,
        "silhouette_ref": sil_ref,
        "calinski_harabasz_ref": 1.0,
        "davies_bouldin_ref": 1.0,
        "smallest_segment_share": smallest,
        "largest_segment_share": 0.5,
        "stability": stability,
        "fit_seconds": 0.1,
    }


@pytest.fixture
def sweep() -> pd.DataFrame:
    inertia = {2: 1000, 3: 700, 4: 450, 5: 400, 6: 370, 7: 350, 8: 335, 9: 325}
    rows = []
    for k, value in inertia.items():
        # the seed recipe isolates a micro-cluster from k=5 and is unstable at k=4
        rows.append(candidate("seed_baseline", k, value, 0.18, 0.005 if k >= 5 else 0.1, 0.6 if k == 4 else 0.9))
        rows.append(candidate("log_standard", k, value * 0.9, 0.22 - 0.005 * k, 0.08, 0.95))
        # a squashed space: own silhouette looks great, reference silhouette is poor
        rows.append(candidate("quantile", k, value * 0.8, 0.15, 0.1, 0.9, sil_own=0.55))
    return pd.DataFrame(rows)


def clustering(**selection: Any) -> dict[str, Any]:
    rule = {
        "k_min": 3,
        "k_max": 8,
        "min_segment_share": 0.02,
        "min_stability": 0.8,
        "pinned": {"variant": None, "k": None},
    }
    return {"variants": VARIANTS, "selection": {**rule, **selection}}


def reasons_of(selection: dict[str, Any], variant: str, k: int) -> list[str]:
    return next(r["reasons"] for r in selection["rejected"] if r["variant"] == variant and r["k"] == k)


def test_rule_picks_the_knee_of_the_best_reference_silhouette_variant(sweep):
    selection = select_segmentation(sweep, clustering())
    assert selection["mode"] == "rule"
    assert (selection["chosen"]["variant"], selection["chosen"]["k"]) == ("log_standard", 4)
    assert selection["chosen"]["spec"] == VARIANTS["log_standard"]
    assert selection["chosen"]["metrics"]["stability"] == 0.95
    assert (selection["runner_up"]["variant"], selection["runner_up"]["k"]) == ("seed_baseline", 3)
    # the squashed space's own silhouette of 0.55 does not fool the rule
    assert any("silhouette_ref 0.150" in r for r in reasons_of(selection, "quantile", 4))
    assert selection["knees"]["log_standard"] == 4
    assert "silhouette" in selection["rule"] and "knee" in selection["rule"]
    assert len(selection["rejected"]) == len(sweep) - 1


def test_micro_clusters_unstable_and_out_of_bounds_candidates_are_rejected_with_reasons(sweep):
    selection = select_segmentation(sweep, clustering())
    assert any("micro-cluster" in r for r in reasons_of(selection, "seed_baseline", 6))
    assert any("unstable" in r for r in reasons_of(selection, "seed_baseline", 4))
    assert any("business bounds" in r for r in reasons_of(selection, "log_standard", 9))
    assert any("knee" in r for r in reasons_of(selection, "log_standard", 5))
    assert any("silhouette_ref" in r for r in reasons_of(selection, "seed_baseline", 3))
    assert all(r["reasons"] for r in selection["rejected"])


def test_seed_recipe_wins_only_where_it_is_admissible(sweep):
    sweep = sweep[sweep["variant"] != "log_standard"]
    selection = select_segmentation(sweep, clustering())
    # without log_standard, seed_baseline's reference silhouette wins, at its only admissible k
    assert (selection["chosen"]["variant"], selection["chosen"]["k"]) == ("seed_baseline", 3)


def test_fallback_when_nothing_is_admissible(sweep):
    selection = select_segmentation(sweep, clustering(min_stability=0.99))
    assert selection["mode"] == "fallback"
    assert 3 <= selection["chosen"]["k"] <= 8


def test_pinned_variant_and_k_are_honoured_with_their_metrics(sweep):
    selection = select_segmentation(sweep, clustering(pinned={"variant": "seed_baseline", "k": 7}))
    assert selection["mode"] == "pinned"
    assert (selection["chosen"]["variant"], selection["chosen"]["k"]) == ("seed_baseline", 7)
    assert selection["chosen"]["metrics"]["smallest_segment_share"] == 0.005
    assert any("micro-cluster" in r for r in selection["chosen"]["rule_violations"])
    assert len(selection["rejected"]) == len(sweep) - 1


def test_pinning_an_unknown_variant_is_refused(sweep):
    with pytest.raises(ValueError, match="no_such_variant"):
        select_segmentation(sweep, clustering(pinned={"variant": "no_such_variant", "k": 5}))
