"""Runs started in the same millisecond get distinct save versions."""

from __future__ import annotations

from kedro.framework.session import session as kedro_session
from kedro.framework.startup import bootstrap_project

import bank_segmentation.framework.session as session_module


def test_two_sessions_created_in_the_same_millisecond_get_distinct_save_versions(project_copy, monkeypatch):
    bootstrap_project(project_copy)
    monkeypatch.setattr(kedro_session, "generate_timestamp", lambda: "2026-01-01T00.00.00.000Z")
    first = session_module.UniqueVersionSession.create(project_path=project_copy)
    second = session_module.UniqueVersionSession.create(project_path=project_copy)
    versions = [s.store["session_id"] for s in (first, second)]
    assert versions[0] == "2026-01-01T00.00.00.000Z"
    assert versions[1] != versions[0] and second.session_id == versions[1]
    first.close()
    second.close()
