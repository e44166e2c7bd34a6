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

from bank_segmentation.pipelines.reporting.figures import segment_figures, selection_figures
from bank_segmentation.pipelines.reporting.render import (
    render_plotly_figures,
    render_report_images,
)
from bank_segmentation.pipelines.reporting.report import render_report
from tests.pipelines.reporting.conftest import segment_catalogue

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
            "stability": 0.95 - 0.02 * k,
            "smallest_segment_share": 0.3 / k,
        }
        for i, v in enumerate(("seed_baseline", "log_standard"))
        for k in range(2, 9)
    ]
)
SELECTION = {
    "mode": "rule",
    "rule": "Admissible: 3 <= k <= 8 ... highest silhouette_ref",
    "thresholds": {"k_min": 3, "k_max": 8, "min_segment_share": 0.02, "min_stability": 0.8},
    "chosen": {
        "variant": "log_standard",
        "k": 6,
        "steps": "impute=median>log1p[amount]>standard",
        "metrics": {"silhouette_ref": 0.27, "stability": 0.83},
    },
    "runner_up": {"variant": "seed_baseline", "k": 5, "metrics": {"silhouette_ref": 0.26}},
    "knees": {"seed_baseline": 4, "log_standard": 5},
    "rejected": [{"variant": "seed_baseline", "k": 8, "reasons": ["stability 0.79 < 0.8 (unstable)"]}],
}
CONFIG = {
    "variant": "tuned-trial-12",
    "k": 7,
    "n_init": 10,
    "random_state": 42,
    "source": "optuna study bank-segmentation, trial 12 (silhouette_ref 0.3100)",
    "metrics": {"silhouette_ref": 0.31, "stability": 0.91},
}
QUALITY = {
    "source": "data/01_raw/customers.csv",
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
    html = render_report(catalogue, CONFIG, SELECTION, QUALITY, images, params["report"], tuning)
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


def test_report_tells_the_model_selection_story(hostile_report):
    html, _ = hostile_report
    assert "Trained model: tuned-trial-12, k = 7" in html
    assert "chose a different candidate" in html  # the sweep's choice is not what was trained
    assert "log_standard, k = 6" in html
    assert "stability 0.79 &lt; 0.8 (unstable)" in html
    assert "runner-up: seed_baseline, k=5" in html


def test_report_has_an_optional_tuning_section(demo_portfolio, persona_assignments, reporting_params, data_params):
    features, _ = demo_portfolio
    without, _ = _report(features, persona_assignments, reporting_params, data_params)
    assert 'id="tuning"' not in without
    summary = {"n_trials": 40, "best_value": 0.31, "best_params": {"k": 6}}
    with_tuning, _ = _report(features, persona_assignments, reporting_params, data_params, summary)
    assert 'id="tuning"' in with_tuning and "n_trials" in with_tuning


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
