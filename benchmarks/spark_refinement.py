"""Would refining the sample-fitted centres on every customer change the segments? The measured argument
behind the Spark engine shipping the centres the model choice measured, unrefined.

    uv run --extra spark python benchmarks/spark_engine.py --sizes 1000000 --engines spark --pipelines default \\
        --workspace /tmp/bench --keep
    uv run python benchmarks/spark_refinement.py /tmp/bench/<run folder>/spark-1000000

Reads the project's published model and model input (every customer), then runs Lloyd's algorithm on every
customer from the shipped centres: what MLlib's KMeans does when initialised at them. Prints how many customers
would change segment, the adjusted Rand index between the two partitions, how far the centres move (in units
of the smallest distance between two shipped centres) and the change in within-segment inertia.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from bank_segmentation.framework.runs import PublishedSet

RESULTS = Path(__file__).with_name("spark_results.json")


def published(project: Path, name: str) -> Path:
    """The file or folder the project's last run published as ``name``."""
    return project / PublishedSet.load(project).datasets[name]["path"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path, help="a project folder after `kedro run --env spark`")
    parser.add_argument("--max-iter", type=int, default=300)
    args = parser.parse_args()
    model = pickle.loads(published(args.project, "segmentation_model").read_bytes())
    model_input = pd.read_parquet(published(args.project, "model_input"))
    fitted_on = json.loads(published(args.project, "model_selection").read_text())["fitting"]["customers"]
    kmeans = model.named_steps["segment"]
    with threadpool_limits(2):
        X = model.named_steps["preprocess"].transform(model_input)
        shipped = kmeans.predict(X)
        start = time.perf_counter()
        refined = KMeans(kmeans.n_clusters, init=kmeans.cluster_centers_, n_init=1, max_iter=args.max_iter).fit(X)
        seconds = time.perf_counter() - start
    centres = kmeans.cluster_centers_
    gaps = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2)
    closest_pair = gaps[np.triu_indices(len(centres), 1)].min()
    shift = np.linalg.norm(refined.cluster_centers_ - centres, axis=1)
    inertia = float(((X - centres[shipped]) ** 2).sum())
    result = {
        "measure": "refinement",
        "customers": len(model_input),
        "fitted_on": fitted_on,
        "k": int(kmeans.n_clusters),
        "lloyd_iterations": int(refined.n_iter_),
        "lloyd_seconds": round(seconds, 1),
        "customers_changing_segment_share": float((refined.labels_ != shipped).mean()),
        "adjusted_rand_index": float(adjusted_rand_score(shipped, refined.labels_)),
        "max_centre_shift_in_closest_centre_gaps": float(shift.max() / closest_pair),
        "inertia_change_share": float((refined.inertia_ - inertia) / inertia),
    }
    print(json.dumps(result, indent=2))
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    kept = [r for r in earlier if not (r.get("measure") == "refinement" and r["customers"] == result["customers"])]
    RESULTS.write_text(json.dumps(kept + [result], indent=2))


if __name__ == "__main__":
    main()
