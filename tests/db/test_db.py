"""The data layer (`formcheck.db`): the job and clinic stores on SQLite and on a real Postgres server
(started by `pg_support`), and the Alembic upgrade of a database made by a release before Alembic."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from db_support import OLD_JOBS_SCHEMA
from formcheck.clinic.store import ClinicStore
from formcheck.db.engine import dispose_engines
from formcheck.db.migrate import upgrade
from formcheck.db.tables import metadata
from formcheck.service.store import DONE, FAILED, QUEUED, RUNNING, DatabaseBusyError, JobStore, is_busy, is_disk_full
from pg_support import postgres_bindir, postgres_server

# Every test names its database (SQLite or its own Postgres): the scaled-out pass would repeat it unchanged.
pytestmark = pytest.mark.own_backend

# The clinic tables as the release before Alembic created them at clinic_schema version 1.
OLD_CLINIC_V1 = """
CREATE TABLE IF NOT EXISTS clinicians (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clinic_sessions (
    token_hash   TEXT PRIMARY KEY,
    clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,          -- bearer | cookie
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clinic_api_keys (
    id           TEXT PRIMARY KEY,
    clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
    label        TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE TABLE IF NOT EXISTS athletes (
    id                  TEXT PRIMARY KEY,
    clinician_id        TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    birth_year          INTEGER,
    leg_length_left_cm  REAL,
    leg_length_right_cm REAL,
    dominant_leg        TEXT,
    injury_notes        TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS athletes_owner ON athletes(clinician_id);
CREATE TABLE IF NOT EXISTS screenings (
    id           TEXT PRIMARY KEY,
    athlete_id   TEXT NOT NULL REFERENCES athletes(id) ON DELETE CASCADE,
    clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
    date         TEXT NOT NULL,
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS screenings_athlete ON screenings(athlete_id);
CREATE TABLE IF NOT EXISTS screening_tests (
    id            TEXT PRIMARY KEY,
    screening_id  TEXT NOT NULL REFERENCES screenings(id) ON DELETE CASCADE,
    clinician_id  TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    leg           TEXT,
    direction     TEXT,
    job_id        TEXT,                  -- the service's analysis job (jobs.id) of the clip
    file_name     TEXT NOT NULL DEFAULT '',
    manual_trials TEXT NOT NULL DEFAULT '[]',
    video_purged  INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tests_screening ON screening_tests(screening_id);
CREATE INDEX IF NOT EXISTS tests_job ON screening_tests(job_id);
CREATE TABLE IF NOT EXISTS share_links (
    id           TEXT PRIMARY KEY,
    clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
    screening_id TEXT NOT NULL REFERENCES screenings(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE TABLE clinic_schema (version INTEGER NOT NULL);
INSERT INTO clinic_schema (version) VALUES (1);
"""
OLD_STAMP = "2025-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def pg():
    if postgres_bindir() is None:
        message = "initdb/pg_ctl not found: `make system-deps` installs Debian's postgresql"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with postgres_server() as server:
        yield server
        dispose_engines()  # close the pooled connections before the server goes


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.jobs)])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'formcheck.sqlite3'}"
    return request.getfixturevalue("pg").create_database(f"test_{uuid.uuid4().hex}")


@pytest.fixture()
def jobs(url) -> JobStore:
    store = JobStore(url, timeout_s=5.0)
    store.init()
    return store


@pytest.fixture()
def clinic(url, jobs) -> ClinicStore:
    store = ClinicStore(url, timeout_s=5.0)
    store.init()
    return store


def new_job(store: JobStore, **fields) -> str:
    job_id = uuid.uuid4().hex
    store.create(job_id, exercise="lunge", model="lite", input_name="input.mp4", file_name="clip.mp4", **fields)
    return job_id


def set_job(store: JobStore, job_id: str, **fields) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE jobs SET {assignments} WHERE id = :id"), {**fields, "id": job_id})


def athlete_with_test(clinic: ClinicStore, email: str = "a@clinic.test") -> tuple[str, str, str, str]:
    """A clinician with an athlete, a screening and a test: their ids."""
    clinician = clinic.create_clinician(email, "PT", "hash")["id"]
    athlete = clinic.create_athlete(clinician, {"name": "Sam", "leg_length_left_cm": 90.5})["id"]
    screening = clinic.create_screening(clinician, athlete, "2025-06-01", "")["id"]
    test = clinic.create_test(clinician, screening, "lunge", "left", None, [])["id"]
    return clinician, athlete, screening, test


# -- the job store ------------------------------------------------------------------------------

def test_a_job_is_claimed_once_and_keeps_its_fields(jobs):
    job_id = new_job(jobs, leg_length_left_cm=92.5, marker_size_cm=15.0, subject="largest")
    job = jobs.get(job_id)
    assert (job.status, job.attempts, job.progress, job.leg_length_cm) == (QUEUED, 0, 0.0, {"left": 92.5})
    assert job.marker_size_cm == 15.0 and job.subject == "largest" and jobs.list_active() == [job]
    assert jobs.mark_running(job_id) == 1
    assert jobs.mark_running(job_id) is None  # a second worker gets nothing
    assert jobs.get(job_id).status == RUNNING and jobs.count(RUNNING) == 1 and jobs.count(QUEUED) == 0
    assert jobs.mark_running(uuid.uuid4().hex) is None  # deleted or never there


def test_concurrent_claims_give_the_job_to_one_worker(jobs):
    job_id = new_job(jobs)
    barrier, claims = threading.Barrier(6), []

    def claim() -> None:
        barrier.wait()
        claims.append(jobs.mark_running(job_id))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims, key=str) == [1] + [None] * 5
    assert jobs.get(job_id).attempts == 1


def test_a_stale_attempt_cannot_write_over_the_newer_one(jobs):
    job_id = new_job(jobs)
    stale = jobs.mark_running(job_id)
    assert jobs.requeue_attempt(job_id, stale)  # its worker went silent: the job is queued again
    assert jobs.get(job_id).status == QUEUED
    fresh = jobs.mark_running(job_id)
    assert (stale, fresh) == (1, 2)
    assert not jobs.requeue_attempt(job_id, stale)  # a late sweep of the old run leaves the new one alone
    assert not jobs.set_progress(job_id, 0.5, "pose", stale)
    assert not jobs.mark_done(job_id, stale)
    assert not jobs.mark_failed(job_id, "x", "stale", attempt=stale)
    assert jobs.get(job_id).status == RUNNING
    assert jobs.set_progress(job_id, 0.5, "pose", fresh) and jobs.get(job_id).stage == "pose"
    assert jobs.mark_done(job_id, fresh)
    done = jobs.get(job_id)
    assert (done.status, done.progress, done.attempts) == (DONE, 1.0, 2)
    assert not jobs.mark_failed(job_id, "late", "too late")  # only active jobs fail
    assert jobs.mark_failed(job_id, "purged", "gone", only_active=False) and jobs.get(job_id).status == FAILED
    assert jobs.delete(job_id) and jobs.get(job_id) is None and not jobs.delete(job_id)
    assert jobs.ids() == set() and jobs.ping()


def test_a_write_blocked_by_a_lock_is_database_busy(jobs):
    job_id = new_job(jobs)
    attempt = jobs.mark_running(job_id)
    busy = JobStore(jobs.url, timeout_s=0.5)
    with jobs.engine.connect().execution_options(sqlite_immediate=True) as holder:  # SQLite: the write lock
        holder.execute(text("UPDATE jobs SET stage = 'held' WHERE id = :id"), {"id": job_id})  # Postgres: the row
        with pytest.raises(DatabaseBusyError):
            busy.mark_queued(job_id)
        assert busy.get(job_id).stage == "starting"  # readers go on
        assert busy.set_progress(job_id, 0.1, "pose", attempt)  # progress is skipped, not waited for
        holder.rollback()
    assert busy.mark_queued(job_id)


def test_a_clinic_write_blocked_by_a_lock_is_an_error_the_api_calls_busy(clinic):
    """The clinic store does not retry: the error reaches the app's handler, which answers 503 for it."""
    clinician = clinic.create_clinician("a@clinic.test", "A", "hash")["id"]
    impatient = ClinicStore(clinic.url, timeout_s=0.3)
    with clinic.engine.connect().execution_options(sqlite_immediate=True) as holder:
        holder.execute(text("UPDATE clinicians SET name = 'held' WHERE id = :id"), {"id": clinician})
        with pytest.raises(OperationalError) as raised:
            impatient.set_password_hash(clinician, "new")
        holder.rollback()
    assert is_busy(raised.value) and not is_disk_full(raised.value)


# -- the clinic store ----------------------------------------------------------------------------

def test_a_taken_email_creates_no_second_clinician(clinic):
    assert clinic.create_clinician("a@clinic.test", "A", "hash") is not None
    assert clinic.create_clinician("a@clinic.test", "B", "hash") is None
    assert clinic.clinician_by_email("a@clinic.test")["name"] == "A"


def test_deleting_an_athlete_deletes_their_screenings_tests_and_share_links(clinic):
    clinician, athlete, screening, test = athlete_with_test(clinic)
    _, other, other_screening, other_test = athlete_with_test(clinic, "b@clinic.test")
    expires = datetime.now(UTC) + timedelta(days=1)
    clinic.add_share_link(clinician, screening, "share-hash", expires, include_history=True, include_notes=False)
    clinic.add_audit(clinician, athlete, "viewed", "athlete", "PT")
    assert clinic.share_link("share-hash")["include_history"] == 1
    assert not clinic.delete_athlete(clinician, other)  # another clinician's athlete: not found
    assert clinic.delete_athlete(clinician, athlete)
    assert clinic.athlete(clinician, athlete) is None and clinic.screening(clinician, screening) is None
    assert clinic.test(clinician, test) is None and clinic.share_link("share-hash") is None
    assert [row["action"] for row in clinic.audit(clinician, athlete)] == ["viewed"]  # the log is kept
    assert clinic.test(clinic.clinician_by_email("b@clinic.test")["id"], other_test)["screening_id"] == other_screening


def test_the_clinic_queries_that_join_the_jobs_table(jobs, clinic):
    clinician, athlete, screening, test = athlete_with_test(clinic)
    second = clinic.create_test(clinician, screening, "lunge", "right", None, [{"reach_cm": 60.0}])["id"]
    done, queued = new_job(jobs), new_job(jobs)
    set_job(jobs, done, status=DONE)
    clinic.attach_job(clinician, test, done, "a.mp4")
    clinic.attach_job(clinician, second, queued, "b.mp4")
    with_video = clinic.tests_with_video()
    assert [(row["id"], row["job_status"]) for row in with_video] == [(test, DONE)]
    clinic.mark_video_purged(test)
    assert clinic.tests_with_video() == []
    assert clinic.test(clinician, second)["manual_trials"] == [{"reach_cm": 60.0}]
    assert sorted(clinic.athlete_job_ids(clinician, athlete)) == sorted([done, queued])
    assert clinic.test_athlete_id(clinician, second) == athlete and clinic.is_clinic_job(done)

    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    public_old, public_new, public_running = new_job(jobs), new_job(jobs), new_job(jobs)
    for job_id, status, created in ((public_old, FAILED, old), (public_new, DONE, None),
                                    (public_running, RUNNING, old), (done, DONE, old)):
        set_job(jobs, job_id, status=status, **({"created_at": created} if created else {}))
    cutoff = datetime.now(UTC) - timedelta(days=30)
    assert clinic.anonymous_jobs_before(cutoff) == [public_old]  # not the clinic's, not new, not running


def test_logins_reset_tokens_totp_steps_and_the_audit_order(clinic):
    clinician = clinic.create_clinician("a@clinic.test", "A", "hash")["id"]
    later = datetime.now(UTC) + timedelta(hours=1)
    for token in ("one", "two", "three"):
        clinic.add_session(token, clinician, "bearer", later)
    assert clinic.delete_sessions(clinician, keep_hash="two") == 2
    assert clinic.session_clinician("two", "bearer")["id"] == clinician
    assert clinic.delete_sessions(clinician) == 1 and clinic.session_clinician("two", "bearer") is None
    clinic.add_password_reset(clinician, "reset", later)
    assert clinic.take_password_reset("reset") == clinician
    assert clinic.take_password_reset("reset") is None  # used up (the DELETE ... RETURNING was committed)
    assert clinic.use_totp_step(clinician, 5) and not clinic.use_totp_step(clinician, 5)
    for action in ("viewed", "exported", "shared"):
        clinic.add_audit(clinician, "athlete", action, "", "A")
    assert [row["action"] for row in clinic.audit(clinician, limit=2)] == ["shared", "exported"]
    for name in ("bea", "Ana", "carl"):
        clinic.create_athlete(clinician, {"name": name})
    assert [row["name"] for row in clinic.athletes(clinician)] == ["Ana", "bea", "carl"]  # case-insensitive


# -- migrations ----------------------------------------------------------------------------------

def schema_differences(url: str) -> list[tuple]:
    """What Alembic's autogenerate would change to make the database match `formcheck.db.tables`,
    one (kind, ...) tuple per change (column changes come grouped in lists: flattened here)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    return [change for item in found for change in (item if isinstance(item, list) else [item])]


# What an upgraded old SQLite file may still differ in: SQLite cannot alter a column or a constraint in
# place (it would copy every table), so the old DDL's spelling stays: REAL for FLOAT, a TEXT primary key
# without NOT NULL, foreign keys declared inline. Tables, columns and indexes must all be there.
STRUCTURAL = ("add_table", "remove_table", "add_column", "remove_column", "add_index", "remove_index")


def test_an_empty_database_gets_the_schema_of_the_tables_module(url):
    upgrade(url)
    assert schema_differences(url) == []


def old_database(path) -> str:
    """A database file as the release before Alembic left it: jobs without the scale columns, the
    clinic at schema version 1; one row in each of jobs, clinicians, athletes, screenings and tests."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(OLD_JOBS_SCHEMA + OLD_CLINIC_V1)
        conn.execute("INSERT INTO jobs (id, status, exercise, model, input_name, file_name, created_at, updated_at)"
                     " VALUES ('job1', 'done', 'lunge', 'lite', 'input.mp4', 'old.mp4', ?, ?)", (OLD_STAMP, OLD_STAMP))
        conn.execute("INSERT INTO clinicians (id, email, name, password_hash, created_at)"
                     " VALUES ('c1', 'old@clinic.test', 'Old PT', 'hash', ?)", (OLD_STAMP,))
        conn.execute("INSERT INTO athletes (id, clinician_id, name, created_at, updated_at)"
                     " VALUES ('a1', 'c1', 'Sam', ?, ?)", (OLD_STAMP, OLD_STAMP))
        conn.execute("INSERT INTO screenings (id, athlete_id, clinician_id, date, created_at)"
                     " VALUES ('s1', 'a1', 'c1', '2025-01-01', ?)", (OLD_STAMP,))
        conn.execute("INSERT INTO screening_tests (id, screening_id, clinician_id, kind, job_id, created_at)"
                     " VALUES ('t1', 's1', 'c1', 'lunge', 'job1', ?)", (OLD_STAMP,))
    conn.close()
    return f"sqlite:///{path}"


def sqlite_schema(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    conn.close()
    return [*rows, *version]


def test_an_old_sqlite_database_is_upgraded_in_place_keeping_its_rows(tmp_path):
    path = tmp_path / "formcheck.sqlite3"
    url = old_database(path)
    jobs, clinic = JobStore(url), ClinicStore(url)
    jobs.init()

    tables = inspect(create_engine(url))
    assert {"leg_length_left_cm", "leg_length_right_cm", "marker_size_cm", "subject"} <= {
        c["name"] for c in tables.get_columns("jobs")}
    assert {"scope", "expires_at"} <= {c["name"] for c in tables.get_columns("clinic_api_keys")}
    assert {"view_accepted", "confirmed_leg", "notes"} <= {c["name"] for c in tables.get_columns("screening_tests")}
    assert {"password_resets", "audit_log"} <= set(tables.get_table_names())
    assert "clinic_schema" not in tables.get_table_names()
    assert [change for change in schema_differences(url) if change[0] in STRUCTURAL] == []

    job = jobs.get("job1")
    assert (job.status, job.file_name, job.created_at, job.marker_size_cm) == (DONE, "old.mp4", OLD_STAMP, None)
    clinician = clinic.clinician_by_email("old@clinic.test")
    assert clinician["name"] == "Old PT" and clinician["totp_last_step"] == 0  # new columns: their defaults
    test = clinic.test("c1", "t1")
    assert (test["job_id"], test["view_accepted"], test["notes"], test["manual_trials"]) == ("job1", 0, "", [])
    assert clinic.screening("c1", "s1")["skipped_steps"] == "[]"
    clinic.add_audit("c1", "a1", "viewed", "", "Old PT")  # the tables the old release lacked work
    assert clinic.delete_athlete("c1", "a1") and clinic.test("c1", "t1") is None  # foreign keys cascade

    before = sqlite_schema(path)
    ClinicStore(url).init()  # a second upgrade changes nothing
    assert sqlite_schema(path) == before and before[-1] == ("0001",)


def upgrade_in_a_new_process(url: str) -> None:
    upgrade(url)


@pytest.mark.jobs
def test_two_processes_starting_at_once_upgrade_the_database_once(url):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=upgrade_in_a_new_process, args=(url,)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0]
    assert schema_differences(url) == []
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0001"]
