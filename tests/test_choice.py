"""The model-choice rule on candidate sets shaped like the real landscapes: flat silhouette, noise, ties."""

from __future__ import annotations

from typing import Any

import pytest

from bank_segmentation.core.candidates import Admission
from bank_segmentation.core.choice import Candidate, choose, pinned_record

RULE: dict[str, Any] = {
    "k_min": 5,
    "k_max": 8,
    "min_segment_share": 0.02,
    "min_agreement": 0.9,
    "min_coverage": 0.9,
    "tie_z": 2.0,
    "prefer": ["coverage", "agreement", "k", "silhouette_ref"],
    "tolerances": {"agreement": 0.01},
}
SE = 0.002  # the silhouette standard error of 5,000 sampled CC GENERAL customers


def candidate(name: str, k: int, silhouette: float, agreement: float, coverage: float = 1.0, smallest=0.05):
    """A candidate whose costly metrics are revealed only when the rule measures it."""
    c = Candidate(
        "sweep",
        name,
        k,
        {"columns": "raw"},
        "...",
        {
            "silhouette_ref": silhouette,
            "silhouette_ref_se": SE,
            "smallest_segment_share": smallest,
        },
    )
    c.hidden = {
        "agreement": agreement,
        "agreement_min": agreement - 0.05,
        "coverage": coverage,
        "coverage_with_partial": coverage,
    }
    return c


class Measurer:
    """Reveals the hidden metrics and records which candidates the rule paid to measure."""

    def __init__(self) -> None:
        self.measured: list[str] = []

    def __call__(self, candidates) -> None:
        for c in candidates:
            self.measured.append(c.id)
            c.metrics.update(c.hidden)


def decide(candidates, **rule) -> tuple[dict[str, Any], Measurer]:
    measurer = Measurer()
    return choose(candidates, Admission.from_params({**RULE, **rule}), measurer), measurer


def status(record, name: str, k: int) -> dict[str, Any]:
    return next(c for c in record["candidates"] if c["name"] == name and c["k"] == k)


def test_silhouette_noise_does_not_pick_k_and_instability_is_never_shipped():
    # the real table's shape: silhouette flat within noise from k=5 to 8; k=8 the "best" but unstable
    pool = [
        candidate("a", 5, 0.2263, 0.982),
        candidate("a", 6, 0.2216, 0.984),
        candidate("a", 7, 0.2280, 0.961),
        candidate("a", 8, 0.2319, 0.806),
    ]
    record, _ = decide(pool)
    assert record["best_admissible"]["id"] == "sweep · a · k=7"
    # k=5 (0.0017 below) is a tie; k=6 (0.0064 below, > 2 standard errors of the difference) is not
    assert set(record["ties"]) == {"sweep · a · k=5", "sweep · a · k=7"}
    # among ties the more reproducible segments win (0.982 vs 0.961, more than 0.01 apart)
    assert record["chosen"]["k"] == 5
    assert status(record, "a", 7)["reasons"][0].endswith(
        "but lower agreement of refits: 0.961 vs 0.982 (more than 0.01 apart)"
    )
    assert any("do not reproduce" in r for r in status(record, "a", 8)["reasons"])
    assert "below the tie band" in status(record, "a", 6)["reasons"][0]


def test_among_equally_reproducible_ties_more_segments_win():
    pool = [candidate("a", 5, 0.2263, 0.985), candidate("a", 7, 0.2280, 0.981), candidate("b", 6, 0.2275, 0.990)]
    record, _ = decide(pool)
    assert record["chosen"]["k"] == 7
    assert record["runner_up"]["id"] == "sweep · b · k=6"
    assert record["runner_up"]["why_not"].endswith("(within noise), but fewer segments: 6 vs 7")


def test_coverage_comes_first_among_ties():
    pool = [candidate("a", 8, 0.2300, 0.99, coverage=0.92), candidate("a", 6, 0.2290, 0.99, coverage=1.0)]
    record, _ = decide(pool)
    assert record["chosen"]["k"] == 6
    assert "archetype-named" in status(record, "a", 8)["reasons"][0]


def test_a_clear_silhouette_lead_is_not_a_tie():
    pool = [candidate("a", 5, 0.300, 0.99), candidate("a", 8, 0.250, 0.99)]
    record, _ = decide(pool)
    assert record["chosen"]["k"] == 5
    assert record["ties"] == ["sweep · a · k=5"]


def test_too_few_named_customers_is_inadmissible():
    pool = [candidate("a", 6, 0.25, 0.99, coverage=0.5), candidate("a", 7, 0.20, 0.99, coverage=0.95)]
    record, _ = decide(pool)
    assert record["chosen"]["k"] == 7
    assert any("archetype coverage 50%" in r for r in status(record, "a", 6)["reasons"])


def test_only_what_the_rule_needs_is_measured():
    pool = [
        candidate("a", 3, 0.40, 0.99),  # outside the business bounds: never measured
        candidate("a", 6, 0.35, 0.99, smallest=0.01),  # micro-segment: never measured
        candidate("a", 5, 0.30, 0.99),
        candidate("a", 7, 0.20, 0.99),  # far below the best: measured only as part of the first batch of two
        candidate("a", 8, 0.19, 0.99),  # never measured
    ]
    record, measurer = decide(pool)
    assert record["chosen"]["k"] == 5
    assert measurer.measured == ["sweep · a · k=5", "sweep · a · k=7"]
    assert status(record, "a", 3)["reasons"] == ["k=3 outside the business bounds 5..8"]
    assert "micro-segment" in status(record, "a", 6)["reasons"][0]
    assert "not measured" in status(record, "a", 8)["reasons"][0]


def test_every_candidate_leaves_with_a_status_and_the_chosen_with_none():
    pool = [candidate("a", k, 0.22 + 0.001 * k, 0.95) for k in range(3, 10)]
    record, _ = decide(pool)
    assert len(record["candidates"]) == len(pool)
    for entry in record["candidates"]:
        assert entry["status"] in {"chosen", "runner-up", "tied", "admissible", "rejected"}
        assert bool(entry["reasons"]) == (entry["status"] != "chosen")
    assert record["rule"].startswith("Admissible: 5 <= k <= 8")


def test_nothing_admissible_falls_back_to_the_closest_and_says_so():
    pool = [candidate("a", 5, 0.25, 0.70), candidate("a", 6, 0.24, 0.88)]
    record, _ = decide(pool)
    assert record["mode"] == "fallback"
    assert record["chosen"]["k"] == 6
    assert "No candidate meets every threshold" in record["why"]


def test_a_pin_is_measured_and_its_violations_said():
    pinned = candidate("seed_baseline", 7, 0.14, 0.89, coverage=1.0, smallest=0.0096)
    Measurer()([pinned])
    record = pinned_record(pinned, Admission.from_params(RULE), "model_choice.pinned")
    assert record["mode"] == "pinned"
    assert any("micro-segment" in v for v in record["chosen"]["rule_violations"])
    assert any("do not reproduce" in v for v in record["chosen"]["rule_violations"])


def test_unknown_preferences_are_refused():
    with pytest.raises(ValueError, match="unknown or unused"):
        Admission.from_params({**RULE, "prefer": ["coverage", "inertia"]})
