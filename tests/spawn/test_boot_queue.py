"""Lesson servers boot a few at a time (``concurrent_boots``): the others wait their turn in the
order they asked, their spawn page says how many start before theirs, and every one of them
starts; a boot given up while waiting or booting never holds a turn."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime

import pytest

from lms_spawner.boot_queue import BootQueue, BootTurns, boots_under_way
from lms_spawner.lesson_pool import LessonPool, Slot

from ..conftest import docker

LESSON = "dl-basics/python-basics"


def boots(limit: int, count: int, hold: float = 0.05):
    """``count`` boots asked for at once: (most booting together, order they booted, what each
    waiter was told)."""
    turns = BootTurns(limit)
    now = {"booting": 0, "most": 0}
    order: list[int] = []
    told: dict[int, list[int]] = {}

    async def boot(number: int):
        async with turns.turn(lambda ahead: told.setdefault(number, []).append(ahead)):
            order.append(number)
            now["booting"] += 1
            now["most"] = max(now["most"], now["booting"])
            await asyncio.sleep(hold)
            now["booting"] -= 1

    async def main():
        await asyncio.gather(*(boot(n) for n in range(count)))
        assert turns.booting == 0 and turns.waiting == 0

    asyncio.run(main())
    return now["most"], order, told


def test_at_most_the_limit_boot_at_once_and_the_others_follow_in_order():
    most, order, told = boots(limit=2, count=7)
    assert most == 2
    assert order == list(range(7))
    assert set(told) == {2, 3, 4, 5, 6}  # the first two never waited
    assert told[2][0] == 2 and told[6][0] == 6  # two booting, then those waiting before it


def test_a_start_given_up_while_waiting_or_booting_frees_its_turn():
    async def main():
        turns = BootTurns(1)
        booted: list[str] = []

        async def boot(name: str, hold: float):
            async with turns.turn():
                booted.append(name)
                await asyncio.sleep(hold)

        first = asyncio.create_task(boot("first", 10))
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(boot("given-up", 0))
        last = asyncio.create_task(boot("last", 0))
        await asyncio.sleep(0.05)
        waiter.cancel()  # its learner stopped the start while it waited
        first.cancel()  # a boot that failed
        await asyncio.wait_for(last, 2)
        assert booted == ["first", "last"]
        assert turns.booting == 0 and turns.waiting == 0

    asyncio.run(main())


def test_claims_of_pooled_servers_take_turns_of_their_own():
    """A claim never waits behind a cold boot, but claims wait for each other."""
    async def main():
        queue = BootQueue(concurrent_boots=1)
        log: list[str] = []
        release = asyncio.Event()

        async def start(name: str, claim: bool):
            told: list[int] = []
            async with queue.boot_turn(told.append, claim=claim):
                log.append(f"{name} {told[:1]}")
                await release.wait()

        tasks = [asyncio.create_task(start(name, claim)) for name, claim in
                 (("boot", False), ("claim1", True), ("claim2", True))]
        await asyncio.sleep(0.1)
        assert log == ["boot []", "claim1 []"]  # the first claim did not wait for the boot
        release.set()
        await asyncio.gather(*tasks)
        assert log[2] == "claim2 [1]"  # the second claim waited for the first

    asyncio.run(main())


def test_the_pool_refills_after_the_rush():
    """A claimed server's replacement waits while learners' own servers boot or wait to boot,
    and until no learner has claimed one for ``refill_pause`` seconds; never longer than 60
    pauses."""
    async def main():
        loop = asyncio.get_running_loop()
        pool = LessonPool(None, refill_pause=0.3)
        queue = BootQueue(concurrent_boots=1)
        booted = asyncio.Event()
        done = asyncio.Event()

        async def learner_boot():
            async with queue.boot_turn():
                booted.set()
                await done.wait()

        boots = [asyncio.create_task(learner_boot()) for _ in range(2)]  # one boots, one waits
        await booted.wait()
        assert boots_under_way() == 2
        pool.slots = {LESSON: [Slot(LESSON, ("built",), "pooled", "", ready=True)]}
        assert pool.reserve(LESSON, ("built",)).name == "pooled"  # a learner claims it
        refill = asyncio.create_task(pool._after_the_rush())
        await asyncio.sleep(0.8)  # past the pause since the claim, but servers still boot
        assert not refill.done()
        done.set()
        await asyncio.gather(*boots)
        assert boots_under_way() == 0
        quiet_at = loop.time()
        await asyncio.wait_for(refill, 2)
        assert loop.time() - quiet_at < 1.2

        # a learner's server that boots for ever: the replacement still starts, after 60 pauses
        pool.refill_pause = 0.05
        done.clear()
        stuck = asyncio.create_task(learner_boot())
        began = loop.time()
        await asyncio.wait_for(pool._after_the_rush(), 10)
        assert 3 <= loop.time() - began < 5
        assert not stuck.done()
        stuck.cancel()

    asyncio.run(main())


def test_no_limit_means_no_waiting():
    most, order, told = boots(limit=50, count=20)
    assert most == 20 and told == {}


def progress_messages(hub, user: str, found: dict) -> None:
    """Every message of the user's spawn progress until it ends (as the spawn page reads it)."""
    messages = []
    deadline = time.monotonic() + 60
    while True:  # the stream opens once the start is under way
        r = hub.api("GET", f"/users/{user}/server/progress", stream=True)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        r.close()
        time.sleep(0.05)
    with r:
        for line in r.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                event = json.loads(line[5:])
                messages.append(event.get("message", ""))
                if event.get("ready") or event.get("failed"):
                    break
    found[user] = messages


def started_at(name: str) -> datetime:
    stamp = docker("inspect", "-f", "{{.State.StartedAt}}", name).strip()
    return datetime.fromisoformat(stamp[:26].rstrip("Z"))


@pytest.fixture
def one_boot_at_a_time(hub):
    hub.env["LMS_CONCURRENT_BOOTS"] = "1"
    hub.restart()
    yield hub
    del hub.env["LMS_CONCURRENT_BOOTS"]
    hub.restart()


def test_a_class_starting_at_once_boots_in_turns_and_every_learner_gets_in(one_boot_at_a_time,
                                                                          run_id):
    hub = one_boot_at_a_time
    learners = ["turn1", "turn2", "turn3"]
    for user in learners:
        hub.create_user(user)
    found: dict[str, list[str]] = {}
    readers = [threading.Thread(target=progress_messages, args=(hub, u, found))
               for u in learners]
    for reader in readers:
        reader.start()
    threads = [threading.Thread(target=lambda u=u: hub.start_lesson(u, LESSON))
               for u in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        for user in learners:
            hub.wait_ready(user, timeout=240)  # every learner gets in: no start failed
        for reader in readers:
            reader.join(30)
        waited = {u: [m for m in found.get(u, []) if m.startswith("Waiting to start")]
                  for u in learners}
        assert sum(1 for m in waited.values() if m) >= 1, found
        told = " | ".join(m for ms in waited.values() for m in ms)
        assert ("1 lesson server is starting before yours" in told
                or "2 lesson servers are starting before yours" in told), told
        # one at a time: each container started only once the one before it answered
        starts = sorted(started_at(f"lms-test-{run_id}-{u}") for u in learners)
        gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
        assert min(gaps) >= 0.5, f"containers started {gaps} s apart: they booted together"
    finally:
        for user in learners:
            hub.stop_server(user)
