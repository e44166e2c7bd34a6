"""Segment migration: where each scored customer was last time, and where it is now.

"Last time" is the newest published segment memberships: the training assignments, or the previous scoring
run if it published after training. Segments are compared by name, never by cluster id: a retrained model
numbers its clusters anew, while its names come from the profiles. Every customer is counted once: a scored
customer stayed, moved or is new; a customer of last time who is not scored now left, or was rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bank_segmentation.core.settings import Schema

NEW, LEFT, REJECTED = "(new)", "(left)", "(rejected)"
STAYED, MOVED, ARRIVED = "stayed", "moved", "new"  # a scored customer's movement
MEMBERSHIP_COLUMNS = ["segment", "segment_name", "archetype", "source"]
CUSTOMERS = "customers"  # a pair count's number of customers


def memberships(assignments: pd.DataFrame, package: Mapping[str, Any], schema: Schema, source: str) -> pd.DataFrame:
    """Each customer's segment with its name and archetype, and where it was assigned (training or scoring)."""
    segments = package["segments"][["segment", "name", "archetype"]].rename(columns={"name": "segment_name"})
    named = assignments[[schema.id_column, "segment"]].merge(segments, on="segment", how="left", validate="m:1")
    return named.assign(source=source)[[schema.id_column, *MEMBERSHIP_COLUMNS]]


def movements(current: pd.DataFrame, previous: pd.DataFrame | None, id_column: str) -> pd.DataFrame:
    """Per current customer (in order): its previous segment name and whether it stayed, moved or is new."""
    before = _names(previous, id_column).reindex(current[id_column])
    now = current["segment_name"].to_numpy()
    movement = [ARRIVED if pd.isna(b) else STAYED if b == n else MOVED for b, n in zip(before, now)]
    return pd.DataFrame({"previous_segment_name": before.to_numpy(), "movement": movement}, index=current.index)


def _names(frame: pd.DataFrame | None, id_column: str) -> pd.Series:
    if frame is None or frame.empty:
        return pd.Series(dtype=object)
    return frame.set_index(id_column)["segment_name"]


def measure_migration(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    rejected_ids: Sequence[str],
    params: Mapping[str, Any],
    id_column: str,
) -> dict[str, Any]:
    """Transition matrix (counts and shares), biggest flows, new and lost customers, and the watched moves."""
    before, now = _names(previous, id_column), _names(current, id_column)
    rejected = pd.Index(pd.Series(rejected_ids, dtype=object).dropna().unique()).difference(now.index)
    gone = before.index.difference(now.index)
    pairs = pd.DataFrame(
        {
            "from": list(before.reindex(now.index).fillna(NEW)) + list(before[gone]),
            "to": list(now) + [REJECTED if customer in rejected else LEFT for customer in gone],
        }
    )
    counts = pairs.groupby(["from", "to"]).size().rename(CUSTOMERS).reset_index()
    return migration_report(counts, segment_archetypes(previous, current), previous_source(previous), params)


def migration_report(
    pairs: pd.DataFrame, archetypes: Mapping[str, str], source: str | None, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The migration report from its pair counts (``from``, ``to``, ``customers``: a customer's segment name last
    time or ``(new)``, now or ``(left)``/``(rejected)``), whichever engine counted them."""
    pairs = pairs.astype({"from": str, "to": str, CUSTOMERS: "int64"})
    before = pairs[pairs["from"] != NEW].groupby("from")[CUSTOMERS].sum()
    now = pairs[~pairs["to"].isin([LEFT, REJECTED])].groupby("to")[CUSTOMERS].sum()
    matrix = pairs.pivot_table(index="from", columns="to", values=CUSTOMERS, aggfunc="sum", fill_value=0)
    # the same segment order on both axes (last time's sizes, then segments that are new now): stayers on the diagonal
    names = list(dict.fromkeys([*_by_size(before), *_by_size(now)]))
    rows = [*(name for name in names if name in before.index), NEW]
    columns = [*(name for name in names if name in now.index), LEFT, REJECTED]
    matrix = matrix.reindex(index=rows, columns=columns, fill_value=0)
    known = pairs[(pairs["from"] != NEW) & ~pairs["to"].isin([LEFT, REJECTED])]
    stayed = known["from"] == known["to"]
    counts = {
        "previous": int(before.sum()),
        "scored": int(now.sum()),
        STAYED: int(known.loc[stayed, CUSTOMERS].sum()),
        MOVED: int(known.loc[~stayed, CUSTOMERS].sum()),
        ARRIVED: int(pairs.loc[pairs["from"] == NEW, CUSTOMERS].sum()),
        "left": int(pairs.loc[pairs["to"] == LEFT, CUSTOMERS].sum()),
        "rejected": int(pairs.loc[pairs["to"] == REJECTED, CUSTOMERS].sum()),
    }
    return {
        "previous_source": source,
        "counts": counts,
        "moved_share": counts[MOVED] / max(counts[STAYED] + counts[MOVED], 1),
        "matrix": {
            "rows": rows,
            "columns": columns,
            "counts": matrix.to_numpy().tolist(),
            "row_shares": _row_shares(matrix).round(4).to_numpy().tolist(),
        },
        "flows": _flows(known, before, params["top_flows"]),
        "watched": [_watched(rule, known, before, archetypes) for rule in params["watch"]],
    }


def _by_size(sizes: pd.Series) -> list[str]:
    """Names by size, largest first; ties in name order."""
    ordered = sizes.rename_axis("name").reset_index(name="n").sort_values(["n", "name"], ascending=[False, True])
    return [str(name) for name in ordered["name"]]


def _row_shares(matrix: pd.DataFrame) -> pd.DataFrame:
    return matrix.div(matrix.sum(axis=1).where(lambda total: total > 0, 1), axis=0)


def previous_source(previous: pd.DataFrame) -> str | None:
    """Where most customers of last time were segmented (training or scoring); None for no memberships."""
    if previous.empty or "source" not in previous:
        return None
    return str(previous["source"].mode().iloc[0])


def _flows(known: pd.DataFrame, before: pd.Series, top: int) -> list[dict[str, Any]]:
    """The largest moves between two segments, with their share of the segment they left."""
    moved = known[known["from"] != known["to"]]
    flows = moved.groupby(["from", "to"])[CUSTOMERS].sum().sort_values(ascending=False, kind="stable").head(top)
    return [
        {"from": origin, "to": target, "customers": int(n), "share_of_from": round(n / before[origin], 4)}
        for (origin, target), n in flows.items()
    ]


def segment_archetypes(*frames: pd.DataFrame) -> dict[str, str]:
    """Segment name -> archetype key, from both memberships (a table without archetypes has none)."""
    pairs = pd.concat([f[["segment_name", "archetype"]] for f in frames if not f.empty and "archetype" in f])
    pairs = pairs.dropna().drop_duplicates("segment_name")
    return dict(zip(pairs["segment_name"].astype(str), pairs["archetype"].astype(str)))


def _watched(
    rule: Mapping[str, Any], known: pd.DataFrame, before: pd.Series, archetypes: Mapping[str, str]
) -> dict[str, Any]:
    """The moves one watch rule names (by archetype, or by segment name), e.g. valuable customers going dormant."""

    def matches(names: pd.Series, wanted: Sequence[str]) -> pd.Series:
        if "*" in wanted:
            return pd.Series(True, index=names.index)
        return names.isin(wanted) | names.map(archetypes).isin(wanted)

    moves = known[
        (known["from"] != known["to"]) & matches(known["from"], rule["from"]) & matches(known["to"], rule["to"])
    ]
    names_before = before.index.to_series(index=before.index)
    watched_before = int(before[matches(names_before, rule["from"])].sum())
    flows = moves.groupby(["from", "to"])[CUSTOMERS].sum().sort_values(ascending=False, kind="stable")
    customers = int(moves[CUSTOMERS].sum())
    return {
        "name": rule["name"],
        "customers": customers,
        "share_of_from": round(customers / watched_before, 4) if watched_before else 0.0,
        "flows": [{"from": a, "to": b, "customers": int(n)} for (a, b), n in flows.items()],
    }
