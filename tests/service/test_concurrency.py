"""Progress under concurrency, through the real hub: batches for the same learner and lesson at
once (two tabs, two lesson servers, a periodic flush during a POST), the same batch sent several
times at once, and the deadline task racing completions. Nothing lost, nothing doubled, no 500."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from .conftest import code_cell_ids, event

THREADS = 12


def at_once(calls: list, threads: int = THREADS) -> list:
    """Run the ``calls`` (functions without arguments) from ``threads`` threads, all starting
    together; their results in order."""
    start = threading.Barrier(min(threads, len(calls)))

    def run(call):
        try:
            start.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        return call()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, calls))


def row_of(lms, user: str, lesson: str) -> dict:
    r = lms.call("GET", f"/progress/{user}", user)
    assert r.status_code == 200, r.text
    return next(row for row in r.json()["courses"]["dl-basics"] if row["lesson"] == lesson)


def test_concurrent_batches_for_one_lesson_lose_nothing(lms):
    user, lesson = "con-ana", "numpy-basics"
    lms.token(user)
    ids = code_cell_ids(lms, lesson)
    batches = []
    for number in range(48):
        # each batch: a failing run of a cell of its own, some seconds of its own, and (for
        # the first batches) a successful run of one of the lesson's code cells
        events = [event("cell_executed", lesson, cell_id=f"scratch-{number}-{k}", ok=False,
                        active_seconds=number + k) for k in range(3)]
        if number < len(ids):
            events.append(event("cell_executed", lesson, cell_id=ids[number], ok=True,
                                active_seconds=1))
        batches.append(events)
    answers = at_once([lambda b=b: lms.events(user, *b) for b in batches])
    assert [r.status_code for r in answers] == [200] * len(batches), [
        r.text for r in answers if r.status_code != 200]
    assert sum(r.json()["accepted"] for r in answers) == sum(len(b) for b in batches)
    assert all(r.json()["refused"] == [] for r in answers)
    row = row_of(lms, user, lesson)
    assert row["errors"] == 3 * len(batches)
    assert row["cells_ok"] == len(ids)
    assert row["active_seconds"] == sum(e["active_seconds"] for b in batches for e in b)
    assert row["status"] == "completed"  # numpy-basics completes when its cells ran


def test_the_same_batch_sent_at_once_is_stored_once(lms):
    user, lesson = "con-bea", "pandas-exploration"
    lms.token(user)
    batch = [event("lesson_opened", lesson, active_seconds=11),
             *[event("cell_executed", lesson, cell_id=f"x{n}", ok=False, active_seconds=2)
               for n in range(20)]]
    answers = at_once([lambda: lms.events(user, *batch) for _ in range(THREADS)])
    assert [r.status_code for r in answers] == [200] * THREADS, [r.text for r in answers]
    results = [r.json() for r in answers]
    assert sum(r["accepted"] for r in results) == len(batch)
    assert sum(r["duplicates"] for r in results) == (THREADS - 1) * len(batch)
    assert all(r["taken"] == [e["id"] for e in batch] for r in results)
    row = row_of(lms, user, lesson)
    assert (row["errors"], row["active_seconds"]) == (20, 11 + 2 * 20)


def test_first_events_of_many_learners_and_lessons_at_once(lms):
    users = [f"con-new-{n}" for n in range(6)]
    for user in users:
        lms.token(user)
    lessons = ["python-basics", "linear-regression"]
    calls = [lambda u=u, lesson=lesson, k=k: lms.events(
        u, event("lesson_opened", lesson, active_seconds=k + 1))
        for u in users for lesson in lessons for k in range(3)]
    answers = at_once(calls, threads=len(calls))
    assert [r.status_code for r in answers] == [200] * len(calls), [r.text for r in answers]
    for user in users:
        for lesson in lessons:
            assert row_of(lms, user, lesson)["active_seconds"] == 1 + 2 + 3


def test_the_deadline_task_never_undoes_a_completion(lms):
    learners = [f"con-late-{n}" for n in range(16)]
    lms.group("con-cohort", *learners)
    start = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    r = lms.call("PUT", "/cohorts/con-cohort", "admin", json={"course": "dl-basics",
                                                             "start": start})
    assert r.status_code == 200, r.text
    lesson = "python-basics"  # due 7 days after the start: long past
    for user in learners:
        lms.events(user, event("lesson_opened", lesson))
    completions = [lambda u=u: lms.events(u, event("lesson_completed", lesson))
                   for u in learners]
    deadline_runs = [lambda: lms.call("POST", "/deadlines/run", "admin") for _ in range(8)]
    calls = [c for pair in zip(completions, deadline_runs * 2, strict=False) for c in pair]
    answers = at_once(calls, threads=len(calls))
    assert [r.status_code for r in answers] == [200] * len(calls), [r.text for r in answers]
    r = lms.call("POST", "/deadlines/run", "admin")  # once more, after all of them
    assert r.status_code == 200, r.text
    assert {row_of(lms, u, lesson)["status"] for u in learners} == {"completed"}
    r = lms.call("DELETE", "/cohorts/con-cohort", "admin")
    assert r.status_code == 204
