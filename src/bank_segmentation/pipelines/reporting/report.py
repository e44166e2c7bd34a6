"""The self-contained HTML report for the marketing team (opens offline, no Python needed)."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bank_segmentation.pipelines.reporting.render import colour
from bank_segmentation.pipelines.reporting.template import PAGE

logger = logging.getLogger(__name__)

SECTIONS = (
    ("summary", "Executive summary"),
    ("segments", "Segments in detail"),
    ("model", "How the model was chosen"),
    ("tuning", "Hyper-parameter search"),
    ("quality", "Data quality"),
)
SELECTION_METRICS = (
    ("silhouette_ref", "silhouette (reference space)"),
    ("silhouette_own", "silhouette (own space)"),
    ("stability", "bootstrap stability (ARI)"),
    ("smallest_segment_share", "smallest segment share"),
    ("calinski_harabasz_ref", "Calinski-Harabasz (reference)"),
    ("davies_bouldin_ref", "Davies-Bouldin (reference)"),
    ("inertia_own", "inertia (own space)"),
)


def h(value: Any) -> str:
    """HTML-escaped text of any value (every data or user string goes through here)."""
    return html.escape(str(value), quote=True)


def _number(value: Any) -> str:
    """A metric for a table cell: thousands separators, fewer decimals for bigger numbers."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return h(value)
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 10 else f"{value:,.3f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int] = frozenset()) -> str:
    """An HTML table; cells are escaped, numeric columns right-aligned."""
    head = "".join(f"<th>{h(col)}</th>" for col in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_number(cell)}</td>' if i in numeric else f"<td>{h(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(images: Mapping[str, str], name: str, caption: str) -> str:
    """An inline image (data URI) with its caption; nothing when the image is absent."""
    uri = images.get(name)
    if not uri or not uri.startswith("data:image/png;base64,"):
        return ""
    return f'<figure><img src="{uri}" alt="{h(caption)}"><figcaption>{h(caption)}</figcaption></figure>'


def _card(segment: Mapping[str, Any], index: int) -> str:
    """One executive-summary card: name, share, what defines the segment and what to do."""
    recs = segment["recommendations"]
    badges = ""
    if segment["micro_segment"]:
        badges += '<span class="badge">micro-segment</span>'
    if not segment["matched"]:
        badges += '<span class="badge grey">no archetype</span>'
    traits = "".join(f"<li>{h(t)}</li>" for t in segment["traits"])
    offers = "".join(f"<li>{h(o)}</li>" for o in recs["offers"])
    note = f'<p class="risk">{h(recs["note"])}</p>' if recs.get("note") else ""
    return f"""<div class="card" style="--accent: {colour(index)}">
<h3 class="segment-name">{h(segment["name"])}{badges}</h3>
<div class="share">{segment["share"]:.1%} of customers ({segment["customers"]:,})</div>
<p>{h(segment["description"])}</p>
<h4>What defines it</h4><ul>{traits}</ul>
<h4>What to do</h4><p><strong>{h(recs["objective"])}</strong></p><ul>{offers}</ul>
<p>Channel: {h(recs["channel"])}<br>KPI to track: {h(recs["kpi"])}</p>
<p class="risk">Risk / compliance: {h(recs["risk_note"])}</p>{note}
</div>"""


def _summary(catalogue: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """Executive summary: one card per segment."""
    cards = "".join(_card(seg, i) for i, seg in enumerate(catalogue["segments"]))
    return (
        f"<p>{catalogue['customers']:,} customers were split into {len(catalogue['segments'])} "
        f"segments (preprocessing variant <em>{h(config.get('variant', '?'))}</em>, "
        f"k = {h(config.get('k', '?'))}). Names come from each segment's profile, never from a "
        "cluster number; recommended actions come from the marketing playbook in "
        "<code>conf/base/parameters_reporting.yml</code>.</p>"
        f'<div class="cards">{cards}</div>'
    )


def _segments(catalogue: Mapping[str, Any], images: Mapping[str, str]) -> str:
    """Segment statistics table and the segment figures."""
    segments = catalogue["segments"]
    keys = list(segments[0]["key_statistics"]) if segments else []
    headers = ["segment", "customers", "share"] + [segments[0]["key_statistics"][k]["label"] + " (mean)" for k in keys]
    rows = [
        [s["name"], s["customers"], f"{s['share']:.1%}"] + [s["key_statistics"][k]["mean_text"] for k in keys]
        for s in segments
    ]
    if segments:
        rows.append(
            ["portfolio", catalogue["customers"], "100.0%"]
            + [segments[0]["key_statistics"][k]["portfolio_mean_text"] for k in keys]
        )
    volumes = [[s["name"]] + [f"{v:.1%}" for v in s["volume_shares"].values()] for s in segments]
    volume_headers = ["segment"] + [
        f"share of {k.replace('_', ' ')}" for k in (segments[0]["volume_shares"] if segments else {})
    ]
    return (
        _table(headers, rows, numeric={1})
        + "<h3>Share of the portfolio's volumes</h3>"
        + _table(volume_headers, volumes)
        + _figure(images, "segment_sizes", "Segment sizes")
        + _figure(images, "profile_heatmap", "What sets each segment apart (z-scores)")
        + _figure(images, "snake_plot", "Snake plot of the segment profiles")
        + _figure(images, "segment_map", "Segment map (2-D PCA of the common reference space)")
    )


def _trained(config: Mapping[str, Any], selection: Mapping[str, Any]) -> str:
    """Which configuration was trained, where it came from, and how it relates to the sweep."""
    chosen = selection.get("chosen", {}) if selection else {}
    parts = [
        f"<p><strong>Trained model: {h(config.get('variant', '?'))}, k = {h(config.get('k', '?'))}"
        f"</strong> ({h(config.get('n_init', '?'))} K-means restarts), from "
        f"{h(config.get('source', '?'))}.</p>"
    ]
    if chosen and (chosen.get("variant"), chosen.get("k")) != (config.get("variant"), config.get("k")):
        parts.append(
            "<p>The clustering sweep below chose a different candidate; the trained configuration "
            "above takes precedence (parameter <code>training.mode</code>).</p>"
        )
    metrics = config.get("metrics") or {}
    if metrics:
        rows = list(metrics.items())
        parts.append(_table(["metric of the trained configuration", "value"], rows, numeric={1}))
    return "".join(parts)


def _model(selection: Mapping[str, Any], config: Mapping[str, Any], images: Mapping[str, str]) -> str:
    """The model-selection story: what was trained, the rule, the chosen candidate, rejections."""
    trained = _trained(config, selection) if config else ""
    if not selection:
        return trained + "<p>No model-selection record was provided.</p>"
    chosen = selection.get("chosen", {})
    runner = selection.get("runner_up") or {}
    metrics = chosen.get("metrics", {}) or {}
    runner_metrics = runner.get("metrics", {}) or {}
    rows = [
        [label, metrics.get(key), runner_metrics.get(key) if runner else None]
        for key, label in SELECTION_METRICS
        if key in metrics
    ]
    mode = selection.get("mode", "?")
    story = {
        "rule": "chosen by the selection rule",
        "pinned": "pinned in the parameters (the rule was not applied)",
        "fallback": "no candidate met every constraint; the one breaking the fewest was taken",
        "tuned": "chosen by the hyper-parameter search",
    }.get(mode, mode)
    violations = chosen.get("rule_violations") or []
    rejected = selection.get("rejected", []) or []
    rejected_rows = [[r["variant"], r["k"], "; ".join(r.get("reasons", []))] for r in rejected]
    knees = selection.get("knees") or {}
    parts = [
        trained,
        "<h3>The clustering sweep</h3>",
        f"<p><strong>Chosen: {h(chosen.get('variant', '?'))}, k = {h(chosen.get('k', '?'))}</strong> ({h(story)}).</p>",
        f"<p>Rule: {h(selection.get('rule', ''))}</p>",
    ]
    if chosen.get("steps"):
        parts.append(f"<p>Preprocessing steps: <code>{h(chosen['steps'])}</code></p>")
    if violations:
        parts.append('<p class="risk">The chosen model breaks the selection rule: ' + h("; ".join(violations)) + "</p>")
    runner_name = f"runner-up: {runner.get('variant')}, k={runner.get('k')}" if runner else "runner-up"
    if rows:
        parts.append(_table(["metric", "chosen", runner_name], rows, numeric={1, 2}))
    if knees:
        parts.append(
            "<p>Knee of each variant's inertia curve: "
            + h(", ".join(f"{name} k={knee}" for name, knee in knees.items()))
            + "</p>"
        )
    if rejected_rows:
        parts.append(
            f"<details><summary>{len(rejected_rows)} other candidates and why they were not "
            f"chosen</summary>{_table(['variant', 'k', 'reasons'], rejected_rows)}</details>"
        )
    parts += [
        _figure(images, "elbow", "Elbow curves with each variant's knee"),
        _figure(images, "silhouette", "Silhouette by k, own and reference space"),
        _figure(images, "stability", "Bootstrap stability and smallest segment by k"),
    ]
    return "".join(parts)


def _tuning(tuning_summary: Mapping[str, Any] | None) -> str:
    """The optional hyper-parameter search summary (flat key/value table)."""
    if not tuning_summary:
        return "<p>No hyper-parameter search summary was provided for this run.</p>"
    rows = [[key, value if not isinstance(value, dict | list) else str(value)] for key, value in tuning_summary.items()]
    return _table(["item", "value"], rows)


def _strategies(spec: Any) -> list[tuple[Any, Any]]:
    """(strategy, count) pairs of one imputed column: ``{strategy, count}`` or ``{strategy: count}``."""
    if isinstance(spec, Mapping) and "strategy" in spec:
        return [(spec["strategy"], spec.get("count"))]
    if isinstance(spec, Mapping):
        return list(spec.items())
    return [(spec, None)]


def _quality(data_quality: Mapping[str, Any], images: Mapping[str, str]) -> str:
    """Rows kept and quarantined, repairs, missing values and imputation, plus the EDA figures."""
    if not data_quality:
        return "<p>No data-quality record was provided.</p>"
    counts = [
        [label, data_quality.get(key)]
        for key, label in (
            ("rows_in", "rows read"),
            ("rows_kept", "rows kept"),
            ("rows_quarantined", "rows quarantined"),
        )
    ]
    parts = [
        f"<p>Source: <code>{h(data_quality.get('source', '?'))}</code></p>",
        _table(["", "rows"], counts, numeric={1}),
    ]
    for key, title in (("repairs", "Repairs"), ("quarantined", "Quarantined by rule")):
        items = data_quality.get(key) or {}
        if items:
            parts.append(f"<h3>{h(title)}</h3>" + _table(["rule", "rows"], list(items.items()), {1}))
    imputed = data_quality.get("imputed") or {}
    if imputed:
        rows = [[col, strategy, count] for col, spec in imputed.items() for strategy, count in _strategies(spec)]
        parts.append("<h3>Imputed values</h3>" + _table(["column", "strategy", "values"], rows, {2}))
    parts += [
        _figure(images, "missing_values", "Missing values per column"),
        _figure(images, "feature_distributions", "Distributions of the behavioural columns"),
        _figure(images, "correlation", "Correlations between behavioural columns"),
    ]
    return "".join(parts)


def render_report(
    segment_catalogue: Mapping[str, Any],
    segmentation_config: Mapping[str, Any],
    model_selection: Mapping[str, Any],
    data_quality: Mapping[str, Any],
    report_images: Mapping[str, str],
    params: Mapping[str, Any],
    tuning_summary: Mapping[str, Any] | None = None,
) -> str:
    """The self-contained HTML report: executive summary, segments, model choice, data quality.

    ``tuning_summary`` (the Optuna study's summary) is optional: when given, the report gets a
    hyper-parameter search section.
    """
    bodies = {
        "summary": _summary(segment_catalogue, segmentation_config),
        "segments": _segments(segment_catalogue, report_images),
        "model": _model(model_selection, segmentation_config, report_images),
        "tuning": _tuning(tuning_summary),
        "quality": _quality(data_quality, report_images),
    }
    shown = [(key, title) for key, title in SECTIONS if key != "tuning" or tuning_summary]
    body = "\n".join(f'<section id="{key}"><h2>{h(title)}</h2>{bodies[key]}</section>' for key, title in shown)
    nav = "".join(f'<a href="#{key}">{h(title)}</a>' for key, title in shown)
    page = PAGE.substitute(
        title=h(params["title"]),
        subtitle=h(params["subtitle"]),
        nav=nav,
        body=body,
        footer=h(params["footer"]),
    )
    logger.info("HTML report: %d segments, %.0f kB", len(segment_catalogue["segments"]), len(page.encode()) / 1024)
    return page
