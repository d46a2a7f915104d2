"""The clinic's operations, between the thin routers and the stores.

Every method takes the current clinician's id and answers "not found" for anything that is
not theirs. Clips are analysed by the service's own machinery, seen here through the
`clinic.analyses.Analyses` protocol; a test only remembers its job id, which is never
shown to clients (the clip and its results are served through the clinic's routes only).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from formcheck.clinic import auth
from formcheck.clinic.analyses import DONE, FAILED, Analyses, AnalysisJob
from formcheck.clinic.clip_checks import ClipReview, LegCheck, ViewCheck, leg_check, view_check
from formcheck.clinic.errors import (
    BadRequestError,
    ConflictError,
    GoneError,
    LoginBusyError,
    TooManyAttemptsError,
    TotpRequiredError,
    UnauthorizedError,
    WeakPasswordError,
    not_found,
)
from formcheck.clinic.history import build_history, screening_metrics
from formcheck.clinic.models import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyIn,
    Athlete,
    AthleteHistory,
    AthleteIn,
    AthletePatch,
    AuditEntry,
    Clinician,
    ClipJob,
    Login,
    ManualTrial,
    PasswordChange,
    PasswordReset,
    Registered,
    Registration,
    Screening,
    ScreeningIn,
    ScreeningPatch,
    ScreeningResult,
    ScreeningTest,
    ScreeningTestIn,
    ScreeningTestResult,
    SessionsEnded,
    ShareLink,
    ShareLinkCreated,
    ShareLinkIn,
    TokenOut,
    TotpSetup,
    describe_test,
)
from formcheck.clinic.scoring import Trial, score_sebt
from formcheck.clinic.settings import ClinicSettings
from formcheck.clinic.store import ClinicStore, now
from formcheck.errors import NotFoundError, NotReadyError
from formcheck.movements.report import MetricValue, metric_number
from formcheck.pipeline import render_annotated_video
from formcheck.schema import Analysis

log = logging.getLogger(__name__)

API = "/api/v1/clinic"
KEY_FRAMES = "key_frames"  # inside a job's results folder: JPEGs + index.json (kept without video)
REPORT_CACHE = "report_cache"  # inside a job's results folder: the report's pictures, drawn once


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class ClinicService:
    def __init__(self, clinic: ClinicSettings, analyses: Analyses, db_url: str, db_timeout_s: float) -> None:
        self.clinic_settings, self.analyses = clinic, analyses
        self.store = ClinicStore(db_url, timeout_s=db_timeout_s)
        self.throttle = auth.LoginThrottle()
        self.clock = time.monotonic  # the throttle's clock (tests step it instead of sleeping)

    def start(self) -> None:
        self.store.init()
        self.purge()

    # -- accounts --------------------------------------------------------------------------------
    @staticmethod
    def _clinician(row: dict[str, Any], **how: str) -> Clinician:
        return Clinician(id=row["id"], email=row["email"], name=row["name"], created_at=row["created_at"],
                         totp_enabled=bool(row.get("totp_secret")), **how)

    @staticmethod
    def _hash(password: str) -> str:
        try:
            return auth.hash_password(password)
        except auth.HashBusyError:
            raise LoginBusyError() from None

    @staticmethod
    def _verify(stored_hash: str | None, password: str) -> bool:
        try:
            return auth.verify_password(stored_hash, password)
        except auth.HashBusyError:
            raise LoginBusyError() from None

    @staticmethod
    def _check_strength(password: str, email: str, name: str = "") -> None:
        problem = auth.password_problem(password, [email, *email.split("@"), name])
        if problem:
            raise WeakPasswordError(problem)

    def register(self, reg: Registration) -> Registered:
        """The same answer whether the e-mail is new or taken (no account enumeration); log in next."""
        self._check_strength(reg.password, reg.email, reg.name)
        self.store.create_clinician(reg.email, reg.name.strip(), self._hash(reg.password))  # None: taken
        return Registered(message="If this e-mail had no account yet, it has one now: log in with it.",
                          login=f"{API}/auth/login")

    def login(self, body: Login, client: str) -> tuple[TokenOut, str]:
        email = body.email
        wait = self.throttle.retry_after(client, email, self.clock())
        if wait:
            raise TooManyAttemptsError(wait)
        row = self.store.clinician_by_email(email)
        ok = self._verify(row["password_hash"] if row else None, body.password)
        if ok and row is not None and row["totp_secret"]:
            if not body.totp:
                raise TotpRequiredError()
            step = auth.totp_step(row["totp_secret"], body.totp, time.time())
            ok = step is not None and self.store.use_totp_step(row["id"], step)
        if not ok:
            self.throttle.failed(client, email, self.clock())
            raise UnauthorizedError("Wrong e-mail, password or code.", "Check them and try again.")
        assert row is not None
        self.throttle.succeeded(client, email)
        if auth.needs_rehash(row["password_hash"]):
            self.store.set_password_hash(row["id"], self._hash(body.password))
        return self._new_session(row, body.session)

    def change_password(self, who: Clinician, body: PasswordChange, client: str, current_token: str) -> SessionsEnded:
        """Needs the current password; every other login of the account ends."""
        wait = self.throttle.retry_after(client, who.email, self.clock())
        if wait:
            raise TooManyAttemptsError(wait)
        row = self.store.clinician(who.id)
        if row is None or not self._verify(row["password_hash"], body.current_password):
            self.throttle.failed(client, who.email, self.clock())
            raise UnauthorizedError("The current password is wrong.", "Type the password you log in with now.")
        self._check_strength(body.new_password, who.email, who.name)
        self.store.set_password_hash(who.id, self._hash(body.new_password))
        ended = self.store.delete_sessions(who.id, keep_hash=auth.token_hash(current_token))
        return SessionsEnded(ended=ended, message="Password changed; your other logins were ended.")

    def reset_password(self, body: PasswordReset) -> SessionsEnded:
        cid = self.store.take_password_reset(auth.token_hash(body.token))
        row = self.store.clinician(cid) if cid else None
        if row is None:
            raise UnauthorizedError("This reset token is unknown, used or expired.", "Ask the operator for a new one.")
        self._check_strength(body.new_password, row["email"], row["name"])
        self.store.set_password_hash(row["id"], self._hash(body.new_password))
        ended = self.store.delete_sessions(row["id"])
        return SessionsEnded(ended=ended, message="Password changed and every login ended: log in with the new one.")

    def logout_everywhere(self, who: Clinician) -> SessionsEnded:
        ended = self.store.delete_sessions(who.id)
        return SessionsEnded(ended=ended, message="Every login of this account was ended (API keys are revoked "
                                                  "one by one: DELETE /api/v1/clinic/api-keys/{id}).")

    def totp_setup(self, who: Clinician) -> TotpSetup:
        """A new secret, pending until a code from it is confirmed (`totp_enable`)."""
        row = self.store.clinician(who.id)
        if row and row["totp_secret"]:
            raise ConflictError("A second factor is already on.", "Turn it off first (DELETE /auth/totp with a code).")
        secret = auth.new_totp_secret()
        self.store.set_totp(who.id, pending=secret)
        return TotpSetup(secret=secret, otpauth_uri=auth.totp_uri(secret, who.email))

    def totp_enable(self, who: Clinician, code: str) -> Clinician:
        row = self.store.clinician(who.id) or {}
        pending = row.get("totp_pending")
        if not pending:
            raise ConflictError("No second factor is being set up.", "POST /api/v1/clinic/auth/totp/setup first.")
        if auth.totp_step(pending, code, time.time()) is None:
            raise UnauthorizedError("That code does not match.", "Type the current code of the authenticator app.")
        self.store.set_totp(who.id, secret=pending)
        return self._clinician(self.store.clinician(who.id))  # type: ignore[arg-type]

    def totp_disable(self, who: Clinician, code: str) -> Clinician:
        row = self.store.clinician(who.id) or {}
        if not row.get("totp_secret"):
            raise ConflictError("This account has no second factor.", "Nothing to turn off.")
        step = auth.totp_step(row["totp_secret"], code, time.time())
        if step is None or not self.store.use_totp_step(who.id, step):
            raise UnauthorizedError("That code does not match.", "Type the current code of the authenticator app.")
        self.store.set_totp(who.id)
        return self._clinician(self.store.clinician(who.id))  # type: ignore[arg-type]

    def _new_session(self, row: dict[str, Any], kind: str) -> tuple[TokenOut, str]:
        token = auth.new_token()
        expires = now() + timedelta(hours=self.clinic_settings.session_hours)
        self.store.add_session(auth.token_hash(token), row["id"], kind, expires)
        return TokenOut(token=token, expires_at=expires, clinician=self._clinician(row)), token

    def logout(self, who: Clinician, token: str | None) -> None:
        if who.via == "api_key":
            raise BadRequestError("An API key is not a login: logging out does not end it, and it keeps working.",
                                  "Revoke the key with DELETE /api/v1/clinic/api-keys/{id} from a logged-in session.")
        if token:
            self.store.delete_session(auth.token_hash(token))

    def authenticate(self, *, bearer: str | None = None, api_key: str | None = None,
                     cookie: str | None = None) -> Clinician | None:
        key = bearer if bearer and bearer.startswith(auth.API_KEY_PREFIX) else api_key if not bearer else None
        if key:
            row = self.store.api_key_clinician(auth.token_hash(key))
            return self._clinician(row, via="api_key", scope=row["key_scope"],
                                   actor=f"API key {row['key_prefix']}…") if row else None
        row = (self.store.session_clinician(auth.token_hash(bearer), "bearer") if bearer
               else self.store.session_clinician(auth.token_hash(cookie), "cookie") if cookie else None)
        return self._clinician(row) if row else None

    def create_api_key(self, cid: str, body: ApiKeyIn) -> ApiKeyCreated:
        key = auth.new_api_key()
        row = self.store.add_api_key(cid, body.label.strip(), key[: len(auth.API_KEY_PREFIX) + 6], auth.token_hash(key),
                                     body.scope, now() + timedelta(days=body.days))
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
            self.analyses.delete(job_id)
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
                         skipped_steps=json.loads(row.get("skipped_steps") or "[]"), created_at=row["created_at"],
                         tests=tests)

    def update_screening(self, cid: str, screening_id: str, patch: ScreeningPatch) -> Screening:
        """The wizard's "skip for now", kept with the screening (so a new session remembers it)."""
        self.screening(cid, screening_id)
        if patch.skipped_steps is not None:
            self.store.set_skipped_steps(cid, screening_id, sorted(set(patch.skipped_steps)))
        return self.screening(cid, screening_id)

    def delete_screening(self, cid: str, screening_id: str) -> None:
        self.screening(cid, screening_id)
        for job_id in self.store.screening_job_ids(cid, screening_id):
            self.analyses.delete(job_id)
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

    def set_test_notes(self, cid: str, test_id: str, notes: str) -> ScreeningTest:
        self._test_row(cid, test_id)
        self.store.set_test_notes(cid, test_id, notes)
        return self.test(cid, test_id)

    def delete_test(self, cid: str, test_id: str) -> None:
        row = self._test_row(cid, test_id)
        if row["job_id"]:
            self.analyses.delete(row["job_id"])
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
            self.analyses.delete(job_id)
            raise not_found("test")
        self.store.attach_job(cid, test_id, job_id, file_name)
        if row["job_id"] and row["job_id"] != job_id:
            self.analyses.delete(row["job_id"])
        return self.test(cid, test_id)

    def holds_job(self, job_id: str) -> bool:
        """Whether the analysis is a clinic test's clip (the public analyses API then answers 404)."""
        return self.store.is_clinic_job(job_id)

    def _job(self, row: dict[str, Any]) -> AnalysisJob | None:
        return self.analyses.get(row["job_id"]) if row.get("job_id") else None

    def _test(self, row: dict[str, Any]) -> ScreeningTest:
        job = self._job(row)
        clip = None
        if job is not None:
            error = ({"code": job.error_code or "failed", "message": job.error_message or "",
                      "hint": job.error_hint or ""}
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
            id=row["id"], screening_id=row["screening_id"], kind=row["kind"], leg=row["leg"],
            direction=row["direction"],
            status=job.status if job else "no_clip", file_name=row["file_name"] if job else "", job=clip,
            manual_trials=[ManualTrial(**t) for t in row["manual_trials"]], view_check=views, leg_check=legs,
            notes=row.get("notes") or "", created_at=row["created_at"], links=links)

    def review_clip(self, cid: str, test_id: str, review: ClipReview) -> ScreeningTest:
        """The clinician accepts the clip's view or confirms/corrects its leg (done clips only)."""
        self.done_job(cid, test_id)
        self.store.review_clip(cid, test_id, view_accepted=review.accept_view, confirmed_leg=review.leg)
        return self.test(cid, test_id)

    def done_job(self, cid: str, test_id: str) -> tuple[dict[str, Any], AnalysisJob]:
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
        return _read_analysis(self.analyses.results(job_id))

    def result_file(self, cid: str, test_id: str, role: str) -> Path:
        """A result file of the test's analysis, by its role in analysis.json (`annotated_video`, `angles_csv`)."""
        self.enforce_video_policy()
        row, job = self.done_job(cid, test_id)
        name = self._analysis(job.id).files.get(role)
        path = self.analyses.results(job.id) / name if name else None
        if role == "annotated_video":
            return self._annotated_video(row, job.id)
        if path is None or not path.is_file():
            raise not_found(f"{role} file")
        return path

    def _annotated_video(self, row: dict[str, Any], job_id: str) -> Path:
        """The annotated MP4, drawn on the first request from the kept clip (jobs write none)."""
        path = self.analyses.results(job_id) / "annotated.mp4"
        upload = self.analyses.upload(job_id)
        if not path.is_file() and not row["video_purged"] and upload is not None and upload.is_file():
            render_annotated_video(upload, self.analyses.results(job_id))
        if row["video_purged"] or not path.is_file():
            raise GoneError("This clinic keeps no video: the clip was deleted after its analysis.",
                            "Landmarks, key frames and metrics are kept; see the report.")
        return path

    # -- results ---------------------------------------------------------------------------------
    def trials(self, row: dict[str, Any], analysis: Analysis | None,
               job: AnalysisJob | None) -> tuple[list[Trial], list[str]]:
        """The mSEBT trials of one test that are scored: the tape measurements when the clinician
        gave some, else the analysed reps of the stance leg."""
        tape = _tape_trials(row)
        return (tape, []) if tape else self.clip_trials(row, analysis, job)

    def clip_trials(self, row: dict[str, Any], analysis: Analysis | None,
                    job: AnalysisJob | None) -> tuple[list[Trial], list[str]]:
        """The mSEBT trials the clip's analysis measured (the stance leg's reps), with notes on them."""
        notes: list[str] = []
        out: list[Trial] = []
        if analysis is None or analysis.movement is None:
            return out, notes
        name = describe_test(row["kind"], row["leg"], row["direction"])
        views, legs = _clip_checks(row, analysis)
        for check in (views, legs):
            if check is not None and not check.ok:
                notes.append(f"{name} is not scored yet: {check.message}")
                return out, notes
        if legs is not None and legs.confirmed is not None:
            # the clinician's word on which leg stood: the clip's trials (the side most of them
            # were read as) count for that leg
            reps = [r for r in analysis.movement.reps if r.side == (legs.detected or r.side)]
            leg = legs.confirmed
            if legs.message:
                notes.append(f"{name}: {legs.message}")
        else:
            reps = [r for r in analysis.movement.reps if r.side == row["leg"]]
            leg = row["leg"]
        if views is not None and views.accepted and views.message:
            notes.append(f"{name}: {views.message}")
        if not reps and analysis.movement.reps:
            notes.append(f"{name}: no trial with the {row['leg']} leg standing was found in the clip "
                         "(check which leg stood); its reaches were not scored.")
        if reps and analysis.movement.near_side not in (None, row["leg"]):
            notes.append(f"{name}: the {row['leg']} (stance) leg was the one farther from the camera, "
                         "hidden by the reaching leg: its angles and the reach's starting point are less certain. "
                         "Film each leg's tests with the stance leg nearest the camera.")
        if reps and job is not None and job.marker_size_cm and not any(_marker_cm(r.metrics) is not None for r in reps):
            if not analysis.movement.scale.get("marker"):
                notes.append(f"{name}: the {job.marker_size_cm:g} cm floor marker was not found in the "
                             "clip, so its reaches are not measured from the marker (see the scale used).")
            else:
                why = next((u.reason for u in analysis.movement.unsupported_measures if u.measure == "reach_cm"), "")
                notes.append(f"{name}: the floor marker was found but its reaches are not measured from "
                             f"it: {why} (see the scale used).")
        for n, rep in enumerate(reps, start=1):
            m = rep.metrics
            cm, reasons = _marker_cm(m), m.get("invalid_reasons")   # the rule's faults, one text
            out.append(Trial(
                leg=leg, direction=row["direction"], trial=n, reach_pct_limb=metric_number(m.get("reach_pct_leg")),
                reach_cm=cm, cm_source="marker" if cm is not None else None,
                valid=bool(m.get("valid", True)) and rep.complete,
                invalid_reasons=[str(reasons)] if reasons else [],
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
        camera: list[Trial] = []   # what the clips measured, scored or not
        tape_and_clip = False
        for test in screening.tests:
            row = rows[test.id]
            job = self._job(row)
            analysis = self._analysis(job.id) if job is not None and test.status == DONE else None
            if test.status in ("queued", "running"):
                pending.append(test.id)
            if test.kind == "msebt":
                tape = _tape_trials(row)
                clip, n = self.clip_trials(row, analysis, job)
                trials += tape or clip
                notes += [] if tape else n
                camera += clip
                tape_and_clip = tape_and_clip or bool(tape and clip)
            if analysis is not None:
                results.append(_test_result(test, analysis, row))
            else:
                results.append(ScreeningTestResult(test=test))
        has_sebt = any(t.kind == "msebt" for t in screening.tests)
        sebt = score_sebt(trials, athlete.leg_length_cm) if has_sebt else None
        if sebt is not None:
            sebt.notes += notes
        clinician = self.store.clinician(cid)
        camera_sebt = score_sebt(camera, athlete.leg_length_cm) if tape_and_clip else None
        return ScreeningResult(athlete=athlete, screening=screening, sebt=sebt, trials=trials, camera_sebt=camera_sebt,
                               tests=results, pending=pending, clinician_name=clinician["name"] if clinician else "")

    def history(self, cid: str, athlete_id: str, up_to: Screening | None = None) -> AthleteHistory:
        """`up_to`: only that screening and the ones before it (a share link never shows later ones)."""
        rows = []
        for s in self.screenings(cid, athlete_id):
            if up_to is None or (s.date, s.created_at) <= (up_to.date, up_to.created_at):
                rows.append((s.id, s.date, screening_metrics(self.result(cid, s.id))))
        return AthleteHistory(athlete_id=athlete_id, metrics=build_history(athlete_id, rows))

    # -- share links -----------------------------------------------------------------------------
    def create_share_link(self, cid: str, screening_id: str, body: ShareLinkIn) -> ShareLinkCreated:
        self.screening(cid, screening_id)
        token = auth.new_token()
        row = self.store.add_share_link(cid, screening_id, auth.token_hash(token), now() + timedelta(days=body.days),
                                        include_history=body.include_history, include_notes=body.include_notes)
        return ShareLinkCreated(token=token, url=f"/share/{token}", **_share(row).model_dump())

    def share_links(self, cid: str, screening_id: str) -> list[ShareLink]:
        self.screening(cid, screening_id)
        return [_share(r) for r in self.store.share_links(cid, screening_id)]

    def revoke_share_link(self, cid: str, link_id: str) -> None:
        if not self.store.revoke_share_link(cid, link_id):
            raise not_found("share link")

    def shared(self, token: str) -> dict[str, Any]:
        """The share link of a live token (clinician_id, screening_id, what it shows); 404 unknown,
        410 expired or revoked."""
        row = self.store.share_link(auth.token_hash(token)) if token else None
        if row is None:
            raise NotFoundError("This report link is not known: it may be mistyped or cut off.",
                                "Copy the whole link from your clinician's message, or ask for a new one.")
        if row["revoked_at"]:
            raise GoneError("This report link was withdrawn by the clinician.", "Ask your clinician for a new link.")
        expires = _dt(row["expires_at"])
        if expires is not None and expires <= now():
            raise GoneError(f"This report link expired on {expires:%Y-%m-%d %H:%M} UTC.",
                            "Ask your clinician for a new link.")
        return row

    def shared_result(self, token: str) -> ScreeningResult:
        """The shared screening's scores, without notes unless the clinician chose to share them."""
        link = self.shared(token)
        result = self.result(link["clinician_id"], link["screening_id"])
        self._audit_share(link, "viewed", "shared scores (link)")
        if link["include_notes"]:
            return result
        return result.model_copy(update={
            "athlete": _without_notes(result.athlete), "screening": _screening_without_notes(result.screening),
            "tests": [t.model_copy(update={"test": t.test.model_copy(update={"notes": ""})}) for t in result.tests]})

    def shared_report(self, token: str, what: str):
        """The shared screening's report: its history only if chosen and never past it; notes only if chosen."""
        link = self.shared(token)
        report = self.report(link["clinician_id"], link["screening_id"], with_history=False)
        if link["include_history"]:
            report.history = self.history(link["clinician_id"], report.athlete.id, up_to=report.screening).metrics
        if not link["include_notes"]:
            report.athlete = _without_notes(report.athlete)
            report.screening = _screening_without_notes(report.screening)
            report.tests = [dataclasses.replace(t, notes="") for t in report.tests]
        self._audit_share(link, "viewed" if what == "page" else "exported", f"shared report {what} (link)")
        return report

    def _audit_share(self, link: dict[str, Any], action: str, what: str) -> None:
        athlete_id = self.store.screening_athlete_id(link["clinician_id"], link["screening_id"])
        if athlete_id:
            self.store.add_audit(link["clinician_id"], athlete_id, action, what, f"share link {link['id'][:8]}")

    # -- audit log ---------------------------------------------------------------------------------
    def audit(self, who: Clinician, action: str, what: str, *, athlete_id: str | None = None,
              screening_id: str | None = None, test_id: str | None = None) -> None:
        """Record who viewed, exported, shared or deleted an athlete's data (call before a delete)."""
        if athlete_id is None and screening_id:
            athlete_id = self.store.screening_athlete_id(who.id, screening_id)
        if athlete_id is None and test_id:
            athlete_id = self.store.test_athlete_id(who.id, test_id)
        if athlete_id:
            self.store.add_audit(who.id, athlete_id, action, what, who.actor)

    def audit_log(self, cid: str, athlete_id: str | None = None) -> list[AuditEntry]:
        return [AuditEntry(**r) for r in self.store.audit(cid, athlete_id)]

    # -- privacy -----------------------------------------------------------------------------------
    def enforce_video_policy(self) -> int:
        """Keep-no-video: delete the upload and the annotated video of every finished clip."""
        if self.clinic_settings.keep_video:
            return 0
        purged = 0
        for row in self.store.tests_with_video():
            if row["job_status"] == DONE:
                self._save_key_frames(row)
            self.analyses.delete_video(row["job_id"])
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
        except Exception:  # a missing key frame must not keep a video the clinic must not keep
            log.exception("key frames of test %s could not be saved", row["id"])
            return
        (out / "index.json").write_text(json.dumps({kid: path.name for kid, path in saved.items()}))
        self.analyses.save_results(row["job_id"], KEY_FRAMES)  # kept with the results (the media storage)

    def _report_test(self, row: dict[str, Any]):
        """The report's view of one analysed test (None when its results are not on disk)."""
        from formcheck.clinic.report_model import ReportTest

        folder = self.analyses.results(row["job_id"])
        if not (folder / "analysis.json").is_file():
            return None
        index = folder / KEY_FRAMES / "index.json"
        frames = ({kid: folder / KEY_FRAMES / name for kid, name in json.loads(index.read_text()).items()}
                  if index.is_file() else {})
        return ReportTest(id=row["id"], kind=row["kind"], leg=row["leg"], direction=row["direction"],
                          analysis=_read_analysis(folder), folder=folder,
                          source_video=self.analyses.upload(row["job_id"]), key_frame_images=frames,
                          file_name=row["file_name"], notes=row.get("notes") or "", cache_dir=folder / REPORT_CACHE)

    def report(self, cid: str, screening_id: str, with_history: bool = True):
        """Everything the report renders (`formcheck.clinic.reports`): scores, analysed clips, history."""
        from formcheck.clinic.report_model import ScreeningReport

        result = self.result(cid, screening_id)
        rows = {r["id"]: r for r in self.store.tests(cid, screening_id)}
        tests = [self._report_test(rows[t.id]) for t in result.screening.tests if t.status == DONE]
        return ScreeningReport(athlete=result.athlete, screening=result.screening, sebt=result.sebt,
                               camera_sebt=result.camera_sebt, tests=[t for t in tests if t is not None],
                               history=self.history(cid, result.athlete.id).metrics if with_history else [],
                               clinician_name=result.clinician_name)

    def mot_path(self, cid: str, test_id: str) -> Path:
        """The test's angles as an OpenSim .mot (written by the pipeline)."""
        return self.result_file(cid, test_id, "angles_mot")

    def purge(self) -> dict[str, int]:
        """Privacy housekeeping: no video if so set, screenings and anonymous uploads past their
        retention periods, expired sessions."""
        counts = {"videos": self.enforce_video_policy(), "screenings": 0, "anonymous_analyses": 0,
                  "sessions": self.store.purge_expired_sessions()}
        days = self.clinic_settings.retention_days
        if days:
            for row in self.store.screenings_before(now() - timedelta(days=days)):
                self.delete_screening(row["clinician_id"], row["id"])
                counts["screenings"] += 1
        days = self.clinic_settings.anonymous_retention_days
        if days:
            for job_id in self.store.anonymous_jobs_before(now() - timedelta(days=days)):
                self.analyses.delete(job_id)
                counts["anonymous_analyses"] += 1
        if any(counts.values()):
            log.info("clinic purge: %s", counts)
        return counts


def _api_key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(id=row["id"], label=row["label"], prefix=row["prefix"], created_at=row["created_at"],
                  last_used_at=row["last_used_at"], revoked_at=row["revoked_at"], scope=row["scope"],
                  expires_at=row["expires_at"])


def _share(row: dict[str, Any]) -> ShareLink:
    return ShareLink(id=row["id"], screening_id=row["screening_id"], created_at=row["created_at"],
                     expires_at=row["expires_at"], revoked_at=row["revoked_at"],
                     include_history=bool(row["include_history"]), include_notes=bool(row["include_notes"]))


def _without_notes(athlete: Athlete) -> Athlete:
    return athlete.model_copy(update={"injury_notes": ""})


def _screening_without_notes(screening: Screening) -> Screening:
    """The screening's and its tests' clinician notes blanked (a share link without notes)."""
    return screening.model_copy(update={"notes": "", "tests": [t.model_copy(update={"notes": ""})
                                                                for t in screening.tests]})


def _read_analysis(results: Path) -> Analysis:
    """A results folder's analysis.json, parsed: the one place the clinic reads it."""
    return Analysis.model_validate_json((results / "analysis.json").read_bytes())


def _tape_trials(row: dict[str, Any]) -> list[Trial]:
    return [Trial(leg=row["leg"], direction=row["direction"], trial=t["trial"], reach_cm=t["reach_cm"],
                  cm_source="tape", valid=t["valid"], invalid_reasons=t["invalid_reasons"], test_id=row["id"])
            for t in row["manual_trials"]]


def _marker_cm(metrics: dict[str, MetricValue]) -> float | None:
    """Reach in cm measured on the floor plane from a printed marker (`reach_scale` = "marker")."""
    return metric_number(metrics.get("reach_cm")) if metrics.get("reach_scale") == "marker" else None


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
        except Exception:  # housekeeping must not stop; the next pass retries
            log.exception("clinic purge failed")
