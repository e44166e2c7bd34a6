"""The one model choice: every candidate of the sweep and the search, one explainable rule.

1. **Screen** (cheap): k within the business bounds, no segment under the minimum share.
2. **Best admissible**: walk the screened candidates by reference-space silhouette, measuring agreement of
   refits and archetype coverage (they cost refits) until one meets every threshold. Its silhouette sets
   the bar.
3. **Ties**: a candidate whose silhouette is within ``tie_z`` standard errors of the bar (the standard error
   of the difference of two silhouette means over the sampled customers) cannot be told apart from the best
   by silhouette. Silhouette also favours small k on flat landscapes (CC GENERAL: 0.217-0.224 from k=3 to
   7, noise ~0.002), so it must not decide between ties.
4. **Preference** among admissible ties, in ``prefer`` order (default: more customers in archetype-named
   segments, then more segments, then silhouette). The runner-up is the next one.

If no candidate is admissible, the one closest to admissible is taken (mode ``fallback``) and the record
says so. Every candidate leaves with its status and the reasons it was not chosen.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bank_segmentation.core.candidates import MEASURED, Admission

logger = logging.getLogger(__name__)

CHOSEN, RUNNER_UP, TIED, ADMISSIBLE, REJECTED = "chosen", "runner-up", "tied", "admissible", "rejected"
MODES = ("rule", "pinned")
SOURCES = ("sweep", "search")


def source_runs(model_choice: Mapping[str, Any], source: str) -> bool:
    """Whether the sweep or the search must run: only the rule reads them, and only the listed sources."""
    mode = model_choice["mode"]
    if mode not in MODES:
        raise ValueError(f"model_choice.mode must be one of {MODES}, got {mode!r}")
    unknown = [s for s in model_choice["sources"] if s not in SOURCES]
    if unknown:
        raise ValueError(f"model_choice.sources: unknown source(s) {unknown}; use {list(SOURCES)}")
    return mode == "rule" and source in model_choice["sources"]


@dataclass(eq=False)  # identity: two candidates with equal numbers are still two candidates
class Candidate:
    """One (feature space, k) of the sweep, the search or a pin, with the metrics measured so far."""

    source: str
    name: str
    k: int
    spec: dict[str, Any]
    steps: str
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Readable unique label, e.g. ``sweep · log_standard · k=6``."""
        return f"{self.source} · {self.name} · k={self.k}"

    @property
    def silhouette(self) -> float:
        """Reference-space silhouette (NaN when undefined)."""
        value = self.metrics.get("silhouette_ref")
        return float("nan") if value is None else float(value)

    @property
    def measured(self) -> bool:
        """Whether agreement and coverage are known."""
        return all(self.metrics.get(m) is not None for m in MEASURED)


def _tie_floor(best: Candidate, other: Candidate, z: float) -> float:
    """Lowest silhouette that ties with ``best``: z standard errors of the difference below it."""
    error = math.hypot(best.metrics.get("silhouette_ref_se") or 0.0, other.metrics.get("silhouette_ref_se") or 0.0)
    return best.silhouette - z * error


_WORDS = {
    "coverage": ("fewer customers in archetype-named segments", "{:.1%}"),
    "agreement": ("lower agreement of refits", "{:.3f}"),
    "k": ("fewer segments", "{:d}"),
    "silhouette_ref": ("lower silhouette", "{:.4f}"),
}


def _value(candidate: Candidate, key: str) -> float:
    """A preference value (higher is preferred)."""
    if key == "k":
        return float(candidate.k)
    if key == "silhouette_ref":
        return candidate.silhouette
    return float(candidate.metrics.get(key) or 0.0)


def _shown(candidate: Candidate, key: str) -> str:
    value = candidate.k if key == "k" else _value(candidate, key)
    return _WORDS[key][1].format(value)


def rank_ties(
    ties: Sequence[Candidate], prefer: Sequence[str], tolerances: Mapping[str, float]
) -> tuple[list[Candidate], dict[int, str]]:
    """Order tied candidates by the preferences, each a filter: keep those within its tolerance of the best
    on it, then apply the next; silhouette decides what is left. Also says why each one lost to the first."""
    ordered: list[Candidate] = []
    lost: dict[int, str] = {}
    remaining = list(ties)
    while remaining:
        pool = remaining
        for key in prefer:
            best = max(_value(c, key) for c in pool)
            kept = [c for c in pool if _value(c, key) >= best - tolerances.get(key, 0.0) - 1e-12]
            if not ordered:  # the first pass picks the winner: record why the others dropped out
                leader = max(kept, key=lambda c: _value(c, key))
                for c in pool:
                    if c not in kept:
                        tolerance = tolerances.get(key, 0.0)
                        lost[id(c)] = f"{_WORDS[key][0]}: {_shown(c, key)} vs {_shown(leader, key)}" + (
                            f" (more than {tolerance:g} apart)" if tolerance else ""
                        )
            pool = kept
        winner = max(pool, key=lambda c: c.silhouette)
        if not ordered:
            for c in pool:
                if c is not winner:
                    lost[id(c)] = f"level on every preference, lower silhouette: {_shown(c, 'silhouette_ref')}"
        ordered.append(winner)
        remaining.remove(winner)
    return ordered, lost


def choose(
    candidates: Sequence[Candidate],
    admission: Admission,
    measure: Callable[[Sequence[Candidate]], None],
    batch: int = 2,
    max_measured: int = 60,
) -> dict[str, Any]:
    """Apply the rule to ``candidates``; ``measure`` fills agreement and coverage of the ones it is given.

    Candidates are measured ``batch`` at a time (a constant, so the record never depends on parallelism);
    at most ``max_measured`` are walked before the best admissible one is given up for a fallback.
    """
    cheap = {id(c): admission.cheap_reasons(c.k, c.metrics) for c in candidates}
    screened = sorted(
        (c for c in candidates if not cheap[id(c)] and math.isfinite(c.silhouette)), key=lambda c: -c.silhouette
    )

    def measured(group: Sequence[Candidate]) -> None:
        todo = [c for c in group if not c.measured]
        if todo:
            measure(todo)

    def admissible(c: Candidate) -> bool:
        return c.measured and not admission.measured_reasons(c.metrics)

    best, walked = None, 0
    while best is None and walked < min(len(screened), max_measured):
        group = screened[walked : walked + batch]
        measured(group)
        best = next((c for c in group if admissible(c)), None)
        walked += len(group)
    if best is None:
        return _fallback(candidates, admission, cheap, walked >= max_measured)

    band = [c for c in screened if c.silhouette >= _tie_floor(best, c, admission.tie_z)]
    for start in range(0, len(band), batch):
        measured(band[start : start + batch])
    ties, lost = rank_ties([c for c in band if admissible(c)], admission.prefer, admission.tolerances)
    chosen = ties[0]
    runner_up = ties[1] if len(ties) > 1 else next((c for c in screened if admissible(c) and c is not chosen), None)

    statuses, reasons = {}, {}
    for c in candidates:
        key = id(c)
        if c is chosen:
            statuses[key], reasons[key] = CHOSEN, []
        elif cheap[key]:
            statuses[key], reasons[key] = REJECTED, cheap[key]
        elif c.measured and admission.measured_reasons(c.metrics):
            statuses[key], reasons[key] = REJECTED, admission.measured_reasons(c.metrics)
        elif c in ties:
            statuses[key] = RUNNER_UP if c is runner_up else TIED
            reasons[key] = [f"tied with the chosen candidate on silhouette (within noise), but {lost[id(c)]}"]
        else:
            floor = _tie_floor(best, c, admission.tie_z)
            statuses[key] = RUNNER_UP if c is runner_up else (ADMISSIBLE if admissible(c) else REJECTED)
            reasons[key] = [
                f"silhouette {c.silhouette:.4f} below the tie band of the best admissible candidate ({best.id}: "
                f"{best.silhouette:.4f}, ties down to {floor:.4f})"
                + ("" if c.measured else "; agreement and coverage not measured")
            ]
    floor = _tie_floor(best, best, admission.tie_z)
    why = (
        f"{len(screened)} of {len(candidates)} candidates have {admission.k_min}-{admission.k_max} segments and none "
        f"under {admission.min_segment_share:.0%}. The best admissible silhouette is {best.silhouette:.4f} "
        f"({best.id}); {len(ties)} admissible candidate(s) are within {admission.tie_z:g} standard errors of it. "
        f"Among them the rule prefers {admission.preferences_text()}: {chosen.id} (coverage "
        f"{chosen.metrics['coverage']:.0%}, agreement {chosen.metrics['agreement']:.3f}, silhouette "
        f"{chosen.silhouette:.4f})."
    )
    logger.info("model choice: %s", why)
    return _record("rule", admission, candidates, chosen, runner_up, statuses, reasons, why, best, floor, ties)


def _fallback(
    candidates: Sequence[Candidate], admission: Admission, cheap: Mapping[int, list[str]], capped: bool
) -> dict[str, Any]:
    """No admissible candidate: the measured one closest to admissible, else the cheapest violation."""
    measured = [c for c in candidates if c.measured and not cheap[id(c)]]
    if measured:
        chosen = min(measured, key=lambda c: (admission.violation(c.metrics), -c.silhouette))
    else:
        chosen = min(
            candidates, key=lambda c: (len(cheap[id(c)]), -(c.silhouette if math.isfinite(c.silhouette) else -1))
        )
    reasons = {id(c): admission.reasons(c.k, c.metrics) for c in candidates}
    statuses = {id(c): CHOSEN if c is chosen else REJECTED for c in candidates}
    why = (
        f"No candidate meets every threshold{' among the first candidates measured' if capped else ''}: "
        f"{chosen.id} is the closest ({'; '.join(reasons[id(chosen)]) or 'not measured'})."
    )
    logger.warning("model choice (fallback): %s", why)
    return _record("fallback", admission, candidates, chosen, None, statuses, reasons, why, None, None, [])


def _entry(c: Candidate, status: str | None = None, reasons: Sequence[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": c.id,
        "source": c.source,
        "name": c.name,
        "k": c.k,
        "steps": c.steps,
        "metrics": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in c.metrics.items()},
    }
    if status is not None:
        entry["status"] = status
        entry["reasons"] = list(reasons or [])
    return entry


def _record(
    mode: str,
    admission: Admission,
    candidates: Sequence[Candidate],
    chosen: Candidate,
    runner_up: Candidate | None,
    statuses: Mapping[int, str],
    reasons: Mapping[int, list[str]],
    why: str,
    best: Candidate | None,
    floor: float | None,
    ties: Sequence[Candidate],
) -> dict[str, Any]:
    return {
        "mode": mode,
        "rule": admission.text(),
        "thresholds": {
            "k_min": admission.k_min,
            "k_max": admission.k_max,
            "min_segment_share": admission.min_segment_share,
            "min_agreement": admission.min_agreement,
            "min_coverage": admission.min_coverage,
            "tie_z": admission.tie_z,
            "prefer": list(admission.prefer),
            "tolerances": dict(admission.tolerances),
        },
        "why": why,
        "best_admissible": None
        if best is None
        else {"id": best.id, "silhouette_ref": best.silhouette, "ties_from": floor},
        "ties": [c.id for c in ties],
        "chosen": {**_entry(chosen), "spec": chosen.spec},
        "runner_up": None
        if runner_up is None
        else {**_entry(runner_up), "why_not": reasons[id(runner_up)][0] if reasons[id(runner_up)] else ""},
        "candidates": [_entry(c, statuses[id(c)], reasons[id(c)]) for c in candidates],
    }


def pinned_record(candidate: Candidate, admission: Admission, where: str) -> dict[str, Any]:
    """The record of a pinned candidate: measured like any other, the rule not applied, violations said."""
    violations = admission.reasons(candidate.k, candidate.metrics)
    if violations:
        logger.warning("pinned %s breaks the model-choice rule: %s", candidate.id, "; ".join(violations))
    why = f"Pinned in the parameters ({where}); the rule was not applied."
    if violations:
        why += " The pinned model breaks it: " + "; ".join(violations) + "."
    record = _record(
        "pinned",
        admission,
        [candidate],
        candidate,
        None,
        {id(candidate): CHOSEN},
        {id(candidate): []},
        why,
        None,
        None,
        [],
    )
    record["chosen"]["rule_violations"] = violations
    return record
