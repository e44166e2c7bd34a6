"""The scoring report: what a scoring run found, for the marketing team (one self-contained HTML file)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bank_segmentation.core.page import PAGE, h, html_table

logger = logging.getLogger(__name__)

SECTIONS = (
    ("migration", "Who moved since last time"),
    ("watched", "Moves to act on"),
    ("matrix", "Where every customer went"),
    ("drift", "Drift since training"),
)


def render_scoring_report(
    migration: Mapping[str, Any], drift_report: Mapping[str, Any], params: Mapping[str, Any]
) -> str:
    """The scoring run's HTML report: migration summary, watched moves, transition matrix, drift."""
    bodies = {
        "migration": _migration(migration),
        "watched": _watched(migration),
        "matrix": _matrix(migration),
        "drift": _drift(drift_report),
    }
    body = "\n".join(f'<section id="{key}"><h2>{h(title)}</h2>{bodies[key]}</section>' for key, title in SECTIONS)
    nav = "".join(f'<a href="#{key}">{h(title)}</a>' for key, title in SECTIONS)
    page = PAGE.substitute(
        title=h(params["title"]), subtitle=h(params["subtitle"]), nav=nav, body=body, footer=h(params["footer"])
    )
    logger.info("Scoring report: %d scored customers, %.0f kB", migration["counts"]["scored"], len(page) / 1024)
    return page


def _migration(migration: Mapping[str, Any]) -> str:
    counts = migration["counts"]
    source = {"training": "the training run", "scoring": "the previous scoring run"}.get(
        migration["previous_source"] or "", "nothing yet (every customer is new)"
    )
    lines = [
        f"<p>Compared with {h(source)}: <b>{counts['scored']:,}</b> customers scored now, "
        f"<b>{counts['previous']:,}</b> segmented last time.</p>",
        html_table(
            ["", "customers", "of"],
            [
                ["stayed in their segment", counts["stayed"], "scored"],
                ["moved to another segment", counts["moved"], "scored"],
                ["new (not segmented last time)", counts["new"], "scored"],
                ["left (not in this file)", counts["left"], "last time"],
                ["rejected this time (see rejected_customers_to_score.csv)", counts["rejected"], "last time"],
            ],
            numeric={1},
        ),
        f'<p class="note">Scored = stayed + moved + new; last time = stayed + moved + left + rejected. '
        f"{migration['moved_share']:.1%} of the customers scored both times changed segment.</p>",
    ]
    if migration["flows"]:
        rows = [[f["from"], f["to"], f["customers"], f"{f['share_of_from']:.1%}"] for f in migration["flows"]]
        lines += ["<h3>Biggest flows</h3>", html_table(["from", "to", "customers", "of the segment"], rows, {2, 3})]
    return "".join(lines)


def _watched(migration: Mapping[str, Any]) -> str:
    rows = [
        [
            rule["name"],
            rule["customers"],
            f"{rule['share_of_from']:.1%}",
            "; ".join(f"{f['from']} → {f['to']} {f['customers']:,}" for f in rule["flows"]) or "-",
        ]
        for rule in migration["watched"]
    ]
    note = (
        '<p class="note">Each customer of these moves is in scored_customers.csv with its '
        "<code>previous_segment_name</code> and <code>movement</code>; the rules are "
        "<code>migration.watch</code> in parameters_scoring.yml.</p>"
    )
    return html_table(["move", "customers", "of their segments", "flows"], rows, {1, 2}) + note


def _matrix(migration: Mapping[str, Any]) -> str:
    matrix = migration["matrix"]
    rows = [
        [origin, *(f"{n:,} ({share:.0%})" if n else "" for n, share in zip(counts, shares))]
        for origin, counts, shares in zip(matrix["rows"], matrix["counts"], matrix["row_shares"])
    ]
    note = '<p class="note">Rows: the segment last time; columns: the segment now. Shares are of the row.</p>'
    return html_table(["last time \\ now", *matrix["columns"]], rows) + note


def _drift(drift_report: Mapping[str, Any]) -> str:
    worst = sorted(drift_report["features"].items(), key=lambda item: -item[1]["psi"])[:8]
    rows = [[column, row["psi"], row["level"]] for column, row in worst]
    outside = drift_report["outside_training"]
    return (
        f"<p>{outside['n_flagged']:,} scored customers ({outside['share']:.1%}) lie outside what training saw.</p>"
        + html_table(["column", "PSI", "level"], rows, {1})
    )
