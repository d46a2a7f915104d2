"""Subject choice when the model sees more than one person."""

import numpy as np

from formcheck.pose.tracking import Detection, choose_subject, iou


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
