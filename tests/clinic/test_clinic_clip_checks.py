"""The clinician settles a clip's camera view and stance/working leg before it is scored, and an
accepted clip from another view is never trended against side-view sessions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from clinic_support import API, athlete_with_screening, clinic_app, register
from formcheck.clinic.clip_checks import detected_leg, leg_check, view_check
from formcheck.clinic.history import screening_metrics


def test_view_check_passes_the_needed_view_and_holds_another_until_accepted():
    assert view_check("msebt", "sagittal", False).ok
    held = view_check("lunge", "frontal", False)
    assert not held.ok and "front or back view (measured)" in held.message and "side" in held.message
    kept = view_check("lunge", "frontal", True)
    assert kept.ok and kept.accepted and "never trended" in kept.message
    assert view_check("msebt", None, False) is None  # nothing measured yet


def test_leg_check_agrees_asks_or_takes_the_clinicians_word():
    assert leg_check("msebt", "left", ["left", "left", "left"], None).ok
    asked = leg_check("msebt", "left", ["right", "right", "left"], None)
    assert not asked.ok and asked.detected == "right" and "shows the right leg as the stance leg" in asked.message
    unread = leg_check("msebt", "left", ["left", "right"], None)
    assert not unread.ok and unread.detected is None and "could not be read" in unread.message
    corrected = leg_check("msebt", "left", ["right", "right"], "right")
    assert corrected.ok and "count for the right leg" in corrected.message
    assert leg_check("lunge", None, ["left", "right"], None) is None  # both legs: nothing to confirm
    assert detected_leg(["both", "left"]) == "left" and detected_leg([]) is None


def _analysis(view="sagittal", sides=("left", "left", "left")):
    reps = [SimpleNamespace(side=s, index=k, complete=True, metrics={"reach_pct_leg": 70.0 + k})
            for k, s in enumerate(sides, start=1)]
    return SimpleNamespace(movement=SimpleNamespace(reps=reps, view=view, scale={"marker": None}, near_side=None,
                                                    unsupported_measures=[]))


@pytest.fixture()
def clinic(tmp_path):
    with TestClient(clinic_app(tmp_path)) as client:
        client.app.state.manager.shutdown()
        auth = register(client, "checks@example.org")
        _, screening = athlete_with_screening(client, auth)
        test = client.post(f"{API}/screenings/{screening}/tests", headers=auth,
                           json={"kind": "msebt", "leg": "left", "direction": "anterior"}).json()
        cid = client.get(f"{API}/auth/me", headers=auth).json()["id"]
        yield client, auth, client.app.state.clinic, cid, test["id"]


def test_a_front_view_clip_is_not_scored_until_accepted(clinic):
    client, _, service, cid, test_id = clinic
    row = service.store.test(cid, test_id)
    trials, notes = service.trials(row, _analysis(view="frontal"), None)
    assert trials == [] and any("not scored yet" in n and "front or back view" in n for n in notes)
    service.store.review_clip(cid, test_id, view_accepted=True)
    trials, notes = service.trials(service.store.test(cid, test_id), _analysis(view="frontal"), None)
    assert len(trials) == 3 and any("never trended" in n for n in notes)


def test_a_left_stance_clip_read_as_right_is_held_then_scored_for_the_confirmed_leg(clinic):
    client, _, service, cid, test_id = clinic
    trials, notes = service.trials(service.store.test(cid, test_id), _analysis(sides=("right",) * 3), None)
    assert trials == [] and any("Confirm which leg" in n for n in notes)
    service.store.review_clip(cid, test_id, confirmed_leg="left")  # the clinician saw the left leg stand
    trials, _ = service.trials(service.store.test(cid, test_id), _analysis(sides=("right",) * 3), None)
    assert [t.leg for t in trials] == ["left"] * 3 and [t.reach_pct_limb for t in trials] == [71.0, 72.0, 73.0]
    service.store.review_clip(cid, test_id, confirmed_leg="right")  # or corrects the test: it was the right
    trials, notes = service.trials(service.store.test(cid, test_id), _analysis(sides=("right",) * 3), None)
    assert [t.leg for t in trials] == ["right"] * 3 and any("count for the right leg" in n for n in notes)


def test_review_needs_an_analysed_clip_and_a_real_leg(clinic):
    client, auth, _, _, test_id = clinic
    answer = client.put(f"{API}/tests/{test_id}/review", json={"accept_view": True}, headers=auth)
    assert answer.status_code in (404, 409)
    assert client.put(f"{API}/tests/{test_id}/review", json={"leg": "middle"}, headers=auth).status_code == 422


def _result(view: str, accepted: bool):
    check = view_check("lunge", view, accepted)
    test = SimpleNamespace(kind="lunge", leg=None, direction=None, view_check=check, leg_check=None)
    reps = [{"side": "left", "complete": True, "peak_knee_flexion_deg": 90.0}]
    return SimpleNamespace(sebt=None, tests=[SimpleNamespace(test=test, rep_metrics=reps)])


def test_an_accepted_off_view_clip_is_left_out_of_the_history():
    assert "lunge_peak_knee_flexion_deg_left" in screening_metrics(_result("sagittal", False))
    assert screening_metrics(_result("frontal", True)) == {}
