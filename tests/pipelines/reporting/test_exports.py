"""Marketing outputs: the segment catalogue and the spreadsheet-safe campaign list."""

from __future__ import annotations

import copy
import io

import pandas as pd
import pytest

from bank_segmentation.core.spreadsheet import spreadsheet_safe
from bank_segmentation.pipelines.reporting.exports import build_campaign_list
from tests.pipelines.reporting.conftest import segment_catalogue


@pytest.mark.parametrize("dangerous", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"])
def test_spreadsheet_formulas_are_neutralised(dangerous):
    frame = pd.DataFrame({"CUST_ID": [dangerous, "C1"], "amount": [-5.0, 3.0]})
    safe = spreadsheet_safe(frame)
    assert safe["CUST_ID"].tolist() == ["'" + dangerous, "C1"]
    assert safe["amount"].tolist() == [-5.0, 3.0]  # numbers are not text: left alone


def test_campaign_list_is_safe_to_open_in_a_spreadsheet(
    demo_portfolio, persona_assignments, reporting_params, data_params
):
    features, _ = demo_portfolio
    params = copy.deepcopy(reporting_params)
    params["naming"]["archetypes"]["revolvers"]["name"] = '=HYPERLINK("http://x")'
    params["playbook"]["revolvers"]["offers"][0] = "@SUM(1)"
    malicious = {features["CUST_ID"].iloc[0]: "=cmd|' /C calc'!A0"}
    features = features.assign(CUST_ID=features["CUST_ID"].replace(malicious))
    assignments = persona_assignments.assign(CUST_ID=persona_assignments["CUST_ID"].replace(malicious))
    catalogue = segment_catalogue(features, assignments, params, data_params)[2]
    campaign = build_campaign_list(assignments, catalogue, features, data_params["schema"], params["campaign"])

    text = io.StringIO()
    campaign.to_csv(text, index=False)
    reread = pd.read_csv(io.StringIO(text.getvalue()), dtype=str, keep_default_na=False)
    assert len(reread) == len(assignments)
    for column in reread.columns:
        assert not reread[column].str.startswith(("=", "+", "-", "@", "\t", "\r")).any(), column
    assert "'=cmd|' /C calc'!A0" in set(reread["CUST_ID"])
    assert '\'=HYPERLINK("http://x")' in set(reread["segment_name"])
    assert "'@SUM(1)" in set(reread["recommended_action"])


def test_catalogue_gives_every_segment_its_playbook(demo_portfolio, persona_assignments, reporting_params, data_params):
    features, _ = demo_portfolio
    catalogue = segment_catalogue(features, persona_assignments, reporting_params, data_params)[2]
    segments = {seg["name"]: seg for seg in catalogue["segments"]}
    assert catalogue["customers"] == len(persona_assignments)
    cash = segments["Cash Advance Heavy Users"]
    assert "never promote cash advances" in cash["recommendations"]["risk_note"].lower()
    assert "cash advance" not in cash["recommendations"]["campaign_action"].lower() or (
        "conversion" in cash["recommendations"]["campaign_action"].lower()
    )
    for seg in catalogue["segments"]:
        recs = seg["recommendations"]
        assert {"objective", "offers", "channel", "kpi", "risk_note", "campaign_action"} <= set(recs)
        assert seg["traits"] and 0 < seg["share"] < 1
        assert "BALANCE" in seg["key_statistics"]


def test_descriptive_segment_gets_the_fallback_playbook(
    demo_portfolio, persona_assignments, reporting_params, data_params
):
    features, _ = demo_portfolio
    params = copy.deepcopy(reporting_params)
    for key in ("dormant_users", "occasional_users"):
        del params["naming"]["archetypes"][key]
    params["naming"]["partial_match"]["enabled"] = False
    catalogue = segment_catalogue(features, persona_assignments, params, data_params)[2]
    unmatched = [seg for seg in catalogue["segments"] if not seg["matched"]]
    assert len(unmatched) == 1
    assert unmatched[0]["recommendations"]["objective"] == params["playbook"]["fallback"]["objective"]
