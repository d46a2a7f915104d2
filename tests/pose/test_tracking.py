"""Subject choice when the model sees more than one person."""

import numpy as np

from formcheck.pose.tracking import Detection, check_tracked_subject, choose_subject, iou


def person(x0, y0, w, h, seed=0):
    rng = np.random.default_rng(seed)
    xy = np.column_stack([rng.uniform(x0, x0 + w, 33), rng.uniform(y0, y0 + h, 33)])
    xy[0] = (x0, y0)
    xy[1] = (x0 + w, y0 + h)
    return Detection(xy, np.zeros(33), np.zeros((33, 3)), np.ones(33), np.ones(33))


def test_iou_of_identical_and_disjoint_boxes():
    a = np.array([0, 0, 10, 10.0])
    assert iou(a, a) == 1.0
    assert iou(a, np.array([20, 20, 30, 30.0])) == 0.0


def test_large_central_persistent_person_wins_over_a_passer_by():
    times = np.arange(60) / 30
    frames = []
    for i in range(60):
        dets = [person(560 + i, 150, 160, 500, seed=i)]  # athlete, centred, whole clip
        if 10 <= i < 25:  # a bigger person walks through the edge for half a second
            dets.insert(0, person(0, 0, 300, 720, seed=100 + i))
        frames.append(dets)
    chosen, subject = choose_subject(times, frames, 1280, 720)
    assert all(d is not None and d.box[0] >= 500 for d in chosen)
    assert subject.people_seen == 1  # the passer-by stayed 0.5 s: not counted as a second subject
    assert subject.frames_with_others == 15


def test_two_people_throughout_reports_the_choice():
    times = np.arange(90) / 30
    frames = [[person(40, 300, 100, 300, seed=i), person(600, 100, 200, 600, seed=i + 1)] for i in range(90)]
    chosen, subject = choose_subject(times, frames, 1280, 720)
    assert all(d.box[0] >= 590 for d in chosen)
    assert subject.people_seen == 2
    assert "2 people" in subject.reason


def test_duplicate_detections_of_one_person_are_merged():
    times = np.arange(30) / 30
    frames = [[person(500, 100, 200, 500, seed=i), person(502, 101, 199, 498, seed=i)] for i in range(30)]
    chosen, subject = choose_subject(times, frames, 1280, 720)
    assert subject.people_seen == 1
    assert all(d is not None for d in chosen)


def test_no_detections_at_all():
    chosen, subject = choose_subject(np.arange(5) / 30, [[] for _ in range(5)], 640, 480)
    assert chosen == [None] * 5
    assert subject.people_seen == 0


# -- a one-person track checked against a sparse scan for everyone --------------------------


def _scan_of(times, frames, every=10):
    keep = list(range(0, len(times), every))
    return times[keep], [frames[i] for i in keep]


def test_track_on_the_athlete_passes_the_check_and_counts_the_other_person():
    times = np.arange(90) / 30
    athlete = [person(600, 100, 200, 600, seed=i) for i in range(90)]
    frames = [[person(40, 300, 100, 300, seed=100 + i), athlete[i]] for i in range(90)]
    scan_times, scan = _scan_of(times, frames)
    check = check_tracked_subject(times, athlete, scan_times, scan, 1280, 720)
    assert check.follows_subject and check.mismatched == 0 and check.compared == len(scan)
    assert check.subject.people_seen == 2
    assert check.subject.frames_with_others == 90  # scan counts scaled to the clip's frames


def test_track_locked_on_the_bystander_fails_the_check():
    times = np.arange(90) / 30
    bystander = [person(40, 300, 100, 300, seed=100 + i) for i in range(90)]
    frames = [[bystander[i], person(600, 100, 200, 600, seed=i)] for i in range(90)]
    scan_times, scan = _scan_of(times, frames)
    check = check_tracked_subject(times, bystander, scan_times, scan, 1280, 720)
    assert not check.follows_subject
    assert check.mismatched == check.compared == len(scan)


def test_track_that_switches_person_midway_fails_the_check():
    times = np.arange(90) / 30
    athlete = [person(600, 100, 200, 600, seed=i) for i in range(90)]
    bystander = [person(40, 300, 100, 300, seed=100 + i) for i in range(90)]
    tracked = athlete[:60] + bystander[60:]
    frames = [[bystander[i], athlete[i]] for i in range(90)]
    scan_times, scan = _scan_of(times, frames)
    check = check_tracked_subject(times, tracked, scan_times, scan, 1280, 720)
    assert not check.follows_subject and check.mismatched == 3


def test_one_person_alone_passes_and_gaps_in_the_track_are_not_mismatches():
    times = np.arange(60) / 30
    athlete = [person(500, 100, 200, 500, seed=i) for i in range(60)]
    tracked = [d if i % 7 else None for i, d in enumerate(athlete)]
    scan_times, scan = _scan_of(times, [[d] for d in athlete])
    check = check_tracked_subject(times, tracked, scan_times, scan, 1280, 720)
    assert check.follows_subject and check.subject.people_seen == 1
    assert check.compared == sum(1 for t in scan_times if tracked[int(round(t * 30))] is not None)
