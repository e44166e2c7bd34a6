"""Ablation of the model-choice rule: which tie-break (or none) ships the segments a bank can trust?

For each landscape (the demo portfolio, the real CC GENERAL table, and the real table scored in an
all-columns reference space) the script runs the default job up to the model choice in a throw-away project
copy (sweep and Optuna search with the shipped parameters), then applies several rules to the *same*
candidates:

  silhouette      the admissible candidate with the best reference-space silhouette (no ties)
  null_gap        the admissible candidate with the best silhouette minus the silhouette K-means reaches with
                  the same k on structureless data (each reference-space column permuted): comparable across k
  coverage_k      ties (within tie_z standard errors) -> more customers named -> more segments -> silhouette
  coverage_agree  ties -> more customers named -> more reproducible (agreement within the tolerance)
                  -> more segments -> silhouette                                    (the shipped default)

and prints, per rule: the chosen candidate, k, its silhouette and distance to the best admissible one, the
agreement the rule saw, an *independent* agreement (10 refits with seeds the product never uses), archetype
coverage, the smallest segment and, on the demo, the adjusted Rand index with the planted personas.

    uv run python benchmarks/model_choice_ablation.py [--real PATH] [--out results.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from bank_segmentation.core.candidates import Admission, CandidateScorer
from bank_segmentation.core.choice import Candidate, choose
from bank_segmentation.core.evaluation import MetricSpace, refit_agreement, thread_limit
from bank_segmentation.core.naming import name_segments
from bank_segmentation.core.profiles import build_segment_profiles
from bank_segmentation.pipelines.model_choice.nodes import search_candidates, sweep_candidates

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests' project-copy helper
from tests.workspace import copy_project  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
INDEPENDENT_SEED_OFFSET = 1000  # refit seeds the product never uses
ALL_COLUMNS_REFERENCE = {"columns": "all"}  # log1p and standard scaling as in the shipped reference space


def real_table(given: str | None) -> Path | None:
    """The real CC GENERAL table: --real, $CC_GENERAL_CSV, or shared/data beside the repository."""
    for candidate in (given, os.environ.get("CC_GENERAL_CSV"), REPO.parent / "shared" / "data" / "cc_general.csv"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def run_to_choice(project: Path, extra_params: Mapping[str, Any]) -> dict[str, Any]:
    """Run the default job up to the model choice in ``project`` (a child process, as a user would); return
    the choice's inputs and the run's parameters."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}", "TQDM_DISABLE": "1"}
    command = [str(Path(sys.executable).with_name("kedro")), "run", "--to-nodes", "choose_segmentation"]
    if extra_params:
        command += ["--params", ",".join(f"{key}={value}" for key, value in flatten(extra_params).items())]
    subprocess.run(command, cwd=project, env=env, check=True, capture_output=True, text=True)
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=dict(extra_params)) as session:
        context = session.load_context()
        data = {
            name: context.catalog.load(name)
            for name in ("sweep_results", "tuning_trials", "model_input", "customer_features")
        }
        data["params"] = context.params
    return data


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``, the form of ``kedro run --params``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class Pool:
    """The candidates of one landscape, each measured at most once whatever rule asks."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        params = data["params"]
        self.params = params
        self.settings = params["evaluation"]
        self.scorer = CandidateScorer.from_settings(
            data["model_input"],
            data["customer_features"],
            params["evaluation"],
            params["schema"],
            params["features"],
            params["reporting"]["naming"],
            params["reporting"]["profiles"],
        )
        self.candidates = sweep_candidates(data["sweep_results"], params["clustering"]["variants"]) + search_candidates(
            data["tuning_trials"]
        )
        self.cache: dict[tuple[str, int], dict[str, Any]] = {}
        self.labels: dict[tuple[str, int], np.ndarray] = {}

    def key(self, c: Candidate) -> tuple[str, int]:
        return json.dumps(c.spec, sort_keys=True), c.k

    def fresh(self) -> list[Candidate]:
        """Copies of the candidates, with every measurement made so far."""
        out = []
        for c in self.candidates:
            fresh = Candidate(c.source, c.name, c.k, c.spec, c.steps, {**c.metrics, **self.cache.get(self.key(c), {})})
            out.append(fresh)
        return out

    def partition(self, c: Candidate) -> np.ndarray:
        key = self.key(c)
        if key not in self.labels:
            self.labels[key] = self.scorer.partition(self.scorer.features(c.spec), c.k)[0]
        return self.labels[key]

    def measure(self, candidates: list[Candidate]) -> None:
        for c in candidates:
            key = self.key(c)
            if key not in self.cache:
                X = self.scorer.features(c.spec)
                labels = self.partition(c)
                self.cache[key] = {**self.scorer.score(labels), **self.scorer.measure(X, labels, c.k)}
            c.metrics.update(self.cache[key])


def null_silhouettes(pool: Pool, ks: list[int]) -> dict[int, float]:
    """Silhouette K-means reaches on structureless data: each reference-space column permuted independently."""
    rng = np.random.default_rng(7)
    X = pool.scorer.reference.X.copy()
    for column in range(X.shape[1]):
        X[:, column] = rng.permutation(X[:, column])
    null = MetricSpace.build(X, pool.settings.silhouette_max_rows, pool.settings.random_state)
    return {
        k: null.silhouette(
            KMeans(k, n_init=pool.settings.n_init, random_state=pool.settings.random_state).fit(X).labels_
        )
        for k in ks
    }


def choose_null_gap(pool: Pool, admission: Admission) -> Candidate:
    """The admissible candidate with the largest silhouette minus the null silhouette of its k."""
    nulls = null_silhouettes(pool, admission.ks)
    best_per_k = []
    candidates = [c for c in pool.fresh() if not admission.cheap_reasons(c.k, c.metrics)]
    for k in admission.ks:
        for c in sorted((c for c in candidates if c.k == k), key=lambda c: -c.silhouette):
            pool.measure([c])
            if not admission.measured_reasons(c.metrics):
                best_per_k.append(c)
                break
    return max(best_per_k, key=lambda c: c.silhouette - nulls[c.k])


def rules(base: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The tie-break rules compared (everything else as shipped)."""
    return {
        "silhouette": {**base, "tie_z": 0.0, "prefer": ["silhouette_ref"], "tolerances": {}},
        "coverage_k": {**base, "prefer": ["coverage", "k", "silhouette_ref"], "tolerances": {}},
        "coverage_agree": {
            **base,
            "prefer": ["coverage", "agreement", "k", "silhouette_ref"],
            "tolerances": {"agreement": 0.01},
        },
    }


def describe(pool: Pool, chosen: Candidate, best_silhouette: float, personas: np.ndarray | None) -> dict[str, Any]:
    """What a rule ships: its numbers, an independent agreement, names and (demo) persona recovery."""
    pool.measure([chosen])
    labels = pool.partition(chosen)
    X = pool.scorer.features(chosen.spec)
    independent = pool.settings.model_copy(
        update={"random_state": pool.settings.random_state + INDEPENDENT_SEED_OFFSET}
    )
    agreement, agreement_min = refit_agreement(X, labels, chosen.k, independent)
    params = pool.params
    features = pool.scorer.customer_features
    assignments = pd.DataFrame({params["schema"].id_column: features[params["schema"].id_column], "segment": labels})
    profiles = build_segment_profiles(
        features, assignments, params["schema"].id_column, params["reporting"]["profiles"]
    )
    names = name_segments(profiles, params["reporting"]["naming"], params["reporting"]["feature_labels"])
    shares = profiles.set_index("segment")["share"]
    return {
        "chosen": chosen.id,
        "k": chosen.k,
        "silhouette_ref": round(chosen.silhouette, 4),
        "below_best": round(best_silhouette - chosen.silhouette, 4),
        "agreement": round(chosen.metrics["agreement"], 3),
        "agreement_independent": round(agreement, 3),
        "agreement_independent_min": round(agreement_min, 3),
        "coverage": round(chosen.metrics["coverage"], 3),
        "smallest_segment": round(float(shares.min()), 3),
        "persona_ari": None if personas is None else round(adjusted_rand_score(personas, labels), 3),
        "names": [f"{n} {shares[s]:.0%}" for s, n in zip(names["segment"], names["name"], strict=True)],
    }


def landscape(name: str, table: Path, personas: Path | None, extra: Mapping[str, Any], workdir: Path) -> dict:
    """Every rule on one landscape."""
    project = copy_project(REPO, workdir / name)
    (project / "data" / "01_raw" / "customers.csv").write_bytes(table.read_bytes())
    start = time.perf_counter()
    data = run_to_choice(project, extra)
    seconds = time.perf_counter() - start
    pool = Pool(data)
    base = data["params"]["model_choice"]["rule"]
    labels = None
    if personas is not None:
        frame = pd.read_csv(personas)
        labels = data["customer_features"][["CUST_ID"]].merge(frame, on="CUST_ID", how="left")["PERSONA"].to_numpy()
    results: dict[str, Any] = {"candidates": len(pool.candidates), "run_seconds": round(seconds, 1)}
    with thread_limit(len(data["model_input"]), pool.settings.single_thread_max_rows):
        decisions = {}
        for rule_name, rule in rules(base).items():
            admission = Admission.from_params(rule)
            record = choose(pool.fresh(), admission, pool.measure)
            decisions[rule_name] = (record, next(c for c in pool.fresh() if c.id == record["chosen"]["id"]))
        best = max(r["best_admissible"]["silhouette_ref"] for r, _ in decisions.values() if r["best_admissible"])
        for rule_name, (_, chosen) in decisions.items():
            results[rule_name] = describe(pool, chosen, best, labels)
        null_choice = choose_null_gap(pool, Admission.from_params(base))
        results["null_gap"] = describe(pool, null_choice, best, labels)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", help="path of the real CC GENERAL table (default: shared/data beside the repo)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")
    raw = REPO / "data" / "01_raw" / "demo"
    landscapes = [("demo", raw / "customers.csv", raw / "customer_personas.csv", {})]
    real = real_table(args.real)
    if real is None:
        print("real CC GENERAL table not found: only the demo landscape is measured")
    else:
        landscapes += [
            ("real", real, None, {}),
            ("real_all_columns_reference", real, None, {"evaluation": {"reference_space": ALL_COLUMNS_REFERENCE}}),
        ]
    results = {}
    with tempfile.TemporaryDirectory(prefix="model-choice-ablation-") as tmp:
        for name, table, personas, extra in landscapes:
            results[name] = landscape(name, table, personas, copy.deepcopy(extra), Path(tmp))
            print_landscape(name, results[name])
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


def print_landscape(name: str, result: Mapping[str, Any]) -> None:
    print(f"\n## {name}: {result['candidates']} candidates (run to the choice in {result['run_seconds']} s)\n")
    columns = [
        "k",
        "silhouette_ref",
        "below_best",
        "agreement",
        "agreement_independent",
        "agreement_independent_min",
        "coverage",
        "smallest_segment",
        "persona_ari",
    ]
    print("| rule | chosen | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for rule in ("silhouette", "null_gap", "coverage_k", "coverage_agree"):
        row = result[rule]
        print(f"| {rule} | {row['chosen']} | " + " | ".join(str(row[c]) for c in columns) + " |")
    for rule in ("silhouette", "null_gap", "coverage_k", "coverage_agree"):
        print(f"  {rule}: {', '.join(result[rule]['names'])}")


if __name__ == "__main__":
    main()
