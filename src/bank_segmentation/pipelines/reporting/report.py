"""The self-contained HTML report for the marketing team (opens offline, no Python needed)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bank_segmentation.core.naming import feature_label
from bank_segmentation.core.page import PAGE, h, html_table
from bank_segmentation.pipelines.reporting.render import colour

logger = logging.getLogger(__name__)

SECTIONS = (
    ("summary", "Executive summary"),
    ("segments", "Segments in detail"),
    ("model", "How the model was chosen"),
    ("quality", "Data quality"),
    ("glossary", "Glossary"),
)
# Candidates shown in the model-choice table (the rest are counted, and listed in model_selection.json).
CANDIDATE_ROWS = 12
GLOSSARY = (
    (
        "Segment",
        "A group of customers K-means put together because they behave alike in the columns the model uses. "
        "Segment numbers "
        "are arbitrary and change with every fit; names come from each segment's profile.",
    ),
    (
        "Typical customer (median)",
        "The customer in the middle of a segment: half of its customers are above, "
        "half below. Names and traits use it, so a few extreme customers cannot make a name untrue.",
    ),
    (
        "Archetype",
        "A marketing persona with conditions on the typical customer (e.g. Active Transactors: buys "
        "in at least three months of four, takes no cash advance). A segment is named after the archetype whose "
        "conditions it meets; a partial match meets the archetype's defining conditions but misses others.",
    ),
    (
        "Archetype coverage",
        "Share of customers whose segment is named after an archetype (and therefore gets a playbook).",
    ),
    (
        "Silhouette",
        "How much closer customers are to their own segment than to the next one, from -1 to 1, "
        "measured in one common reference space (log-scaled, standardised behavioural columns) so that every "
        "candidate is measured alike. Differences within about two standard errors are noise.",
    ),
    (
        "Agreement of refits (ARI)",
        "The adjusted Rand index between the shipped segments and the segments found "
        "again on random 80% subsamples with other seeds: 1 means identical segments, 0 means chance. It says "
        "whether the segments are a property of the data or of one lucky fit.",
    ),
    ("Micro-segment", "A segment smaller than the minimum share: too small for a mass campaign."),
    (
        "z-score",
        "How far a segment's average sits from the portfolio's, in portfolio standard deviations "
        "(the heatmap); it is a mean, so names never rely on it.",
    ),
    (
        "PSI",
        "Population stability index, used when scoring new customers: how much a column's distribution "
        "moved since training (below 0.1 stable, above 0.25 a major shift).",
    ),
    (
        "Units",
        "Frequencies and shares are percentages (of months, of spend, of customers), tenure is in months, "
        "amounts are in the currency of the source table.",
    ),
)


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
    if segment.get("match") == "partial":
        badges += '<span class="badge">partial match</span>'
    elif not segment["matched"]:
        badges += '<span class="badge grey">no archetype</span>'
    traits = "".join(f"<li>{h(t)}</li>" for t in segment["traits"])
    described = [*segment.get("labels", {}).values(), *segment.get("categories", {}).values()]
    who = "".join(f"<li>{h(d['summary'])}</li>" for d in described)
    who = f"<h4>Who they are</h4><ul>{who}</ul>" if who else ""
    rules = segment.get("rules") or {}
    rules_html = "".join(
        f'<li>{h(rule["text"])} <span class="note">({rule["precision"]:.0%} of the customers meeting it are in '
        f"this segment; it reaches {rule['coverage']:.0%} of the segment)</span></li>"
        for rule in rules.get("conditions", [])
    )
    rules_html = f"<h4>Rules of thumb</h4><ul>{rules_html}</ul>" if rules_html else ""
    missed = segment.get("conditions_missed") or []
    partial = (
        f'<p class="risk">Partial match: does not meet {h(", ".join(missed))} of this archetype.</p>'
        if segment.get("match") == "partial" and missed
        else ""
    )
    offers = "".join(f"<li>{h(o)}</li>" for o in recs["offers"])
    note = f'<p class="risk">{h(recs["note"])}</p>' if recs.get("note") else ""
    return f"""<div class="card" style="--accent: {colour(index)}">
<h3 class="segment-name">{h(segment["name"])}{badges}</h3>
<div class="share">{segment["share"]:.1%} of customers ({segment["customers"]:,})</div>
<p>{h(segment["description"])}</p>{partial}
<h4>What defines it (typical customer)</h4><ul>{traits}</ul>{who}{rules_html}
<h4>What to do</h4><p><strong>{h(recs["objective"])}</strong></p><ul>{offers}</ul>
<p>Channel: {h(recs["channel"])}<br>KPI to track: {h(recs["kpi"])}</p>
<p class="risk">Risk / compliance: {h(recs["risk_note"])}</p>{note}
</div>"""


def _summary(catalogue: Mapping[str, Any], selection: Mapping[str, Any]) -> str:
    """Executive summary: the segmentation in one paragraph, then one card per segment."""
    segments = catalogue["segments"]
    cards = "".join(_card(seg, i) for i, seg in enumerate(segments))
    named = sum(s["share"] for s in segments if s.get("match", "full" if s["matched"] else "none") == "full")
    chosen = (selection or {}).get("chosen", {})
    agreement = (chosen.get("metrics") or {}).get("agreement")
    archetyped = (
        f"{named:.0%} of them sit in segments named after a marketing archetype."
        if any(s["matched"] for s in segments)
        else "No segment matches a marketing archetype: each is named after the features that set it apart."
    )
    fidelity = catalogue.get("rules_fidelity")
    explained = (
        f" The rules of thumb on each card come from a decision tree on the customers' own columns that places "
        f"{fidelity:.0%} of them in the segment K-means chose."
        if fidelity is not None
        else ""
    )
    reproducible = (
        f" Refitting on other samples of customers finds the same segments (agreement {agreement:.2f} of 1)."
        if agreement is not None
        else ""
    )
    fitted_on = ((selection or {}).get("fitting") or {}).get("customers")
    sampled = (
        f" The model was chosen and fitted on a seeded sample of {fitted_on:,} of them; every customer was then "
        "assigned to the nearest segment, and sizes, shares, volumes and segment statistics count them all."
        if fitted_on and fitted_on < catalogue["customers"]
        else ""
    )
    return (
        f"<p>{catalogue['customers']:,} customers were split into {len(segments)} segments.{sampled} "
        f"{archetyped}{reproducible}{explained} Names come from "
        "each segment's typical customer, never from a cluster number; recommended actions come from the "
        "marketing playbook in <code>conf/base/parameters_reporting.yml</code>.</p>"
        f'<div class="cards">{cards}</div>'
    )


def _segments(catalogue: Mapping[str, Any], images: Mapping[str, str]) -> str:
    """Segment statistics (typical customer vs the portfolio's), volumes and the segment figures."""
    segments = catalogue["segments"]
    keys = list(segments[0]["key_statistics"]) if segments else []
    headers = ["segment", "customers", "share"] + [segments[0]["key_statistics"][k]["label"] for k in keys]
    rows = [
        [s["name"], s["customers"], f"{s['share']:.1%}"] + [s["key_statistics"][k]["median_text"] for k in keys]
        for s in segments
    ]
    if segments:
        rows.append(
            ["whole portfolio", catalogue["customers"], "100.0%"]
            + [segments[0]["key_statistics"][k]["portfolio_median_text"] for k in keys]
        )
    volumes = [[s["name"]] + [f"{v:.1%}" for v in s["volume_shares"].values()] for s in segments]
    volume_headers = ["segment"] + [
        f"share of {k.replace('_', ' ')}" for k in (segments[0]["volume_shares"] if segments else {})
    ]
    return (
        "<p>The typical (median) customer of each segment; frequencies and shares in % of months or spend, "
        "tenure in months, amounts in the currency of the source table.</p>"
        + html_table(headers, rows, numeric={1})
        + (
            ("<h3>Share of the portfolio's volumes</h3>" + html_table(volume_headers, volumes))
            if volume_headers[1:]
            else ""
        )
        + _described_tables(segments)
        + _figure(images, "segment_sizes", "Segment sizes")
        + _figure(images, "profile_heatmap", "What sets each segment apart (z-scores of segment averages)")
        + _figure(images, "snake_plot", "Snake plot of the segment profiles")
        + _figure(images, "segment_map", "Segment map (2-D PCA of the common reference space)")
    )


def _described_tables(segments: Sequence[Mapping[str, Any]]) -> str:
    """One table per label (its rate per segment) and per categorical column (the share of each value)."""
    if not segments:
        return ""
    parts = []
    for kind in ("labels", "categories"):
        for column, first in segments[0].get(kind, {}).items():
            values = list(first["portfolio_shares"])
            if kind == "labels" and first.get("value") is not None:
                values = [first["value"]]
                title = f"{first['label']}: share of customers with {first['value']}"
            else:
                title = f"{first['label']}: share of each value"
            rows = [[s["name"]] + [f"{s[kind][column]['shares'][v]:.0%}" for v in values] for s in segments]
            rows.append(["whole portfolio"] + [f"{first['portfolio_shares'][v]:.0%}" for v in values])
            parts.append(f"<h3>{h(title)}</h3>" + html_table(["segment", *values], rows))
    return "".join(parts)


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value:.0%}"


def _decimal(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _why_k(selection: Mapping[str, Any]) -> str:
    """The chosen feature space at every k of the bounds: silhouette, agreement, coverage, smallest segment."""
    rows = [
        [
            f"{r['k']}{' (chosen)' if r['chosen'] else ''}",
            f"{_decimal(r.get('silhouette_ref'))} ± {_decimal(r.get('silhouette_ref_se'))}",
            f"{_decimal(r.get('agreement'))} (min {_decimal(r.get('agreement_min'))})",
            _percent(r.get("coverage")),
            f"{r['smallest_segment_share']:.1%}" if r.get("smallest_segment_share") is not None else "-",
            "yes" if r.get("admissible") else "no",
        ]
        for r in selection.get("k_table") or []
    ]
    if not rows:
        return ""
    t = selection.get("thresholds", {})
    return (
        f"<h3>Why {h(selection['chosen']['k'])} segments</h3>"
        "<p>The chosen features and preprocessing at every number of segments the business accepts. "
        f"Admissible: agreement of refits at least {h(t.get('min_agreement'))}, at least "
        f"{_percent(t.get('min_coverage'))} of customers in archetype-named segments, no segment under "
        f"{_percent(t.get('min_segment_share'))}.</p>"
        + html_table(
            [
                "segments (k)",
                "silhouette ± standard error",
                "agreement of refits",
                "archetype coverage",
                "smallest segment",
                "admissible",
            ],
            rows,
        )
    )


def _features_used(selection: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """Which behaviours the model separates customers on, and which it leaves out."""
    features = selection.get("features") or {}
    if not features:
        return ""
    used = ", ".join(feature_label(f, labels) for f in features.get("used", []))
    left_out = ", ".join(feature_label(f, labels) for f in features.get("left_out", []))
    parts = [f"<h3>What the model uses</h3><p>Columns the segments are built on: {h(used)}.</p>"]
    if left_out:
        parts.append(
            f"<p>Left out of the model: {h(left_out)}. Segments are not separated on these, but their profiles "
            "and names still describe them.</p>"
        )
    else:
        parts.append("<p>No behavioural column is left out.</p>")
    steps = (selection.get("chosen") or {}).get("steps")
    if steps:
        parts.append(f"<p>Preprocessing: <code>{h(steps)}</code></p>")
    return "".join(parts)


def _candidates(selection: Mapping[str, Any]) -> str:
    """The chosen candidate, the runner-up, the ties and the best of the rest, with the reason each lost."""
    candidates = selection.get("candidates") or []
    order = {"chosen": 0, "runner-up": 1, "tied": 2, "admissible": 3, "rejected": 4}
    ranked = sorted(candidates, key=lambda c: (order.get(c["status"], 5), -(c["metrics"].get("silhouette_ref") or -1)))

    def row(c: Mapping[str, Any]) -> list[Any]:
        m = c["metrics"]
        return [
            c["id"],
            c["status"],
            _decimal(m.get("silhouette_ref"), 4),
            _decimal(m.get("agreement")),
            _percent(m.get("coverage")),
            "; ".join(c.get("reasons") or []) or "-",
        ]

    headers = ["candidate", "status", "silhouette", "agreement", "coverage", "why not chosen"]
    counts = {s: sum(c["status"] == s for c in candidates) for s in order}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return (
        f"<h3>The candidates</h3><p>{len(candidates)} candidates ({h(summary)}); the best are shown, every one "
        "with its reasons is in <code>data/08_reporting/model_selection.json</code>.</p>"
        + html_table(headers, [row(c) for c in ranked[:CANDIDATE_ROWS]])
        + (
            f"<details><summary>{len(ranked) - CANDIDATE_ROWS} more candidates</summary>"
            + html_table(headers, [row(c) for c in ranked[CANDIDATE_ROWS:]])
            + "</details>"
            if len(ranked) > CANDIDATE_ROWS
            else ""
        )
    )


def _search(selection: Mapping[str, Any], tuning_summary: Mapping[str, Any] | None) -> str:
    """What the sweep and the Optuna search tried."""
    sources = selection.get("sources") or {}
    sweep = sources.get("sweep") or {}
    parts = ["<h3>What was tried</h3><ul>"]
    parts.append(
        f"<li>Clustering sweep: {sweep.get('candidates', 0)} candidates (preprocessing variants x k).</li>"
        if sweep.get("ran")
        else "<li>Clustering sweep: not run in this run.</li>"
    )
    if tuning_summary and tuning_summary.get("ran"):
        best = tuning_summary.get("best_trial") or {}
        best_text = (
            f" Its best feasible trial: {best.get('steps')}, k = {best.get('k')} (silhouette "
            f"{_decimal((best.get('metrics') or {}).get('silhouette_ref'), 4)})."
            if best
            else " No trial met every threshold yet."
        )
        parts.append(
            f"<li>Optuna search: {tuning_summary.get('trials_added', 0)} trials added this run, "
            f"{tuning_summary.get('trials_total', 0)} in the study ({tuning_summary.get('trials_feasible', 0)} "
            f"feasible), each trial fitted at every accepted k: {sources.get('search', {}).get('candidates', 0)} "
            f"candidates.{h(best_text)}</li>"
        )
    else:
        parts.append("<li>Optuna search: not run in this run.</li>")
    parts.append("</ul>")
    return "".join(parts)


def _model(
    selection: Mapping[str, Any],
    config: Mapping[str, Any],
    tuning_summary: Mapping[str, Any] | None,
    images: Mapping[str, str],
    labels: Mapping[str, str],
) -> str:
    """The model-choice story in plain words: the decision, why this k, the features, the candidates."""
    if not selection:
        return "<p>No model-selection record was provided.</p>"
    chosen = selection.get("chosen", {})
    mode = selection.get("mode", "?")
    parts = [
        f"<p><strong>{h(chosen.get('k', '?'))} segments, from candidate {h(chosen.get('id', '?'))}</strong> "
        f"({h(config.get('n_init', '?'))} K-means restarts, the lowest-inertia partition kept).</p>",
        f"<p>{h(selection.get('why', ''))}</p>",
    ]
    violations = chosen.get("rule_violations") or []
    if mode == "pinned" and violations:
        parts.append('<p class="risk">The pinned model breaks the rule: ' + h("; ".join(violations)) + ".</p>")
    if mode == "fallback":
        parts.append('<p class="risk">No candidate met every threshold; the closest one was taken.</p>')
    runner = selection.get("runner_up")
    if runner:
        parts.append(f"<p>Runner-up: {h(runner['id'])} — {h(runner.get('why_not', ''))}.</p>")
    parts.append(f"<p>The rule: {h(selection.get('rule', ''))}</p>")
    parts += [
        _why_k(selection),
        _features_used(selection, labels),
        _search(selection, tuning_summary),
        _candidates(selection) if mode != "pinned" else "",
        _figure(images, "silhouette", "Silhouette by k, own and reference space (clustering sweep)"),
        _figure(images, "agreement", "Agreement of refits, archetype coverage and smallest segment by k (sweep)"),
        _figure(images, "elbow", "Elbow curves (clustering sweep)"),
    ]
    return "".join(parts)


def _glossary() -> str:
    """Plain-words definitions of the terms the report uses."""
    items = "".join(f"<dt><strong>{h(term)}</strong></dt><dd>{h(text)}</dd>" for term, text in GLOSSARY)
    return f"<dl>{items}</dl>"


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
        f"<p>Source: <code>{h(Path(str(data_quality.get('source', '?'))).name)}</code></p>",
        html_table(["", "rows"], counts, numeric={1}),
    ]
    for key, title in (("repairs", "Repairs"), ("quarantined", "Quarantined by rule")):
        items = data_quality.get(key) or {}
        if items:
            parts.append(f"<h3>{h(title)}</h3>" + html_table(["rule", "rows"], list(items.items()), {1}))
    imputed = data_quality.get("imputed") or {}
    if imputed:
        rows = [[col, strategy, count] for col, spec in imputed.items() for strategy, count in _strategies(spec)]
        parts.append("<h3>Imputed values</h3>" + html_table(["column", "strategy", "values"], rows, {2}))
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
    feature_labels: Mapping[str, str] | None = None,
) -> str:
    """The self-contained HTML report: summary, segments, the model choice explained, data quality, glossary."""
    bodies = {
        "summary": _summary(segment_catalogue, model_selection),
        "segments": _segments(segment_catalogue, report_images),
        "model": _model(model_selection, segmentation_config, tuning_summary, report_images, feature_labels or {}),
        "quality": _quality(data_quality, report_images),
        "glossary": _glossary(),
    }
    body = "\n".join(f'<section id="{key}"><h2>{h(title)}</h2>{bodies[key]}</section>' for key, title in SECTIONS)
    nav = "".join(f'<a href="#{key}">{h(title)}</a>' for key, title in SECTIONS)
    page = PAGE.substitute(
        title=h(params["title"]),
        subtitle=h(params["subtitle"]),
        nav=nav,
        body=body,
        footer=h(params["footer"]),
    )
    logger.info("HTML report: %d segments, %.0f kB", len(segment_catalogue["segments"]), len(page.encode()) / 1024)
    return page
