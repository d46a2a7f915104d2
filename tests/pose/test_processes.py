"""The process runner behind chunked pose and segmented video: order, progress, errors."""

import os

import pytest

from formcheck.errors import InputFileError
from formcheck.processes import run_parallel, worker_count


def square_after_work(x, report):
    for _ in range(x):
        report(1)
    return x * x


def fail_like_a_bad_file(x, report):
    if x == 1:
        raise InputFileError("chunk 1 could not be decoded.", "Export the clip again.")
    return x


def die(x, report):
    if x == 1:
        os._exit(3)  # killed, no message: like the OOM killer
    return x


@pytest.mark.jobs
def test_results_in_task_order_and_progress_adds_up():
    done = []
    assert run_parallel(square_after_work, [(25,), (3,), (12,)], done.append) == [625, 9, 144]
    assert sum(done) == 25 + 3 + 12


@pytest.mark.jobs
def test_a_user_facing_error_in_a_worker_reaches_the_caller_with_its_hint():
    with pytest.raises(InputFileError) as caught:
        run_parallel(fail_like_a_bad_file, [(0,), (1,)])
    assert caught.value.hint == "Export the clip again."


@pytest.mark.jobs
def test_a_worker_that_dies_is_an_error_not_a_partial_result():
    with pytest.raises(RuntimeError, match="exit code 3"):
        run_parallel(die, [(0,), (1,)])


def test_worker_count_zero_means_every_core():
    assert worker_count(3) == 3
    assert worker_count(0) == len(os.sched_getaffinity(0))


def test_a_container_cpu_quota_caps_the_cores():
    from formcheck.processes import cpu_quota_cores

    assert cpu_quota_cores("max 100000\n") is None  # no limit
    assert cpu_quota_cores("150000 100000\n") == 2  # --cpus 1.5: two processes, not one per host core
    assert cpu_quota_cores("50000 100000") == 1
    assert cpu_quota_cores("garbage") is None


def test_available_cores_honours_the_quota_file(tmp_path, monkeypatch):
    import formcheck.processes as processes

    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n")
    monkeypatch.setattr(processes, "CGROUP_CPU_MAX", quota)
    assert processes.available_cores() == 1
    monkeypatch.setattr(processes, "CGROUP_CPU_MAX", tmp_path / "missing")
    assert processes.available_cores() == max(1, len(os.sched_getaffinity(0)))
