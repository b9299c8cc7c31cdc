"""A class sending its events at once, through the real hub: the service records many batches
in one transaction, and still every cell run, every second and every survey answer arrives
once, resent batches are harmless, and every answer is 200."""

from __future__ import annotations

from .conftest import code_cell_ids, event
from .test_concurrency import at_once, row_of

LEARNERS = 16
BATCHES = 3


def test_a_class_sending_at_once_loses_and_doubles_nothing(lms):
    lesson = "numpy-basics"
    users = [f"burst-{n:02d}" for n in range(LEARNERS)]
    for user in users:
        lms.token(user)
    ids = code_cell_ids(lms, lesson)
    sent: dict[str, list[list[dict]]] = {}
    for number, user in enumerate(users):
        batches = []
        for b in range(BATCHES):
            # the lesson's code cells shared out over the batches, each run once; failing
            # runs of cells of the learner's own and seconds that differ per learner and batch
            mine = [event("cell_executed", lesson, cell_id=cell, ok=True, active_seconds=1)
                    for cell in ids[b::BATCHES]]
            scratch = [event("cell_executed", lesson, cell_id=f"own-{b}-{k}", ok=False,
                             active_seconds=number + b + k) for k in range(b + 2)]
            batches.append([event("lesson_opened", lesson, active_seconds=number), *mine,
                            *scratch])
        sent[user] = batches
    # every batch twice, the copy at the same moment as the original (a resend after a
    # timeout), and every learner's batches together
    calls = [lambda u=user, b=batch: lms.events(u, *b)
             for user, batches in sent.items() for batch in batches for _ in range(2)]
    answers = at_once(calls, threads=24)
    assert [r.status_code for r in answers] == [200] * len(calls), [
        r.text for r in answers if r.status_code != 200]
    results = [r.json() for r in answers]
    assert all(r["refused"] == [] for r in results), results
    pairs = [batch for batches in sent.values() for batch in batches]
    for number, batch in enumerate(pairs):  # the original and its copy
        first, copy = results[2 * number], results[2 * number + 1]
        assert first["taken"] == copy["taken"] == [e["id"] for e in batch]
        assert sorted((first["accepted"], copy["accepted"])) == [0, len(batch)]
        assert first["duplicates"] + copy["duplicates"] == len(batch)
    for number, user in enumerate(users):
        row = row_of(lms, user, lesson)
        events = [e for batch in sent[user] for e in batch]
        assert row["cells_ok"] == len(ids), (user, row)
        assert row["errors"] == sum(not e.get("ok", True) for e in events), (user, row)
        assert row["active_seconds"] == sum(e["active_seconds"] for e in events), (user, row)
        assert row["status"] == "completed", (user, row)


def test_surveys_completions_and_new_lessons_in_one_burst(lms):
    users = [f"burst-s{n}" for n in range(8)]
    for user in users:
        lms.token(user)
    lessons = ["python-basics", "pandas-exploration"]
    calls = []
    for number, user in enumerate(users):
        for lesson in lessons:
            calls.append(lambda u=user, lesson=lesson, n=number: lms.events(
                u, event("lesson_opened", lesson, active_seconds=5),
                event("survey_submitted", lesson, answers={"difficulty": 1 + n % 5})))
            calls.append(lambda u=user, lesson=lesson: lms.events(
                u, event("lesson_completed", lesson, active_seconds=7)))
    answers = at_once(calls, threads=len(calls))
    assert [r.status_code for r in answers] == [200] * len(calls), [r.text for r in answers]
    assert all(r.json()["refused"] == [] and r.json()["accepted"] > 0 for r in answers)
    for number, user in enumerate(users):
        for lesson in lessons:
            row = row_of(lms, user, lesson)
            assert (row["status"], row["active_seconds"]) == ("completed", 12), (user, row)
            r = lms.call("GET", f"/surveys/dl-basics/{lesson}", user)
            assert r.json()["answers"] == {"difficulty": 1 + number % 5}, (user, r.text)
