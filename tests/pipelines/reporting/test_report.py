"""The HTML report: self-contained, escaped, and rendered by a real browser with every segment name."""

from __future__ import annotations

import copy
import html as html_lib
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bank_segmentation.core.candidates import Admission
from bank_segmentation.core.choice import Candidate, choose
from bank_segmentation.pipelines.model_choice.nodes import k_table
from bank_segmentation.pipelines.reporting.figures import segment_figures, selection_figures
from bank_segmentation.pipelines.reporting.render import (
    render_plotly_figures,
    render_report_images,
)
from bank_segmentation.pipelines.reporting.report import render_report
from tests.pipelines.reporting.conftest import segment_catalogue
from tests.test_choice import RULE

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
EXTERNAL_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
HOSTILE_NAME = '<script>alert("x")</script> & Co'

SWEEP = pd.DataFrame(
    [
        {
            "variant": v,
            "k": k,
            "inertia_own": 1000.0 / k ** (0.5 + i / 10),
            "silhouette_own": 0.2 + 0.01 * k,
            "silhouette_ref": 0.25 + 0.005 * k - 0.01 * i,
            "agreement": 0.99 - 0.02 * k if 5 <= k <= 8 else None,
            "coverage": 1.0 if 5 <= k <= 8 else None,
            "smallest_segment_share": 0.3 / k,
        }
        for i, v in enumerate(("seed_baseline", "log_standard"))
        for k in range(2, 9)
    ]
)


def _selection() -> dict:
    """A model-choice record made by the real rule: seed_baseline k=8 does not reproduce, k=6 ties."""
    measured = {
        ("log_standard", 5): (0.2263, 0.982),
        ("log_standard", 6): (0.2250, 0.985),
        ("log_standard", 7): (0.2280, 0.970),
        ("log_standard", 8): (0.2150, 0.960),
        ("seed_baseline", 8): (0.2319, 0.806),
    }
    pool = [
        Candidate(
            "sweep",
            v,
            k,
            {"columns": "raw", "log1p": True},
            "impute=median>log1p[amount]>standard",
            {"silhouette_ref": sil, "silhouette_ref_se": 0.002, "smallest_segment_share": 0.05},
        )
        for (v, k), (sil, _) in measured.items()
    ]

    def measure(candidates):
        for c in candidates:
            agreement = measured[(c.name, c.k)][1]
            c.metrics.update(
                agreement=agreement, agreement_min=agreement - 0.05, coverage=1.0, coverage_with_partial=1.0
            )

    admission = Admission.from_params(RULE)
    record = choose(pool, admission, measure)
    chosen = next(c for c in pool if c.id == record["chosen"]["id"])
    record["k_table"] = k_table(chosen, [c for c in pool if c.name == "log_standard"], admission, measure)
    record["features"] = {"used": ["BALANCE", "PURCHASES"], "left_out": ["TENURE"]}
    record["sources"] = {
        "sweep": {"ran": True, "candidates": 4},
        "search": {"ran": False, "trials": 0, "candidates": 0},
    }
    return record


SELECTION = _selection()
CONFIG = {"variant": "log_standard", "k": 6, "n_init": 10, "random_state": 42, "source": "sweep · log_standard · k=6"}
QUALITY = {
    "source": "/home/analyst/private/bank/data/01_raw/customers.csv",
    "rows_in": 4000,
    "rows_kept": 4000,
    "rows_quarantined": 0,
    "repairs": {},
    "quarantined": {},
    "missing_values": {"MINIMUM_PAYMENTS": 140},
    "imputed": {"MINIMUM_PAYMENTS": {"strategy": "median", "count": 140}},
}


def _report(features, assignments, params, data_params, tuning=None) -> tuple[str, list[str]]:
    """Render the report of a segmentation; returns (html, segment names)."""
    profiles, names, catalogue = segment_catalogue(features, assignments, params, data_params)
    points = pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0], "segment_name": names["name"][:2]})
    specs = [
        selection_figures(SWEEP, SELECTION),
        segment_figures(profiles, names, points, params["feature_labels"], params["figures"]),
    ]
    assert set(render_plotly_figures(*specs)) == {*specs[0], *specs[1]}
    images = render_report_images({**params["figures"], "dpi": 40}, *specs)
    html = render_report(
        catalogue, CONFIG, SELECTION, QUALITY, images, params["report"], tuning, params["feature_labels"]
    )
    return html, names["name"].tolist()


@pytest.fixture(scope="module")
def hostile_report(demo_portfolio, persona_assignments, reporting_params, data_params):
    """A report where one archetype name and one offer carry HTML and a remote link."""
    params = copy.deepcopy(reporting_params)
    params["naming"]["archetypes"]["dormant_users"]["name"] = HOSTILE_NAME
    params["playbook"]["dormant_users"]["offers"][0] = '<img src="https://tracker.example/x.png">'
    features, _ = demo_portfolio
    return _report(features, persona_assignments, params, data_params)


def test_report_is_self_contained(hostile_report):
    html, _ = hostile_report
    assert not EXTERNAL_REFERENCE.search(html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "data:image/png;base64," in html


def test_report_escapes_every_data_string(hostile_report):
    html, names = hostile_report
    assert HOSTILE_NAME in names
    assert "<script" not in html.lower()
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co") >= 1
    assert '<img src="https://' not in html


def test_report_explains_the_model_choice_in_plain_words(hostile_report):
    html, _ = hostile_report
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", html))
    assert SELECTION["chosen"]["id"] == "sweep · log_standard · k=6"
    assert "6 segments, from candidate sweep · log_standard · k=6" in text
    assert "Why 6 segments" in text  # the table: k vs silhouette vs agreement vs coverage
    assert re.search(r"6 \(chosen\)\s+0\.225 ± 0\.002\s+0\.985 \(min 0\.935\)\s+100%", text)
    assert "Left out of the model: Tenure" in text
    assert "the segments do not reproduce" in text  # why seed_baseline k=8 lost
    assert "Runner-up: sweep · log_standard · k=5" in text
    assert "Clustering sweep: 4 candidates" in text and "Optuna search: not run in this run" in text
    for term in ("Silhouette", "Agreement of refits (ARI)", "Typical customer (median)", "PSI", "z-score"):
        assert term in text
    assert "months" in text and "/home/analyst" not in html  # units, and no absolute local path


def test_report_says_what_the_search_tried(demo_portfolio, persona_assignments, reporting_params, data_params):
    features, _ = demo_portfolio
    summary = {
        "ran": True,
        "trials_added": 30,
        "trials_total": 60,
        "trials_feasible": 41,
        "best_trial": {
            "steps": "groups=spending,cash_advance>log1p>standard",
            "k": 7,
            "metrics": {"silhouette_ref": 0.2283},
        },
    }
    html, _ = _report(features, persona_assignments, reporting_params, data_params, summary)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", html))
    assert "Optuna search: 30 trials added this run, 60 in the study (41 feasible)" in text
    assert "groups=spending,cash_advance>log1p>standard, k = 7 (silhouette 0.2283)" in text


def _browser() -> str:
    found = next((shutil.which(name) for name in CHROMIUM_CANDIDATES if shutil.which(name)), None)
    if found is None:
        pytest.skip("no headless Chromium installed (apt-get install chromium) to render the report")
    return found


def test_report_renders_in_a_browser_with_every_segment_name(hostile_report, tmp_path: Path):
    html, names = hostile_report
    page = tmp_path / "segmentation_report.html"
    page.write_text(html, encoding="utf-8")
    result = subprocess.run(
        [
            _browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any network access would fail
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # The page runs no script, so any console message (console.error, an uncaught exception, a
    # blocked resource) is a defect.
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    assert "net::ERR" not in result.stderr
    shown = re.findall(r'<h3 class="segment-name">(.*?)(?:<span|</h3>)', dom)
    assert sorted(html_lib.unescape(s) for s in shown) == sorted(names)
    assert dom.count("<img") >= 4  # the inline figures are part of the page
