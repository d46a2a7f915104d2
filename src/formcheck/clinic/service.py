"""The clinic's operations, between the thin routers and the stores.

Every method takes the current clinician's id and answers "not found" for anything that is
not theirs. Clips are analysed by the service's own machinery (`accept_upload` streams and
checks the upload, `JobManager` runs it); a test only remembers its job id, which is never
shown to clients (the clip and its results are served through the clinic's routes only).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from formcheck.clinic import auth
from formcheck.clinic.clip_checks import ClipReview, LegCheck, ViewCheck, leg_check, view_check
from formcheck.clinic.errors import ConflictError, GoneError, TooManyAttemptsError, UnauthorizedError, not_found
from formcheck.clinic.history import build_history, screening_metrics
from formcheck.clinic.models import (
    ApiKey,
    ApiKeyCreated,
    Athlete,
    AthleteHistory,
    AthleteIn,
    AthletePatch,
    Clinician,
    ClipJob,
    ManualTrial,
    Registration,
    Screening,
    ScreeningIn,
    ScreeningResult,
    ScreeningTest,
    ScreeningTestIn,
    ScreeningTestResult,
    ShareLink,
    ShareLinkCreated,
    TokenOut,
)
from formcheck.clinic.scoring import Trial, score_sebt
from formcheck.clinic.settings import ClinicSettings
from formcheck.clinic.store import ClinicStore, now
from formcheck.schema import Analysis
from formcheck.service.errors import NotReadyError
from formcheck.service.jobs import JobManager
from formcheck.service.settings import ServiceSettings
from formcheck.service.store import DONE, FAILED, Job, JobStore
from formcheck.service.worker import results_dir

log = logging.getLogger(__name__)

API = "/api/v1/clinic"
KEY_FRAMES = "key_frames"  # inside a job's results folder: JPEGs + index.json (kept without video)


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class ClinicService:
    def __init__(self, settings: ServiceSettings, clinic: ClinicSettings, jobs: JobStore, manager: JobManager) -> None:
        self.settings, self.clinic_settings = settings, clinic
        self.jobs, self.manager = jobs, manager
        self.store = ClinicStore(settings.db_path, timeout_s=settings.db_timeout_s)
        self.throttle = auth.LoginThrottle()

    def start(self) -> None:
        self.store.init()
        self.purge()

    # -- accounts --------------------------------------------------------------------------------
    @staticmethod
    def _clinician(row: dict[str, Any]) -> Clinician:
        return Clinician(id=row["id"], email=row["email"], name=row["name"], created_at=row["created_at"])

    def register(self, reg: Registration, kind: str) -> tuple[TokenOut, str]:
        row = self.store.create_clinician(reg.email, reg.name.strip(), auth.hash_password(reg.password))
        if row is None:
            raise ConflictError("An account with this e-mail already exists.", "Log in instead.")
        return self._new_session(row, kind)

    def login(self, email: str, password: str, kind: str) -> tuple[TokenOut, str]:
        email = email.strip().lower()
        wait = self.throttle.retry_after(email, time.monotonic())
        if wait:
            raise TooManyAttemptsError(wait)
        row = self.store.clinician_by_email(email)
        if not auth.verify_password(row["password_hash"] if row else None, password):
            self.throttle.failed(email, time.monotonic())
            raise UnauthorizedError("Wrong e-mail or password.", "Check both and try again.")
        assert row is not None
        self.throttle.succeeded(email)
        if auth.needs_rehash(row["password_hash"]):
            self.store.set_password_hash(row["id"], auth.hash_password(password))
        return self._new_session(row, kind)

    def _new_session(self, row: dict[str, Any], kind: str) -> tuple[TokenOut, str]:
        token = auth.new_token()
        expires = now() + timedelta(hours=self.clinic_settings.session_hours)
        self.store.add_session(auth.token_hash(token), row["id"], kind, expires)
        return TokenOut(token=token, expires_at=expires, clinician=self._clinician(row)), token

    def logout(self, token: str) -> None:
        self.store.delete_session(auth.token_hash(token))

    def authenticate(self, *, bearer: str | None = None, api_key: str | None = None,
                     cookie: str | None = None) -> Clinician | None:
        row = None
        if bearer:
            if bearer.startswith(auth.API_KEY_PREFIX):
                row = self.store.api_key_clinician(auth.token_hash(bearer))
            else:
                row = self.store.session_clinician(auth.token_hash(bearer), "bearer")
        elif api_key:
            row = self.store.api_key_clinician(auth.token_hash(api_key))
        elif cookie:
            row = self.store.session_clinician(auth.token_hash(cookie), "cookie")
        return self._clinician(row) if row else None

    def create_api_key(self, cid: str, label: str) -> ApiKeyCreated:
        key = auth.new_api_key()
        row = self.store.add_api_key(cid, label.strip(), key[: len(auth.API_KEY_PREFIX) + 6], auth.token_hash(key))
        return ApiKeyCreated(key=key, **_api_key(row).model_dump())

    def api_keys(self, cid: str) -> list[ApiKey]:
        return [_api_key(r) for r in self.store.api_keys(cid)]

    def revoke_api_key(self, cid: str, key_id: str) -> None:
        if not self.store.revoke_api_key(cid, key_id):
            raise not_found("API key")

    # -- athletes --------------------------------------------------------------------------------
    def athletes(self, cid: str) -> list[Athlete]:
        return [Athlete(**r) for r in self.store.athletes(cid)]

    def athlete(self, cid: str, athlete_id: str) -> Athlete:
        row = self.store.athlete(cid, athlete_id)
        if row is None:
            raise not_found("athlete")
        return Athlete(**row)

    def create_athlete(self, cid: str, body: AthleteIn) -> Athlete:
        return Athlete(**self.store.create_athlete(cid, body.model_dump()))

    def update_athlete(self, cid: str, athlete_id: str, patch: AthletePatch) -> Athlete:
        current = self.athlete(cid, athlete_id)
        merged = AthleteIn(**{**current.model_dump(), **patch.model_dump(exclude_unset=True)})  # re-validated
        self.store.update_athlete(cid, athlete_id, merged.model_dump())
        return self.athlete(cid, athlete_id)

    def delete_athlete(self, cid: str, athlete_id: str) -> None:
        """The athlete, their screenings, tests, share links, analyses and every file."""
        self.athlete(cid, athlete_id)
        for job_id in self.store.athlete_job_ids(cid, athlete_id):
            self.manager.delete(job_id)
        self.store.delete_athlete(cid, athlete_id)

    # -- screenings ------------------------------------------------------------------------------
    def create_screening(self, cid: str, athlete_id: str, body: ScreeningIn) -> Screening:
        self.athlete(cid, athlete_id)
        row = self.store.create_screening(cid, athlete_id, body.date.isoformat(), body.notes)
        return self.screening(cid, row["id"])

    def screenings(self, cid: str, athlete_id: str) -> list[Screening]:
        self.athlete(cid, athlete_id)
        return [self._screening(cid, r) for r in self.store.screenings(cid, athlete_id)]

    def screening(self, cid: str, screening_id: str) -> Screening:
        row = self.store.screening(cid, screening_id)
        if row is None:
            raise not_found("screening")
        return self._screening(cid, row)

    def _screening(self, cid: str, row: dict[str, Any]) -> Screening:
        self.enforce_video_policy()
        tests = [self._test(t) for t in self.store.tests(cid, row["id"])]
        return Screening(id=row["id"], athlete_id=row["athlete_id"], date=row["date"], notes=row["notes"],
                         created_at=row["created_at"], tests=tests)

    def delete_screening(self, cid: str, screening_id: str) -> None:
        self.screening(cid, screening_id)
        for job_id in self.store.screening_job_ids(cid, screening_id):
            self.manager.delete(job_id)
        self.store.delete_screening(cid, screening_id)

    # -- tests -----------------------------------------------------------------------------------
    def add_test(self, cid: str, screening_id: str, body: ScreeningTestIn) -> ScreeningTest:
        self.screening(cid, screening_id)
        row = self.store.create_test(cid, screening_id, body.kind, body.leg, body.direction,
                                     [t.model_dump() for t in body.manual_trials])
        return self._test(row)

    def test(self, cid: str, test_id: str) -> ScreeningTest:
        self.enforce_video_policy()  # clients poll the test: its video goes as soon as it is analysed
        return self._test(self._test_row(cid, test_id))

    def _test_row(self, cid: str, test_id: str) -> dict[str, Any]:
        row = self.store.test(cid, test_id)
        if row is None:
            raise not_found("test")
        return row

    def set_manual_trials(self, cid: str, test_id: str, trials: list[ManualTrial]) -> ScreeningTest:
        row = self._test_row(cid, test_id)
        if row["kind"] != "msebt":
            raise ConflictError("Manual trials are for mSEBT tests only.", "Upload a clip for lunges and step-ups.")
        self.store.set_manual_trials(cid, test_id, [t.model_dump() for t in trials])
        return self.test(cid, test_id)

    def delete_test(self, cid: str, test_id: str) -> None:
        row = self._test_row(cid, test_id)
        if row["job_id"]:
            self.manager.delete(row["job_id"])
        self.store.delete_test(cid, test_id)

    def clip_target(self, cid: str, test_id: str) -> tuple[ScreeningTest, dict[str, float | None]]:
        """The test a clip is uploaded for, and its athlete's leg lengths: the analysis's scale."""
        test = self.test(cid, test_id)
        screening = self.store.screening(cid, test.screening_id)
        if screening is None:  # deleted meanwhile
            raise not_found("test")
        return test, self.athlete(cid, screening["athlete_id"]).leg_length_cm

    def attach_clip(self, cid: str, test_id: str, job_id: str, file_name: str) -> ScreeningTest:
        """Link a freshly queued analysis to the test; the previous clip and its results go."""
        row = self.store.test(cid, test_id)
        if row is None:  # the test was deleted during the upload
            self.manager.delete(job_id)
            raise not_found("test")
        self.store.attach_job(cid, test_id, job_id, file_name)
        if row["job_id"] and row["job_id"] != job_id:
            self.manager.delete(row["job_id"])
        return self.test(cid, test_id)

    def _job(self, row: dict[str, Any]) -> Job | None:
        return self.jobs.get(row["job_id"]) if row.get("job_id") else None

    def _test(self, row: dict[str, Any]) -> ScreeningTest:
        job = self._job(row)
        clip = None
        if job is not None:
            error = ({"code": job.error_code or "failed", "message": job.error_message or "", "hint": job.error_hint or ""}
                     if job.status == FAILED else None)
            clip = ClipJob(status=job.status, progress=job.progress, stage=job.stage, error=error,
                           marker_size_cm=job.marker_size_cm)
        base = f"{API}/tests/{row['id']}"
        links = {"self": base, "clip": f"{base}/clip"}
        views = legs = None
        if job is not None and job.status == DONE:
            links.update(analysis=f"{base}/analysis", angles_csv=f"{base}/angles.csv", review=f"{base}/review")
            views, legs = _clip_checks(row, self._analysis(job.id))
            if not row["video_purged"]:
                links["video"] = f"{base}/video"
        return ScreeningTest(
            id=row["id"], screening_id=row["screening_id"], kind=row["kind"], leg=row["leg"], direction=row["direction"],
            status=job.status if job else "no_clip", file_name=row["file_name"] if job else "", job=clip,
            manual_trials=[ManualTrial(**t) for t in row["manual_trials"]], view_check=views, leg_check=legs,
            created_at=row["created_at"], links=links)

    def review_clip(self, cid: str, test_id: str, review: ClipReview) -> ScreeningTest:
        """The clinician accepts the clip's view or confirms/corrects its leg (done clips only)."""
        self.done_job(cid, test_id)
        self.store.review_clip(cid, test_id, view_accepted=review.accept_view, confirmed_leg=review.leg)
        return self.test(cid, test_id)

    def done_job(self, cid: str, test_id: str) -> tuple[dict[str, Any], Job]:
        row = self._test_row(cid, test_id)
        job = self._job(row)
        if job is None:
            raise not_found("clip for this test")
        if job.status != DONE:
            raise NotReadyError(f"The analysis of this clip is {job.status}.",
                                "Poll the test until its status is done." if job.status != FAILED
                                else "See the test's job.error; upload the clip again.")
        return row, job

    def analysis(self, cid: str, test_id: str) -> Analysis:
        _, job = self.done_job(cid, test_id)
        return self._analysis(job.id)

    def _analysis(self, job_id: str) -> Analysis:
        path = results_dir(self.manager.job_dir(job_id)) / "analysis.json"
        return Analysis.model_validate(json.loads(path.read_text()))

    def result_file(self, cid: str, test_id: str, role: str) -> Path:
        """A result file of the test's analysis, by its role in analysis.json (`annotated_video`, `angles_csv`)."""
        self.enforce_video_policy()
        row, job = self.done_job(cid, test_id)
        name = self._analysis(job.id).files.get(role)
        path = results_dir(self.manager.job_dir(job.id)) / name if name else None
        if role == "annotated_video" and (row["video_purged"] or path is None or not path.is_file()):
            raise GoneError("This clinic keeps no video: the clip was deleted after its analysis.",
                            "Landmarks, key frames and metrics are kept; see the report.")
        if path is None or not path.is_file():
            raise not_found(f"{role} file")
        return path

    # -- results ---------------------------------------------------------------------------------
    def trials(self, row: dict[str, Any], analysis: Analysis | None, job: Job | None) -> tuple[list[Trial], list[str]]:
        """The mSEBT trials of one test: the analysed reps of the stance leg, and tape measurements."""
        notes: list[str] = []
        out = [Trial(leg=row["leg"], direction=row["direction"], trial=t["trial"], reach_cm=t["reach_cm"],
                     cm_source="tape", valid=t["valid"], invalid_reasons=t["invalid_reasons"], test_id=row["id"])
               for t in row["manual_trials"]]
        if analysis is None or analysis.movement is None or out:
            return out, notes  # tape measurements, when given, are what the clinician scored
        views, legs = _clip_checks(row, analysis)
        for check in (views, legs):
            if check is not None and not check.ok:
                notes.append(f"Test {row['id']} is not scored yet: {check.message}")
                return out, notes
        if legs is not None and legs.confirmed is not None:
            # the clinician's word on which leg stood: the clip's trials (the side most of them
            # were read as) count for that leg
            reps = [r for r in analysis.movement.reps if r.side == (legs.detected or r.side)]
            leg = legs.confirmed
            if legs.message:
                notes.append(f"Test {row['id']}: {legs.message}")
        else:
            reps = [r for r in analysis.movement.reps if r.side == row["leg"]]
            leg = row["leg"]
        if views is not None and views.accepted and views.message:
            notes.append(f"Test {row['id']}: {views.message}")
        if not reps and analysis.movement.reps:
            notes.append(f"Test {row['id']}: no trial with the {row['leg']} leg standing was found in the clip "
                         "(check which leg stood); its reaches were not scored.")
        if reps and analysis.movement.near_side not in (None, row["leg"]):
            notes.append(f"Test {row['id']}: the {row['leg']} (stance) leg was the one farther from the camera, "
                         "hidden by the reaching leg: its angles and the reach's starting point are less certain. "
                         "Film each leg's tests with the stance leg nearest the camera.")
        if reps and job is not None and job.marker_size_cm and not any(_marker_cm(r.metrics) is not None for r in reps):
            if not analysis.movement.scale.get("marker"):
                notes.append(f"Test {row['id']}: the {job.marker_size_cm:g} cm floor marker was not found in the "
                             "clip, so its reaches are not measured from the marker (see the scale used).")
            else:
                why = next((u.reason for u in analysis.movement.unsupported_measures if u.measure == "reach_cm"), "")
                notes.append(f"Test {row['id']}: the floor marker was found but its reaches are not measured from "
                             f"it: {why} (see the scale used).")
        for n, rep in enumerate(reps, start=1):
            m = rep.metrics
            cm = _marker_cm(m)
            out.append(Trial(
                leg=leg, direction=row["direction"], trial=n, reach_pct_limb=_num(m.get("reach_pct_leg")),
                reach_cm=cm, cm_source="marker" if cm is not None else None,
                valid=bool(m.get("valid", True)) and rep.complete,
                invalid_reasons=[str(x) for x in (m.get("invalid_reasons") or [])] if isinstance(m.get("invalid_reasons"), list)
                else ([str(m["invalid_reasons"])] if m.get("invalid_reasons") else []),
                test_id=row["id"], rep_index=rep.index))
        return out, notes

    def result(self, cid: str, screening_id: str) -> ScreeningResult:
        screening = self.screening(cid, screening_id)
        athlete = self.athlete(cid, screening.athlete_id)
        rows = {r["id"]: r for r in self.store.tests(cid, screening_id)}
        trials: list[Trial] = []
        results: list[ScreeningTestResult] = []
        pending: list[str] = []
        notes: list[str] = []
        for test in screening.tests:
            row = rows[test.id]
            job = self._job(row)
            analysis = self._analysis(job.id) if test.status == DONE else None
            if test.status in ("queued", "running"):
                pending.append(test.id)
            if test.kind == "msebt":
                t, n = self.trials(row, analysis, job)
                trials += t
                notes += n
            if analysis is not None:
                results.append(_test_result(test, analysis, row))
            else:
                results.append(ScreeningTestResult(test=test))
        has_sebt = any(t.kind == "msebt" for t in screening.tests)
        sebt = score_sebt(trials, athlete.leg_length_cm) if has_sebt else None
        if sebt is not None:
            sebt.notes += notes
        clinician = self.store.clinician(cid)
        return ScreeningResult(athlete=athlete, screening=screening, sebt=sebt, trials=trials, tests=results,
                               pending=pending, clinician_name=clinician["name"] if clinician else "")

    def history(self, cid: str, athlete_id: str) -> AthleteHistory:
        rows = []
        for s in self.screenings(cid, athlete_id):
            rows.append((s.id, s.date, screening_metrics(self.result(cid, s.id))))
        return AthleteHistory(athlete_id=athlete_id, metrics=build_history(athlete_id, rows))

    # -- share links -----------------------------------------------------------------------------
    def create_share_link(self, cid: str, screening_id: str, days: float) -> ShareLinkCreated:
        self.screening(cid, screening_id)
        token = auth.new_token()
        row = self.store.add_share_link(cid, screening_id, auth.token_hash(token), now() + timedelta(days=days))
        return ShareLinkCreated(token=token, url=f"/share/{token}", **_share(row).model_dump())

    def share_links(self, cid: str, screening_id: str) -> list[ShareLink]:
        self.screening(cid, screening_id)
        return [_share(r) for r in self.store.share_links(cid, screening_id)]

    def revoke_share_link(self, cid: str, link_id: str) -> None:
        if not self.store.revoke_share_link(cid, link_id):
            raise not_found("share link")

    def shared(self, token: str) -> tuple[str, str]:
        """(clinician id, screening id) of a live share token; 404 unknown, 410 expired or revoked."""
        row = self.store.share_link(auth.token_hash(token)) if token else None
        if row is None:
            raise not_found("shared report")
        if row["revoked_at"]:
            raise GoneError("This report link was withdrawn by the clinician.", "Ask your clinician for a new link.")
        expires = _dt(row["expires_at"])
        if expires is not None and expires <= now():
            raise GoneError(f"This report link expired on {expires:%Y-%m-%d %H:%M} UTC.",
                            "Ask your clinician for a new link.")
        return row["clinician_id"], row["screening_id"]

    # -- privacy -----------------------------------------------------------------------------------
    def enforce_video_policy(self) -> int:
        """Keep-no-video: delete the upload and the annotated video of every finished clip."""
        if self.clinic_settings.keep_video:
            return 0
        purged = 0
        for row in self.store.tests_with_video():
            folder = self.manager.job_dir(row["job_id"])
            if row["job_status"] == DONE:
                self._save_key_frames(row)
            for video in [*folder.glob("input.*"), results_dir(folder) / "annotated.mp4"]:
                video.unlink(missing_ok=True)
            self.store.mark_video_purged(row["id"])
            purged += 1
        return purged

    def _save_key_frames(self, row: dict[str, Any]) -> None:
        """Key frames outlive the video (keep-no-video): drawn now, while the video is still there."""
        test = self._report_test(row)
        if test is None:
            return
        out = test.folder / KEY_FRAMES
        try:
            from formcheck.clinic.reports import save_key_frames

            saved = save_key_frames(test, out)
        except Exception:  # noqa: BLE001 - a missing key frame must not keep a video the clinic must not keep
            log.exception("key frames of test %s could not be saved", row["id"])
            return
        (out / "index.json").write_text(json.dumps({kid: path.name for kid, path in saved.items()}))

    def _report_test(self, row: dict[str, Any]):
        """The report's view of one analysed test (None when its results are not on disk)."""
        from formcheck.clinic.report_model import ReportTest

        job_dir = self.manager.job_dir(row["job_id"])
        folder = results_dir(job_dir)
        if not (folder / "analysis.json").is_file():
            return None
        index = folder / KEY_FRAMES / "index.json"
        frames = ({kid: folder / KEY_FRAMES / name for kid, name in json.loads(index.read_text()).items()}
                  if index.is_file() else {})
        return ReportTest(id=row["id"], kind=row["kind"], leg=row["leg"], direction=row["direction"],
                          analysis=json.loads((folder / "analysis.json").read_text()), folder=folder,
                          source_video=next(iter(sorted(job_dir.glob("input.*"))), None), key_frame_images=frames)

    def report(self, cid: str, screening_id: str):
        """Everything the report renders (`formcheck.clinic.reports`): scores, analysed clips, history."""
        from formcheck.clinic.report_model import ScreeningReport

        result = self.result(cid, screening_id)
        rows = {r["id"]: r for r in self.store.tests(cid, screening_id)}
        tests = [self._report_test(rows[t.id]) for t in result.screening.tests if t.status == DONE]
        return ScreeningReport(athlete=result.athlete, screening=result.screening, sebt=result.sebt,
                               tests=[t for t in tests if t is not None],
                               history=self.history(cid, result.athlete.id).metrics,
                               clinician_name=result.clinician_name)

    def mot_path(self, cid: str, test_id: str) -> Path:
        """The test's angles as an OpenSim .mot (written by the pipeline)."""
        return self.result_file(cid, test_id, "angles_mot")

    def purge(self) -> dict[str, int]:
        """Privacy housekeeping: no video if so set, screenings past the retention period, expired sessions."""
        counts = {"videos": self.enforce_video_policy(), "screenings": 0,
                  "sessions": self.store.purge_expired_sessions()}
        days = self.clinic_settings.retention_days
        if days:
            for row in self.store.screenings_before(now() - timedelta(days=days)):
                self.delete_screening(row["clinician_id"], row["id"])
                counts["screenings"] += 1
        if any(counts.values()):
            log.info("clinic purge: %s", counts)
        return counts


def _api_key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(id=row["id"], label=row["label"], prefix=row["prefix"], created_at=row["created_at"],
                  last_used_at=row["last_used_at"], revoked_at=row["revoked_at"])


def _share(row: dict[str, Any]) -> ShareLink:
    return ShareLink(id=row["id"], screening_id=row["screening_id"], created_at=row["created_at"],
                     expires_at=row["expires_at"], revoked_at=row["revoked_at"])


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _marker_cm(metrics: dict[str, Any]) -> float | None:
    """Reach in cm measured on the floor plane from a printed marker (`reach_scale` = "marker")."""
    return _num(metrics.get("reach_cm")) if metrics.get("reach_scale") == "marker" else None


def _clip_checks(row: dict[str, Any], analysis: Analysis) -> tuple[ViewCheck | None, LegCheck | None]:
    mv = analysis.movement
    if mv is None:
        return None, None
    sides = [r.side for r in mv.reps if r.complete]
    return (view_check(row["kind"], mv.view, bool(row.get("view_accepted"))),
            leg_check(row["kind"], row["leg"], sides, row.get("confirmed_leg")))


def _test_result(test: ScreeningTest, analysis: Analysis, row: dict[str, Any]) -> ScreeningTestResult:
    mv = analysis.movement
    if mv is None:
        return ScreeningTestResult(test=test)
    _, legs = _clip_checks(row, analysis)
    relabel = {legs.detected: legs.confirmed} if legs and legs.confirmed and legs.detected else {}
    reps = [{"index": r.index, "side": relabel.get(r.side, r.side), "direction": r.direction, "complete": r.complete,
             **r.metrics} for r in mv.reps]
    return ScreeningTestResult(test=test, exercise=mv.exercise, view=mv.view, reps=mv.rep_count, summary=mv.summary,
                               rep_metrics=reps, flags=mv.all_flags(), feedback=list(mv.feedback.clinician))


async def purge_periodically(clinic: ClinicService) -> None:
    """Run `clinic.purge()` every `purge_interval_s` (started and cancelled by the app's lifespan)."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    while True:
        await asyncio.sleep(clinic.clinic_settings.purge_interval_s)
        try:
            await run_in_threadpool(clinic.purge)
        except Exception:  # noqa: BLE001 - housekeeping must not stop; the next pass retries
            log.exception("clinic purge failed")
